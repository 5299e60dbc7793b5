"""Stop at the env step where a NaN or infinite value comes out of the env, before it reaches any buffer."""

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

VEC_CHECK_NAN_HINT = (
    "Wrap the env in stable_baselines3.common.vec_env.VecCheckNan(env, raise_exception=True) to find where it comes "
    "from, or fix the env."
)


class NonFiniteEnvDataError(ValueError):
    """The env returned a NaN or infinite observation or reward."""


def _first_non_finite(values: np.ndarray | dict[str, np.ndarray]) -> tuple[int, str, float] | None:
    """The env index, part (Dict key or ``""``) and value of the first non-finite entry of a batch, ``None`` if all are
    finite. ``values`` has the env index first: ``(n_envs, ...)``, or a Dict of such arrays."""
    parts = values.items() if isinstance(values, dict) else [("", values)]
    for key, part in parts:
        part = np.asarray(part)
        if not np.issubdtype(part.dtype, np.floating):
            continue  # integer and boolean values are always finite
        bad = ~np.isfinite(part.reshape(len(part), -1))
        if bad.any():
            env_index, column = np.argwhere(bad)[0]
            return int(env_index), key, float(part.reshape(len(part), -1)[env_index, column])
    return None


class FiniteEnvDataCheck(BaseCallback):
    """
    Raise :class:`NonFiniteEnvDataError` at the env step where an observation (the first after a reset, each next one,
    and the terminal observation of an episode) or a reward of some env is NaN or infinite, naming the quantity, the
    env index and the step.

    Without this, SAC and ACE store the value in the replay buffer and fail a few updates later, far from the cause
    (torch: "Expected parameter loc ... to satisfy the constraint Real()"). It runs before every other callback, so
    the value reaches neither the replay buffer nor ACE's recent transitions. :class:`~sb3_ace.ACE` always adds it.
    """

    def _raise_if_non_finite(
        self, values: np.ndarray | dict[str, np.ndarray], quantity: str, env_index: int | None = None
    ) -> None:
        """Raise if ``values`` (a batch over the envs, or over one env: ``env_index``) has a non-finite entry."""
        found = _first_non_finite(values)
        if found is not None:
            row, key, value = found
            part = f" (key {key!r})" if key else ""
            raise NonFiniteEnvDataError(
                f"The env returned a non-finite {quantity}{part}: {value} in env {row if env_index is None else env_index} "
                f"at env step {self.num_timesteps} (num_timesteps), before it reached the replay buffer. "
                f"{VEC_CHECK_NAN_HINT}"
            )

    def _on_training_start(self) -> None:
        if self.model._last_obs is not None:
            self._raise_if_non_finite(self.model._last_obs, "observation after reset")

    def _on_step(self) -> bool:
        self._raise_if_non_finite(np.asarray(self.locals["rewards"], dtype=np.float64), "reward")
        self._raise_if_non_finite(self.locals["new_obs"], "observation")
        for env_index, info in enumerate(self.locals["infos"]):
            if info.get("terminal_observation") is not None:
                self._raise_if_non_finite(_batch_of_one(info["terminal_observation"]), "terminal observation", env_index)
        return True


def _batch_of_one(observation: np.ndarray | dict[str, np.ndarray]) -> np.ndarray | dict[str, np.ndarray]:
    """One env's observation as a batch of one."""
    if isinstance(observation, dict):
        return {key: np.asarray(value)[np.newaxis] for key, value in observation.items()}
    return np.asarray(observation)[np.newaxis]
