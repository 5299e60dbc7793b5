"""Gradient dormancy of the actor and ACE's dormancy-guided soft reset (ACE paper, section 4.3)."""

from stable_baselines3.common.callbacks import BaseCallback

RESET_MODES = ("reset", "causal_reset")


def check_reset_settings(
    reset_mode: str,
    reset_interval: int,
    reset_start: int,
    dormant_threshold: float,
    reset_retention_bounds: tuple[float, float],
) -> None:
    """Raise a ``ValueError`` naming the parameter if the soft reset's settings cannot work."""
    if reset_mode not in RESET_MODES:
        raise ValueError(f"reset_mode must be one of {RESET_MODES} (or None for no reset), got {reset_mode!r}")
    if reset_interval <= 0:
        raise ValueError(f"reset_interval must be a positive number of gradient updates, got {reset_interval}")
    if reset_start < 0:
        raise ValueError(f"reset_start must be a non-negative number of gradient updates, got {reset_start}")
    if not 0.0 < dormant_threshold < 1.0:
        raise ValueError(f"dormant_threshold must lie in (0, 1), got {dormant_threshold}")
    low, high = reset_retention_bounds
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"reset_retention_bounds must satisfy 0 <= low <= high <= 1, got {reset_retention_bounds}")


class DormantResetCallback(BaseCallback):
    """
    Dormancy-guided soft reset of ACE's actor, critics and optimizers.

    :param reset_mode: ``"reset"`` (retention from the dormant ratio) or ``"causal_reset"`` (from the causal weights)
    :param reset_interval: gradient updates between two resets (``R``)
    :param reset_start: gradient updates before the first reset may happen
    :param dormant_threshold: a neuron is gradient-dormant below this fraction of its layer's mean (``tau``)
    :param reset_retention_bounds: bounds the retention ``lam`` is clipped to
    :param verbose: verbosity level
    """

    def __init__(
        self,
        reset_mode: str = "reset",
        reset_interval: int = 100_000,
        reset_start: int = 5_000,
        dormant_threshold: float = 0.05,
        reset_retention_bounds: tuple[float, float] = (0.2, 0.9),
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        check_reset_settings(reset_mode, reset_interval, reset_start, dormant_threshold, reset_retention_bounds)
        self.reset_mode = reset_mode
        self.reset_interval = reset_interval
        self.reset_start = reset_start
        self.dormant_threshold = dormant_threshold
        self.reset_retention_bounds = reset_retention_bounds

    def _on_step(self) -> bool:
        return True
