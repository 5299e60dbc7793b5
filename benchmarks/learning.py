"""Learning benchmark: ACE against SAC over several seeds on MuJoCo tasks, at a fixed budget of env steps.

    python benchmarks/learning.py                      # HalfCheetah-v5, seeds 0 1 2, 15,000 steps: about 30-40 min on 2 cores
    python benchmarks/learning.py --tasks Hopper-v5 Walker2d-v5 --seeds 0 1 2 3 4 --budget 50000 --out runs/learning_50k

Every (algorithm, task, seed) run trains in its own process (``--workers`` at once, one torch thread each) and is
evaluated every ``--eval-freq`` env steps on a separate env, ``--eval-episodes`` episodes with the deterministic
policy. A finished run leaves ``<out>/runs/<task>_<algo>_seed<seed>.csv``; running the script again with the same
``--out`` skips the runs already there (and continues the unfinished ones from scratch).

Both algorithms use SB3's SAC defaults (256x256 networks, batch 256, learning rate 3e-4, 1 gradient step per env
step, automatic temperature) except ``--learning-starts`` random steps. ACE's schedule is scaled down to the
budget: the paper fits the causal weights every 10,000 env steps on the 10,000 most recent transitions and resets
every 100,000 updates over 1M steps; the defaults here fit every 2,000 steps on 2,000 transitions and reset every
5,000 updates, so a 15,000-step run has 7 fits and 2 resets.

Writes to ``--out``: ``evaluations.csv`` (algo, task, seed, timesteps, mean_return, std_return, causal_fits,
num_resets: one row per evaluation of every run), ``summary.md`` (per task and algorithm, over the seeds, the final
evaluation return: mean, standard deviation, and the interquartile mean with a 95% percentile-bootstrap confidence
interval over the seeds) and the learning curves (``--plot``, mean ± std over the seeds). Prints the summary table.
"""

import argparse
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch as th
from rliable import metrics
from scipy import stats
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

from sb3_ace import ACE

ALGOS = ("SAC", "ACE")
COLORS = {"SAC": "tab:blue", "ACE": "tab:red"}


@dataclass(frozen=True)
class Run:
    algo: str
    task: str
    seed: int

    def csv_path(self, out: Path) -> Path:
        return out / "runs" / f"{self.task.replace('/', '-')}_{self.algo}_seed{self.seed}.csv"


class Evaluation(BaseCallback):
    """
    Evaluate the deterministic policy on ``eval_env`` every ``eval_freq`` env steps; one row per evaluation.

    :param eval_env: environment the policy is evaluated on (not the training env)
    :param eval_freq: env steps between two evaluations
    :param n_eval_episodes: episodes per evaluation
    """

    def __init__(self, eval_env: gym.Env, eval_freq: int, n_eval_episodes: int) -> None:
        super().__init__()
        self.eval_env = eval_env
        self.eval_freq = eval_freq
        self.n_eval_episodes = n_eval_episodes
        self.rows: list[dict[str, float | int]] = []

    def _on_step(self) -> bool:
        if self.num_timesteps % self.eval_freq == 0:
            mean_return, std_return = evaluate_policy(
                self.model, self.eval_env, n_eval_episodes=self.n_eval_episodes, deterministic=True
            )
            self.rows.append(
                {
                    "timesteps": self.num_timesteps,
                    "mean_return": mean_return,
                    "std_return": std_return,
                    "causal_fits": getattr(self.model, "causal_fits", 0),
                    "num_resets": getattr(self.model, "num_resets", 0),
                }
            )
        return True


def train_and_evaluate(run: Run, args: argparse.Namespace) -> pd.DataFrame:
    """Train one run, evaluating it on schedule, and write its evaluations to its CSV file (last, as the marker
    that the run is finished)."""
    th.set_num_threads(1)
    settings = {
        "learning_starts": args.learning_starts,
        "batch_size": args.batch_size,
        "policy_kwargs": {"net_arch": args.net_arch},
        "seed": run.seed,
    }
    if run.algo == "ACE":
        model = ACE(
            "MlpPolicy",
            run.task,
            causal_sample_size=args.causal_sample_size,
            causal_interval=args.causal_interval,
            reset_interval=args.reset_interval,
            reset_start=args.reset_start,
            **settings,
        )
    else:
        model = SAC("MlpPolicy", run.task, **settings)
    eval_env = Monitor(gym.make(run.task))
    eval_env.reset(seed=run.seed + 1_000)  # seeded once, apart from the training env
    evaluation = Evaluation(eval_env, args.eval_freq, args.eval_episodes)
    model.learn(args.budget, callback=evaluation)
    evaluations = pd.DataFrame(evaluation.rows)
    evaluations.insert(0, "seed", run.seed)
    evaluations.insert(0, "task", run.task)
    evaluations.insert(0, "algo", run.algo)
    path = run.csv_path(args.out)
    evaluations.to_csv(path.with_suffix(".tmp"), index=False)
    path.with_suffix(".tmp").replace(path)
    return evaluations


def iqm_with_ci(final_returns: np.ndarray, reps: int) -> tuple[float, float, float]:
    """
    Interquartile mean of the final returns of the seeds, with a 95% percentile-bootstrap confidence interval over
    the seeds: what ``rliable.library.get_interval_estimates(..., metrics.aggregate_iqm)`` computes for one task.
    rliable's own bootstrap is not called: it needs ``arch``, whose 7.x releases fail to import with pandas 3 and
    whose 8.x releases no longer take the ``random_state`` argument rliable 1.2 passes.
    """
    iqm = metrics.aggregate_iqm(final_returns)
    if len(final_returns) < 2:
        return iqm, float("nan"), float("nan")
    bootstrap = stats.bootstrap(
        (final_returns,), metrics.aggregate_iqm, vectorized=False, method="percentile", n_resamples=reps, random_state=0
    )
    return iqm, float(bootstrap.confidence_interval.low), float(bootstrap.confidence_interval.high)


def summarize(evaluations: pd.DataFrame, budget: int, reps: int) -> pd.DataFrame:
    """Per task and algorithm: statistics over the seeds of the evaluation return at ``budget`` steps."""
    final = evaluations[evaluations.timesteps == budget]
    rows = []
    for (task, algo), group in final.groupby(["task", "algo"], sort=False):
        iqm, low, high = iqm_with_ci(group.mean_return.to_numpy(), reps)
        rows.append(
            {
                "task": task,
                "algo": algo,
                "seeds": len(group),
                "mean": group.mean_return.mean(),
                "std": group.mean_return.std(),
                "IQM": iqm,
                "IQM 95% CI": f"[{low:.0f}, {high:.0f}]",
                "causal fits": group.causal_fits.min(),
                "resets": group.num_resets.min(),
            }
        )
    return pd.DataFrame(rows)


def plot_learning_curves(evaluations: pd.DataFrame, path: Path) -> None:
    """One panel per task: evaluation return against env steps, mean ± std over the seeds, each seed faint."""
    tasks = list(dict.fromkeys(evaluations.task))
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4.2), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for algo, runs in evaluations[evaluations.task == task].groupby("algo", sort=False):
            color = COLORS[algo]
            curves = runs.pivot(index="timesteps", columns="seed", values="mean_return")
            mean, std = curves.mean(axis=1), curves.std(axis=1).fillna(0.0)
            ax.plot(curves.index, curves.to_numpy(), color=color, alpha=0.25, linewidth=0.8)
            ax.plot(mean.index, mean, color=color, linewidth=2, label=f"{algo} (mean ± std, {curves.shape[1]} seeds)")
            ax.fill_between(mean.index, mean - std, mean + std, color=color, alpha=0.15)
        ax.set(title=task, xlabel="env steps", ylabel="evaluation return (deterministic)")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["HalfCheetah-v5"], help="Gymnasium ids of continuous-action tasks")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds, one run per algorithm and task each")
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS, help="algorithms to run")
    parser.add_argument("--budget", type=int, default=15_000, help="env steps per run")
    parser.add_argument("--eval-freq", type=int, default=1_500, help="env steps between evaluations (divides --budget)")
    parser.add_argument("--eval-episodes", type=int, default=5, help="episodes per evaluation")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="runs trained at once (default: the cores)")
    parser.add_argument("--out", type=Path, default=Path("runs/learning"), help="folder of the CSV files and summary")
    parser.add_argument("--plot", type=Path, help="learning-curve PNG (default: <out>/learning_curves.png)")
    parser.add_argument("--learning-starts", type=int, default=2_000, help="random steps before learning (both algorithms)")
    parser.add_argument("--net-arch", type=int, nargs="+", default=[256, 256], help="hidden layers of actor and critics")
    parser.add_argument("--batch-size", type=int, default=256, help="minibatch size of the gradient updates")
    parser.add_argument("--causal-sample-size", type=int, default=2_000, help="ACE's N_c (paper: 10,000)")
    parser.add_argument("--causal-interval", type=int, default=2_000, help="ACE's I, env steps between fits (paper: 10,000)")
    parser.add_argument("--reset-interval", type=int, default=5_000, help="ACE's R, updates between resets (paper: 100,000)")
    parser.add_argument("--reset-start", type=int, default=5_000, help="updates before ACE's first reset (paper: 5,000)")
    parser.add_argument("--bootstrap-reps", type=int, default=10_000, help="bootstrap resamples of the IQM's interval")
    args = parser.parse_args()
    if args.budget % args.eval_freq:
        parser.error(f"--eval-freq {args.eval_freq} must divide --budget {args.budget}: the last evaluation is at the budget")

    runs = [Run(algo, task, seed) for task in args.tasks for seed in args.seeds for algo in args.algos]
    todo = [run for run in runs if not run.csv_path(args.out).is_file()]
    print(f"{len(runs) - len(todo)} of {len(runs)} runs already in {args.out}; training {len(todo)}", flush=True)
    (args.out / "runs").mkdir(parents=True, exist_ok=True)
    if todo:
        # A fresh process per run, forked from a server that imported the libraries once and never ran torch
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["gymnasium", "pandas", "stable_baselines3", "sb3_ace"])
        with ProcessPoolExecutor(max_workers=min(args.workers, len(todo)), mp_context=context, max_tasks_per_child=1) as pool:
            futures = {pool.submit(train_and_evaluate, run, args): run for run in todo}
            for done, future in enumerate(as_completed(futures), start=1):
                run, last = futures[future], future.result().iloc[-1]
                print(
                    f"[{done}/{len(todo)}] {run.algo} {run.task} seed {run.seed}: return {last.mean_return:.1f} "
                    f"at {last.timesteps} steps, {last.causal_fits} causal fits, {last.num_resets} resets",
                    flush=True,
                )

    evaluations = pd.concat([pd.read_csv(run.csv_path(args.out)) for run in runs], ignore_index=True)
    evaluations.to_csv(args.out / "evaluations.csv", index=False)
    summary = summarize(evaluations, args.budget, args.bootstrap_reps)
    title = f"Final evaluation return at {args.budget} env steps ({args.eval_episodes} deterministic episodes per run)"
    table = summary.to_markdown(index=False, floatfmt=".1f")
    (args.out / "summary.md").write_text(f"{title}\n\n{table}\n")
    plot = args.plot or args.out / "learning_curves.png"
    plot_learning_curves(evaluations, plot)
    print(f"\n{title}\n\n{table}\n")
    print(f"wrote {args.out / 'evaluations.csv'}, {args.out / 'summary.md'} and {plot}")


if __name__ == "__main__":
    main()
