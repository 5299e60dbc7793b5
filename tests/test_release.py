"""The release artifacts: the sdist and the wheel build, pass ``twine check``, the wheel declares every package the
library imports, and it installs into a fresh virtual environment with its data files, its type marker and its
commands."""

import ast
import email.parser
import fcntl
import importlib.metadata
import os
import site
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FILES = (
    "sb3_ace/__init__.py",
    "sb3_ace/hyperparams/ace.yml",
    "sb3_ace/hyperparams/ace_sac.yml",
    "sb3_ace/hyperparams/ace_tqc.yml",
    "sb3_ace/hyperparams/ace_crossq.yml",
    "sb3_ace/py.typed",
)
COMMANDS = ("sb3-ace-train", "sb3-ace-enjoy", "sb3-ace-record-video")


def run(*command: str | Path, cwd: Path) -> str:
    """Run a command outside the checkout, without PYTHONPATH (so that nothing is imported from it), return stdout."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, cwd=cwd, env=env)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built as pip builds them: in an isolated environment, the wheel from the sdist.

    Built once per test session: setuptools writes into the checkout while it builds (the egg-info, the sdist's file
    tree ``sb3_ace-<version>/``), so two builds at once, as two pytest-xdist workers would start, break each other. The
    workers share the folder above their own temporary folders; the first to take the lock there builds for all.
    """
    shared = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        shared = shared.parent
    out = shared / "dist"
    with open(shared / "dist.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.is_dir():
            build = tmp_path_factory.mktemp("build")
            run(sys.executable, "-m", "build", "--outdir", build, ROOT, cwd=build)
            build.rename(out)  # only a complete build
    return out


def test_sdist_and_wheel_pass_twine_check(dist):
    sdists, wheels = sorted(dist.glob("sb3_ace-*.tar.gz")), sorted(dist.glob("sb3_ace-*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1
    stdout = run(sys.executable, "-m", "twine", "check", "--strict", *sdists, *wheels, cwd=dist)
    assert stdout.count("PASSED") == 2


def test_sdist_holds_the_license_and_the_package_data(dist):
    (sdist,) = dist.glob("sb3_ace-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "CHANGELOG.md", "CITATION.cff", "setup.cfg", "pyproject.toml", *PACKAGE_FILES} <= names


def imported_distributions(source: Path) -> set[str]:
    """The distributions (canonical names) that provide the third-party modules a source file imports, at any depth."""
    roots = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            roots.add(node.module.split(".")[0])
    providers = importlib.metadata.packages_distributions()
    third_party = roots - set(sys.stdlib_module_names) - {"sb3_ace"}
    return {canonicalize_name(dist) for root in third_party for dist in providers[root]}


def test_wheel_requires_every_package_the_library_imports(dist):
    # The venv test below takes the dependencies from this interpreter, whatever the wheel declares: it cannot see a
    # missing requirement (sb3-contrib was one: a plain ``pip install sb3-ace`` could not ``import sb3_ace``)
    (wheel,) = dist.glob("sb3_ace-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = (name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        requirements = [
            Requirement(line)
            for line in email.parser.Parser().parsestr(archive.read(metadata).decode()).get_all("Requires-Dist", [])
        ]
    required = {canonicalize_name(req.name) for req in requirements if req.marker is None or "extra" not in str(req.marker)}
    # The modules ``import sb3_ace`` loads (the rl-zoo3 commands and plugin belong to the zoo extra)
    code = "import sb3_ace, sys; print('\\n'.join(m.__file__ for n, m in sys.modules.items() if n.split('.')[0] == 'sb3_ace'))"
    modules = run(sys.executable, "-c", code, cwd=ROOT).split()
    assert len(modules) > 10
    missing = {module: imported_distributions(Path(module)) - required for module in modules}
    assert not {module: names for module, names in missing.items() if names}, "imported, not in install_requires"


def dependency_dirs() -> list[str]:
    """The directories this interpreter's installed distributions live in, however it was installed (system Python,
    Debian's dist-packages, a virtual environment with or without system site packages, conda, ``pip install --user``)."""
    dirs = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [path for path in dict.fromkeys(dirs) if Path(path).is_dir()]


def test_wheel_installs_into_a_fresh_venv_with_data_and_commands(dist, tmp_path):
    (wheel,) = dist.glob("sb3_ace-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", wheel, cwd=tmp_path)
    # The dependencies (torch, SB3, rl-zoo3) come from this interpreter's site directories, which a .pth file in the
    # venv adds to its sys.path after its own site-packages (written after the install, so that pip sees only the
    # venv). Python does not process the .pth files inside these directories, so the checkout's editable install (a
    # .pth file and an import hook) stays out: the package and its commands can only come from the wheel.
    site_packages = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip()
    (Path(site_packages) / "_test_dependencies.pth").write_text("".join(f"{path}\n" for path in dependency_dirs()))

    code = "import sb3_ace; from pathlib import Path; print(sb3_ace.__version__); print(Path(sb3_ace.__file__).parent)"
    version, package_dir = run(python, "-c", code, cwd=tmp_path).split()
    assert Path(package_dir).is_relative_to(venv), f"sb3_ace was imported from {package_dir}, not from the venv"
    assert wheel.name.startswith(f"sb3_ace-{version}-")
    for name in PACKAGE_FILES:
        assert (Path(package_dir).parent / name).is_file(), f"{name} is not in the installed package"

    for command in COMMANDS:
        assert (venv / "bin" / command).is_file(), f"{command} is not installed"
    assert "--algo" in run(venv / "bin" / "sb3-ace-train", "--help", cwd=tmp_path)
