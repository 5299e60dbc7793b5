"""What ACE's two steps share as callbacks: the model owns their settings, and a setting given to a callback sets the
model's."""

from typing import TYPE_CHECKING, Any, ClassVar

from stable_baselines3.common.callbacks import BaseCallback

from sb3_ace.common.policies import CausalActorMixin

if TYPE_CHECKING:
    from sb3_ace.common.algorithm import ACEAdditions


class ACEStepCallback(BaseCallback):
    """
    One of ACE's steps (the causal fit, the soft reset), run as a callback of an ACE model. Its settings are the
    model's: those given to the callback (not ``None``) set the model's when training starts, and learn() checks them
    with the model's other settings.

    :param settings: the settings given, by name; ``None`` leaves the model's as they are
    :param verbose: verbosity level
    """

    model: "ACEAdditions"
    switch: ClassVar[str]
    """The model's setting whose ``None`` turns this step off (``causal_method``, ``reset_mode``)."""

    def __init__(self, settings: dict[str, Any], verbose: int = 0) -> None:
        super().__init__(verbose)
        self.model_settings = {name: value for name, value in settings.items() if value is not None}

    def _init_callback(self) -> None:
        if not isinstance(getattr(self.model, "actor", None), CausalActorMixin):
            raise TypeError(f"{type(self).__name__} needs an ACE model, got {type(self.model).__name__}")
        for name, value in self.model_settings.items():
            setattr(self.model, name, value)
        if getattr(self.model, self.switch) is None:
            raise ValueError(
                f"{type(self).__name__} needs a {self.switch}: the model's is None (this step is off) and none was given"
            )
