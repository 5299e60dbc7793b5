"""What both suite plugins share (``ace_in_sacs_place``, ``ace_in_contribs_place``): which collected tests use a
replaced learner, and the tests expected to fail on purpose.

A test is kept when it is parametrized with a replaced learner (its class, now ACE's, or its name as in ``"sac"``),
or, having no algorithm among its parameters, when its code names one; a test parametrized with other algorithms only
is deselected. The tests in ``intended_differences`` check something ACE does differently on purpose: they are expected
to fail (strictly: should one pass, the run fails and the entry must go).
"""

import inspect

import pytest
from stable_baselines3.common.base_class import BaseAlgorithm

# SB3's algorithms and sb3-contrib's, as a test may name them in its parameters
SB3_ALGORITHM_NAMES = {"a2c", "ddpg", "dqn", "ppo", "sac", "td3"}
CONTRIB_ALGORITHM_NAMES = {"ars", "crossq", "maskableppo", "qrdqn", "recurrentppo", "tqc", "trpo"}
ALGORITHM_NAMES = SB3_ALGORITHM_NAMES | CONTRIB_ALGORITHM_NAMES


class SwappedLearners:
    """
    :param replaced: by learner name (``"sac"``), its original class and ACE's class in its place
    :param intended_differences: test node id -> why ACE's learner fails it on purpose
    """

    def __init__(
        self, replaced: dict[str, tuple[type[BaseAlgorithm], type[BaseAlgorithm]]], intended_differences: dict[str, str]
    ) -> None:
        self.replaced = replaced
        self.intended_differences = intended_differences

    def algorithm_name(self, value: object) -> str | None:
        """The algorithm a test parameter stands for (ACE's class stands for the learner it replaces), else None."""
        if inspect.isclass(value) and issubclass(value, BaseAlgorithm):
            for name, (_, ace_class) in self.replaced.items():
                if value is ace_class:
                    return name
            return value.__name__.lower()
        # a name, or a variant of one as in "ars_multi" (ARS with asynchronous evaluation)
        if isinstance(value, str) and (name := value.lower().partition("_")[0]) in ALGORITHM_NAMES:
            return name
        return None

    def uses_replaced(self, item: pytest.Item) -> bool:
        """Whether this test runs a replaced learner (now ACE's): through its parameters, else through its code."""
        params = getattr(getattr(item, "callspec", None), "params", {})
        algorithms = {name for name in map(self.algorithm_name, params.values()) if name is not None}
        if algorithms:
            return bool(algorithms & self.replaced.keys())
        function = getattr(item, "function", None)
        source = inspect.getsource(function) if function is not None else ""
        return any(original.__name__ in source for original, _ in self.replaced.values())

    def select(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """``pytest_collection_modifyitems``: keep the tests that use a replaced learner, mark the intended failures."""
        kept, deselected = [], []
        for item in items:
            (kept if self.uses_replaced(item) else deselected).append(item)
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
        for item in kept:
            if item.nodeid in self.intended_differences:
                item.add_marker(pytest.mark.xfail(reason=self.intended_differences[item.nodeid], strict=True))
