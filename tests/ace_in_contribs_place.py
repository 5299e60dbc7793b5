"""pytest plugin that runs sb3-contrib's own test files with ``sb3_ace.ACETQC`` in TQC's place and
``sb3_ace.ACECrossQ`` in CrossQ's.

``python -m pytest -p ace_in_contribs_place <sb3-contrib's tests/test_*.py>`` (this folder on ``PYTHONPATH``; see
``tests/test_sb3_contrib_suite.py``). sb3-contrib's test modules import ``TQC`` and ``CrossQ`` from ``sb3_contrib``
after this plugin is loaded, so they get ``ACETQC`` and ``ACECrossQ`` (the names are replaced in the ``sb3_contrib.tqc``
and ``sb3_contrib.crossq`` packages too, should a test import them from there). Only the tests that use TQC or CrossQ
are kept (``swapped_learners``); a test parametrized with other algorithms only (QRDQN, TRPO, ARS, ...) is deselected.
There is no intended difference.

Every kept test starts from the same seed of Python's, NumPy's and PyTorch's generators (PyTorch's is otherwise seeded
at random in each process), so that a run is reproducible: ``test_save_load.py::test_save_load_policy[MlpPolicy-CrossQ]``
fails in some runs (one in five, expected) with sb3-contrib's CrossQ as with ACECrossQ, when ``randint_like(high=10)``
redraws the step count of the actor's BatchRenorm layers (9 after 128 steps) it expects to change. PyTorch runs on one
thread, as in the project's own tests.
"""

import pytest
import sb3_contrib
import sb3_contrib.crossq
import sb3_contrib.tqc
import torch as th
from stable_baselines3.common.utils import set_random_seed
from swapped_learners import SwappedLearners

from sb3_ace import ACETQC, ACECrossQ

SWAPPED = SwappedLearners(
    {"tqc": (sb3_contrib.TQC, ACETQC), "crossq": (sb3_contrib.CrossQ, ACECrossQ)}, intended_differences={}
)
for _module in (sb3_contrib, sb3_contrib.tqc):
    _module.TQC = ACETQC  # type: ignore[misc]
for _module in (sb3_contrib, sb3_contrib.crossq):
    _module.CrossQ = ACECrossQ  # type: ignore[misc]
# One thread, as the project's tests have (tests/conftest.py): on busy cores PyTorch's threads slow small updates 5-10x
th.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    SWAPPED.select(config, items)


@pytest.fixture(autouse=True)
def _seeded_random_generators() -> None:
    set_random_seed(0)
