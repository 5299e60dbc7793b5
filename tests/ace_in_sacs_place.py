"""pytest plugin that runs Stable-Baselines3's own test files with ``sb3_ace.ACE`` in SAC's place.

``python -m pytest -p ace_in_sacs_place <SB3's tests/test_*.py>`` (this folder on ``PYTHONPATH``; see
``tests/test_sb3_suite.py``). SB3's test modules import ``SAC`` from ``stable_baselines3`` after this plugin is loaded,
so they get ``ACE``. Only the tests that use SAC are kept (``swapped_learners``); a test parametrized with another
algorithm (PPO, TD3, ...) is deselected.
"""

import pytest
import stable_baselines3
import torch as th
from swapped_learners import SwappedLearners

from sb3_ace import ACE

SWAPPED = SwappedLearners(
    {"sac": (stable_baselines3.SAC, ACE)},
    intended_differences={
        "tests/test_tensorboard.py::test_tensorboard[sac]": "ACE names its tensorboard runs ACE_1, ACE_2, ..., not SAC_1",
    },
)
stable_baselines3.SAC = ACE  # type: ignore[misc]
# One thread, as the project's tests have (tests/conftest.py): on busy cores PyTorch's threads slow small updates 5-10x
th.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    SWAPPED.select(config, items)
