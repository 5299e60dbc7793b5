"""Time ACE's causal step: ``"reward_sink"`` against DirectLiNGAM, at HalfCheetah, Ant and Humanoid sizes; with
``--causal-learn``, every causal method against causal-learn's DirectLiNGAM, the estimator of the authors' code.

For each task the data is ``--rows`` random-action transitions ``[s, a, r]`` of the real MuJoCo v5 env (the observation
each action was taken in, the action scaled to [-1, 1] as SB3 stores it, the reward), or with ``--synthetic`` data of a
linear non-Gaussian acyclic model with the same numbers of columns. Timed, median over the repetitions, every fit with
one BLAS thread (as ``sb3_ace.estimate_causal_weights`` runs it):

- ``reward_sink``: ``estimate_causal_weights(..., method="reward_sink")`` (data hygiene included);
- ``adalasso``: ``lingam.utils.predict_adaptive_lasso`` on the same cleaned data (the coefficients it gives are the
  reference for ``reward_sink``);
- ``lingam``: ``lingam.DirectLiNGAM()`` over all columns (``method="direct_lingam"``), and ``lingam+pk``: DirectLiNGAM
  with prior knowledge making the reward a sink. Each runs in a child process, repeated while the total stays under
  ``--lingam-cap`` seconds; a variant whose first fit does not finish by then is killed, reported as skipped, and
  skipped at the larger sizes.

Printed per task: ``cols`` (columns of ``[s, a, r]``) and ``vary`` (the non-constant ones the fits run on); the
seconds of each method and ``ratio`` = lingam / reward_sink; the largest absolute difference of ``reward_sink``'s
coefficients from ``adalasso`` and from ``lingam+pk`` over the whole reward row (the claim: equal), and from the
unconstrained ``lingam`` over the whole reward row (``|dB| lingam``), over the action coefficients ``B[r, a]`` and over
the weights ``w`` (what ACE uses); ``r at``: the reward's position in the unconstrained DirectLiNGAM causal order.

With ``--causal-learn`` (needs causal-learn), a second table per task: causal-learn's ``DirectLiNGAM()`` over all
columns is the reference (``causal-learn``; its reward row is what the authors' code uses), fitted like ``lingam`` in a
child process under the cap, as are ``causal-learn+pk`` (with the reward-sink prior knowledge) and the
``causal_learn`` method (its causal-order search and edge estimator on the cleaned data). ``causal_learn_reward_sink``
is timed like ``reward_sink``, and ``cl adalasso`` is causal-learn's ``predict_adaptive_lasso`` of the reward on every
other column. For every method: its seconds, and the largest absolute differences from the reference over the whole
reward row (``|dB|``, for ``causal_learn`` the claim: equal), over the action coefficients (``|dB[r,a]|``) and over the
weights (``|dw|``); ``|dB| own``: the difference from the estimator a reward-sink method reproduces
(``causal_learn_reward_sink``: ``cl adalasso`` and ``causal-learn+pk``; ``reward_sink``: ``lingam+pk``). The heading
gives the reward's position in causal-learn's causal order.

Run from the repository root (about 10 minutes on 2 cores with the defaults, most of it DirectLiNGAM at Ant size
running into the cap)::

    python benchmarks/causal_fit.py
    python benchmarks/causal_fit.py --synthetic --lingam-cap 60 --envs HalfCheetah-v5 Ant-v5
    python benchmarks/causal_fit.py --envs HalfCheetah-v5 --causal-learn
"""

import argparse
import importlib.metadata
import multiprocessing
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TypeVar

import numpy as np
import sklearn
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sb3_ace.common.causal_discovery import (
    _adaptive_lasso_row,
    _causal_data,
    _causal_learn_row,
    causal_weights_from_coefficients,
    estimate_causal_weights,
    reward_sink_prior_knowledge,
)

T = TypeVar("T")

# (state dimensions, action dimensions) of the MuJoCo v5 tasks, for --synthetic
TASK_SIZES = {"HalfCheetah-v5": (17, 6), "Hopper-v5": (11, 3), "Ant-v5": (105, 8), "Humanoid-v5": (348, 17)}


def env_transitions(env_id: str, n_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Random-action transitions of a Gymnasium task, as ACE's causal step sees them.

    :param env_id: Gymnasium task id
    :param n_rows: number of transitions
    :param seed: seed of the env and of the action sampling
    :return: ``(states, actions, rewards)``: the observation each action was taken in, the action scaled to [-1, 1] and
        the reward
    """
    import gymnasium as gym

    env = gym.make(env_id)
    assert isinstance(env.action_space, gym.spaces.Box)
    env.action_space.seed(seed)
    observation, _ = env.reset(seed=seed)
    low, high = env.action_space.low, env.action_space.high
    states, actions, rewards = [], [], []
    for _ in range(n_rows):
        action = env.action_space.sample()
        next_observation, reward, terminated, truncated, _ = env.step(action)
        states.append(observation)
        actions.append(2.0 * (action - low) / (high - low) - 1.0)
        rewards.append(reward)
        observation = env.reset()[0] if terminated or truncated else next_observation
    env.close()
    return np.array(states), np.array(actions), np.array(rewards)


def synthetic_transitions(
    state_dim: int, action_dim: int, n_rows: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Transitions of a random sparse linear non-Gaussian acyclic model: states cause each other (in index order), states
    and actions cause the reward, the actions are uniform in [-1, 1].

    :param state_dim: number of state columns
    :param action_dim: number of action columns
    :param n_rows: number of transitions
    :param seed: random seed
    :return: ``(states, actions, rewards)``
    """
    rng = np.random.default_rng(seed)
    edges = np.tril(rng.uniform(-0.8, 0.8, (state_dim, state_dim)) * (rng.uniform(size=(state_dim, state_dim)) < 0.05), -1)
    states = rng.laplace(size=(n_rows, state_dim)) @ np.linalg.inv(np.eye(state_dim) - edges).T
    actions = rng.uniform(-1.0, 1.0, (n_rows, action_dim))
    state_effects = rng.uniform(-1.0, 1.0, state_dim) * (rng.uniform(size=state_dim) < 0.2)
    rewards = states @ state_effects + actions @ rng.uniform(-1.0, 1.0, action_dim) + rng.laplace(0.0, 0.5, n_rows)
    return states, actions, rewards


# The fits that search a causal order (seconds to hours), run in a child process under a cap: DirectLiNGAM of lingam and
# of causal-learn, without and with the reward-sink prior knowledge, and the "causal_learn" method
SLOW_FITS = ("lingam", "lingam+pk", "causal-learn", "causal-learn+pk", "causal_learn")


def slow_fit(data: np.ndarray, variant: str) -> tuple[np.ndarray, list[int] | None]:
    """
    One fit of a variant of ``SLOW_FITS``.

    :param data: ``(n, d)`` cleaned data, the reward last
    :param variant: one of ``SLOW_FITS``
    :return: ``(reward row, causal order)``, the order None for ``"causal_learn"``
    """
    if variant == "causal_learn":
        return _causal_learn_row(data), None
    if variant.startswith("lingam"):
        from lingam import DirectLiNGAM
    else:
        from causallearn.search.FCMBased.lingam import DirectLiNGAM
    prior_knowledge = reward_sink_prior_knowledge(data.shape[1]) if variant.endswith("+pk") else None
    model = DirectLiNGAM(prior_knowledge=prior_knowledge).fit(data)
    return model.adjacency_matrix_[-1, :-1], list(map(int, model.causal_order_))


def slow_fit_child(data: np.ndarray, variant: str, repeats: int, connection: Connection) -> None:
    """
    Child process: fit ``variant`` ``repeats`` times, sending ``(seconds, reward row, causal order)`` after each fit.

    :param data: ``(n, d)`` cleaned data, the reward last
    :param variant: one of ``SLOW_FITS``
    :param repeats: number of fits
    :param connection: pipe to the parent; ``"ready"`` is sent once the libraries are imported
    """
    import lingam  # noqa: F401  (imported before the clock starts: it takes seconds; "causal_learn" uses it)

    if variant.startswith("causal-learn"):
        import causallearn.search.FCMBased.lingam  # noqa: F401
    connection.send("ready")
    for _ in range(repeats):
        with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            row, order = slow_fit(data, variant)
            seconds = time.perf_counter() - start
        connection.send((seconds, row, order))


def time_slow_fit(
    data: np.ndarray, variant: str, repeats: int, cap: float
) -> tuple[list[float], np.ndarray | None, list[int] | None]:
    """
    Fit ``variant`` in a child process, repeated while the total stays under ``cap`` seconds.

    :param data: ``(n, d)`` cleaned data, the reward last
    :param variant: one of ``SLOW_FITS``
    :param repeats: largest number of fits
    :param cap: seconds after which the child is killed (not counting its start and imports)
    :return: ``(seconds of each finished fit, reward row, causal order)``, the last two None if no fit finished
    """
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=slow_fit_child, args=(data, variant, repeats, child), daemon=True)
    process.start()
    child.close()
    parent.recv()  # "ready"
    deadline = time.perf_counter() + cap
    seconds: list[float] = []
    row, order = None, None
    while len(seconds) < repeats and parent.poll(max(deadline - time.perf_counter(), 0.0)):
        fit_seconds, row, order = parent.recv()
        seconds.append(fit_seconds)
        if sum(seconds) + np.median(seconds) > cap:  # another fit would likely run past the cap
            break
    process.kill()
    process.join()
    return seconds, row, order


def timed(function: Callable[..., T], *args: object, repeats: int) -> tuple[float, T]:
    """
    Median wall-clock seconds of ``function(*args)`` over ``repeats`` calls, and what it returns.

    :param function: the function to time
    :param args: its arguments
    :param repeats: number of calls
    :return: ``(median seconds, the last call's result)``
    """
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args)
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds)), result


def load_average() -> str:
    """The machine's load average over the last 1, 5 and 15 minutes, as text."""
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def seconds_text(seconds: list[float]) -> str:
    """Median seconds of the finished fits of a capped variant, their number in brackets, or "skipped"."""
    return f"{np.median(seconds):.2f} ({len(seconds)})" if seconds else "skipped"


def causal_learn_table(
    env_id: str,
    data: np.ndarray,
    usable: np.ndarray,
    state_dim: int,
    rows: dict[str, tuple[str, np.ndarray | None]],
    own: dict[str, str],
    order: list[int] | None,
) -> str:
    """
    The ``--causal-learn`` table of one task: every method against causal-learn's DirectLiNGAM.

    :param env_id: the task
    :param data: ``(n, d)`` cleaned data, the reward last
    :param usable: mask of the varying columns among ``[s, a, r]``
    :param state_dim: state dimensions
    :param rows: per method, ``(seconds as text, reward row or None)``; the reference is ``"causal-learn"``
    :param own: per method, the difference from the estimator it reproduces, as text
    :param order: causal-learn's causal order, or None if its fit was skipped
    :return: the table, as text
    """
    varying_actions = usable[state_dim:-1]
    action_columns = np.flatnonzero(varying_actions) + int(usable[:state_dim].sum())

    def weights(row: np.ndarray) -> np.ndarray:
        coefficients = np.zeros(varying_actions.size)
        coefficients[varying_actions] = row[action_columns]
        return causal_weights_from_coefficients(coefficients)

    target = data.shape[1] - 1
    reward_at = f"{order.index(target) + 1}/{target + 1}" if order is not None else "-"
    lines = [
        f"{env_id}: {usable.size} columns, {data.shape[1]} vary; reward at {reward_at} of causal-learn's causal order",
        f"{'method':<26}{'seconds':>12}{'|dB|':>10}{'|dB[r,a]|':>11}{'|dw|':>10}  |dB| own",
    ]
    reference = rows["causal-learn"][1]
    for method, (seconds, row) in rows.items():
        row_difference = action_difference = weight_difference = "-"
        if reference is not None and row is not None and method != "causal-learn":
            row_difference = f"{np.abs(row - reference).max():.1e}"
            action_difference = f"{np.abs(row - reference)[action_columns].max():.2e}"
            weight_difference = f"{np.abs(weights(row) - weights(reference)).max():.2e}"
        differences = f"{row_difference:>10}{action_difference:>11}{weight_difference:>10}"
        lines.append(f"{method:<26}{seconds:>12}{differences}  {own.get(method, '')}".rstrip())
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=["HalfCheetah-v5", "Ant-v5", "Humanoid-v5"], help="task sizes")
    parser.add_argument("--rows", type=int, default=10_000, help="transitions per task (ACE's N_c)")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of the one-regression methods")
    parser.add_argument("--lingam-repeats", type=int, default=3, help="largest number of repetitions of DirectLiNGAM")
    parser.add_argument("--lingam-cap", type=float, default=300.0, help="seconds allowed to each DirectLiNGAM variant")
    parser.add_argument("--causal-learn", action="store_true", help="compare every method with causal-learn's DirectLiNGAM")
    parser.add_argument("--synthetic", action="store_true", help=f"synthetic LiNGAM data of the sizes of {list(TASK_SIZES)}")
    parser.add_argument("--seed", type=int, default=0, help="seed of the envs / synthetic data")
    args = parser.parse_args()
    if args.synthetic and not set(args.envs) <= set(TASK_SIZES):
        parser.error(f"--synthetic knows the sizes of {list(TASK_SIZES)} only")

    start = time.perf_counter()
    import lingam
    from lingam.utils import predict_adaptive_lasso

    import_seconds = time.perf_counter() - start
    versions = f"lingam {lingam.__version__} (import lingam: {import_seconds:.1f} s)"
    if args.causal_learn:
        from causallearn.search.FCMBased.lingam.utils import predict_adaptive_lasso as causal_learn_adaptive_lasso

        versions += f", causal-learn {importlib.metadata.version('causal-learn')}"
    print(f"command: python {' '.join(sys.argv)}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load_average()}; "
        f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, {versions}; "
        "one BLAS thread per fit"
    )
    print(f"data: {'synthetic LiNGAM' if args.synthetic else 'random-action MuJoCo'} transitions, {args.rows} rows")
    print("seconds: medians (number of DirectLiNGAM fits in brackets); |d..|: largest absolute differences\n")
    width = max(len(env_id) for env_id in [*args.envs, "task"]) + 1
    print(
        f"{'task':<{width}}{'cols':>5}{'vary':>5}{'reward_sink':>12}{'adalasso':>10}{'lingam':>12}{'ratio':>8}"
        f"{'lingam+pk':>12}{'|dB| adalasso':>14}{'|dB| +pk':>10}{'|dB| lingam':>12}{'|dB[r,a]|':>11}{'|dw|':>10}{'r at':>8}"
    )
    variants = SLOW_FITS if args.causal_learn else SLOW_FITS[:2]
    skipped = dict.fromkeys(variants, False)
    causal_learn_tables = []
    for env_id in args.envs:
        if args.synthetic:
            states, actions, rewards = synthetic_transitions(*TASK_SIZES[env_id], args.rows, args.seed)
        else:
            states, actions, rewards = env_transitions(env_id, args.rows, args.seed)
        data, usable, state_dim, action_dim = _causal_data(states, actions, rewards)
        target = data.shape[1] - 1
        varying_actions = usable[state_dim:-1]
        action_columns = np.flatnonzero(varying_actions) + int(usable[:state_dim].sum())

        sink_seconds, (sink_weights, _) = timed(estimate_causal_weights, states, actions, rewards, repeats=args.repeats)
        with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sink_row = _adaptive_lasso_row(data, "lingam")
            lasso_seconds, lasso_row = timed(predict_adaptive_lasso, data, list(range(target)), target, repeats=args.repeats)

        fits: dict[str, tuple[list[float], np.ndarray | None, list[int] | None]] = {}
        for variant in variants:
            fits[variant] = [], None, None
            if not skipped[variant]:
                fits[variant] = time_slow_fit(data, variant, args.lingam_repeats, args.lingam_cap)
                skipped[variant] = not fits[variant][0]

        free_seconds, free_row, free_order = fits["lingam"]
        pk_seconds, pk_row, _ = fits["lingam+pk"]
        ratio = row_difference = action_difference = weight_difference = reward_position = pk_difference = "-"
        if free_row is not None and free_order is not None:
            ratio = f"{np.median(free_seconds) / sink_seconds:.0f}x"
            free_coefficients = np.zeros(action_dim)
            free_coefficients[varying_actions] = free_row[action_columns]
            row_difference = f"{np.abs(sink_row - free_row).max():.2e}"
            action_difference = f"{np.abs(sink_row[action_columns] - free_row[action_columns]).max():.2e}"
            weight_difference = f"{np.abs(sink_weights - causal_weights_from_coefficients(free_coefficients)).max():.2e}"
            reward_position = f"{free_order.index(target) + 1}/{target + 1}"
        if pk_row is not None:
            pk_difference = f"{np.abs(sink_row - pk_row).max():.1e}"
        print(
            f"{env_id:<{width}}{usable.size:>5}{data.shape[1]:>5}{sink_seconds:>12.4f}{lasso_seconds:>10.3f}"
            f"{seconds_text(free_seconds):>12}{ratio:>8}{seconds_text(pk_seconds):>12}"
            f"{np.abs(sink_row - lasso_row).max():>14.1e}{pk_difference:>10}"
            f"{row_difference:>12}{action_difference:>11}{weight_difference:>10}{reward_position:>8}",
            flush=True,
        )

        if args.causal_learn:
            cl_sink_seconds, _ = timed(
                estimate_causal_weights, states, actions, rewards, "causal_learn_reward_sink", repeats=args.repeats
            )
            with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cl_sink_row = _adaptive_lasso_row(data, "causal-learn")
                cl_lasso_seconds, cl_lasso_row = timed(
                    causal_learn_adaptive_lasso, data, list(range(target)), target, repeats=args.repeats
                )
            cl_pk_row = fits["causal-learn+pk"][1]
            own = {
                "causal_learn_reward_sink": f"{np.abs(cl_sink_row - cl_lasso_row).max():.1e} (cl adalasso)"
                + (f", {np.abs(cl_sink_row - cl_pk_row).max():.1e} (causal-learn+pk)" if cl_pk_row is not None else ""),
                "reward_sink": f"{np.abs(sink_row - pk_row).max():.1e} (lingam+pk)" if pk_row is not None else "",
            }
            rows: dict[str, tuple[str, np.ndarray | None]] = {
                name: (seconds_text(fits[name][0]), fits[name][1]) for name in ("causal-learn", "causal_learn")
            }
            rows["causal_learn_reward_sink"] = (f"{cl_sink_seconds:.4f}", cl_sink_row)
            rows["cl adalasso"] = (f"{cl_lasso_seconds:.4f}", None)
            rows["causal-learn+pk"] = (seconds_text(fits["causal-learn+pk"][0]), cl_pk_row)
            rows["reward_sink"] = (f"{sink_seconds:.4f}", sink_row)
            rows["direct_lingam"] = (seconds_text(free_seconds), free_row)
            rows["lingam+pk"] = (seconds_text(pk_seconds), pk_row)
            causal_learn_tables.append(causal_learn_table(env_id, data, usable, state_dim, rows, own, fits["causal-learn"][2]))
    for table in causal_learn_tables:
        print(f"\ncausal-learn's DirectLiNGAM (the authors' estimator) as the reference\n{table}")
    print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    main()
