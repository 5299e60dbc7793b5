"""Causal discovery (issue 4): "reward_sink" equals DirectLiNGAM's reward row under the reward-sink prior knowledge, on
synthetic LiNGAM data and on MuJoCo transitions; data hygiene is the same for both methods."""

import time
import warnings
from collections.abc import Iterator

import lingam
import numpy as np
import pytest
from lingam.utils import predict_adaptive_lasso

from benchmarks.causal_fit import env_transitions
from sb3_ace.causal_discovery import (
    CAUSAL_METHODS,
    CausalDiscoveryError,
    _causal_data,
    _reward_sink_row,
    causal_weights_from_coefficients,
    estimate_causal_weights,
    reward_sink_prior_knowledge,
)

# True effects of the three action dimensions on the reward in the synthetic data
ACTION_EFFECTS = np.array([1.5, 0.5, -1.0])


def synthetic_transitions(
    n_rows: int = 2000, noise: str = "laplace", seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Transitions of a known linear non-Gaussian acyclic model in which states and actions cause the reward.

    DAG: s0 -> s1, s1 -> r, s2 -> r, s0 -> a2 (a state-dependent action), every action -> r (``ACTION_EFFECTS``).

    :param n_rows: number of transitions
    :param noise: non-Gaussian noise distribution: ``"laplace"``, ``"uniform"`` or ``"exponential"``
    :param seed: random seed
    :return: ``(states (n, 3), actions (n, 3), rewards (n,))``
    """
    rng = np.random.default_rng(seed)

    def draw(scale: float) -> np.ndarray:
        if noise == "laplace":
            return rng.laplace(0.0, scale, n_rows)
        if noise == "uniform":
            return rng.uniform(-scale, scale, n_rows)
        return rng.exponential(scale, n_rows) - scale

    s0 = draw(1.0)
    s1 = 0.8 * s0 + draw(0.5)
    s2 = draw(1.0)
    actions = rng.uniform(-1.0, 1.0, (n_rows, 3))
    actions[:, 2] = np.clip(0.3 * s0 + 0.7 * actions[:, 2], -1.0, 1.0)
    rewards = actions @ ACTION_EFFECTS + 0.7 * s1 - 0.4 * s2 + draw(0.3)
    return np.column_stack([s0, s1, s2]), actions, rewards


def direct_lingam_sink_row(data: np.ndarray) -> np.ndarray:
    """
    The reward row of DirectLiNGAM fitted with the reward-sink prior knowledge.

    :param data: ``(n, d)`` data, the reward last
    :return: ``(d - 1,)`` the reward's coefficients on the other columns
    """
    model = lingam.DirectLiNGAM(prior_knowledge=reward_sink_prior_knowledge(data.shape[1])).fit(data)
    assert model.causal_order_[-1] == data.shape[1] - 1  # the prior knowledge puts the reward last
    return model.adjacency_matrix_[-1, :-1]


@pytest.fixture
def no_runtime_warning() -> Iterator[None]:
    """Fail the test if a RuntimeWarning (division by zero, invalid value, overflow) is raised inside it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    runtime_warnings = [str(warning.message) for warning in caught if issubclass(warning.category, RuntimeWarning)]
    assert not runtime_warnings


@pytest.mark.parametrize("noise", ["laplace", "uniform", "exponential"])
@pytest.mark.parametrize("seed", [0, 1])
def test_reward_sink_equals_direct_lingam_sink_row_on_synthetic_data(noise: str, seed: int) -> None:
    states, actions, rewards = synthetic_transitions(noise=noise, seed=seed)
    data = np.column_stack([states, actions, rewards])
    expected = direct_lingam_sink_row(data)
    np.testing.assert_allclose(_reward_sink_row(data), expected, rtol=0, atol=1e-6)
    weights, coefficients = estimate_causal_weights(states, actions, rewards, method="reward_sink")
    np.testing.assert_allclose(coefficients, expected[3:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(weights, causal_weights_from_coefficients(expected[3:]), rtol=0, atol=1e-6)


@pytest.mark.parametrize("env_id", ["InvertedDoublePendulum-v5", "Hopper-v5", "HalfCheetah-v5"])
def test_reward_sink_equals_direct_lingam_sink_row_on_mujoco_transitions(env_id: str) -> None:
    states, actions, rewards = env_transitions(env_id, n_rows=2000, seed=0)
    data, usable, state_dim, _ = _causal_data(states, actions, rewards)
    expected = direct_lingam_sink_row(data)
    np.testing.assert_allclose(_reward_sink_row(data), expected, rtol=0, atol=1e-6)
    _, coefficients = estimate_causal_weights(states, actions, rewards, method="reward_sink")
    expected_actions = np.zeros(usable.size - 1)
    expected_actions[usable[:-1]] = expected
    np.testing.assert_allclose(coefficients, expected_actions[state_dim:], rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_reward_sink_equals_lingam_adaptive_lasso_on_wide_data(seed: int) -> None:
    # Ant-like width: 100 correlated state columns and 8 actions, a long lasso path with dropped regressors
    rng = np.random.default_rng(seed)
    n_rows, state_dim, action_dim = 3000, 100, 8
    states = rng.laplace(size=(n_rows, state_dim)) @ (np.eye(state_dim) + 0.3 * rng.standard_normal((state_dim, state_dim)))
    actions = rng.uniform(-1.0, 1.0, (n_rows, action_dim))
    effects = np.where(rng.uniform(size=state_dim + action_dim) < 0.3, rng.standard_normal(state_dim + action_dim), 0.0)
    rewards = np.column_stack([states, actions]) @ effects + rng.laplace(0.0, 0.5, n_rows)
    data = np.column_stack([states, actions, rewards])
    expected = predict_adaptive_lasso(data, list(range(data.shape[1] - 1)), data.shape[1] - 1)
    np.testing.assert_allclose(_reward_sink_row(data), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", CAUSAL_METHODS)
def test_weights_follow_the_true_action_effects(method: str, no_runtime_warning: None) -> None:
    weights, coefficients = estimate_causal_weights(*synthetic_transitions(), method=method)
    np.testing.assert_allclose(coefficients, ACTION_EFFECTS, atol=0.1)
    assert np.all(np.isfinite(weights)) and np.all(weights > 0)
    assert weights.sum() == pytest.approx(len(ACTION_EFFECTS))
    assert weights[0] > weights[1] > weights[2]  # larger positive effect, larger weight; the negative effect last


@pytest.mark.parametrize("method", CAUSAL_METHODS)
def test_constant_columns_are_left_out(method: str, no_runtime_warning: None) -> None:
    states, actions, rewards = synthetic_transitions(n_rows=1000)
    n_rows = len(rewards)
    padded_states = np.column_stack([states, np.zeros(n_rows), np.full(n_rows, 3.0)])  # padded observation dimensions
    padded_actions = np.column_stack([actions[:, :2], np.full(n_rows, 0.5), actions[:, 2]])  # one action never moves
    weights, coefficients = estimate_causal_weights(padded_states, padded_actions, rewards, method=method)
    expected_coefficients = estimate_causal_weights(states, actions, rewards, method=method)[1]
    assert coefficients[2] == 0.0
    np.testing.assert_allclose(coefficients[[0, 1, 3]], expected_coefficients, rtol=0, atol=1e-12)
    assert np.all(np.isfinite(weights)) and np.all(weights > 0)
    assert weights.sum() == pytest.approx(4.0)


@pytest.mark.parametrize("method", CAUSAL_METHODS)
def test_non_finite_rows_are_dropped(method: str, no_runtime_warning: None) -> None:
    states, actions, rewards = synthetic_transitions(n_rows=1000)
    bad_rows = [3, 100, 500, 999]
    dirty_states, dirty_actions, dirty_rewards = states.copy(), actions.copy(), rewards.copy()
    dirty_states[3, 1] = np.nan
    dirty_actions[100, 0] = np.inf
    dirty_rewards[500] = -np.inf
    dirty_states[999, :] = np.nan
    weights, coefficients = estimate_causal_weights(dirty_states, dirty_actions, dirty_rewards, method=method)
    keep = np.setdiff1d(np.arange(len(rewards)), bad_rows)
    expected_weights, expected_coefficients = estimate_causal_weights(states[keep], actions[keep], rewards[keep], method)
    np.testing.assert_allclose(coefficients, expected_coefficients, rtol=0, atol=1e-12)
    np.testing.assert_allclose(weights, expected_weights, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", CAUSAL_METHODS)
@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("sparse_reward", "reward is constant"),
        ("constant_actions", "every action dimension is constant"),
        ("too_few_rows", "too few rows"),
        ("no_finite_row", "NaN or infinite"),
    ],
)
def test_data_that_cannot_support_a_fit_raises(method: str, case: str, message: str, no_runtime_warning: None) -> None:
    states, actions, rewards = synthetic_transitions(n_rows=200)
    if case == "sparse_reward":
        rewards = np.zeros_like(rewards)
    elif case == "constant_actions":
        actions = np.full_like(actions, -1.0)
    elif case == "too_few_rows":
        states, actions, rewards = states[:7], actions[:7], rewards[:7]  # 7 rows for 7 columns
    else:
        rewards = np.full_like(rewards, np.nan)
    with pytest.raises(CausalDiscoveryError, match=message):
        estimate_causal_weights(states, actions, rewards, method=method)


def test_direct_lingam_division_by_zero_does_not_surface() -> None:
    states, actions, rewards = synthetic_transitions(n_rows=500)
    padded_states = np.column_stack([states, np.zeros(len(rewards))])
    # The issue: DirectLiNGAM on a constant column divides by zero
    with pytest.warns(RuntimeWarning):
        lingam.DirectLiNGAM().fit(np.column_stack([padded_states, actions, rewards]))
    # Our data hygiene removes its cause: DirectLiNGAM runs on the cleaned data without a RuntimeWarning
    data = _causal_data(padded_states, actions, rewards)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        lingam.DirectLiNGAM().fit(data)
        weights, coefficients = estimate_causal_weights(padded_states, actions, rewards, method="direct_lingam")
    assert np.all(np.isfinite(weights)) and np.all(np.isfinite(coefficients))
    assert weights.sum() == pytest.approx(3.0)


@pytest.mark.parametrize("method", CAUSAL_METHODS)
def test_state_free_transitions(method: str) -> None:
    _, actions, _ = synthetic_transitions(n_rows=500)
    rewards = actions @ ACTION_EFFECTS + np.random.default_rng(1).laplace(0.0, 0.3, len(actions))
    weights, coefficients = estimate_causal_weights(np.zeros((len(actions), 0)), actions, rewards, method=method)
    np.testing.assert_allclose(coefficients, ACTION_EFFECTS, atol=0.1)
    assert weights.sum() == pytest.approx(3.0)


def test_unknown_method_raises() -> None:
    with pytest.raises(ValueError, match="Unknown causal method"):
        estimate_causal_weights(*synthetic_transitions(n_rows=100), method="pc")


def test_causal_weights_from_coefficients() -> None:
    np.testing.assert_allclose(causal_weights_from_coefficients(np.full(4, 7.0)), np.ones(4))
    weights = causal_weights_from_coefficients(np.array([1e4, 0.0, -1e4]))  # exp(1e4) overflows without the shift
    assert np.all(np.isfinite(weights)) and weights.sum() == pytest.approx(3.0)
    np.testing.assert_allclose(weights, [3.0, 0.0, 0.0], atol=1e-12)


@pytest.mark.slow
def test_reward_sink_under_a_second_at_humanoid_size() -> None:
    # 348 state columns, 17 actions, 1 reward, 10,000 rows; the best of three runs, the machine may be shared
    rng = np.random.default_rng(0)
    n_rows = 10_000
    states = rng.laplace(size=(n_rows, 348)) @ (np.eye(348) + 0.1 * rng.standard_normal((348, 348)))
    actions = rng.uniform(-1.0, 1.0, (n_rows, 17))
    rewards = actions @ rng.standard_normal(17) + states[:, :20].sum(axis=1) + rng.laplace(size=n_rows)
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        estimate_causal_weights(states, actions, rewards, method="reward_sink")
        seconds.append(time.perf_counter() - start)
    assert min(seconds) < 1.0
