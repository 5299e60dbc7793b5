"""Keeping ACE's causal weights up to date during training: a FIFO of recent transitions and the callback that
refits the weights from it on schedule (ACE paper, Algorithm 1)."""

import logging
import time
from typing import cast

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.preprocessing import get_action_dim, is_image_space

from sb3_ace.common.causal_discovery import (
    CAUSAL_METHODS,
    CausalDiscoveryError,
    CausalMethod,
    estimate_causal_weights,
    weights_saturated,
)
from sb3_ace.common.schedule import crossed_multiple
from sb3_ace.common.step_callback import ACEStepCallback

logger = logging.getLogger(__name__)


def _state_parts(observation_space: spaces.Space) -> list[tuple[str | None, spaces.Space]]:
    """The parts of an observation that enter causal discovery: every non-image part (pixels are left out)."""
    if isinstance(observation_space, spaces.Dict):
        return [(key, space) for key, space in observation_space.spaces.items() if not is_image_space(space)]
    return [] if is_image_space(observation_space) else [(None, observation_space)]


def causal_state_dim(observation_space: spaces.Space) -> int:
    """Number of state columns the causal data has for this observation space (Dict parts flattened, images left out)."""
    return sum(spaces.flatdim(space) for _, space in _state_parts(observation_space))


def _flatten_part(part: np.ndarray, space: spaces.Space, n_envs: int) -> np.ndarray:
    """One observation part of every env as ``(n_envs, flatdim)`` rows: Discrete and MultiDiscrete one-hot encoded
    (gymnasium's ``flatten``, as SB3's preprocessing shows them to the networks), any other space reshaped."""
    if isinstance(space, spaces.Discrete | spaces.MultiDiscrete):
        return np.stack([cast(np.ndarray, spaces.flatten(space, value)) for value in part])  # one value per env
    return part.reshape(n_envs, -1)


def flatten_states(observations: np.ndarray | dict[str, np.ndarray], observation_space: spaces.Space) -> np.ndarray:
    """Observations of a vectorized env, shape ``(n_envs, ...)``, as causal state rows ``(n_envs, state_dim)``."""
    n_envs = len(next(iter(observations.values())) if isinstance(observations, dict) else observations)
    parts = [
        _flatten_part(np.asarray(observations if key is None else observations[key]), space, n_envs)
        for key, space in _state_parts(observation_space)
    ]
    return np.concatenate(parts, axis=1) if parts else np.zeros((n_envs, 0))


def check_causal_settings(
    causal_sample_size: int | None = None,
    causal_interval: int | None = None,
    causal_method: str | None = None,
    n_variables: int | None = None,
) -> None:
    """
    Raise a ``TypeError`` or ``ValueError`` naming the parameter if a setting of the causal step cannot work
    (settings that are ``None`` are not checked).

    :param causal_sample_size: ``N_c``
    :param causal_interval: ``I``
    :param causal_method: one of :data:`sb3_ace.common.causal_discovery.CAUSAL_METHODS`
    :param n_variables: columns of the causal data: state and action dimensions, plus the reward
    """
    if causal_method is not None and causal_method not in CAUSAL_METHODS:
        raise ValueError(f"causal_method must be one of {CAUSAL_METHODS} (or None for no causal step), got {causal_method!r}")
    for name, value in (("causal_sample_size", causal_sample_size), ("causal_interval", causal_interval)):
        if value is not None and (not isinstance(value, int | np.integer) or isinstance(value, bool)):
            raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if causal_interval is not None and causal_interval <= 0:
        raise ValueError(f"causal_interval must be a positive number of env steps, got {causal_interval}")
    if causal_sample_size is not None and causal_sample_size <= (n_variables or 1):
        raise ValueError(
            f"causal_sample_size={causal_sample_size} transitions cannot fit a causal model over "
            f"{n_variables or 1} variables (states, actions and reward): it must be larger than that"
        )


class TransitionFIFO:
    """
    The ``capacity`` most recent transitions as rows ``[s, a, r]`` (the paper's local buffer), in a ring.

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


class CausalWeightCallback(ACEStepCallback):
    """
    Refit ACE's causal weights every ``causal_interval`` env steps from the ``causal_sample_size`` most recent
    transitions ``(s, a, r)``: the state the agent saw (Dict observations flattened, image parts left out), the action
    (as stored for learning, in [-1, 1], or in the env's own units with the model's ``action_units="env"``) and the
    reward. Every env of a vectorized env contributes. Before the first fit the weights are 1 (SAC).

    The recent transitions live on the model (``model.recent_transitions``) and travel with its replay buffer
    (``save_replay_buffer`` / ``load_replay_buffer``), so that a resumed run fits at the same steps, on the same
    transitions, as one trained straight through. The fits done and failed are counted on the model
    (``model.num_causal_fits``, ``model.num_failed_causal_fits``).

    The settings are the model's (``model.causal_interval`` etc.): a value given here sets the model's when training
    starts, replacing its own (and is saved with it).

    Data that cannot support a fit (constant reward, constant actions, too few finite rows:
    :class:`~sb3_ace.CausalDiscoveryError`) logs a warning and keeps the previous weights; any other error is a bug and
    propagates. Weights that saturate (some action dimension's entropy weighted nearly 0, typically rewards on a large
    scale) log a warning once. Logged under ``causal/``: ``weight_min`` and ``weight_max``; ``weight_i`` and
    ``coefficient_i`` per action dimension (to csv, json and tensorboard only: one stdout row per dimension would
    fill the table on many-dimensional tasks); ``fit_seconds``, ``fits`` and ``failed_fits``.

    Every ACE learner (:class:`~sb3_ace.ACE`, :class:`~sb3_ace.ACETQC`, :class:`~sb3_ace.ACECrossQ`) adds one by
    itself; pass your own in ``callback=`` to replace it.

    :param causal_sample_size: number of recent transitions the weights are fitted on (``N_c``)
    :param causal_interval: env steps between two fits (``I``)
    :param causal_method: how the causal effects are estimated, see :func:`sb3_ace.estimate_causal_weights`
    :param standardize_causal_effects: softmax over standardized effects (scale-free), see :class:`~sb3_ace.ACE`
    :param verbose: verbosity level: 0 no output, 1 a line per fit
    """

    switch = "causal_method"

    def __init__(
        self,
        causal_sample_size: int | None = None,
        causal_interval: int | None = None,
        causal_method: CausalMethod | None = None,
        standardize_causal_effects: bool | None = None,
        verbose: int = 0,
    ) -> None:
        check_causal_settings(causal_sample_size, causal_interval, causal_method)
        settings = {
            "causal_sample_size": causal_sample_size,
            "causal_interval": causal_interval,
            "causal_method": causal_method,
            "standardize_causal_effects": standardize_causal_effects,
        }
        super().__init__(settings, verbose)
        self.warned_saturation = False

    def _on_training_start(self) -> None:  # after learn() has checked the settings
        state_dim = causal_state_dim(self.model.observation_space)
        action_dim = get_action_dim(self.model.action_space)
        # Kept across successive learn() calls on the same model (and restored with its replay buffer)
        transitions = self.model.recent_transitions
        if transitions is None or transitions.rows.shape != (self.model.causal_sample_size, state_dim + action_dim + 1):
            self.model.recent_transitions = TransitionFIFO(self.model.causal_sample_size, state_dim, action_dim)

    def _on_step(self) -> bool:
        transitions = self.model.recent_transitions
        assert transitions is not None
        rewards = self.locals["rewards"]
        states = flatten_states(self.model._last_obs, self.model.observation_space)  # type: ignore[arg-type]
        actions = self.locals["actions" if self.model.action_units == "env" else "buffer_actions"]
        transitions.add(states, actions, rewards)
        steps_before = self.num_timesteps - len(rewards)
        if crossed_multiple(steps_before, self.num_timesteps, self.model.causal_interval) and transitions.full:
            self.update_weights()
        return True

    def update_weights(self) -> None:
        """Fit the causal weights on the recent transitions and hand them to the actor (or warn and keep them)."""
        transitions, method = self.model.recent_transitions, self.model.causal_method
        assert transitions is not None and method is not None
        start = time.perf_counter()
        try:
            weights, coefficients = estimate_causal_weights(
                *transitions.transitions(),
                method=method,
                standardize_effects=self.model.standardize_causal_effects,
            )
        except CausalDiscoveryError as error:  # the data cannot support a fit: keep the weights, train on
            self.model.num_failed_causal_fits += 1
            logger.warning(
                "ACE causal step at %d env steps skipped (%s); keeping the causal weights %s",
                self.num_timesteps,
                error,
                np.array2string(self.model.causal_weights, precision=3),
            )
            return
        self.model.actor.causal_weights.copy_(th.as_tensor(weights))
        self.model.causal_coefficients = coefficients
        self.model.causal_fit_seconds = time.perf_counter() - start
        self.model.num_causal_fits += 1
        if not self.warned_saturation and weights_saturated(weights):
            self.warned_saturation = True
            logger.warning(
                "ACE causal weights saturated at %d env steps: %s from coefficients B[r, a] = %s. The entropy of the "
                "action dimensions weighted near 0 is no longer regularized. w = dim(A) * softmax(B[r, a]) depends on "
                "the reward's scale: normalize the reward (VecNormalize(norm_reward=True), or a reward scale "
                "wrapper), or set standardize_causal_effects=True (scale-free weights). This warning is shown once.",
                self.num_timesteps,
                np.array2string(weights, precision=3),
                np.array2string(coefficients, precision=3),
            )
        self._record()
        if self.verbose >= 1:
            print(f"ACE causal weights at {self.num_timesteps} steps: {np.array2string(weights, precision=3)}")

    def _on_rollout_end(self) -> None:
        self._record()

    def _record(self) -> None:
        """Record the current causal state, so that every log dump holds it."""
        weights = self.model.causal_weights
        for i, (weight, coefficient) in enumerate(zip(weights, self.model.causal_coefficients, strict=True)):
            self.logger.record(f"causal/weight_{i}", weight, exclude=("stdout", "log"))
            self.logger.record(f"causal/coefficient_{i}", coefficient, exclude=("stdout", "log"))
        self.logger.record("causal/weight_min", weights.min())
        self.logger.record("causal/weight_max", weights.max())
        self.logger.record("causal/fit_seconds", self.model.causal_fit_seconds)
        self.logger.record("causal/fits", self.model.num_causal_fits)
        self.logger.record("causal/failed_fits", self.model.num_failed_causal_fits)
