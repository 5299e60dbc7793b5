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


def test_quickstart_trains_saves_and_evaluates(tmp_path):
    pytest.importorskip("mujoco")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "quickstart.py"),
            "--timesteps",
            "1100",
            "--eval-episodes",
            "1",
            "--save-path",
            str(tmp_path / "ace"),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert "evaluation over 1 episodes (deterministic):" in result.stdout
    assert (tmp_path / "ace.zip").is_file()
    assert "causal weights after" in result.stdout
