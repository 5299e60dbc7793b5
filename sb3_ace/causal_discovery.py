"""Causal discovery of how each action dimension drives the reward (ACE paper, section 4.1).

ACE fits a linear non-Gaussian acyclic model (LiNGAM) over the columns ``X = [s, a, r]`` of recent
transitions and reads the causal effect of action dimension ``i`` on the reward, ``B[r, a_i]``. The weights
that scale the entropy of each action dimension are ``w = dim(A) * softmax(B[r, a])``, so ``sum(w) = dim(A)``.

Two ways to get ``B[r, a]``:

- ``"reward_sink"`` (default): the paper's structural model has ``s`` and ``a`` causing ``r`` and nothing
  caused by ``r``. With ``r`` last in the causal order, DirectLiNGAM's reward row is exactly lingam's
  adaptive-lasso regression of ``r`` on every other column, so no causal-order search is needed. Milliseconds
  at any task size.
- ``"direct_lingam"``: the authors' procedure, ``lingam.DirectLiNGAM()`` over all columns. Its cost grows with
  the cube of the number of columns (seconds at HalfCheetah size, hours at Humanoid size).
"""

import warnings

import lingam
import numpy as np
from lingam.utils import predict_adaptive_lasso
from sklearn.exceptions import ConvergenceWarning

CAUSAL_METHODS = ("reward_sink", "direct_lingam")


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


def _usable_columns(data: np.ndarray) -> np.ndarray:
    """Mask of the columns that vary: a constant column carries no causal information and breaks DirectLiNGAM."""
    scale = np.maximum(np.abs(data).max(axis=0), 1.0)
    return data.std(axis=0) > 1e-8 * scale


def estimate_causal_weights(
    states: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    method: str = "reward_sink",
) -> tuple[np.ndarray, np.ndarray]:
    """
    Estimate ACE's causal entropy weights from transitions ``(s, a, r)``.

    Rows with a NaN or infinite value are dropped and constant columns left out of the fit (a constant action
    dimension gets coefficient 0). Data that cannot support a fit raises :class:`CausalDiscoveryError`.

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
    n_rows = len(rewards)
    actions = np.asarray(actions, dtype=np.float64).reshape(n_rows, -1)
    states = np.asarray(states, dtype=np.float64).reshape(n_rows, -1)
    data = np.hstack([states, actions, np.asarray(rewards, dtype=np.float64).reshape(n_rows, 1)])
    state_dim, action_dim = states.shape[1], actions.shape[1]

    data = data[np.isfinite(data).all(axis=1)]
    usable = _usable_columns(data) if len(data) > 0 else np.zeros(data.shape[1], dtype=bool)
    if not usable[-1]:
        raise CausalDiscoveryError(f"the reward is constant over the {len(data)} finite rows: nothing to explain")
    if not usable[state_dim:-1].any():
        raise CausalDiscoveryError("every action dimension is constant: no action effect can be estimated")
    data = data[:, usable]
    if len(data) <= data.shape[1]:
        raise CausalDiscoveryError(f"{len(data)} finite rows for {data.shape[1]} varying columns: too few rows")

    reward = data.shape[1] - 1
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            if method == "reward_sink":
                reward_row = predict_adaptive_lasso(data, list(range(reward)), reward)
            else:
                reward_row = lingam.DirectLiNGAM().fit(data).adjacency_matrix_[reward, :reward]
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
        raise CausalDiscoveryError(f"the {method} fit failed: {error}") from error
    if not np.isfinite(reward_row).all():
        raise CausalDiscoveryError(f"the {method} fit gave non-finite coefficients")

    coefficients_of_usable = np.zeros(state_dim + action_dim)
    coefficients_of_usable[usable[:-1]] = reward_row
    coefficients = coefficients_of_usable[state_dim:]
    return causal_weights_from_coefficients(coefficients), coefficients
