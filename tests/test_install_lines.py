"""Every install command of the README and the documentation works as written: each installs sb3-ace from its source
folder (or a wheel built from it) with extras that exist, or is the torch step; and the sets of extras the pages name
resolve with pip in a fresh virtual environment (``pip install --dry-run``, after the torch step the pages give)."""

import configparser
import re
import subprocess
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted(path for path in (ROOT / "docs").rglob("*.md") if "campaigns" not in path.parts)]
_SETUP = configparser.ConfigParser(interpolation=None)
_SETUP.read(ROOT / "setup.cfg")
EXTRAS = set(_SETUP["options.extras_require"])
# Install commands the pages show on purpose as what not to run, or as a pattern, each with where the page says so
NOT_TO_RUN = {
    "pip install torch": "README and installation page: pulls a CUDA build of several GB",
    "pip install sb3-ace": "installation page: not on the package index yet",
    'pip install -e ".[zoo,EXTRA]"': "domains page: the pattern of its table's extra column",
    "pip install robel==0.1.2": "domains page: what fails for ROBEL",
    "pip install --no-deps robel==0.1.2 transforms3d": "domains page: what fails for ROBEL",
    "pip install --no-deps --target": "domains page: how its tests import the Shadow Dexterous Hand's MuJoCo",
}
TORCH_STEP = re.compile(r"pip install torch==2\.13\.0( --index-url https://download\.pytorch\.org/whl/cpu)?")
# An install of sb3-ace: from the source folder (editable or not), or a wheel built from it, with optional extras
SB3_ACE_INSTALL = re.compile(
    r'pip install (-e )?(\.|"\.\[(?P<extras>[^\]]*)\]"|"dist/sb3_ace-[^"\[]+\.whl\[(?P<wheel>[^\]]*)\]")$'
)
# Extras that pin MuJoCo below the others' (setup.cfg): the pages install each in a virtual environment of its own
OWN_VENV_EXTRAS = {"dmc", "metaworld", "shadowhand"}


def install_commands() -> dict[str, list[str]]:
    """Every ``pip install ...`` of the pages (code blocks and inline code, split at ``&&`` and ``;``, comments left
    out), with the pages that show it."""
    commands: dict[str, list[str]] = {}
    for page in PAGES:
        for found in re.finditer(r"pip install[^`\n]*", page.read_text()):
            for part in re.split(r"&&|;", found.group(0)):
                command = part.split("#")[0].strip()
                if command.startswith("pip install"):
                    commands.setdefault(command, []).append(page.relative_to(ROOT).as_posix())
    return commands


def extras_of(command: str) -> frozenset[str]:
    match = SB3_ACE_INSTALL.match(command)
    assert match, command
    named = match.group("extras") or match.group("wheel") or ""
    return frozenset(extra for extra in named.split(",") if extra)


def test_every_install_command_installs_sb3_ace_from_its_source_or_is_the_torch_step():
    commands = install_commands()
    assert len(commands) >= 15
    unknown = {command: pages for command, pages in commands.items() if command not in NOT_TO_RUN}
    wrong = {
        command: pages
        for command, pages in unknown.items()
        if not (TORCH_STEP.fullmatch(command) or SB3_ACE_INSTALL.match(command))
    }
    assert not wrong, f"install commands that are neither the torch step nor an install from the source: {wrong}"
    for command in unknown:
        if SB3_ACE_INSTALL.match(command):
            assert extras_of(command) <= EXTRAS, f"{command}: no such extra in setup.cfg ({sorted(EXTRAS)})"


def resolution_groups() -> list[frozenset[str]]:
    """The extras the pages install, merged into the sets that share a virtual environment: the extras that pin MuJoCo
    each with what the pages install beside it, the others all together (a set that resolves resolves in part too)."""
    groups: dict[frozenset[str], set[str]] = {}
    for command in install_commands():
        if command not in NOT_TO_RUN and SB3_ACE_INSTALL.match(command):
            extras = extras_of(command)
            groups.setdefault(frozenset(extras & OWN_VENV_EXTRAS), set()).update(extras)
    return [frozenset(extras) for extras in groups.values()]


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the pages' first step done: ``pip install torch==2.13.0``."""
    folder = tmp_path_factory.mktemp("install_lines") / "venv"
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    result = subprocess.run([python, "-m", "pip", "install", "-q", "torch==2.13.0"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"torch 2.13.0 could not be installed into a fresh venv: {result.stderr[-500:]}")
    return python


def test_the_extras_the_pages_install_resolve_in_a_fresh_venv(fresh_venv: Path):
    groups = resolution_groups()
    assert frozenset() not in groups and len(groups) == 4  # MuJoCo 4's, dmc's, metaworld's, shadowhand's

    def resolve(extras: frozenset[str]) -> tuple[frozenset[str], subprocess.CompletedProcess]:
        command = [fresh_venv, "-m", "pip", "install", "--dry-run", "-q", "-e", f".[{','.join(sorted(extras))}]"]
        return extras, subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)

    with ThreadPoolExecutor(len(groups)) as pool:  # pip's resolving waits on the index more than on the cores
        failed = {
            ",".join(sorted(extras)): result.stderr[-1500:]
            for extras, result in pool.map(resolve, groups)
            if result.returncode != 0
        }
    assert not failed, f"extras that do not resolve together in a fresh venv: {failed}"
