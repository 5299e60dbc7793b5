import pytest
import torch as th


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    # Tests run in parallel processes (pytest -n): one thread each avoids oversubscribing the cores
    th.set_num_threads(1)
