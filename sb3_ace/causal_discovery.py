"""Causal discovery of how each action dimension drives the reward (ACE paper, section 4.1).

ACE fits a linear non-Gaussian acyclic model (LiNGAM) over the columns ``X = [s, a, r]`` of recent
transitions and reads the causal effect of action dimension ``i`` on the reward, ``B[r, a_i]``. The weights
that scale the entropy of each action dimension are ``w = dim(A) * softmax(B[r, a])``, so ``sum(w) = dim(A)``.

Two ways to get ``B[r, a]``:

- ``"reward_sink"`` (default): the paper's structural model has ``s`` and ``a`` causing ``r`` and nothing
  caused by ``r``. With ``r`` last in the causal order, DirectLiNGAM's reward row is exactly lingam's
  adaptive-lasso regression of ``r`` on every other column (``lingam.utils.predict_adaptive_lasso``), so no
  causal-order search is needed. This module computes that regression from the columns' covariance matrix,
  which gives the same coefficients in a fraction of the time (about 0.2 s at Humanoid size, 366 columns and
  10,000 rows, on one core).
- ``"direct_lingam"``: the authors' procedure, ``lingam.DirectLiNGAM()`` over all columns. Its cost grows with
  the cube of the number of columns (seconds at HalfCheetah size, hours at Humanoid size).

See ``docs/causal_discovery.md`` for the derivation and measurements.
"""

import warnings
from functools import cache

import numpy as np
import scipy.linalg
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, lars_path_gram
from threadpoolctl import ThreadpoolController

CAUSAL_METHODS = ("reward_sink", "direct_lingam")

# Singular values below this fraction of the largest are treated as zero in the ordinary least squares fit that
# gives the adaptive-lasso weights: scikit-learn's ``LinearRegression(tol=1e-6)`` default, which lingam uses.
_OLS_TOLERANCE = 1e-6
# ``LassoLarsIC``'s default cap on the number of steps of the lasso path (which lingam keeps).
_LARS_MAX_ITER = 500


@cache
def _thread_pools() -> ThreadpoolController:
    """The native thread pools of the process (BLAS, OpenMP), found once: looking them up takes milliseconds."""
    return ThreadpoolController()


class CausalDiscoveryError(ValueError):
    """The transitions cannot support a causal fit (constant reward, too few usable rows, a failed fit)."""


def causal_weights_from_coefficients(coefficients: np.ndarray) -> np.ndarray:
    """
    ACE's entropy weights from the action-to-reward causal coefficients.

    :param coefficients: ``B[r, a]``, one signed coefficient per action dimension
    :return: ``w = dim(A) * softmax(B[r, a])``: positive, summing to ``dim(A)``
    """
    shifted = coefficients - coefficients.max()  # softmax is shift-invariant; this keeps exp() finite
    exp = np.exp(shifted)
    return len(coefficients) * exp / exp.sum()


def reward_sink_prior_knowledge(n_columns: int) -> np.ndarray:
    """
    lingam prior knowledge that makes the last column (the reward) a sink of the causal graph: under it,
    ``lingam.DirectLiNGAM(prior_knowledge=...)``'s reward row is what ``"reward_sink"`` computes.

    :param n_columns: number of columns, the reward last
    :return: ``(n_columns, n_columns)`` matrix: ``pk[i, r] = 0`` (no directed path from the reward to column ``i``)
        for every other column ``i``, -1 (unknown) elsewhere
    """
    prior_knowledge = -np.ones((n_columns, n_columns))
    prior_knowledge[:-1, -1] = 0
    return prior_knowledge


def _usable_columns(data: np.ndarray) -> np.ndarray:
    """
    Mask of the columns that vary: a constant column carries no causal information and breaks DirectLiNGAM.

    :param data: ``(n, columns)`` finite rows
    :return: ``(columns,)`` boolean mask, True where the column's standard deviation is above round-off level
    """
    scale = np.maximum(np.abs(data).max(axis=0), 1.0)
    return data.std(axis=0) > 1e-8 * scale


def _causal_data(states: np.ndarray, actions: np.ndarray, rewards: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """
    The data a causal fit runs on: rows ``[s, a, r]`` with a non-finite value dropped, constant columns left out.

    :param states: ``(n, state_dim)`` states (``state_dim`` may be 0)
    :param actions: ``(n, action_dim)`` actions
    :param rewards: ``(n,)`` rewards
    :return: ``(data, usable, state_dim, action_dim)``: the finite rows of the varying columns, reward last; the
        mask of the varying columns among ``[s, a, r]``; the state and action dimensions
    :raises CausalDiscoveryError: no finite row, constant reward, every action dimension constant, or no more finite
        rows than varying columns
    """
    n_rows = len(rewards)
    actions = np.asarray(actions, dtype=np.float64).reshape(n_rows, -1)
    states = np.asarray(states, dtype=np.float64).reshape(n_rows, -1)
    data = np.hstack([states, actions, np.asarray(rewards, dtype=np.float64).reshape(n_rows, 1)])
    state_dim, action_dim = states.shape[1], actions.shape[1]

    data = data[np.isfinite(data).all(axis=1)]
    if len(data) == 0:
        raise CausalDiscoveryError(f"each of the {n_rows} rows has a NaN or infinite value")
    usable = _usable_columns(data)
    if not usable[-1]:
        raise CausalDiscoveryError(f"the reward is constant over the {len(data)} finite rows: nothing to explain")
    if not usable[state_dim:-1].any():
        raise CausalDiscoveryError("every action dimension is constant: no action effect can be estimated")
    data = data[:, usable]
    if len(data) <= data.shape[1]:
        raise CausalDiscoveryError(f"{len(data)} finite rows for {data.shape[1]} varying columns: too few rows")
    return data, usable, state_dim, action_dim


def _reward_sink_row(data: np.ndarray) -> np.ndarray:
    """
    DirectLiNGAM's reward row when the reward is a sink: lingam's adaptive lasso of the last column on the others.

    Same steps as ``lingam.utils.predict_adaptive_lasso(data, range(d - 1), d - 1)`` (``d`` columns): an ordinary
    least squares fit on the standardized columns gives the weights ``|beta|``; scikit-learn's LARS lasso path on the
    weighted columns, with the model picked by BIC as ``LassoLarsIC(criterion="bic")`` does, selects the predictors;
    an ordinary least squares fit on the raw selected columns gives the coefficients. The first two steps run on the
    ``d x d`` covariance matrix instead of the ``n x d`` data, which is where the time goes in lingam's version.

    :param data: ``(n, d)`` finite rows with no constant column and ``n > d``, the reward (target) last
    :return: ``(d - 1,)`` coefficients of the reward on each other column, in the columns' original units
    :raises CausalDiscoveryError: the reward is an exact linear function of the other columns
    """
    n_rows, n_columns = data.shape
    target = n_columns - 1
    centered = data - data.mean(axis=0)
    covariance = centered.T @ centered / n_rows
    std = np.sqrt(np.diag(covariance))
    correlation = covariance / np.outer(std, std)

    # Least squares on the standardized columns (scikit-learn's LinearRegression: minimum-norm solution, singular
    # values under _OLS_TOLERANCE times the largest cut), here from the eigendecomposition of their correlation
    eigenvalues, eigenvectors = scipy.linalg.eigh(correlation[:target, :target], check_finite=False)
    kept = eigenvalues > _OLS_TOLERANCE**2 * eigenvalues[-1]
    basis = eigenvectors[:, kept]
    beta = basis @ (basis.T @ correlation[:target, target] / eigenvalues[kept])

    # Lasso path on the standardized columns scaled by |beta| (the adaptive lasso), from their Gram matrix
    weight = np.abs(beta)
    gram = n_rows * correlation[:target, :target] * np.outer(weight, weight)
    path = lars_path_gram(
        n_rows * weight * correlation[:target, target],
        gram,
        n_samples=n_rows,
        max_iter=_LARS_MAX_ITER,
        method="lasso",
    )[2]

    # LassoLarsIC's BIC: n log(2 pi sigma^2) + RSS / sigma^2 + log(n) * (non-zero coefficients), where sigma^2 is the
    # residual variance of the least squares fit. Each path point's RSS is the least squares RSS plus the squared norm
    # of its distance to the least squares solution (sign(beta) once the columns are scaled by |beta|)
    residual = centered[:, target] / std[target] - centered[:, :target] @ (beta / std[:target])
    least_squares_rss = residual @ residual
    noise_variance = least_squares_rss / (n_rows - n_columns)
    if not noise_variance > 0:
        raise CausalDiscoveryError("the reward is an exact linear function of the other columns")
    distance = path - np.sign(beta)[:, np.newaxis]
    rss = least_squares_rss + np.einsum("ik,ik->k", distance, gram @ distance)
    nonzero = (np.abs(path) > np.finfo(np.float64).eps).sum(axis=0)
    bic = n_rows * np.log(2 * np.pi * noise_variance) + rss / noise_variance + np.log(n_rows) * nonzero
    selected = np.abs(path[:, np.argmin(bic)] * weight) > 0

    coefficients = np.zeros(target)
    if selected.any():
        coefficients[selected] = LinearRegression().fit(data[:, :target][:, selected], data[:, target]).coef_
    return coefficients


def _direct_lingam_row(data: np.ndarray) -> np.ndarray:
    """
    The reward row of ``lingam.DirectLiNGAM()`` fitted over all columns (the authors' procedure).

    :param data: ``(n, d)`` finite rows with no constant column, the reward last
    :return: ``(d - 1,)`` the reward's coefficients on each other column
    """
    import lingam  # importing lingam takes seconds: only this method needs it

    # Collinear columns (e.g. duplicated observation dimensions) still make DirectLiNGAM divide by zero
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return lingam.DirectLiNGAM().fit(data).adjacency_matrix_[-1, :-1]


def estimate_causal_weights(
    states: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    method: str = "reward_sink",
) -> tuple[np.ndarray, np.ndarray]:
    """
    Estimate ACE's causal entropy weights from transitions ``(s, a, r)``.

    Rows with a NaN or infinite value are dropped and constant columns left out of the fit (a constant action
    dimension gets coefficient 0). Data that cannot support a fit raises :class:`CausalDiscoveryError`. The fit runs
    with one BLAS thread: faster on a busy machine and the same result whatever the thread count.

    :param states: ``(n, state_dim)`` states the actions were taken in (``state_dim`` may be 0)
    :param actions: ``(n, action_dim)`` actions, as stored for learning (scaled to [-1, 1])
    :param rewards: ``(n,)`` rewards
    :param method: ``"reward_sink"`` (reward is a sink of the causal graph; one adaptive-lasso regression) or
        ``"direct_lingam"`` (the authors' full DirectLiNGAM over all columns)
    :return: ``(weights, coefficients)``: the weights ``dim(A) * softmax(B[r, a])`` and the raw action-to-reward
        coefficients ``B[r, a]``, each of shape ``(action_dim,)``
    """
    if method not in CAUSAL_METHODS:
        raise ValueError(f"Unknown causal method {method!r}, expected one of {CAUSAL_METHODS}")
    data, usable, state_dim, action_dim = _causal_data(states, actions, rewards)
    fit = _reward_sink_row if method == "reward_sink" else _direct_lingam_row
    try:
        with _thread_pools().limit(limits=1, user_api="blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # LARS dropping degenerate (collinear) regressors
            reward_row = fit(data)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
        raise CausalDiscoveryError(f"the {method} fit failed: {error}") from error
    if not np.isfinite(reward_row).all():
        raise CausalDiscoveryError(f"the {method} fit gave non-finite coefficients")

    coefficients_of_usable = np.zeros(state_dim + action_dim)
    coefficients_of_usable[usable[:-1]] = reward_row
    coefficients = coefficients_of_usable[state_dim:]
    return causal_weights_from_coefficients(coefficients), coefficients
