"""Atomic saves: a file being replaced stays intact until its replacement is complete, and reaches the disk before it
takes the old file's place; the partial files of killed saves are cleared, and a damaged save is told apart on load."""

import os
import pathlib
import secrets
import socket
import zipfile
from collections.abc import Callable
from typing import Any

PARTIAL_MARKER = ".partial."
"""Part of the name of a file being written: ``.<name>.<host>-<pid>.<random>.partial.<suffix>``."""


def _host() -> str:
    """This machine's short host name (without '.', which separates the parts of a partial file's name)."""
    return socket.gethostname().split(".")[0]


def _process_is_gone(pid: int) -> bool:
    """Whether no process with this id runs on this machine (a process of another user still counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def remove_orphaned_partial_files(folder: str | os.PathLike) -> list[pathlib.Path]:
    """
    Remove the partial files that saves into ``folder`` left behind when their process was killed mid-write (e.g. by
    ``kill -9`` or a preempting scheduler), whatever file they were meant to become: those written on this host by a
    process that no longer runs. Files of running processes (a save in progress) and of other hosts (a shared file
    system) are kept. Checkpoints get a new name at every save (rl-zoo3's ``rl_model_<steps>_steps.zip``), so the
    partial files of one name are not left for the next save of that name to clear.

    :param folder: the folder the saves write into
    :return: the files removed
    """
    removed = []
    for path in pathlib.Path(folder).glob(f".*{PARTIAL_MARKER}*"):
        prefix = path.name[: path.name.index(PARTIAL_MARKER)]  # .<name>.<host>-<pid>.<random>
        writer = prefix.rsplit(".", 2)[-2] if prefix.count(".") >= 3 else ""  # <host>-<pid>
        writer_host, _, pid = writer.rpartition("-")
        if writer_host == _host() and pid.isdigit() and _process_is_gone(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def is_damaged_zip(path: str | os.PathLike) -> bool:
    """
    Whether the saved model at ``path`` (``.zip`` added where it has no suffix, as SB3's ``load`` does) exists but is not
    a complete zip file with SB3's ``data`` entry, e.g. a file truncated by an interrupted copy.

    :param path: the path given to ``load``
    :return: True if the file is there and damaged (False if it is missing or sound)
    """
    file = pathlib.Path(path)
    if not file.is_file() and file.suffix == "":
        file = pathlib.Path(f"{file}.zip")
    if not file.is_file():
        return False
    try:
        with zipfile.ZipFile(file) as archive:
            return "data" not in archive.namelist() or archive.testzip() is not None
    except (zipfile.BadZipFile, OSError):
        return True


def _fsync(path: pathlib.Path) -> None:
    """Flush a file's data (or a folder's entries) from the OS's cache to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _create_partial_file(final: pathlib.Path, suffix: str) -> str:
    """
    Create an empty, new partial file beside ``final``, with the permissions a plain save would give it (``0o666``
    less the umask; ``tempfile.mkstemp`` would make every checkpoint private to its owner, ``0o600``). Same folder,
    so the final move never crosses file systems; ends with the suffix, so SB3 adds none.
    """
    while True:
        path = final.parent / f".{final.name}.{_host()}-{os.getpid()}.{secrets.token_hex(4)}{PARTIAL_MARKER}{suffix}"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return str(path)


def save_atomically(path: Any, suffix: str, write: Callable[[Any], None]) -> None:
    """
    Call ``write`` on a temporary file beside ``path``, flush it to the disk and move it onto ``path``.

    A process killed while writing (a checkpoint interrupted by the end of a job, say) leaves the previous file as
    it was, instead of a truncated one; the move is atomic on POSIX and Windows file systems (``os.replace``). The
    temporary file is fsynced before the move and the folder after it, so that a power loss cannot leave an empty
    file in place of the previous one. A failed or interrupted ``write`` removes the temporary file; the temporary
    files of processes killed outright (which cannot) are removed by the next save into the same folder.

    :param path: where the file goes, as SB3's ``save`` takes it: a ``str`` or ``PathLike`` (without a suffix,
        ``.<suffix>`` is added, as SB3 does), or an open file object, written to directly (nothing to replace)
    :param suffix: the file type's suffix without the dot, e.g. ``"zip"`` or ``"pkl"``
    :param write: writes the file at the path it is given (e.g. SB3's ``save``)
    """
    if not isinstance(path, str | os.PathLike):
        write(path)
        return
    final = pathlib.Path(path)
    if final.suffix == "":
        final = pathlib.Path(f"{final}.{suffix}")
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_orphaned_partial_files(final.parent)
    temporary = _create_partial_file(final, suffix)
    try:
        write(pathlib.Path(temporary))
        _fsync(pathlib.Path(temporary))
        os.replace(temporary, final)
    except BaseException:  # KeyboardInterrupt and SystemExit too: the partial file must not stay behind
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
    if os.name == "posix":  # the folder's entry for the moved file (Windows cannot open a folder for this)
        _fsync(final.parent)
