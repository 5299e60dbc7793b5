"""Causal discovery: each method equals the library estimator it reproduces ("reward_sink": lingam's DirectLiNGAM
reward row under the reward-sink prior knowledge; "causal_learn" and "causal_learn_reward_sink": causal-learn's
DirectLiNGAM, as the authors' code runs it, without and with that prior), on synthetic LiNGAM data and on MuJoCo
transitions; data hygiene and error reporting are the same for every method; standardized effects are unit-free."""

import time
import warnings
from collections.abc import Iterator
from functools import cache
from types import ModuleType

import lingam
import numpy as np
import pytest
from lingam.utils import predict_adaptive_lasso

import sb3_ace.common.causal_discovery
from benchmarks.causal_fit import env_transitions
from sb3_ace.common.causal_discovery import (
    CAUSAL_METHODS,
    CausalDiscoveryError,
    CausalMethod,
    _adaptive_lasso_row,
    _causal_data,
    _causal_learn_direct_lingam,
    causal_weights_from_coefficients,
    estimate_causal_weights,
    reward_sink_prior_knowledge,
    weights_saturated,
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


def causal_learn_lingam() -> ModuleType:
    """causal-learn's LiNGAM package (the reference of the "causal_learn" methods); skips the test without causal-learn."""
    return pytest.importorskip("causallearn.search.FCMBased.lingam")


def causal_learn_reward_row(data: np.ndarray, reward_sink: bool) -> np.ndarray:
    """
    The reward row of causal-learn's DirectLiNGAM, as the authors' code fits it.

    :param data: ``(n, d)`` data, the reward last
    :param reward_sink: fit with the reward-sink prior knowledge (checked to put the reward last)
    :return: ``(d - 1,)`` the reward's coefficients on the other columns
    """
    prior_knowledge = reward_sink_prior_knowledge(data.shape[1]) if reward_sink else None
    model = causal_learn_lingam().DirectLiNGAM(prior_knowledge=prior_knowledge).fit(data)
    if reward_sink:
        assert model.causal_order_[-1] == data.shape[1] - 1
    return model.adjacency_matrix_[-1, :-1]


@cache
def mujoco_transitions(env_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2,000 random-action transitions of a MuJoCo task (seed 0), collected once per test session."""
    return env_transitions(env_id, n_rows=2000, seed=0)


def wide_data(seed: int) -> np.ndarray:
    """
    Ant-like width: 100 correlated state columns on scales from 0.01 to 100, 8 actions, a sparse linear reward.

    :param seed: random seed
    :return: ``(3000, 109)`` rows ``[s, a, r]``
    """
    rng = np.random.default_rng(seed)
    n_rows, state_dim, action_dim = 3000, 100, 8
    states = rng.laplace(size=(n_rows, state_dim)) @ (np.eye(state_dim) + 0.3 * rng.standard_normal((state_dim, state_dim)))
    states *= 10.0 ** rng.uniform(-2.0, 2.0, state_dim)
    actions = rng.uniform(-1.0, 1.0, (n_rows, action_dim))
    predictors = np.column_stack([states, actions])
    effects = np.where(rng.uniform(size=state_dim + action_dim) < 0.3, rng.standard_normal(state_dim + action_dim), 0.0)
    rewards = predictors @ (effects / predictors.std(axis=0)) + rng.laplace(0.0, 0.5, n_rows)
    return np.column_stack([predictors, rewards])


@pytest.fixture
def no_runtime_warning() -> Iterator[None]:
    """Fail the test if a RuntimeWarning (division by zero, invalid value, overflow) is raised inside it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    runtime_warnings = [str(warning.message) for warning in caught if issubclass(warning.category, RuntimeWarning)]
    assert not runtime_warnings


# The two reward-sink estimators and their references: lingam's DirectLiNGAM and causal-learn's, each with the
# reward-sink prior knowledge
SINK_REFERENCES = {
    "reward_sink": ("lingam", direct_lingam_sink_row),
    "causal_learn_reward_sink": ("causal-learn", lambda data: causal_learn_reward_row(data, reward_sink=True)),
}


@pytest.mark.parametrize("method", list(SINK_REFERENCES))
@pytest.mark.parametrize("noise", ["laplace", "uniform", "exponential"])
@pytest.mark.parametrize("seed", [0, 1])
def test_reward_sink_methods_equal_their_reference_on_synthetic_data(method: CausalMethod, noise: str, seed: int) -> None:
    library, reference = SINK_REFERENCES[method]
    states, actions, rewards = synthetic_transitions(noise=noise, seed=seed)
    data = np.column_stack([states, actions, rewards])
    expected = reference(data)
    np.testing.assert_allclose(_adaptive_lasso_row(data, library), expected, rtol=0, atol=1e-6)
    weights, coefficients = estimate_causal_weights(states, actions, rewards, method=method)
    np.testing.assert_allclose(coefficients, expected[3:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(weights, causal_weights_from_coefficients(expected[3:]), rtol=0, atol=1e-6)


@pytest.mark.parametrize("env_id", ["InvertedDoublePendulum-v5", "Hopper-v5", "HalfCheetah-v5"])
def test_reward_sink_equals_direct_lingam_sink_row_on_mujoco_transitions(env_id: str) -> None:
    states, actions, rewards = mujoco_transitions(env_id)
    data, usable, state_dim, _ = _causal_data(states, actions, rewards)
    expected = direct_lingam_sink_row(data)
    np.testing.assert_allclose(_adaptive_lasso_row(data, "lingam"), expected, rtol=0, atol=1e-6)
    _, coefficients = estimate_causal_weights(states, actions, rewards, method="reward_sink")
    expected_actions = np.zeros(usable.size - 1)
    expected_actions[usable[:-1]] = expected
    np.testing.assert_allclose(coefficients, expected_actions[state_dim:], rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_reward_sink_equals_lingam_adaptive_lasso_on_wide_data(seed: int) -> None:
    # A long lasso path with dropped regressors
    data = wide_data(seed)
    expected = predict_adaptive_lasso(data, list(range(data.shape[1] - 1)), data.shape[1] - 1)
    np.testing.assert_allclose(_adaptive_lasso_row(data, "lingam"), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("noise", ["laplace", "uniform", "exponential"])
@pytest.mark.parametrize("seed", [0, 1])
def test_causal_learn_equals_causal_learn_direct_lingam_on_synthetic_data(noise: str, seed: int) -> None:
    states, actions, rewards = synthetic_transitions(noise=noise, seed=seed)
    data = np.column_stack([states, actions, rewards])
    expected = causal_learn_reward_row(data, reward_sink=False)
    weights, coefficients = estimate_causal_weights(states, actions, rewards, method="causal_learn")
    np.testing.assert_allclose(coefficients, expected[3:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(weights, causal_weights_from_coefficients(expected[3:]), rtol=0, atol=1e-6)


@pytest.mark.parametrize(("noise", "n_rows", "seed"), [("laplace", 50, 8), ("uniform", 30, 7), ("exponential", 30, 1)])
def test_causal_learn_searches_causal_learns_order_where_lingams_differs(noise: str, n_rows: int, seed: int) -> None:
    # On these small data sets lingam 1.13's DirectLiNGAM finds another causal order than causal-learn's (its residual
    # uses another variance estimate); the search of "causal_learn" finds causal-learn's, so the reward rows agree
    states, actions, rewards = synthetic_transitions(n_rows=n_rows, noise=noise, seed=seed)
    data = np.column_stack([states, actions, rewards])
    reference = causal_learn_lingam().DirectLiNGAM().fit(data)
    assert list(lingam.DirectLiNGAM().fit(data).causal_order_) != list(reference.causal_order_)
    assert list(_causal_learn_direct_lingam()().fit(data).causal_order_) == list(reference.causal_order_)
    _, coefficients = estimate_causal_weights(states, actions, rewards, method="causal_learn")
    np.testing.assert_allclose(coefficients, reference.adjacency_matrix_[-1, 3:-1], rtol=0, atol=1e-6)


@pytest.mark.parametrize("env_id", ["Hopper-v5", "HalfCheetah-v5"])
def test_causal_learn_equals_causal_learn_direct_lingam_on_mujoco_transitions(env_id: str) -> None:
    states, actions, rewards = mujoco_transitions(env_id)
    data, usable, state_dim, _ = _causal_data(states, actions, rewards)
    expected = np.zeros(usable.size - 1)
    expected[usable[:-1]] = causal_learn_reward_row(data, reward_sink=False)
    # Every column passed as an action (the same data, one causal-order search): the whole reward row comes back, the
    # state coefficients (which ACE does not use) as well as the action coefficients
    _, row = estimate_causal_weights(np.zeros((len(rewards), 0)), np.column_stack([states, actions]), rewards, "causal_learn")
    np.testing.assert_allclose(row, expected, rtol=0, atol=1e-6)
    assert np.any(row[:state_dim] != 0.0) and np.any(row[state_dim:] != 0.0)


@pytest.mark.parametrize("env_id", ["InvertedDoublePendulum-v5", "Hopper-v5", "HalfCheetah-v5"])
def test_causal_learn_reward_sink_equals_causal_learn_sink_row_on_mujoco_transitions(env_id: str) -> None:
    states, actions, rewards = mujoco_transitions(env_id)
    data, usable, state_dim, _ = _causal_data(states, actions, rewards)
    expected = np.zeros(usable.size - 1)
    expected[usable[:-1]] = causal_learn_reward_row(data, reward_sink=True)
    np.testing.assert_allclose(_adaptive_lasso_row(data, "causal-learn"), expected[usable[:-1]], rtol=0, atol=1e-6)
    _, coefficients = estimate_causal_weights(states, actions, rewards, method="causal_learn_reward_sink")
    np.testing.assert_allclose(coefficients, expected[state_dim:], rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_causal_learn_reward_sink_equals_causal_learn_adaptive_lasso_on_wide_data(seed: int) -> None:
    # causal-learn's adaptive lasso works in the raw units of the columns, here on scales from 0.01 to 100
    data = wide_data(seed)
    expected = causal_learn_lingam().utils.predict_adaptive_lasso(data, list(range(data.shape[1] - 1)), data.shape[1] - 1)
    np.testing.assert_allclose(_adaptive_lasso_row(data, "causal-learn"), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", CAUSAL_METHODS)
def test_weights_follow_the_true_action_effects(method: CausalMethod, no_runtime_warning: None) -> None:
    weights, coefficients = estimate_causal_weights(*synthetic_transitions(), method=method)
    np.testing.assert_allclose(coefficients, ACTION_EFFECTS, atol=0.1)
    assert np.all(np.isfinite(weights)) and np.all(weights > 0)
    assert weights.sum() == pytest.approx(len(ACTION_EFFECTS))
    assert weights[0] > weights[1] > weights[2]  # larger positive effect, larger weight; the negative effect last


@pytest.mark.parametrize("method", CAUSAL_METHODS)
def test_constant_columns_are_left_out(method: CausalMethod, no_runtime_warning: None) -> None:
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
def test_non_finite_rows_are_dropped(method: CausalMethod, no_runtime_warning: None) -> None:
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
        ("overflow", "variance overflows"),
    ],
)
def test_data_that_cannot_support_a_fit_raises(
    method: CausalMethod, case: str, message: str, no_runtime_warning: None
) -> None:
    states, actions, rewards = synthetic_transitions(n_rows=200)
    if case == "sparse_reward":
        rewards = np.zeros_like(rewards)
    elif case == "constant_actions":
        actions = np.full_like(actions, -1.0)
    elif case == "too_few_rows":
        states, actions, rewards = states[:7], actions[:7], rewards[:7]  # 7 rows for 7 columns
    elif case == "no_finite_row":
        rewards = np.full_like(rewards, np.nan)
    else:
        states = states * 1e160  # finite, but the squares overflow
    with pytest.raises(CausalDiscoveryError, match=message):
        estimate_causal_weights(states, actions, rewards, method=method)


@pytest.mark.parametrize("method", ["reward_sink", "causal_learn_reward_sink"])
def test_exact_linear_reward_raises(method: CausalMethod, no_runtime_warning: None) -> None:
    states, actions, _ = synthetic_transitions(n_rows=500)
    rewards = actions @ ACTION_EFFECTS + 0.5 * states[:, 0]  # no noise: the BIC would select on rounding errors
    with pytest.raises(CausalDiscoveryError, match="exact linear function"):
        estimate_causal_weights(states, actions, rewards, method=method)
    # Stored in float32 (as SB3 stores rewards), the rounding (at least 2^-26 of each reward) is noise enough to fit
    weights, coefficients = estimate_causal_weights(states, actions, rewards.astype(np.float32), method=method)
    np.testing.assert_allclose(coefficients, ACTION_EFFECTS, atol=1e-3)
    assert weights[0] > weights[1] > weights[2]


@pytest.mark.parametrize("method", CAUSAL_METHODS)
def test_collinear_columns_are_fitted(method: CausalMethod, no_runtime_warning: None) -> None:
    # Duplicated observation dimensions (Humanoid has some) and an action repeated in the state: singular least squares
    states, actions, rewards = synthetic_transitions(n_rows=1000)
    collinear_states = np.column_stack([states, states[:, 1], 2.0 * states[:, 0] - states[:, 2], actions[:, 0]])
    weights, coefficients = estimate_causal_weights(collinear_states, actions, rewards, method=method)
    assert np.all(np.isfinite(coefficients)) and np.all(weights > 0)
    assert weights.sum() == pytest.approx(3.0)


@pytest.mark.parametrize("method", CAUSAL_METHODS)
@pytest.mark.parametrize("error", [TypeError, IndexError, ValueError])
def test_a_bug_inside_the_estimator_propagates(
    method: CausalMethod, error: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A programming error is not "the data cannot support a fit": it must surface, not become a CausalDiscoveryError
    def broken(*args: object, **kwargs: object) -> None:
        raise error("a bug")

    if method == "direct_lingam":
        monkeypatch.setattr(lingam.DirectLiNGAM, "fit", broken)
    else:
        monkeypatch.setattr(sb3_ace.common.causal_discovery, "lars_path_gram", broken)
    with pytest.raises(error, match="a bug") as raised:
        estimate_causal_weights(*synthetic_transitions(n_rows=200), method=method)
    assert not isinstance(raised.value, CausalDiscoveryError)


@pytest.mark.parametrize("method", CAUSAL_METHODS)
def test_standardized_effects_do_not_depend_on_units(method: CausalMethod) -> None:
    states, actions, rewards = synthetic_transitions(n_rows=1000)
    # The reward in micro-units and the second action dimension in tenths: the paper's weights saturate
    rescaled_actions = actions * np.array([1.0, 10.0, 1.0])
    raw_weights, _ = estimate_causal_weights(states, rescaled_actions, 1e6 * rewards, method=method)
    assert weights_saturated(raw_weights)
    np.testing.assert_allclose(raw_weights, [3.0, 0.0, 0.0], atol=1e-6)
    # The standardized effects B[r, a_i] * std(a_i) / std(r) are the same in any units
    weights, effects = estimate_causal_weights(states, actions, rewards, method=method, standardize_effects=True)
    rescaled_weights, rescaled_effects = estimate_causal_weights(
        states, rescaled_actions, 1e6 * rewards, method=method, standardize_effects=True
    )
    np.testing.assert_allclose(rescaled_effects, effects, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(rescaled_weights, weights, rtol=0, atol=1e-6)
    assert not weights_saturated(weights)
    np.testing.assert_allclose(weights, causal_weights_from_coefficients(effects), rtol=0, atol=1e-12)
    _, coefficients = estimate_causal_weights(states, actions, rewards, method=method)
    np.testing.assert_allclose(effects, coefficients * actions.std(axis=0) / rewards.std(), rtol=1e-12)


def test_weights_saturated() -> None:
    assert not weights_saturated(np.ones(4))
    assert not weights_saturated(causal_weights_from_coefficients(np.array([2.0, 0.0, -2.0])))  # [2.6, 0.35, 0.05]
    saturated = causal_weights_from_coefficients(np.array([10.0, 0.0, 0.0]))  # [3.0, 1.4e-4, 1.4e-4]
    assert weights_saturated(saturated)
    assert not weights_saturated(saturated, floor=1e-5)


def test_direct_lingam_division_by_zero_does_not_surface() -> None:
    states, actions, rewards = synthetic_transitions(n_rows=500)
    padded_states = np.column_stack([states, np.zeros(len(rewards))])
    # DirectLiNGAM on a constant column (a padded observation dimension, in the authors' code) divides by zero
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
def test_state_free_transitions(method: CausalMethod) -> None:
    _, actions, _ = synthetic_transitions(n_rows=500)
    rewards = actions @ ACTION_EFFECTS + np.random.default_rng(1).laplace(0.0, 0.3, len(actions))
    weights, coefficients = estimate_causal_weights(np.zeros((len(actions), 0)), actions, rewards, method=method)
    np.testing.assert_allclose(coefficients, ACTION_EFFECTS, atol=0.1)
    assert weights.sum() == pytest.approx(3.0)


def test_unknown_method_raises() -> None:
    with pytest.raises(ValueError, match="Unknown causal method"):
        estimate_causal_weights(*synthetic_transitions(n_rows=100), method="pc")  # type: ignore[arg-type]


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
