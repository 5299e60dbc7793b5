"""Soak run: a long ACE training with frequent causal fits and soft resets, its resident memory sampled over time.

    python -m benchmarks.soak                               # Reacher-v5, 200,000 steps: ~15-30 min on one core
    python -m benchmarks.soak --env Pendulum-v1 --steps 20000 --sample-every 2000 --out /tmp/soak

ACE trains with a causal fit every ``--causal-interval`` env steps (on the ``--causal-interval`` most recent
transitions) and a soft reset every ``--reset-interval`` gradient updates, on small networks so that many of both
fit in the run. Every ``--sample-every`` env steps the process's resident memory (``VmRSS``) is recorded with the
fits and resets done so far. Every Python warning and every warning logged by ``sb3_ace`` is collected.

SB3's replay buffer is allocated at once but becomes resident only as it fills (the pages of ``np.zeros`` are
touched when written), so the resident memory grows by the buffer's bytes per transition at every step, whatever
the algorithm does. The summary takes that out: ``other_mib`` is the resident memory less the replay buffer's
filled part, and memory counts as flat when ``other_mib`` grows by less than ``--flat-mib`` over the second half.

Writes ``<out>/memory.csv`` (steps, rss_mib, replay_buffer_mib, other_mib, causal_fits, failed_fits, resets,
seconds) and ``<out>/summary.md``: the settings, the machine, the memory at the first and last samples, the growth
over the second half of the run, and the warnings seen.
"""

import argparse
import logging
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch as th
from stable_baselines3.common.callbacks import BaseCallback

from benchmarks.campaign import git_commit, machine
from sb3_ace import ACE


def replay_buffer_bytes_per_transition(model: ACE) -> float:
    """Bytes the replay buffer's arrays take per stored transition (observations, next observations, actions, ...)."""
    buffer = model.replay_buffer
    assert buffer is not None
    arrays = [value for value in vars(buffer).values() if isinstance(value, np.ndarray) and len(value) == buffer.buffer_size]
    return sum(array.nbytes for array in arrays) / buffer.buffer_size


def resident_mib() -> float:
    """This process's resident memory in MiB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


class MemorySampler(BaseCallback):
    """Record the resident memory, fits and resets every ``every`` env steps."""

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every = every
        self.rows: list[dict[str, float]] = []
        self.start = time.perf_counter()

    def _on_training_start(self) -> None:
        self._sample()

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            self._sample()
        return True

    def _sample(self) -> None:
        model = self.model
        assert isinstance(model, ACE)
        assert model.replay_buffer is not None
        rss = resident_mib()
        filled = model.replay_buffer.size() * model.replay_buffer.n_envs * replay_buffer_bytes_per_transition(model) / 2**20
        self.rows.append(
            {
                "steps": self.num_timesteps,
                "rss_mib": rss,
                "replay_buffer_mib": filled,
                "other_mib": rss - filled,
                "causal_fits": model.num_causal_fits,
                "failed_fits": model.num_failed_causal_fits,
                "resets": model.num_resets,
                "seconds": time.perf_counter() - self.start,
            }
        )


class WarningRecords(logging.Handler):
    """Keep every warning record logged by sb3_ace."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def summarize(memory: pd.DataFrame, warnings_seen: list[str], args: argparse.Namespace) -> str:
    """The summary page of a soak run: settings, machine, fits and resets, memory growth, warnings, samples."""
    half = memory[memory.steps >= args.steps // 2]
    growth = half.other_mib.iloc[-1] - half.other_mib.iloc[0]
    verdict = "flat" if growth < args.flat_mib else "GROWING"
    return "\n".join(
        [
            f"ACE soak on {args.env}: {args.steps} env steps, net {args.net_arch}, batch {args.batch_size}, one torch "
            f"thread; a causal fit every {args.causal_interval} steps, a soft reset every {args.reset_interval} updates.",
            f"Machine: {machine()}; torch {th.__version__}; commit {git_commit()}.",
            "",
            f"- {int(memory.causal_fits.iloc[-1])} causal fits ({int(memory.failed_fits.iloc[-1])} failed), "
            f"{int(memory.resets.iloc[-1])} soft resets, {memory.seconds.iloc[-1] / 60:.1f} min",
            f"- resident memory: {memory.rss_mib.iloc[0]:.0f} MiB at the start, {memory.rss_mib.iloc[-1]:.0f} MiB at the "
            f"end, of which the replay buffer's filled part {memory.replay_buffer_mib.iloc[-1]:.0f} MiB",
            f"- the rest (other_mib): {memory.other_mib.iloc[1]:.1f} MiB at {int(memory.steps.iloc[1])} steps, "
            f"{memory.other_mib.iloc[-1]:.1f} MiB at the end; second half: {growth:+.1f} MiB ({verdict}, threshold "
            f"{args.flat_mib} MiB)",
            f"- warnings: {len(warnings_seen)}" + "".join(f"\n  - {message}" for message in warnings_seen),
            "",
            memory.to_markdown(index=False, floatfmt=".1f"),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Reacher-v5", help="Gymnasium id of a small continuous-action task")
    parser.add_argument("--steps", type=int, default=200_000, help="env steps")
    parser.add_argument("--causal-interval", type=int, default=1_000, help="env steps between fits (and N_c)")
    parser.add_argument("--reset-interval", type=int, default=5_000, help="gradient updates between soft resets")
    parser.add_argument("--sample-every", type=int, default=10_000, help="env steps between memory samples")
    parser.add_argument("--net-arch", type=int, nargs="+", default=[64, 64], help="hidden layers of actor and critics")
    parser.add_argument("--batch-size", type=int, default=64, help="minibatch size")
    parser.add_argument("--flat-mib", type=float, default=5.0, help="growth of other_mib over the second half still flat")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/soak"), help="folder of the results")
    args = parser.parse_args()
    th.set_num_threads(1)

    handler = WarningRecords()
    logging.getLogger("sb3_ace").addHandler(handler)
    model = ACE(
        "MlpPolicy",
        args.env,
        batch_size=args.batch_size,
        policy_kwargs={"net_arch": args.net_arch},
        causal_sample_size=args.causal_interval,
        causal_interval=args.causal_interval,
        reset_interval=args.reset_interval,
        reset_start=0,
        seed=0,
    )
    sampler = MemorySampler(args.sample_every)
    with warnings.catch_warnings(record=True) as python_warnings:
        warnings.simplefilter("always")
        model.learn(args.steps, callback=sampler)

    memory = pd.DataFrame(sampler.rows)
    args.out.mkdir(parents=True, exist_ok=True)
    memory.to_csv(args.out / "memory.csv", index=False)
    seen = sorted({f"{w.category.__name__}: {w.message}" for w in python_warnings} | set(handler.messages))
    summary = summarize(memory, seen, args)
    (args.out / "summary.md").write_text(summary)
    print(summary)


if __name__ == "__main__":
    main()
