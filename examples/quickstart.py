"""Quickstart: train ACE on a MuJoCo task for a few thousand steps, save it and evaluate it.

    python examples/quickstart.py                      # HalfCheetah-v5, 5,000 steps (a few minutes on 2 cores)
    python examples/quickstart.py --timesteps 20000 --env Hopper-v5

The causal step and the soft reset run on a schedule scaled down to the budget (the paper's schedule, 10,000 /
100,000 steps, needs a longer run), so the printed causal weights come from several fits.
"""

import argparse
from pathlib import Path

import gymnasium as gym
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

from sb3_ace import ACE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="HalfCheetah-v5", help="Gymnasium id of a continuous-action task")
    parser.add_argument("--timesteps", type=int, default=5_000, help="training budget in env steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-episodes", type=int, default=3)
    parser.add_argument("--save-path", type=Path, default=Path("models/ace_quickstart"))
    args = parser.parse_args()

    causal_interval = max(args.timesteps // 5, 100)
    model = ACE(
        "MlpPolicy",
        args.env,
        learning_starts=1_000,
        causal_sample_size=causal_interval,
        causal_interval=causal_interval,
        reset_interval=max(args.timesteps // 2, 1),
        reset_start=0,
        seed=args.seed,
        verbose=0,
    )
    model.learn(args.timesteps, progress_bar=True)
    args.save_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.save_path)

    eval_env = Monitor(gym.make(args.env))
    mean_return, std_return = evaluate_policy(model, eval_env, n_eval_episodes=args.eval_episodes, deterministic=True)
    print(f"causal weights after {model.causal_fits} fits: {model.causal_weights.round(3)}")
    print(f"soft resets: {model.num_resets}")
    print(f"evaluation over {args.eval_episodes} episodes (deterministic): {mean_return:.1f} +/- {std_return:.1f}")
    print(f"model saved to {args.save_path.with_suffix('.zip')}")


if __name__ == "__main__":
    main()
