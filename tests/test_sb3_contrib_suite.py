"""Drop-in: sb3-contrib's own test files pass with ACETQC in TQC's place and ACECrossQ in CrossQ's.

sb3-contrib's tests ship in its sdist, not in its wheel: the fixture downloads the sdist of the installed sb3-contrib
version from the package index and runs each of its test files that use TQC or CrossQ in a subprocess, with the plugin
``tests/ace_in_contribs_place.py`` (``TQC`` is ``ACETQC``, ``CrossQ`` is ``ACECrossQ``; only the tests that use one of
them are kept). The quick files run by default; the others (image, Dict-observation and save/load tests: a minute and a
half on 2 busy cores) with ``-m slow``. Only the sdist's ``tests/`` folder and its pytest settings are unpacked: its
copy of the ``sb3_contrib`` package would otherwise shadow the installed one (``python -m pytest`` puts the working
directory first on ``sys.path``). The sdist has no ``conftest.py`` and no test extra (its tests need sb3-contrib's own
dependencies, and tqdm and rich for a progress bar).
"""

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import unpacked_test_suite

PLUGIN_DIR = Path(__file__).resolve().parent
SB3_CONTRIB_VERSION = importlib.metadata.version("sb3-contrib")
QUICK_FILES = (
    "test_deterministic.py",
    "test_run.py",
    "test_train_eval_mode.py",
)
SLOW_FILES = (
    "test_cnn.py",
    "test_dict_env.py",
    "test_save_load.py",
)


@pytest.fixture(scope="session")
def sb3_contrib_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sb3-contrib's source distribution of the installed version, its ``tests/`` folder and pytest settings unpacked."""
    return unpacked_test_suite("sb3-contrib", SB3_CONTRIB_VERSION, tmp_path_factory.mktemp("sb3_contrib_sdist"))


def run_sb3_contrib_test_file(sb3_contrib_source: Path, test_file: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(PLUGIN_DIR)}  # the plugin; sb3-contrib's "tests" folder holds the test modules
    command = ["-m", "pytest", "-p", "ace_in_contribs_place", "-p", "no:cacheprovider", "-q", f"tests/{test_file}"]
    result = subprocess.run([sys.executable, *command], capture_output=True, text=True, cwd=sb3_contrib_source, env=env)
    # 0: every kept test passed (or failed as INTENDED_DIFFERENCES expects); 5 would mean that no test used TQC or CrossQ
    assert result.returncode == 0, (
        f"sb3-contrib's {test_file} with ACE's learners:\n{result.stdout[-5000:]}\n{result.stderr[-2000:]}"
    )


def test_every_sb3_contrib_test_file_that_uses_tqc_or_crossq_is_run(sb3_contrib_source):
    test_files = (sb3_contrib_source / "tests").glob("test_*.py")
    uses_tqc_or_crossq = {path.name for path in test_files if "TQC" in (text := path.read_text()) or "CrossQ" in text}
    assert uses_tqc_or_crossq == {*QUICK_FILES, *SLOW_FILES}


@pytest.mark.parametrize("test_file", QUICK_FILES)
def test_sb3_contrib_test_file_passes_with_ace_learners(sb3_contrib_source, test_file):
    run_sb3_contrib_test_file(sb3_contrib_source, test_file)


@pytest.mark.slow
@pytest.mark.parametrize("test_file", SLOW_FILES)
def test_slow_sb3_contrib_test_file_passes_with_ace_learners(sb3_contrib_source, test_file):
    run_sb3_contrib_test_file(sb3_contrib_source, test_file)
