"""Keeping ACE's causal weights up to date during training: a FIFO of recent transitions and the callback that
refits the weights from it on schedule (ACE paper, Algorithm 1)."""

import logging
import time

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.preprocessing import get_action_dim, is_image_space

from sb3_ace.causal_discovery import CAUSAL_METHODS, estimate_causal_weights
from sb3_ace.policies import CausalActor

logger = logging.getLogger(__name__)


def _state_parts(observation_space: spaces.Space) -> list[tuple[str | None, spaces.Space]]:
    """The parts of an observation that enter causal discovery: every non-image part (pixels are left out)."""
    if isinstance(observation_space, spaces.Dict):
        return [(key, space) for key, space in observation_space.spaces.items() if not is_image_space(space)]
    return [] if is_image_space(observation_space) else [(None, observation_space)]


def causal_state_dim(observation_space: spaces.Space) -> int:
    """Number of state columns the causal data has for this observation space (Dict parts flattened, images left out)."""
    return sum(int(np.prod(space.shape)) for _, space in _state_parts(observation_space))


def flatten_states(observations: np.ndarray | dict[str, np.ndarray], observation_space: spaces.Space) -> np.ndarray:
    """Observations of a vectorized env, shape ``(n_envs, ...)``, as causal state rows ``(n_envs, state_dim)``."""
    parts = [np.asarray(observations if key is None else observations[key]) for key, _ in _state_parts(observation_space)]
    n_envs = len(next(iter(observations.values())) if isinstance(observations, dict) else observations)
    return np.concatenate([part.reshape(n_envs, -1) for part in parts], axis=1) if parts else np.zeros((n_envs, 0))


def check_causal_settings(
    causal_sample_size: int, causal_interval: int, causal_method: str, n_variables: int | None = None
) -> None:
    """Raise a ``ValueError`` naming the parameter if the causal step's settings cannot work."""
    if causal_method not in CAUSAL_METHODS:
        raise ValueError(f"causal_method must be one of {CAUSAL_METHODS} (or None for no causal step), got {causal_method!r}")
    if causal_interval <= 0:
        raise ValueError(f"causal_interval must be a positive number of env steps, got {causal_interval}")
    if causal_sample_size <= (n_variables or 1):
        raise ValueError(
            f"causal_sample_size={causal_sample_size} transitions cannot fit a causal model over "
            f"{n_variables or 1} variables (states, actions and reward): it must be larger than that"
        )


class TransitionFIFO:
    """
    The ``capacity`` most recent transitions as rows ``[s, a, r]`` (ACE's local buffer).

    :param capacity: number of transitions kept (``N_c``)
    :param state_dim: number of state columns
    :param action_dim: number of action columns
    """

    def __init__(self, capacity: int, state_dim: int, action_dim: int) -> None:
        self.rows = np.zeros((capacity, state_dim + action_dim + 1))
        self.state_dim = state_dim
        self.position = 0
        self.size = 0

    @property
    def full(self) -> bool:
        return self.size == len(self.rows)

    def add(self, states: np.ndarray, actions: np.ndarray, rewards: np.ndarray) -> None:
        """Append one transition per env: ``states (n_envs, state_dim)``, ``actions (n_envs, action_dim)``."""
        n_envs = len(rewards)
        index = (self.position + np.arange(n_envs)) % len(self.rows)
        self.rows[index] = np.hstack([states, actions.reshape(n_envs, -1), np.reshape(rewards, (n_envs, 1))])
        self.position = (self.position + n_envs) % len(self.rows)
        self.size = min(self.size + n_envs, len(self.rows))

    def transitions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The stored ``(states, actions, rewards)`` (in buffer order, which the causal fit does not depend on)."""
        rows = self.rows[: self.size]
        return rows[:, : self.state_dim], rows[:, self.state_dim : -1], rows[:, -1]


class CausalWeightCallback(BaseCallback):
    """
    Refit ACE's causal weights every ``causal_interval`` env steps from the ``causal_sample_size`` most recent
    transitions ``(s, a, r)``: the state the agent saw (Dict observations flattened, image parts left out), the action
    as stored for learning and the reward. Every env of a vectorized env contributes. Before the first fit the
    weights are 1 (SAC).

    A fit on data that cannot support one (constant reward, constant actions, too few finite rows, a failed fit)
    logs a warning and keeps the previous weights. Logged under ``causal/``: ``weight_i``, ``coefficient_i`` (the raw
    action-to-reward effects), ``fit_seconds``, ``fits`` and ``failed_fits``.

    :class:`~sb3_ace.ACE` adds one by itself; pass your own in ``callback=`` to replace it.

    :param causal_sample_size: number of recent transitions the weights are fitted on (``N_c``)
    :param causal_interval: env steps between two fits (``I``)
    :param causal_method: ``"reward_sink"`` or ``"direct_lingam"``, see :func:`sb3_ace.estimate_causal_weights`
    :param verbose: verbosity level: 0 no output, 1 a line per fit
    """

    def __init__(
        self,
        causal_sample_size: int = 10_000,
        causal_interval: int = 10_000,
        causal_method: str = "reward_sink",
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        check_causal_settings(causal_sample_size, causal_interval, causal_method)
        self.causal_sample_size = causal_sample_size
        self.causal_interval = causal_interval
        self.causal_method = causal_method
        self.transitions: TransitionFIFO | None = None
        self.failed_fits = 0

    def _init_callback(self) -> None:
        from sb3_ace.ace import ACE  # the algorithm module imports this one

        if not isinstance(self.model, ACE) or not isinstance(self.model.actor, CausalActor):
            raise TypeError(f"CausalWeightCallback needs an ACE model, got {type(self.model).__name__}")
        state_dim = causal_state_dim(self.model.observation_space)
        action_dim = get_action_dim(self.model.action_space)
        check_causal_settings(self.causal_sample_size, self.causal_interval, self.causal_method, state_dim + action_dim + 1)
        # Keep the recent transitions across successive learn() calls on the same model
        if self.transitions is None or self.transitions.rows.shape != (self.causal_sample_size, state_dim + action_dim + 1):
            self.transitions = TransitionFIFO(self.causal_sample_size, state_dim, action_dim)

    def _on_step(self) -> bool:
        assert self.transitions is not None
        rewards = self.locals["rewards"]
        states = flatten_states(self.model._last_obs, self.model.observation_space)  # type: ignore[arg-type]
        self.transitions.add(states, self.locals["buffer_actions"], rewards)
        steps_before = self.num_timesteps - len(rewards)
        if self.num_timesteps // self.causal_interval > steps_before // self.causal_interval and self.transitions.full:
            self.update_weights()
        return True

    def update_weights(self) -> None:
        """Fit the causal weights on the stored transitions and hand them to the actor (or warn and keep them)."""
        assert self.transitions is not None
        start = time.perf_counter()
        try:
            weights, coefficients = estimate_causal_weights(*self.transitions.transitions(), method=self.causal_method)
        except Exception as error:  # the causal step must never stop training
            self.failed_fits += 1
            logger.warning(
                "ACE causal step at %d env steps skipped (%s: %s); keeping the causal weights %s",
                self.num_timesteps,
                type(error).__name__,
                error,
                np.array2string(self.model.causal_weights, precision=3),
            )
            return
        self.model.actor.causal_weights.copy_(th.as_tensor(weights))
        self.model.causal_coefficients = coefficients
        self.model.causal_fit_seconds = time.perf_counter() - start
        self.model.causal_fits += 1
        self._record()
        if self.verbose >= 1:
            print(f"ACE causal weights at {self.num_timesteps} steps: {np.array2string(weights, precision=3)}")

    def _on_rollout_end(self) -> None:
        self._record()

    def _record(self) -> None:
        """Record the current causal state, so that every log dump holds it."""
        for i, (weight, coefficient) in enumerate(zip(self.model.causal_weights, self.model.causal_coefficients, strict=True)):
            self.logger.record(f"causal/weight_{i}", weight)
            self.logger.record(f"causal/coefficient_{i}", coefficient)
        self.logger.record("causal/fit_seconds", self.model.causal_fit_seconds)
        self.logger.record("causal/fits", self.model.causal_fits)
        self.logger.record("causal/failed_fits", self.failed_fits)
