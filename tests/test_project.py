"""The project's promises outside the package: the README's commands, CI, lint, the quickstart."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_ci_runs_the_readme_test_command():
    install_and_test = readme_commands()[1]
    assert "pytest" in install_and_test
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci_lines[-1] == install_and_test


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_ruff_clean():
    subprocess.run(["ruff", "check", str(ROOT)], check=True, cwd=ROOT)
    subprocess.run(["ruff", "format", "--check", str(ROOT)], check=True, cwd=ROOT)


@pytest.mark.skipif(shutil.which("mypy") is None, reason="mypy is not installed")
def test_mypy_clean():
    """`make type`: the package and the benchmarks type-check (which, and how: pyproject.toml)."""
    subprocess.run(["mypy"], check=True, cwd=ROOT)


def test_quickstart_learns_and_reports_weights_model_log_and_plot(tmp_path):
    pytest.importorskip("mujoco")
    args = ["--timesteps", "400", "--eval-episodes", "1", "--out", str(tmp_path / "run")]
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "ACE on Hopper-v5: 3 action dimensions, 400 steps, seed 0"
    for label in ("evaluation before training", "evaluation after training "):
        assert any(line.startswith(f"{label} (1 episodes, deterministic): ") for line in lines), label
    # the tiny budget keeps the scaled schedule: a fit every 100 steps once 100 transitions are in, one soft reset
    assert "causal weights after 4 fits: [" in result.stdout
    assert "the entropy weight of each action dimension, mean 1" in result.stdout
    assert "soft resets: 1" in lines
    for name in ("model.zip", "progress.csv", "quickstart.png"):
        assert f"{tmp_path / 'run' / name}" in result.stdout
        assert (tmp_path / "run" / name).is_file()
    assert (tmp_path / "run" / "quickstart.png").read_bytes().startswith(b"\x89PNG")


def test_quickstart_hides_only_the_settotalmass_warning_of_mujoco():
    pytest.importorskip("mujoco")
    code = """
import sys
import gymnasium as gym
import mujoco
sys.path.insert(0, sys.argv[1])
from quickstart import quiet_mujoco_warnings
mujoco.set_mju_user_warning(quiet_mujoco_warnings)
gym.make("HalfCheetah-v5")  # Gymnasium's model file sets settotalmass, which MuJoCo 4 deprecates
model = mujoco.MjModel.from_xml_string("<mujoco><worldbody><body><freejoint/><geom size='.1'/></body></worldbody></mujoco>")
data = mujoco.MjData(model)
data.qpos[0] = float("nan")
mujoco.mj_checkPos(model, data)  # any other warning still reaches the user
"""
    result = subprocess.run([sys.executable, "-c", code, str(ROOT / "examples")], capture_output=True, text=True, check=True)
    assert "settotalmass" not in result.stderr
    assert "WARNING: Nan, Inf or huge value in QPOS" in result.stderr
