"""Causal discovery of how each action dimension drives the reward (ACE paper, section 4.1).

ACE fits a linear non-Gaussian acyclic model (LiNGAM) over the columns ``X = [s, a, r]`` of recent
transitions and reads the causal effect of action dimension ``i`` on the reward, ``B[r, a_i]``. The weights
that scale the entropy of each action dimension are ``w = dim(A) * softmax(B[r, a])``, so ``sum(w) = dim(A)``.

Four ways to get ``B[r, a]`` (:data:`CausalMethod`), two edge estimators times two causal orders:

- the edge estimator: DirectLiNGAM estimates each edge with an adaptive lasso of a variable on the variables before it
  in the causal order. lingam (1.13) standardizes the columns, selects the predictors with the lasso and refits them
  with ordinary least squares. causal-learn, whose copy of DirectLiNGAM the authors' code runs, fits the lasso on the
  raw columns and returns its (shrunk) coefficients, with no refit. The two give different coefficients.
- the causal order: the paper's structural model has ``s`` and ``a`` causing ``r`` and nothing caused by ``r``. With
  ``r`` a sink (last in the order), its row is the adaptive lasso of ``r`` on every other column, a single regression
  computed here from the columns' covariance matrix (about 0.2 s at Humanoid size, 366 columns and 10,000 rows, on
  one core). DirectLiNGAM's own causal-order search instead decides where ``r`` goes (it is not always last); its cost
  grows with the cube of the number of columns (seconds at HalfCheetah size, hours at Humanoid size).

=============================== ============================= ==================================================
method                          causal order                  edge estimator (reproduces)
=============================== ============================= ==================================================
``"reward_sink"`` (default)     reward last                   lingam's ``predict_adaptive_lasso``
``"direct_lingam"``             DirectLiNGAM's search         lingam's ``DirectLiNGAM()``
``"causal_learn_reward_sink"``  reward last                   causal-learn's ``predict_adaptive_lasso``
``"causal_learn"``              DirectLiNGAM's search         causal-learn's ``DirectLiNGAM()``: the authors' code
=============================== ============================= ==================================================

causal-learn is not a dependency: ``"causal_learn"`` runs lingam's causal-order search (with causal-learn's residual,
see :func:`_causal_learn_direct_lingam`) and computes causal-learn's adaptive lasso with scikit-learn.
See ``docs/causal_discovery.md`` for the derivations and measurements.
"""

import typing
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, partial
from typing import Any, Literal

import numpy as np
import scipy.linalg
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, lars_path_gram
from threadpoolctl import ThreadpoolController

CausalMethod = Literal["reward_sink", "direct_lingam", "causal_learn_reward_sink", "causal_learn"]
CAUSAL_METHODS: tuple[CausalMethod, ...] = typing.get_args(CausalMethod)

# Whose adaptive lasso (DirectLiNGAM's edge estimator) to reproduce
AdaptiveLassoLibrary = Literal["lingam", "causal-learn"]

# Singular values below this fraction of the largest are treated as zero in the ordinary least squares fit that
# gives the adaptive-lasso weights: scikit-learn's ``LinearRegression(tol=1e-6)`` default, which both libraries use.
_OLS_TOLERANCE = 1e-6
# ``LassoLarsIC``'s default cap on the number of steps of the lasso path (which both libraries keep).
_LARS_MAX_ITER = 500
# A least squares residual variance below this fraction of the reward's variance (a residual standard deviation below
# 2^-28 of the reward's) is round-off: the reward is an exact linear function of its predictors, and the BIC (the log of
# that variance) would pick the model from rounding errors. An exact relation in float64 leaves about 2^-52 times the
# condition number; rewards stored in float32 (as SB3 stores them) are rounded by at least 2^-26 of their size and pass.
_EXACT_FIT_VARIANCE = 2.0**-56


@cache
def _thread_pools() -> ThreadpoolController:
    """The native thread pools of the process (BLAS, OpenMP), found once: looking them up takes milliseconds."""
    return ThreadpoolController()


class CausalDiscoveryError(ValueError):
    """
    The transitions cannot support a causal fit: no finite row, too few rows, a constant reward, constant actions, values
    that overflow, a reward that is an exact linear function of its predictors, or a non-finite result. Always a
    property of the data, found by an explicit check; any other exception out of the fit is a bug.
    """


def causal_weights_from_coefficients(coefficients: np.ndarray) -> np.ndarray:
    """
    ACE's entropy weights from the action-to-reward causal coefficients.

    :param coefficients: ``B[r, a]``, one signed coefficient per action dimension
    :return: ``w = dim(A) * softmax(B[r, a])``: positive, summing to ``dim(A)``
    """
    shifted = coefficients - coefficients.max()  # softmax is shift-invariant; this keeps exp() finite
    exp = np.exp(shifted)
    return len(coefficients) * exp / exp.sum()


def weights_saturated(weights: np.ndarray, floor: float = 1e-3) -> bool:
    """
    Whether the softmax has saturated: some action dimension's weight is (almost) zero, so its entropy no longer counts.

    ``dim(A) * softmax(B[r, a])`` saturates when the coefficients differ by much more than 1, e.g. ``[3, 0, 0]`` when
    the rewards are on a large scale (the coefficients scale with the reward); ``standardize_effects=True`` of
    :func:`sb3_ace.estimate_causal_weights` removes that dependence on units.

    :param weights: the causal weights, one per action dimension
    :param floor: fraction of the mean weight below which a weight counts as zero
    :return: True if some weight is below ``floor`` times the mean weight
    """
    return bool(np.any(weights < floor * weights.mean()))


def reward_sink_prior_knowledge(n_columns: int) -> np.ndarray:
    """
    DirectLiNGAM prior knowledge that makes the last column (the reward) a sink of the causal graph: under it, the reward
    row of lingam's (causal-learn's) ``DirectLiNGAM(prior_knowledge=...)`` is what ``"reward_sink"``
    (``"causal_learn_reward_sink"``) computes. Both libraries read prior knowledge the same way.

    :param n_columns: number of columns, the reward last
    :return: ``(n_columns, n_columns)`` matrix: ``pk[i, r] = 0`` (no directed path from the reward to column ``i``)
        for every other column ``i``, -1 (unknown) elsewhere
    """
    prior_knowledge = -np.ones((n_columns, n_columns))
    prior_knowledge[:-1, -1] = 0
    return prior_knowledge


def _causal_data(states: np.ndarray, actions: np.ndarray, rewards: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """
    The data a causal fit runs on: rows ``[s, a, r]`` with a non-finite value dropped, constant columns left out (a
    constant column carries no causal information and makes DirectLiNGAM divide by zero).

    :param states: ``(n, state_dim)`` states (``state_dim`` may be 0)
    :param actions: ``(n, action_dim)`` actions
    :param rewards: ``(n,)`` rewards
    :return: ``(data, usable, state_dim, action_dim)``: the finite rows of the varying columns, reward last; the
        mask of the varying columns among ``[s, a, r]``; the state and action dimensions
    :raises CausalDiscoveryError: no finite row, values whose variance overflows, constant reward, every action
        dimension constant, or no more finite rows than varying columns
    """
    n_rows = len(rewards)
    actions = np.asarray(actions, dtype=np.float64).reshape(n_rows, -1)
    states = np.asarray(states, dtype=np.float64).reshape(n_rows, -1)
    data = np.hstack([states, actions, np.asarray(rewards, dtype=np.float64).reshape(n_rows, 1)])
    state_dim, action_dim = states.shape[1], actions.shape[1]

    data = data[np.isfinite(data).all(axis=1)]
    if len(data) == 0:
        raise CausalDiscoveryError(f"each of the {n_rows} rows has a NaN or infinite value")
    with np.errstate(over="ignore"):  # an overflow is reported just below
        std = data.std(axis=0)
    if not np.isfinite(std).all():
        raise CausalDiscoveryError("values so large that their variance overflows")
    # A column varies if its standard deviation is above round-off level
    usable = std > 1e-8 * np.maximum(np.abs(data).max(axis=0), 1.0)
    if not usable[-1]:
        raise CausalDiscoveryError(f"the reward is constant over the {len(data)} finite rows: nothing to explain")
    if not usable[state_dim:-1].any():
        raise CausalDiscoveryError("every action dimension is constant: no action effect can be estimated")
    data = data[:, usable]
    if len(data) <= data.shape[1]:
        raise CausalDiscoveryError(f"{len(data)} finite rows for {data.shape[1]} varying columns: too few rows")
    return data, usable, state_dim, action_dim


def _adaptive_lasso_row(data: np.ndarray, library: AdaptiveLassoLibrary) -> np.ndarray:
    """
    DirectLiNGAM's edge estimator: the adaptive lasso of the last column on the others, as ``library`` computes it.

    Both libraries' ``predict_adaptive_lasso(data, range(d - 1), d - 1)`` (``d`` columns) fit ordinary least squares for
    the weights ``|beta|``, then scikit-learn's ``LassoLarsIC(criterion="bic")`` (the LARS lasso path, the model picked
    by BIC) on the columns scaled by ``|beta|``. lingam does both on the standardized columns, keeps the predictors the
    lasso selected and refits them with ordinary least squares on the raw columns. causal-learn does both on the raw
    columns and returns the lasso's coefficients times ``|beta|``, with no refit.

    Here the least squares fit, the lasso path and the BIC run on the ``d x d`` correlation matrix of the columns instead
    of the ``n x d`` data, which is where the time goes in the libraries' versions. Standardizing does not change
    causal-learn's lasso: its columns scaled by ``|beta|`` are the standardized columns scaled by the standardized
    ``|beta|``, all times the reward's standard deviation, so its lasso path and BIC choice are lingam's, and its
    coefficients are lingam's lasso coefficients converted to the columns' original units. causal-learn's least squares
    fit on the raw columns is the standardized one, rescaled; it is computed on the standardized columns too, because the
    raw covariance matrix adds the spread of the columns' scales, squared, to the condition number (the two could only
    differ in which directions an exactly collinear design drops).

    :param data: ``(n, d)`` finite rows with no constant column and ``n > d``, the target last
    :param library: ``"lingam"`` (lingam 1.13) or ``"causal-learn"``
    :return: ``(d - 1,)`` coefficients of the target on each other column, in the columns' original units
    :raises CausalDiscoveryError: the target is an exact linear function of the other columns
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
    if not noise_variance > _EXACT_FIT_VARIANCE:  # relative to the standardized reward's variance, 1
        raise CausalDiscoveryError("the reward is an exact linear function of its predictors: no noise to fit a model to")
    distance = path - np.sign(beta)[:, np.newaxis]
    rss = least_squares_rss + np.einsum("ik,ik->k", distance, gram @ distance)
    nonzero = (np.abs(path) > np.finfo(np.float64).eps).sum(axis=0)
    bic = n_rows * np.log(2 * np.pi * noise_variance) + rss / noise_variance + np.log(n_rows) * nonzero
    lasso_coefficients = path[:, np.argmin(bic)] * weight  # of the standardized columns

    if library == "causal-learn":
        return lasso_coefficients * std[target] / std[:target]
    selected = np.abs(lasso_coefficients) > 0
    coefficients = np.zeros(target)
    if selected.any():
        coefficients[selected] = LinearRegression().fit(data[:, :target][:, selected], data[:, target]).coef_
    return coefficients


@contextmanager
def _direct_lingam_warnings_silenced() -> Iterator[None]:
    """
    Silence numpy's warnings inside DirectLiNGAM's causal-order search: exactly collinear columns (e.g. duplicated
    observation dimensions) make its residuals zero and its standardization divide by zero, like a constant column.
    A non-finite result is reported by :func:`estimate_causal_weights`.
    """
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _direct_lingam_row(data: np.ndarray) -> np.ndarray:
    """
    The reward row of ``lingam.DirectLiNGAM()`` fitted over all columns.

    :param data: ``(n, d)`` finite rows with no constant column, the reward last
    :return: ``(d - 1,)`` the reward's coefficients on each other column
    """
    import lingam  # importing lingam takes seconds: only the methods that search a causal order need it

    with _direct_lingam_warnings_silenced():
        return lingam.DirectLiNGAM().fit(data).adjacency_matrix_[-1, :-1]


@cache
def _causal_learn_direct_lingam() -> Any:
    """
    lingam's ``DirectLiNGAM`` made to search the causal order exactly as causal-learn's does, and to stop there.

    The two libraries' causal-order searches are the same code but for the residual of ``x_i`` regressed on ``x_j``:
    causal-learn divides the sample covariance (``np.cov``, ``n - 1`` in the denominator) by the variance
    (``np.var``, ``n``), lingam 1.13 uses ``n`` for both. The regression coefficient differs by ``n / (n - 1)``, which
    flips close decisions of the search: on synthetic LiNGAM data sets of 30 to 300 rows, one order in ten to twenty
    differs.

    :return: the ``lingam.DirectLiNGAM`` subclass (a class, made once: it needs ``import lingam``, which takes seconds)
    """
    import lingam

    class CausalLearnOrder(lingam.DirectLiNGAM):  # type: ignore[misc]
        """lingam's DirectLiNGAM with causal-learn's residual, fitting the causal order only."""

        def _residual(self, xi: np.ndarray, xj: np.ndarray) -> np.ndarray:
            """causal-learn's residual of ``xi`` regressed on ``xj``: sample covariance over population variance."""
            return xi - (np.cov(xi, xj)[0, 1] / np.var(xj)) * xj

        def _estimate_adjacency_matrix(self, X: np.ndarray, prior_knowledge: np.ndarray | None = None) -> Any:
            """Skip lingam's edge estimation: :func:`_causal_learn_row` estimates the reward's edges the causal-learn way."""
            return self

    return CausalLearnOrder


def _causal_learn_row(data: np.ndarray) -> np.ndarray:
    """
    The reward row of causal-learn's ``DirectLiNGAM()`` fitted over all columns (the authors' procedure): the causal
    order, then causal-learn's adaptive lasso of the reward on the columns before it in that order.

    :param data: ``(n, d)`` finite rows with no constant column and ``n > d``, the reward last
    :return: ``(d - 1,)`` the reward's coefficients on each other column (0 for the columns after it in the order)
    """
    with _direct_lingam_warnings_silenced():
        order = list(_causal_learn_direct_lingam()().fit(data).causal_order_)
    predictors = order[: order.index(data.shape[1] - 1)]
    row = np.zeros(data.shape[1] - 1)
    if predictors:  # none when the reward is first in the order: no edge into it
        row[predictors] = _adaptive_lasso_row(data[:, [*predictors, -1]], "causal-learn")
    return row


_REWARD_ROWS: dict[CausalMethod, Callable[[np.ndarray], np.ndarray]] = {
    "reward_sink": partial(_adaptive_lasso_row, library="lingam"),
    "direct_lingam": _direct_lingam_row,
    "causal_learn_reward_sink": partial(_adaptive_lasso_row, library="causal-learn"),
    "causal_learn": _causal_learn_row,
}


def estimate_causal_weights(
    states: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    method: CausalMethod = "reward_sink",
    standardize_effects: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """
    Estimate ACE's causal entropy weights from transitions ``(s, a, r)``.

    Rows with a NaN or infinite value are dropped and constant columns left out of the fit (a constant action
    dimension gets coefficient 0). Data that cannot support a fit raises :class:`CausalDiscoveryError`; any other
    exception is a bug and propagates. The fit runs with one BLAS thread: faster on a busy machine and the same result
    whatever the thread count.

    :param states: ``(n, state_dim)`` states the actions were taken in (``state_dim`` may be 0)
    :param actions: ``(n, action_dim)`` actions, as stored for learning (scaled to [-1, 1])
    :param rewards: ``(n,)`` rewards
    :param method: the causal order and edge estimator
        (:data:`~sb3_ace.common.causal_discovery.CAUSAL_METHODS`): ``"reward_sink"`` (the reward a sink of the causal
        graph, lingam's adaptive lasso: one regression), ``"direct_lingam"`` (lingam's full DirectLiNGAM over all
        columns), ``"causal_learn_reward_sink"`` (the reward a sink, causal-learn's adaptive lasso: one regression) or
        ``"causal_learn"`` (causal-learn's full DirectLiNGAM, as the authors' code runs it)
    :param standardize_effects: use the standardized causal effects ``B[r, a_i] * std(a_i) / std(r)`` instead of
        ``B[r, a]`` (the paper's formula). They do not change when the reward or an action is expressed in other
        units, so the softmax does not saturate when the rewards are on a large scale (see
        :func:`~sb3_ace.common.causal_discovery.weights_saturated`)
    :return: ``(weights, coefficients)``: the weights ``dim(A) * softmax(coefficients)`` and the action-to-reward
        coefficients they come from (``B[r, a]``, or the standardized effects), each of shape ``(action_dim,)``
    :raises CausalDiscoveryError: the data cannot support a fit (see ``_causal_data``), the reward is an exact
        linear function of its predictors, or the fit gave non-finite coefficients
    """
    if method not in CAUSAL_METHODS:
        raise ValueError(f"Unknown causal method {method!r}, expected one of {CAUSAL_METHODS}")
    data, usable, state_dim, action_dim = _causal_data(states, actions, rewards)
    with _thread_pools().limit(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # LARS dropping degenerate (collinear) regressors
        reward_row = _REWARD_ROWS[method](data)
    if not np.isfinite(reward_row).all():
        raise CausalDiscoveryError(f"the {method} fit gave non-finite coefficients")
    if standardize_effects:
        std = data.std(axis=0)
        reward_row = reward_row * std[:-1] / std[-1]

    coefficients_of_usable = np.zeros(state_dim + action_dim)
    coefficients_of_usable[usable[:-1]] = reward_row
    coefficients = coefficients_of_usable[state_dim:]
    return causal_weights_from_coefficients(coefficients), coefficients
