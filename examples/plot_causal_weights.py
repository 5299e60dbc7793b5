"""Plot what ACE's causal step and soft reset do during training, from SB3's own CSV log.

    python examples/plot_causal_weights.py                            # HalfCheetah-v5, 10,000 steps (5-10 min on 2 cores)
    python examples/plot_causal_weights.py --timesteps 30000 --env Walker2d-v5 --plot walker_weights.png

Trains ACE with SB3's logger writing ``progress.csv`` to ``--log-dir`` (a row every ``--log-interval`` env steps),
then reads the CSV back and draws, on a shared time axis: the causal weight of each action dimension
(``causal/weight_i``), the actor's gradient dormant ratio (``reset/dormant_ratio``), and a dashed line at each soft
reset (where ``reset/num_resets`` goes up). The schedule is scaled down to the budget so that the plot shows several
fits and resets: learning starts after a tenth of the budget, the weights are refitted every tenth of the budget on
that many recent transitions, and the networks are reset every quarter of the budget in gradient updates (the paper:
every 10,000 env steps on 10,000 transitions, and every 100,000 updates, over 1M steps). Prints the number of fits
and resets and where the CSV and the PNG are.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure

from sb3_ace import ACE


class DumpLogs(BaseCallback):
    """
    Write SB3's log (``model.dump_logs()``, what SB3 writes at the end of every ``log_interval``-th episode) every
    ``every`` env steps instead, so that long episodes still give a fine time axis.

    :param every: env steps between two rows of the log
    """

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every = every

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            self.model.dump_logs()
        return True


def train(args: argparse.Namespace) -> ACE:
    """Train ACE on the scaled-down schedule, logging to ``<log_dir>/progress.csv``."""
    tenth = max(args.timesteps // 10, 100)
    model = ACE(
        "MlpPolicy",
        args.env,
        learning_starts=tenth,
        causal_sample_size=tenth,
        causal_interval=tenth,
        reset_interval=max(args.timesteps // 4, 1),
        reset_start=0,
        seed=args.seed,
    )
    model.set_logger(configure(str(args.log_dir), ["csv"]))
    model.learn(
        args.timesteps,
        callback=DumpLogs(args.log_interval),
        log_interval=None,  # type: ignore[arg-type]  # no logs of SB3's own (DumpLogs writes them); SB3 takes None
        progress_bar=True,
    )
    return model


def plot(progress: pd.DataFrame, env_id: str, path: Path) -> None:
    """Causal weights (top) and dormant ratio (bottom) against env steps, soft resets as dashed lines on both."""
    steps = progress["time/total_timesteps"]
    weights = sorted(
        (c for c in progress.columns if c.removeprefix("causal/weight_").isdigit()), key=lambda c: int(c.rsplit("_", 1)[1])
    )  # causal/weight_0, causal/weight_1, ... (not weight_min, weight_max)
    resets = steps[progress["reset/num_resets"].diff() > 0]

    fig, (ax_weights, ax_dormant) = plt.subplots(2, 1, sharex=True, figsize=(10, 6.5), height_ratios=(2, 1))
    # Dimensions whose effect the fit sets to zero share a weight: wider lines underneath keep each one visible
    widths = np.linspace(5.0, 1.2, len(weights))
    for i, column in enumerate(weights):
        style = {"color": f"C{i % 10}", "linewidth": widths[i], "label": f"a{column.rsplit('_', 1)[1]}"}
        ax_weights.plot(steps, progress[column], drawstyle="steps-post", **style)
    ax_weights.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    ax_weights.set(ylabel="causal weight $w_i$", title=f"ACE on {env_id}: causal weights, dormancy and soft resets")
    ax_weights.legend(title="action dim", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")

    ax_dormant.plot(steps, progress["reset/dormant_ratio"], drawstyle="steps-post", color="black", label="dormant ratio")
    ax_dormant.set(xlabel="env steps", ylabel="actor dormant ratio")
    for ax in (ax_weights, ax_dormant):
        ax.grid(alpha=0.3)
        for i, step in enumerate(resets):
            ax.axvline(step, color="tab:red", linestyle="--", linewidth=1, label="soft reset" if i == 0 else None)
    ax_dormant.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="HalfCheetah-v5", help="Gymnasium id of a continuous-action task")
    parser.add_argument("--timesteps", type=int, default=10_000, help="training budget in env steps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the model and the environment")
    parser.add_argument("--log-interval", type=int, default=100, help="env steps between two rows of progress.csv")
    parser.add_argument("--log-dir", type=Path, default=Path("logs/causal_weights"), help="folder of progress.csv")
    parser.add_argument("--plot", type=Path, help="PNG to write (default: <log-dir>/causal_weights.png)")
    args = parser.parse_args()

    model = train(args)
    progress = pd.read_csv(args.log_dir / "progress.csv")
    path = args.plot or args.log_dir / "causal_weights.png"
    plot(progress, args.env, path)
    fits, resets = model.num_causal_fits, model.num_resets
    print(f"{fits} causal fits, {resets} soft resets; final weights {model.causal_weights.round(3)}")
    print(f"log: {args.log_dir / 'progress.csv'}, plot: {path}")


if __name__ == "__main__":
    main()
