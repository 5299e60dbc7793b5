"""Quickstart: ACE learns to move Hopper-v5 forward in about two minutes on 2 CPU cores.

    python examples/quickstart.py                         # 8,000 steps
    python examples/quickstart.py --env Walker2d-v5 --timesteps 50000
    python examples/quickstart.py --paper                 # the paper's scale: 1M steps (3 hours at 90 steps/s)

Evaluates the untrained policy, trains ACE, evaluates it again and prints the causal weights. Writes the model, SB3's
CSV log (progress.csv) and a plot of the training returns and the causal weights to --out.

Short runs scale ACE's schedule down to the budget so that it does several causal fits and one soft reset: learning
starts after a tenth of the budget, the weights are refitted every tenth of the budget on that many recent
transitions, and the networks are softly reset every half of the budget in gradient updates. --paper uses the
paper's schedule instead (10,000 random steps; weights refitted every 10,000 steps on the 10,000 most recent
transitions; a soft reset every 100,000 gradient updates) with SB3's default networks.
"""

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import mujoco
import pandas as pd
import torch as th
from matplotlib.figure import Figure
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor

from sb3_ace import ACE


def quiet_mujoco_warnings(message: str) -> None:
    """
    Print MuJoCo's warnings as MuJoCo does, except the deprecation of ``settotalmass`` in Gymnasium's own model files
    (HalfCheetah's): it comes with every such env the run creates, and neither this script nor its user can act on it.
    """
    if "settotalmass" not in message:
        print(f"WARNING: {message}", file=sys.stderr)


def scaled_schedule(timesteps: int) -> dict[str, int]:
    """ACE's schedule scaled down to a short budget: several causal fits and one soft reset."""
    tenth = max(timesteps // 10, 100)
    return dict(
        learning_starts=tenth,
        causal_sample_size=tenth,
        causal_interval=tenth,
        reset_interval=max(timesteps // 2, 1),
        reset_start=0,
    )


PAPER_SCHEDULE = dict(learning_starts=10_000, causal_sample_size=10_000, causal_interval=10_000, reset_interval=100_000)


def evaluate(model: ACE, env: gym.Env, episodes: int) -> tuple[float, float]:
    """Mean and standard deviation of the return of ``episodes`` deterministic episodes (SB3's ``evaluate_policy``)."""
    mean, std = evaluate_policy(model, env, n_eval_episodes=episodes)
    assert isinstance(mean, float) and isinstance(std, float)  # not the per-episode lists: no return_episode_rewards
    return mean, std


def plot(progress: pd.DataFrame, env_id: str, n_actions: int, before: float, after: float, timesteps: int, path: Path) -> None:
    """Training returns (with the evaluations before and after) on top, the causal weights below, soft resets dashed."""
    steps = progress["time/total_timesteps"]
    fig = Figure(figsize=(9, 6), layout="tight")
    ax_return, ax_weights = fig.subplots(2, 1, sharex=True)
    ax_return.plot(steps, progress["rollout/ep_rew_mean"], label="training episodes (stochastic policy, mean of the last 100)")
    ax_return.plot([0, timesteps], [before, after], "o", color="black", label="evaluation, deterministic")
    ax_return.set(ylabel="episode return", title=f"ACE on {env_id}")
    for i in range(n_actions):
        ax_weights.plot(steps, progress[f"causal/weight_{i}"], drawstyle="steps-post", label=f"a{i}")
    ax_weights.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    ax_weights.set(xlabel="env steps", ylabel="causal weight (entropy)")
    ax_weights.legend(title="action dim", loc="best", fontsize="small", ncols=n_actions)
    resets = steps[progress["reset/num_resets"].diff() > 0]  # drawn at the first log row after each soft reset
    for ax in (ax_return, ax_weights):
        ax.grid(alpha=0.3)
        for i, step in enumerate(resets):
            ax.axvline(step, color="tab:red", linestyle="--", linewidth=1, label="soft reset" if i == 0 else None)
    ax_return.legend(loc="upper left", fontsize="small")
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Hopper-v5", help="Gymnasium id of a task with a Box action space")
    parser.add_argument("--timesteps", type=int, default=8_000, help="training budget in env steps")
    parser.add_argument("--paper", action="store_true", help="1M steps on the paper's schedule (overrides --timesteps)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the model and the environments")
    parser.add_argument("--eval-episodes", type=int, default=10, help="episodes of each evaluation")
    parser.add_argument("--out", type=Path, default=Path("runs/quickstart"), help="folder of the model, log and plot")
    args = parser.parse_args()
    timesteps = 1_000_000 if args.paper else args.timesteps
    schedule = PAPER_SCHEDULE if args.paper else scaled_schedule(timesteps)

    mujoco.set_mju_user_warning(quiet_mujoco_warnings)
    # One torch thread: with other processes on the cores, two threads were 20 to 40 times slower on this project's
    # 2-core machine (Hopper-v5, SB3's default networks: 94 against 3.9 steps/s; see docs/quickstart.md)
    th.set_num_threads(1)

    model = ACE("MlpPolicy", args.env, seed=args.seed, **schedule)
    model.set_logger(configure(str(args.out), ["csv"]))  # SB3's logger, writing <out>/progress.csv
    eval_env = Monitor(gym.make(args.env))
    eval_env.reset(seed=args.seed + 1_000)  # evaluation episodes other than the training ones

    print(f"ACE on {args.env}: {len(model.causal_weights)} action dimensions, {timesteps:,} steps, seed {args.seed}")
    before, before_std = evaluate(model, eval_env, args.eval_episodes)
    print(f"evaluation before training ({args.eval_episodes} episodes, deterministic): {before:.1f} +/- {before_std:.1f}")
    model.learn(timesteps, progress_bar=True)
    model.dump_logs()  # a last row in progress.csv: SB3 writes one every 4 episodes, the final causal fit came later
    after, after_std = evaluate(model, eval_env, args.eval_episodes)
    print(f"evaluation after training  ({args.eval_episodes} episodes, deterministic): {after:.1f} +/- {after_std:.1f}")

    print(f"causal weights after {model.num_causal_fits} fits: {model.causal_weights.round(3)}")
    print("  = the entropy weight of each action dimension, mean 1: larger means that dimension drives the reward more,")
    print("    so ACE keeps exploring it more")
    print(f"soft resets: {model.num_resets}")

    model.save(args.out / "model")
    progress_csv = args.out / "progress.csv"
    plot_png = args.out / "quickstart.png"
    plot(pd.read_csv(progress_csv), args.env, len(model.causal_weights), before, after, timesteps, plot_png)
    print(f"model: {args.out / 'model.zip'}  (ACE.load to continue or evaluate it)")
    print(f"log:   {progress_csv}  (SB3's CSV logger: returns, losses, causal/weight_i, reset/...)")
    print(f"plot:  {plot_png}  (training returns and causal weights)")


if __name__ == "__main__":
    main()
