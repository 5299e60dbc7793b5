import subprocess
import sys
from pathlib import Path

import pytest
import torch as th

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    # Tests run in parallel processes (pytest -n): one thread each avoids oversubscribing the cores
    th.set_num_threads(1)


@pytest.fixture(scope="session")
def html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built as ``make doc`` builds it: every warning an error, every reference resolved."""
    out = tmp_path_factory.mktemp("docs")
    command = [sys.executable, "-m", "sphinx", "-n", "-W", "--keep-going", "-q", "-b", "html", "-d", out / "doctrees"]
    result = subprocess.run([*map(str, command), str(ROOT / "docs"), str(out / "html")], capture_output=True, text=True)
    assert result.returncode == 0, f"Sphinx warned or failed:\n{result.stderr[-5000:]}"
    return out / "html"
