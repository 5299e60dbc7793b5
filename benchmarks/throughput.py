"""Throughput of ACE against SAC: env steps per second, models trained in turns in one run.

    python benchmarks/throughput.py                                  # SAC and ACE, HalfCheetah-v5: ~10-15 min on 2 cores
    python benchmarks/throughput.py --configs SAC "ACE authors" --window 500 --repetitions 1   # the authors' setup
    python benchmarks/throughput.py --configs SAC ACE "ACE causal_learn" --repetitions 5 --out throughput.csv

The configurations (``--configs``): ``SAC``; ``ACE`` (the defaults: ``reward_sink`` estimator, ``policy_delay=1``);
``ACE <method>`` for each causal method; and ``ACE authors``, the authors' configuration of ``hyperparams/ace.yml``
(3 x 1024 networks, batch 512, policy delay 2, their estimator, ...). All but ``ACE authors`` use ``--net-arch`` and
``--batch-size``. Each repetition builds every configuration with the same seed and number of torch threads, and
lets each take ``--learning-starts`` random steps (not timed). Then comes the measured
window: the models train in turns, ``--chunk`` env steps each (one gradient update per env step; the order
rotates from one turn to the next), until each has trained ``--window`` steps, so that the load of other work on
the machine falls on all of them alike. A model's steps/s is its window over the time its own turns took.

ACE's schedule is scaled down so that several causal fits and at least one soft reset fall inside every window
(the paper fits every 10,000 env steps and resets every 100,000 updates, which would need hours per run here); the
script checks that they did and fails otherwise. With fits 20 times and resets 100 times more frequent than in the
paper, the overhead measured here is an upper bound of ACE's overhead at the paper's schedule for the same fit cost
(a fit on the paper's 10,000 transitions costs more than one on 1,000, see ``docs/causal_discovery.md``).

Prints the settings, one row per model and repetition (steps/s, the causal fits, their mean seconds, and the
resets in the window), then the summary as a markdown table: per algorithm, the median over the repetitions of the
steps/s and of the ratio ACE / SAC (each ACE model against the SAC model of the same repetition).
"""

import argparse
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import torch as th
import yaml
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn

from sb3_ace import ACE
from sb3_ace.causal_discovery import CAUSAL_METHODS

CONFIGS = ("SAC", "ACE", *(f"ACE {method}" for method in CAUSAL_METHODS), "ACE authors")


class FitClock(BaseCallback):
    """
    Count the causal fits an ACE model makes while this callback is passed to its ``learn()``, and add up their
    seconds (ACE's own callbacks run first, so a fit is done when ``_on_step`` sees it).

    :param fits_before: the model's fits so far, which are not counted
    """

    def __init__(self, fits_before: int) -> None:
        super().__init__()
        self.last_fits = fits_before
        self.fits = 0
        self.seconds = 0.0

    def _on_step(self) -> bool:
        if self.model.causal_fits > self.last_fits:
            self.fits += self.model.causal_fits - self.last_fits
            self.seconds += self.model.causal_fit_seconds
            self.last_fits = self.model.causal_fits
        return True


def authors_settings() -> dict[str, Any]:
    """The authors' configuration: the ``default`` entry of ``hyperparams/ace.yml``, as ACE's keyword arguments."""
    entry = yaml.safe_load((resources.files("sb3_ace") / "hyperparams" / "ace.yml").read_text())["default"]
    settings = {key: value for key, value in entry.items() if key not in ("n_timesteps", "policy")}
    settings["policy_kwargs"] = eval(settings["policy_kwargs"], {"nn": nn})  # rl-zoo3 evaluates it the same way
    return settings


def build(config: str, seed: int, args: argparse.Namespace) -> SAC:
    """The model of configuration ``config``, with the warm-up and ACE's scaled-down schedule of ``args``."""
    schedule = {
        "causal_sample_size": args.causal_sample_size,
        "causal_interval": args.causal_interval,
        "reset_interval": args.reset_interval,
        "reset_start": args.reset_start,
    }
    if config == "ACE authors":
        settings = {**authors_settings(), **schedule, "random_action_steps": args.learning_starts}
        return ACE("MlpPolicy", args.env, **{**settings, "learning_starts": args.learning_starts, "seed": seed})
    settings = {
        "learning_starts": args.learning_starts,
        "batch_size": args.batch_size,
        "policy_kwargs": {"net_arch": args.net_arch},
        "seed": seed,
    }
    if config == "SAC":
        return SAC("MlpPolicy", args.env, **settings)
    method = config.removeprefix("ACE").strip() or "reward_sink"
    return ACE("MlpPolicy", args.env, causal_method=method, **schedule, **settings)


def measure_repetition(configs: list[str], seed: int, args: argparse.Namespace) -> list[dict]:
    """One repetition: every config's model, warmed up, then trained in turns over the window; one row per model."""
    models = {config: build(config, seed, args) for config in configs}
    clocks: dict[str, FitClock] = {}
    resets_before: dict[str, int] = {}
    for algo, model in models.items():
        model.learn(args.learning_starts)
        if isinstance(model, ACE):  # a fit at the last warm-up step is outside the window
            clocks[algo], resets_before[algo] = FitClock(model.causal_fits), model.num_resets
    seconds = dict.fromkeys(models, 0.0)
    for turn in range(args.window // args.chunk):
        shift = turn % len(configs)
        for algo in configs[shift:] + configs[:shift]:
            start = time.perf_counter()
            models[algo].learn(args.chunk, callback=clocks.get(algo), reset_num_timesteps=False)
            seconds[algo] += time.perf_counter() - start
    rows = []
    for algo, model in models.items():
        window = model.num_timesteps - args.learning_starts
        row = {"repetition": seed, "algo": algo, "steps_per_s": window / seconds[algo], "window_steps": window}
        if algo in clocks:
            clock = clocks[algo]
            row["causal_fits"] = clock.fits
            row["seconds_per_fit"] = clock.seconds / clock.fits if clock.fits else float("nan")
            row["resets"] = model.num_resets - resets_before[algo]
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="HalfCheetah-v5", help="Gymnasium id of a continuous-action task")
    parser.add_argument("--configs", nargs="+", default=["SAC", "ACE"], choices=CONFIGS, help="configurations to measure")
    parser.add_argument("--repetitions", type=int, default=3, help="repetitions, each with fresh models and its own seed")
    parser.add_argument("--learning-starts", type=int, default=1_000, help="random steps before learning (not timed)")
    parser.add_argument("--window", type=int, default=2_000, help="env steps timed per model after --learning-starts")
    parser.add_argument("--chunk", type=int, default=250, help="env steps of one model's turn in the window (divides it)")
    parser.add_argument("--net-arch", type=int, nargs="+", default=[256, 256], help="hidden layers of actor and critics")
    parser.add_argument("--batch-size", type=int, default=256, help="minibatch size of the gradient updates")
    parser.add_argument("--causal-sample-size", type=int, default=1_000, help="ACE's N_c (paper: 10,000)")
    parser.add_argument("--causal-interval", type=int, default=500, help="ACE's I, env steps between fits (paper: 10,000)")
    parser.add_argument("--reset-interval", type=int, default=1_000, help="ACE's R, updates between resets (paper: 100,000)")
    parser.add_argument("--reset-start", type=int, default=0, help="updates before ACE's first reset (paper: 5,000)")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch threads (1: steadier on shared cores)")
    parser.add_argument("--out", type=Path, help="also write the per-model rows to this CSV file")
    args = parser.parse_args()
    if args.window % args.chunk:
        parser.error(f"--chunk {args.chunk} must divide --window {args.window}")

    th.set_num_threads(args.torch_threads)
    sys.stdout.reconfigure(line_buffering=True)  # each row as soon as it is measured, also into a file
    if "SAC" not in args.configs:
        parser.error("--configs must include SAC: the ratios are against it")
    configs = ["SAC", *(config for config in args.configs if config != "SAC")]
    print(
        f"{args.env}: net {args.net_arch}, batch {args.batch_size}, {args.torch_threads} torch thread(s), "
        f"{args.learning_starts} random steps then a timed window of {args.window} steps in turns of {args.chunk} "
        f"(1 update per step); ACE: N_c={args.causal_sample_size}, I={args.causal_interval} steps, "
        f"R={args.reset_interval} updates from {args.reset_start}; {args.repetitions} repetitions"
    )
    rows = []
    for repetition in range(args.repetitions):
        for row in measure_repetition(configs, repetition, args):
            rows.append(row)
            ace = (
                f", {row['causal_fits']} causal fits ({row['seconds_per_fit']:.3f} s each), {row['resets']} resets"
                if "causal_fits" in row
                else ""
            )
            print(f"repetition {repetition} {row['algo']:>17}: {row['steps_per_s']:6.1f} steps/s{ace}")
    runs = pd.DataFrame(rows)
    if args.out is not None:
        runs.to_csv(args.out, index=False)

    sac = runs[runs.algo == "SAC"].set_index("repetition").steps_per_s
    runs["ratio_to_sac"] = runs.steps_per_s / runs.repetition.map(sac)
    summary = runs.groupby("algo", sort=False).agg(
        **{
            "runs": ("steps_per_s", "size"),
            "steps/s (median)": ("steps_per_s", "median"),
            "steps/s (min)": ("steps_per_s", "min"),
            "steps/s (max)": ("steps_per_s", "max"),
            "ACE/SAC (median)": ("ratio_to_sac", "median"),
            "ACE/SAC (min)": ("ratio_to_sac", "min"),
            "causal fits per run": ("causal_fits", "min"),
            "s per fit (median)": ("seconds_per_fit", "median"),
            "resets per run": ("resets", "min"),
        }
    )
    print()
    print(summary.to_markdown(floatfmt=".3g"))

    ace = runs[runs.algo != "SAC"]
    if (ace.causal_fits < 2).any() or (ace.resets < 1).any():
        raise SystemExit("some ACE model had fewer than 2 causal fits or no reset in its window: adjust the schedule flags")


if __name__ == "__main__":
    main()
