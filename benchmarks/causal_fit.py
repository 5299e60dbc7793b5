"""Time ACE's causal step: ``"reward_sink"`` against DirectLiNGAM, at HalfCheetah, Ant and Humanoid sizes.

For each task the data is ``--rows`` random-action transitions ``[s, a, r]`` of the real MuJoCo v5 env (the observation
each action was taken in, the action scaled to [-1, 1] as SB3 stores it, the reward), or with ``--synthetic`` data of a
linear non-Gaussian acyclic model with the same numbers of columns. Timed, median over the repetitions, every fit with
one BLAS thread (as ``sb3_ace.estimate_causal_weights`` runs it):

- ``reward_sink``: ``estimate_causal_weights(..., method="reward_sink")`` (data hygiene included);
- ``adalasso``: ``lingam.utils.predict_adaptive_lasso`` on the same cleaned data (what ``reward_sink`` computed before
  issue 4; the coefficients it gives are the reference for ``reward_sink``);
- ``lingam``: ``lingam.DirectLiNGAM()`` over all columns (``method="direct_lingam"``), and ``lingam+pk``: DirectLiNGAM
  with prior knowledge making the reward a sink. Each runs in a child process, repeated while the total stays under
  ``--lingam-cap`` seconds; a variant whose first fit does not finish by then is killed, reported as skipped, and
  skipped at the larger sizes.

Printed per task: ``cols`` (columns of ``[s, a, r]``) and ``vary`` (the non-constant ones the fits run on); the
seconds of each method and ``ratio`` = lingam / reward_sink; the largest absolute difference of ``reward_sink``'s
coefficients from ``adalasso`` and from ``lingam+pk`` over the whole reward row (the claim: equal), and from the
unconstrained ``lingam`` over the whole reward row (``|dB| lingam``), over the action coefficients ``B[r, a]`` and over
the weights ``w`` (what ACE uses); ``r at``: the reward's position in the unconstrained DirectLiNGAM causal order.

Run from the repository root (about 10 minutes on 2 cores with the defaults, most of it DirectLiNGAM at Ant size
running into the cap)::

    python benchmarks/causal_fit.py
    python benchmarks/causal_fit.py --synthetic --lingam-cap 60 --envs HalfCheetah-v5 Ant-v5
"""

import argparse
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
from sb3_ace.causal_discovery import (
    _causal_data,
    _reward_sink_row,
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


def direct_lingam_child(data: np.ndarray, sink_prior: bool, repeats: int, connection: Connection) -> None:
    """
    Child process: fit DirectLiNGAM ``repeats`` times, sending ``(seconds, reward row, causal order)`` after each fit.

    :param data: ``(n, d)`` cleaned data, the reward last
    :param sink_prior: fit with the prior knowledge that makes the reward a sink
    :param repeats: number of fits
    :param connection: pipe to the parent; ``"ready"`` is sent once lingam is imported
    """
    import lingam

    connection.send("ready")
    prior_knowledge = reward_sink_prior_knowledge(data.shape[1]) if sink_prior else None
    for _ in range(repeats):
        with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            model = lingam.DirectLiNGAM(prior_knowledge=prior_knowledge).fit(data)
            seconds = time.perf_counter() - start
        connection.send((seconds, model.adjacency_matrix_[-1, :-1], list(map(int, model.causal_order_))))


def time_direct_lingam(
    data: np.ndarray, sink_prior: bool, repeats: int, cap: float
) -> tuple[list[float], np.ndarray | None, list[int] | None]:
    """
    Fit DirectLiNGAM in a child process, repeated while the total stays under ``cap`` seconds.

    :param data: ``(n, d)`` cleaned data, the reward last
    :param sink_prior: fit with the prior knowledge that makes the reward a sink
    :param repeats: largest number of fits
    :param cap: seconds after which the child is killed (not counting its start and imports)
    :return: ``(seconds of each finished fit, reward row, causal order)``, the last two None if no fit finished
    """
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=direct_lingam_child, args=(data, sink_prior, repeats, child), daemon=True)
    process.start()
    child.close()
    parent.recv()  # "ready"
    deadline = time.perf_counter() + cap
    seconds, row, order = [], None, None
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=["HalfCheetah-v5", "Ant-v5", "Humanoid-v5"], help="task sizes")
    parser.add_argument("--rows", type=int, default=10_000, help="transitions per task (ACE's N_c)")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of reward_sink and adalasso")
    parser.add_argument("--lingam-repeats", type=int, default=3, help="largest number of repetitions of DirectLiNGAM")
    parser.add_argument("--lingam-cap", type=float, default=300.0, help="seconds allowed to each DirectLiNGAM variant")
    parser.add_argument("--synthetic", action="store_true", help=f"synthetic LiNGAM data of the sizes of {list(TASK_SIZES)}")
    parser.add_argument("--seed", type=int, default=0, help="seed of the envs / synthetic data")
    args = parser.parse_args()
    if args.synthetic and not set(args.envs) <= set(TASK_SIZES):
        parser.error(f"--synthetic knows the sizes of {list(TASK_SIZES)} only")

    start = time.perf_counter()
    import lingam
    from lingam.utils import predict_adaptive_lasso

    import_seconds = time.perf_counter() - start
    print(f"command: python {' '.join(sys.argv)}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load_average()}; "
        f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, lingam "
        f"{lingam.__version__} (import lingam: {import_seconds:.1f} s); one BLAS thread per fit"
    )
    print(f"data: {'synthetic LiNGAM' if args.synthetic else 'random-action MuJoCo'} transitions, {args.rows} rows")
    print("seconds: medians (number of DirectLiNGAM fits in brackets); |d..|: largest absolute differences\n")
    width = max(len(env_id) for env_id in [*args.envs, "task"]) + 1
    print(
        f"{'task':<{width}}{'cols':>5}{'vary':>5}{'reward_sink':>12}{'adalasso':>10}{'lingam':>12}{'ratio':>8}"
        f"{'lingam+pk':>12}{'|dB| adalasso':>14}{'|dB| +pk':>10}{'|dB| lingam':>12}{'|dB[r,a]|':>11}{'|dw|':>10}{'r at':>8}"
    )
    skipped = {False: False, True: False}
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
            sink_row = _reward_sink_row(data)
            lasso_seconds, lasso_row = timed(predict_adaptive_lasso, data, list(range(target)), target, repeats=args.repeats)

        fits = {}
        for sink_prior in (False, True):
            seconds, row, order = [], None, None
            if not skipped[sink_prior]:
                seconds, row, order = time_direct_lingam(data, sink_prior, args.lingam_repeats, args.lingam_cap)
                skipped[sink_prior] = not seconds
            fits[sink_prior] = (f"{np.median(seconds):.2f} ({len(seconds)})" if seconds else "skipped", seconds, row, order)

        free_text, free_seconds, free_row, free_order = fits[False]
        pk_text, _, pk_row, _ = fits[True]
        ratio = row_difference = action_difference = weight_difference = reward_position = pk_difference = "-"
        if free_row is not None:
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
            f"{env_id:<{width}}{usable.size:>5}{data.shape[1]:>5}{sink_seconds:>12.4f}{lasso_seconds:>10.3f}{free_text:>12}"
            f"{ratio:>8}{pk_text:>12}{np.abs(sink_row - lasso_row).max():>14.1e}{pk_difference:>10}"
            f"{row_difference:>12}{action_difference:>11}{weight_difference:>10}{reward_position:>8}",
            flush=True,
        )
    print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    main()
