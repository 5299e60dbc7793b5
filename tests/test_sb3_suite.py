"""Drop-in: Stable-Baselines3's own test files pass with ACE in SAC's place.

SB3's tests ship in its sdist, not in its wheel: the fixture downloads the sdist of the installed SB3 version from the
package index and runs each of its test files that use SAC in a subprocess, with the plugin
``tests/ace_in_sacs_place.py`` (``SAC`` is ``ACE``; only the tests that use SAC are kept). The quick files run by
default; the others (learning, image and space tests: minutes on 2 cores) with ``-m slow``.
"""

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import unpacked_test_suite

PLUGIN_DIR = Path(__file__).resolve().parent
SB3_VERSION = importlib.metadata.version("stable-baselines3")
QUICK_FILES = (
    "test_callbacks.py",
    "test_custom_policy.py",
    "test_n_step_replay.py",
    "test_predict.py",
    "test_run.py",
    "test_tensorboard.py",
    "test_vec_normalize.py",
)
SLOW_FILES = (
    "test_cnn.py",
    "test_deterministic.py",
    "test_dict_env.py",
    "test_gae.py",
    "test_her.py",
    "test_identity.py",
    "test_save_load.py",
    "test_sde.py",
    "test_spaces.py",
    "test_train_eval_mode.py",
)


@pytest.fixture(scope="session")
def sb3_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SB3's source distribution of the installed version, its ``tests/`` folder and pytest settings unpacked."""
    return unpacked_test_suite("stable-baselines3", SB3_VERSION, tmp_path_factory.mktemp("sb3_sdist"))


def run_sb3_test_file(sb3_source: Path, test_file: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(PLUGIN_DIR)}  # the plugin; SB3's own "tests" folder is the test package
    command = ["-m", "pytest", "-p", "ace_in_sacs_place", "-p", "no:cacheprovider", "-q", f"tests/{test_file}"]
    result = subprocess.run([sys.executable, *command], capture_output=True, text=True, cwd=sb3_source, env=env)
    # 0: every kept test passed (or failed as INTENDED_DIFFERENCES expects); 5 would mean that no test used SAC
    assert result.returncode == 0, f"SB3's {test_file} with ACE as SAC:\n{result.stdout[-5000:]}\n{result.stderr[-2000:]}"


def test_every_sb3_test_file_that_uses_sac_is_run(sb3_source):
    uses_sac = {path.name for path in (sb3_source / "tests").glob("test_*.py") if "SAC" in path.read_text()}
    assert uses_sac == {*QUICK_FILES, *SLOW_FILES}


@pytest.mark.parametrize("test_file", QUICK_FILES)
def test_sb3_test_file_passes_with_ace_as_sac(sb3_source, test_file):
    run_sb3_test_file(sb3_source, test_file)


@pytest.mark.slow
@pytest.mark.parametrize("test_file", SLOW_FILES)
def test_slow_sb3_test_file_passes_with_ace_as_sac(sb3_source, test_file):
    run_sb3_test_file(sb3_source, test_file)
