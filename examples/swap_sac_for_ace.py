"""Swap SAC for ACE: a plain Stable-Baselines3 SAC script in which only the import and the constructor change.

    python examples/swap_sac_for_ace.py                               # HalfCheetah-v5, 20,000 steps
    python examples/swap_sac_for_ace.py --env Hopper-v5 --timesteps 1000000

Nothing else in the script knows about ACE: it trains, saves and evaluates the model as it did with SAC. With
``verbose=1``, ACE prints a line per causal fit and per soft reset, and SB3's log table shows its ``causal/`` and
``reset/`` keys next to SAC's. ACE keeps the paper's schedule by default (causal weights refitted every 10,000 env
steps, a soft reset every 100,000 gradient updates), so a run of 20,000 steps has 2 causal fits and no reset yet.
Prints the evaluation return and where the model was saved.
"""

import argparse
from pathlib import Path

import gymnasium as gym
from stable_baselines3.common.evaluation import evaluate_policy

# from stable_baselines3 import SAC
from sb3_ace import ACE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="HalfCheetah-v5", help="Gymnasium id of a continuous-action task")
    parser.add_argument("--timesteps", type=int, default=20_000, help="training budget in env steps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the model and the environments")
    parser.add_argument("--eval-episodes", type=int, default=5, help="episodes of the final evaluation")
    parser.add_argument("--save-path", type=Path, default=Path("models/ace_swap"), help="where the model is saved")
    args = parser.parse_args()

    # model = SAC("MlpPolicy", args.env, seed=args.seed, verbose=1)
    model = ACE("MlpPolicy", args.env, seed=args.seed, verbose=1)
    model.learn(args.timesteps, log_interval=10, progress_bar=True)
    model.save(args.save_path)

    eval_env = gym.make(args.env)
    eval_env.reset(seed=args.seed + 1)
    mean_return, std_return = evaluate_policy(model, eval_env, n_eval_episodes=args.eval_episodes, deterministic=True)
    print(f"evaluation over {args.eval_episodes} episodes (deterministic): {mean_return:.1f} +/- {std_return:.1f}")
    print(f"model saved to {args.save_path.with_suffix('.zip')}")


if __name__ == "__main__":
    main()
