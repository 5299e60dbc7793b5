"""Throughput of the ACE learners against their learners: env steps per second, models trained in turns in one run.

    python benchmarks/throughput.py                                  # SAC and ACE, HalfCheetah-v5: ~10-15 min on 2 cores
    python benchmarks/throughput.py --configs TQC ACETQC             # TQC and ACETQC: ~12 min
    python benchmarks/throughput.py --configs CrossQ ACECrossQ --window 1000 --chunk 125 --reset-interval 500   # ~20 min
    python benchmarks/throughput.py --configs TQC ACETQC --schedule default   # ACE's default schedule (see below): ~13 min
    python benchmarks/throughput.py --configs CrossQ ACECrossQ --schedule default --window 1000 --chunk 125   # ~20 min
    python benchmarks/throughput.py --configs SAC TQC CrossQ --window 1000 --chunk 125   # the learners: ~10 min
    python benchmarks/throughput.py --configs SAC "ACE authors" --window 500 --repetitions 1   # the authors' setup
    python benchmarks/throughput.py --configs SAC ACE "ACE causal_learn" --repetitions 5 --out throughput.csv

The configurations (``--configs``) and the learner each ACE configuration is compared with:

- the learners ``SAC`` (SB3's), ``TQC`` and ``CrossQ`` (sb3-contrib's), at their own defaults;
- ``ACE`` (ACE's defaults: the ``reward_sink`` estimator, ``policy_delay=1``, i.e. SAC's update) and
  ``ACE <method>`` for each causal method, against ``SAC``; ``ACETQC`` against ``TQC``; ``ACECrossQ`` against
  ``CrossQ`` (its ``policy_delay`` is CrossQ's, 3);
- ``ACE authors``, the authors' configuration of ``hyperparams/ace.yml`` (3 x 1024 networks, batch 512, policy
  delay 2, their estimator, ...), against ``SAC``: not like for like, it shows what the authors' setup costs here.

Every ACE learner runs with exactly its learner's settings plus ACE's schedule: the script prints the settings of
every model it built (learning rate, batch, policy delay, networks) and fails if an ACE learner's differ from its
learner's (but for ``ACE authors``). The networks and batch are each learner's defaults unless ``--net-arch`` or
``--batch-size`` is given (then for all configurations but ``ACE authors``): SAC and TQC 256 x 256 (TQC: 2 critics
of 25 quantiles), CrossQ an actor of 256 x 256 and critics of 1024 x 1024 with BatchRenorm (learning rate 1e-3,
``policy_delay=3``), batch 256 for all three; ``--net-arch`` sets actor and critics alike.

Each repetition builds every configuration with the same seed and number of torch threads, and lets each take
``--learning-starts`` random steps (not timed). Then comes the measured window: the models train in turns,
``--chunk`` env steps each (one gradient update per env step; the order rotates from one turn to the next), until
each has trained ``--window`` steps, so that the load of other work on the machine falls on all of them alike. A
model's steps/s is its window over the time its own turns took.

ACE's schedule (``--schedule``; the flags ``--causal-sample-size``, ``--causal-interval``, ``--reset-interval`` and
``--reset-start`` override its values):

- ``scaled`` (the default): scaled down so that several causal fits and at least one soft reset fall inside every
  window: fits every ``I=500`` env steps on the ``N_c=1,000`` most recent transitions, a reset every ``R=1,000``
  updates from the first, after 1,000 random steps (4 fits and 1 reset in a 2,000-step window). ACE's defaults are
  ``N_c=I=10,000`` and ``R=100,000`` after 5,000 updates, which would need hours per window here. With fits 20 times
  and resets 100 times more frequent than at the defaults, the overhead measured is an upper bound of ACE's
  overhead at its default schedule for the same fit cost (a fit on the default 10,000 transitions costs more than
  one on 1,000, see ``docs/causal_discovery.md``; the ``default`` schedule measures that one). The script fails
  unless every ACE model had at least 2 fits and 1 reset in its window.
- ``default``: ACE's own defaults (``N_c=I=10,000``, ``R=100,000`` updates after update 5,000), after 9,000 random
  steps, so that the window (steps 9,001 to 11,000 by default) holds the first causal fit, at step 10,000, on
  10,000 transitions, beside the per-step work of ACE (recording the transitions, the causal log-probability, the
  dormancy measured every 1,000 updates); no reset falls inside (the first comes after 100,000 updates, and costs
  about one dormancy measurement and one interpolation of the networks: the ``scaled`` result includes resets).
  One fit per 2,000-step window is still 5 times ACE's default rate of one per 10,000 steps, so this too
  overstates the fits' share of the time, by less. The script fails unless every ACE model had a fit in its window.

The results in ``benchmarks/results/throughput/`` (``<name>.csv``: the rows of ``--out``; ``<name>.txt``: the console
output), from the commands above in their order:

- ``sac_vs_ace``, ``tqc_vs_ace_tqc``, ``crossq_vs_ace_crossq``: each ACE learner against its learner at the scaled
  schedule, the upper bound of ACE's overhead. CrossQ's pair over a 1,000-step window (a CrossQ step with its
  default 1024-wide critics costs about 8 times a SAC step), with a reset every 500 updates so that one falls inside;
- ``tqc_vs_ace_tqc_default_schedule``, ``crossq_vs_ace_crossq_default_schedule``: the same pairs at ACE's default
  schedule, the window holding the first fit (on 10,000 transitions): ACE's overhead as it runs by default, the fit
  counted 5 (TQC) or 10 (CrossQ) times as often as in a long run;
- ``learners``: SAC, TQC and CrossQ side by side, what a step of each costs against the others (the cost of a
  learning run); ``authors``: the authors' configuration against SAC.

Prints the settings, one row per model and repetition (steps/s, the causal fits, their mean seconds, and the
resets in the window), then the summary as a markdown table: per algorithm, its learner, the median over the
repetitions of the steps/s, of the ratio to its learner (each model against its learner's model of the same
repetition; 1 for a learner) and of the minutes 100,000 env steps would take at that rate.
"""

import argparse
import io
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import torch as th
import yaml
from sb3_contrib import TQC, CrossQ
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from torch import nn

from sb3_ace import ACE, ACETQC, ACECrossQ
from sb3_ace.common.algorithm import ACEAdditions
from sb3_ace.common.causal_discovery import CAUSAL_METHODS


@dataclass(frozen=True)
class Config:
    """A configuration: the algorithm, the configuration it is compared with, and its own keyword arguments."""

    algorithm: type[OffPolicyAlgorithm]
    learner: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    authors: bool = False  # the authors' settings of hyperparams/ace.yml instead of the learner's defaults


CONFIGS: dict[str, Config] = {
    "SAC": Config(SAC, "SAC"),
    "ACE": Config(ACE, "SAC"),
    **{f"ACE {method}": Config(ACE, "SAC", {"causal_method": method}) for method in CAUSAL_METHODS},
    "ACE authors": Config(ACE, "SAC", authors=True),
    "TQC": Config(TQC, "TQC"),
    "ACETQC": Config(ACETQC, "TQC"),
    "CrossQ": Config(CrossQ, "CrossQ"),
    "ACECrossQ": Config(ACECrossQ, "CrossQ"),
}

SCHEDULE_FLAGS = ("causal_sample_size", "causal_interval", "reset_interval", "reset_start")
SCHEDULES: dict[str, dict[str, int]] = {
    # Fits and a reset in every window: an upper bound of the overhead
    "scaled": {
        "learning_starts": 1_000,
        "causal_sample_size": 1_000,
        "causal_interval": 500,
        "reset_interval": 1_000,
        "reset_start": 0,
    },
    # ACE's constructor defaults (nothing passed); the window after 9,000 random steps holds the fit at step 10,000
    "default": {"learning_starts": 9_000},
}
# The learner's settings every ACE learner must share with it (and the policy delay and networks)
SHARED_SETTINGS = ("learning_rate", "batch_size", "gamma", "tau", "ent_coef", "target_entropy", "train_freq", "gradient_steps")


class FitClock(BaseCallback):
    """
    Count the causal fits an ACE model makes while this callback is passed to its ``learn()``, and add up their
    seconds (ACE's own callbacks run first, so a fit is done when ``_on_step`` sees it).

    :param fits_before: the model's fits so far, which are not counted
    """

    model: ACEAdditions

    def __init__(self, fits_before: int) -> None:
        super().__init__()
        self.last_fits = fits_before
        self.fits = 0
        self.seconds = 0.0

    def _on_step(self) -> bool:
        if self.model.num_causal_fits > self.last_fits:
            self.fits += self.model.num_causal_fits - self.last_fits
            self.seconds += self.model.causal_fit_seconds
            self.last_fits = self.model.num_causal_fits
        return True


def authors_settings() -> dict[str, Any]:
    """The authors' configuration: the ``default`` entry of ``hyperparams/ace.yml``, as ACE's keyword arguments."""
    entry = yaml.safe_load((resources.files("sb3_ace") / "hyperparams" / "ace.yml").read_text())["default"]
    settings = {key: value for key, value in entry.items() if key not in ("n_timesteps", "policy")}
    settings["policy_kwargs"] = eval(settings["policy_kwargs"], {"nn": nn})  # rl-zoo3 evaluates it the same way
    return settings


def build(config: str, seed: int, args: argparse.Namespace) -> OffPolicyAlgorithm:
    """The model of configuration ``config``, with the warm-up, networks, batch and ACE's schedule of ``args``."""
    spec = CONFIGS[config]
    settings: dict[str, Any] = {}
    if spec.authors:
        settings.update(authors_settings(), random_action_steps=args.learning_starts)
    else:
        if args.net_arch is not None:
            settings["policy_kwargs"] = {"net_arch": args.net_arch}
        if args.batch_size is not None:
            settings["batch_size"] = args.batch_size
    if issubclass(spec.algorithm, ACEAdditions):
        settings.update({name: getattr(args, name) for name in SCHEDULE_FLAGS if getattr(args, name) is not None})
    settings.update(spec.kwargs, learning_starts=args.learning_starts, seed=seed)
    return spec.algorithm("MlpPolicy", args.env, **settings)


def learner_settings(model: OffPolicyAlgorithm) -> dict[str, Any]:
    """What an ACE learner must share with its learner: settings, policy delay and the shapes of the networks."""
    settings = {name: getattr(model, name, None) for name in SHARED_SETTINGS}
    settings["policy_delay"] = getattr(model, "policy_delay", 1)  # SAC and TQC update the actor at every update
    settings["parameters"] = [(name, tuple(value.shape)) for name, value in model.policy.named_parameters()]
    return settings


def describe(config: str, model: OffPolicyAlgorithm) -> str:
    """One line of what ran for ``config``: the learner's settings and networks, and ACE's schedule."""
    n_parameters = sum(value.numel() for value in model.policy.parameters())
    line = (
        f"{config:>17}: {type(model).__name__}, learning rate {model.learning_rate}, batch {model.batch_size}, "
        f"policy delay {getattr(model, 'policy_delay', 1)}, net_arch {model.policy.net_arch} ({n_parameters:,} parameters)"
    )
    if isinstance(model, ACEAdditions):
        line += (
            f"; ACE: {model.causal_method} fits on N_c={model.causal_sample_size} transitions every "
            f"I={model.causal_interval} steps, soft reset every R={model.reset_interval} updates "
            f"after update {model.reset_start}"
        )
    return line


def measure_repetition(models: dict[str, OffPolicyAlgorithm], seed: int, args: argparse.Namespace) -> list[dict]:
    """One repetition: every model warmed up, then trained in turns over the window; one row per model."""
    configs = list(models)
    clocks: dict[str, FitClock] = {}
    resets_before: dict[str, int] = {}
    for algo, model in models.items():
        model.learn(args.learning_starts)
        if isinstance(model, ACEAdditions):  # a fit at the last warm-up step is outside the window
            clocks[algo], resets_before[algo] = FitClock(model.num_causal_fits), model.num_resets
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
            row["resets"] = model.num_resets - resets_before[algo]  # type: ignore[attr-defined]
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="HalfCheetah-v5", help="Gymnasium id of a continuous-action task")
    parser.add_argument("--configs", nargs="+", default=["SAC", "ACE"], choices=CONFIGS, help="configurations to measure")
    parser.add_argument("--repetitions", type=int, default=3, help="repetitions, each with fresh models and its own seed")
    parser.add_argument("--schedule", choices=SCHEDULES, default="scaled", help="ACE's schedule: scaled down, or its defaults")
    parser.add_argument(
        "--learning-starts", type=int, help="random steps before learning, not timed (scaled: 1,000; default: 9,000)"
    )
    parser.add_argument("--window", type=int, default=2_000, help="env steps timed per model after --learning-starts")
    parser.add_argument("--chunk", type=int, default=250, help="env steps of one model's turn in the window (divides it)")
    parser.add_argument("--net-arch", type=int, nargs="+", help="hidden layers of actor and critics (default: each learner's)")
    parser.add_argument("--batch-size", type=int, help="minibatch size of the gradient updates (default: each learner's)")
    parser.add_argument("--causal-sample-size", type=int, help="ACE's N_c (scaled: 1,000; default: 10,000)")
    parser.add_argument("--causal-interval", type=int, help="ACE's I, env steps between fits (scaled: 500; default: 10,000)")
    parser.add_argument("--reset-interval", type=int, help="ACE's R, updates between resets (scaled: 1,000; default: 100,000)")
    parser.add_argument("--reset-start", type=int, help="updates before ACE's first reset (scaled: 0; default: 5,000)")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch threads (1: steadier on shared cores)")
    parser.add_argument("--out", type=Path, help="also write the per-model rows to this CSV file")
    args = parser.parse_args()
    if args.window % args.chunk:
        parser.error(f"--chunk {args.chunk} must divide --window {args.window}")
    for name, value in SCHEDULES[args.schedule].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    missing = sorted({CONFIGS[config].learner for config in args.configs} - set(args.configs))
    if missing:
        parser.error(f"--configs must include {', '.join(missing)}: the ratios are against it")
    # Each learner, then the configurations compared with it, each once
    order = list(dict.fromkeys(args.configs))
    learners = list(dict.fromkeys(CONFIGS[config].learner for config in order))
    configs = [
        config
        for learner in learners
        for config in sorted(order, key=lambda config: config != learner)  # the learner first
        if CONFIGS[config].learner == learner
    ]

    th.set_num_threads(args.torch_threads)
    if isinstance(sys.stdout, io.TextIOWrapper):  # each row as soon as it is measured, also into a file
        sys.stdout.reconfigure(line_buffering=True)
    schedule = {
        "scaled": "ACE's schedule scaled down (fits and a reset in every window: an upper bound of its overhead)",
        "default": "ACE's default schedule (the window holds one causal fit and no reset)",
    }[args.schedule]
    if not any(issubclass(CONFIGS[config].algorithm, ACEAdditions) for config in configs):
        schedule = "no ACE learner"
    print(
        f"{args.env}: {args.torch_threads} torch thread(s), {args.learning_starts} random steps then a timed window of "
        f"{args.window} steps in turns of {args.chunk} (1 update per step); {schedule}; {args.repetitions} repetitions"
    )
    rows = []
    for repetition in range(args.repetitions):
        models = {config: build(config, repetition, args) for config in configs}
        if repetition == 0:
            for config, model in models.items():
                print(describe(config, model))
            for config, model in models.items():
                learner = models[CONFIGS[config].learner]
                if not CONFIGS[config].authors and learner_settings(model) != learner_settings(learner):
                    raise SystemExit(f"{config} does not have the settings of {CONFIGS[config].learner}: not comparable")
        for row in measure_repetition(models, repetition, args):
            rows.append(row)
            ace = (
                f", {row['causal_fits']} causal fits ({row['seconds_per_fit']:.3f} s each), {row['resets']} resets"
                if "causal_fits" in row
                else ""
            )
            print(f"repetition {repetition} {row['algo']:>17}: {row['steps_per_s']:6.1f} steps/s{ace}")
    columns = ["repetition", "algo", "steps_per_s", "window_steps", "causal_fits", "seconds_per_fit", "resets"]
    runs = pd.DataFrame(rows, columns=columns)
    if args.out is not None:
        runs.to_csv(args.out, index=False)

    runs["learner"] = runs.algo.map(lambda config: CONFIGS[config].learner)
    learner_runs = runs[["repetition", "algo", "steps_per_s"]].rename(
        columns={"algo": "learner", "steps_per_s": "learner_steps_per_s"}
    )
    runs = runs.merge(learner_runs, on=["repetition", "learner"], how="left")
    runs["ratio_to_learner"] = runs.steps_per_s / runs.learner_steps_per_s
    runs["minutes_per_100k"] = 100_000 / runs.steps_per_s / 60
    summary = runs.groupby("algo", sort=False).agg(
        **{
            "learner": ("learner", "first"),
            "runs": ("steps_per_s", "size"),
            "steps/s (median)": ("steps_per_s", "median"),
            "steps/s (min)": ("steps_per_s", "min"),
            "steps/s (max)": ("steps_per_s", "max"),
            "x learner (median)": ("ratio_to_learner", "median"),
            "x learner (min)": ("ratio_to_learner", "min"),
            "min per 100k steps (median)": ("minutes_per_100k", "median"),
            "causal fits per run": ("causal_fits", "min"),
            "s per fit (median)": ("seconds_per_fit", "median"),
            "resets per run": ("resets", "min"),
        }
    )
    print()
    print(summary.to_markdown(floatfmt=".3g"))

    ace = runs[runs.causal_fits.notna()]
    if args.schedule == "scaled" and ((ace.causal_fits < 2).any() or (ace.resets < 1).any()):
        raise SystemExit("some ACE model had fewer than 2 causal fits or no reset in its window: adjust the schedule flags")
    if (ace.causal_fits < 1).any():
        raise SystemExit("some ACE model had no causal fit in its window: adjust --learning-starts or --window")


if __name__ == "__main__":
    main()
