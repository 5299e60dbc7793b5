"""Atomic saves: a file being replaced stays intact until its replacement is complete."""

import os
import pathlib
import tempfile
from collections.abc import Callable
from typing import Any


def save_atomically(path: Any, suffix: str, write: Callable[[Any], None]) -> None:
    """
    Call ``write`` on a temporary file beside ``path`` and move it onto ``path`` once ``write`` returned.

    A process killed while writing (a checkpoint interrupted by the end of a job, say) leaves the previous file as
    it was, instead of a truncated one; the move is atomic on POSIX and Windows file systems (``os.replace``). A
    failed or interrupted ``write`` removes the temporary file.

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
    # Same folder, so the final move never crosses file systems; ends with the suffix, so SB3 adds none
    descriptor, temporary = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=f".partial.{suffix}")
    os.close(descriptor)
    try:
        write(pathlib.Path(temporary))
        os.replace(temporary, final)
    except BaseException:  # KeyboardInterrupt and SystemExit too: the partial file must not stay behind
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
