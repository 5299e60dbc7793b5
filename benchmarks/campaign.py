"""Learning campaign runner: train every run of a campaign file that has no result yet, and keep each finished run.

    python -m benchmarks.campaign benchmarks/campaigns/sac_sized_100k.yml --workers 2 --hours 2.5
    python -m benchmarks.campaign benchmarks/campaigns/sac_sized_100k.yml --shard 1/3 --device cuda --workers 12
    python -m benchmarks.campaign benchmarks/campaigns/sac_sized_100k.yml --list     # what is done, what is missing

A campaign file (YAML) declares the grid: ``tasks`` x ``variants`` x ``seeds`` (a task is named by its Gymnasium id,
or names it in ``gym_id`` with ``env_kwargs`` for ``gym.make``: Meta-World's MT1 tasks share one id; ``make_seed: true``
passes the run's seed to ``gym.make``, which MT1 needs to draw its goal positions reproducibly), the ``budget``
of env steps of a run, the ``evaluation`` protocol and the hyperparameters common to every variant; each variant names
its ``algo`` (``sac``, ``ace``, ``tqc``, ``ace_tqc``, ``crossq``, ``ace_crossq``) and may name the ``tasks`` it runs on
(default: all) and, for a control of ACE's causal step, ``causal_weights_control: shuffled`` (after every fit the
weights are permuted across the action dimensions at random: the same sizes, assigned to dimensions regardless of
their causal effects); the ``baseline`` variant (default ``SAC``) is the one the report compares the others with; its
``notes`` tell the report's reader what the result files cannot (such as what changed between the commits the runs
ran at). Each run trains in a fresh worker process (``--workers`` at once, one torch thread each) and is evaluated on
its own evaluation env, deterministically, before training and every ``evaluation.every`` env steps. A finished run
writes one small JSON file under ``benchmarks/results/<campaign>/<task>/<variant>/seed<seed>.json``: the evaluation
curve, the causal weights of every fit and the retention of every soft reset (ACE's learners), the settings, the
package versions, the machine, the git commit and the wall time. The file is written to a temporary name and renamed
once complete, so an interrupted run leaves nothing that could be mistaken for a result; running the campaign again
picks up exactly the runs that have no file. A run holds a lock while it trains: a runner skips the runs another process
is training (such as the workers of a runner killed with SIGTERM, which go on to finish their runs). A worker that gets
SIGTERM itself (a cluster's preemption signals every process of the job) stops its run and removes its lock: the run
trains again, from its start, when the campaign runs again.

``--hours`` is the time the runner may take: a run is started only if its estimated duration (the slowest finished
run of that task on a machine like this one, else the campaign's ``minutes_per_run`` for the task) ends before
that. ``--shard i/n`` takes every n-th run of the ordered grid, starting at the i-th, so that n machines share a
campaign without overlap. Runs are ordered by variant ``priority`` (lower first), then task, seed and variant.
"""

import argparse
import contextlib
import copy
import fcntl
import importlib
import importlib.metadata
import json
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# The algorithms a variant can name (``algo``): the learners and their ACE versions, imported by the worker that trains
ALGOS = {
    "sac": "stable_baselines3.SAC",
    "ace": "sb3_ace.ACE",
    "tqc": "sb3_contrib.TQC",
    "ace_tqc": "sb3_ace.ACETQC",
    "crossq": "sb3_contrib.CrossQ",
    "ace_crossq": "sb3_ace.ACECrossQ",
}


def is_ace(algo: str) -> bool:
    """Whether ``algo`` (a key of :data:`ALGOS`) is one of ACE's learners."""
    return ALGOS[algo].startswith("sb3_ace.")


# A variant setting for the runner, not the learner: what becomes of the causal weights after every fit
WEIGHTS_CONTROL = "causal_weights_control"
WEIGHTS_CONTROLS = ("shuffled",)
# Packages whose versions a result records
VERSIONED_PACKAGES = (
    "sb3-ace",
    "stable-baselines3",
    "sb3-contrib",
    "torch",
    "gymnasium",
    "mujoco",
    "dm-control",
    "shimmy",
    "metaworld",
    "numpy",
    "lingam",
    "scikit-learn",
)
# Those whose version changes what a run computes: the finished runs of a task fix them for its later runs
NUMERICAL_PACKAGES = ("torch", "mujoco", "gymnasium", "numpy")


@dataclass(frozen=True)
class Task:
    """An environment of the campaign: its name, how to build it and how long a run of it takes."""

    env_id: str  # the task's name in the campaign and its results: the Gymnasium id, unless gym_id is given
    gym_packages: tuple[str, ...] = ()  # imported first: they register the id (e.g. shimmy for dm_control/...)
    env_wrapper: str | None = None  # "module.Class" applied to the env (e.g. a Dict observation flattened)
    minutes_per_run: float = 60.0  # prior estimate of one run's wall time, until a run of it has finished
    gym_id: str | None = None  # the Gymnasium id, where several tasks share one (Meta-World/MT1 and its env_name)
    env_kwargs: dict[str, Any] = field(default_factory=dict, hash=False)  # for gym.make
    # gym.make gets the run's seed as ``seed=``: Meta-World's MT1 draws its 50 goal and object positions, and the first
    # episode's task, from it (without it, from numpy's unseeded global state: a rerun would not repeat the run)
    make_seed: bool = False

    @property
    def slug(self) -> str:
        return self.env_id.replace("/", "-")

    def make(self, seed: int) -> gym.Env:
        """The env, built with ``seed`` where the task's ``make_seed`` asks for it."""
        for package in self.gym_packages:
            importlib.import_module(package)
        kwargs: dict[str, Any] = {**self.env_kwargs, **({"seed": seed} if self.make_seed else {})}
        env = gym.make(self.gym_id or self.env_id, **kwargs)
        if self.env_wrapper is not None:
            module, name = self.env_wrapper.rsplit(".", 1)
            env = getattr(importlib.import_module(module), name)(env)
        return env

    def installed(self) -> bool:
        try:
            for package in self.gym_packages:
                importlib.import_module(package)
        except ImportError:
            return False
        return (self.gym_id or self.env_id) in gym.registry


@dataclass(frozen=True)
class Variant:
    """An algorithm and its settings: ``algo`` (a key of :data:`ALGOS`) and keyword arguments for it."""

    name: str
    algo: str
    kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    priority: int = 0
    tasks: tuple[str, ...] | None = None  # the env ids it runs on; None: every task of the campaign


@dataclass(frozen=True)
class Campaign:
    """A campaign file, read: see the module docstring."""

    name: str
    budget: int
    eval_every: int
    eval_episodes: int
    seeds: tuple[int, ...]
    tasks: tuple[Task, ...]
    variants: tuple[Variant, ...]
    hyperparams: dict[str, Any] = field(default_factory=dict, hash=False)
    description: str = ""
    notes: tuple[str, ...] = ()  # what a reader of the results must know that the result files cannot say
    baseline: str = "SAC"  # the variant the report compares the others with

    @classmethod
    def load(cls, path: Path) -> "Campaign":
        spec = yaml.safe_load(Path(path).read_text())
        known = {
            "name",
            "budget",
            "evaluation",
            "seeds",
            "tasks",
            "variants",
            "hyperparams",
            "description",
            "notes",
            "baseline",
        }
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"{path}: unknown campaign keys {sorted(unknown)}")
        variants = []
        for name, settings in spec["variants"].items():
            settings = dict(settings)
            algo = settings.pop("algo")
            if algo not in ALGOS:
                raise ValueError(f"{path}: variant {name}: algo must be one of {sorted(ALGOS)}, got {algo!r}")
            priority = settings.pop("priority", 0)
            tasks = settings.pop("tasks", None)
            control = settings.get(WEIGHTS_CONTROL)
            if control is not None and (control not in WEIGHTS_CONTROLS or not is_ace(algo)):
                raise ValueError(
                    f"{path}: variant {name}: {WEIGHTS_CONTROL} must be one of {WEIGHTS_CONTROLS} on one of ACE's learners, "
                    f"got {control!r} on {algo!r}"
                )
            if tasks is not None and not set(tasks) <= set(spec["tasks"]):
                raise ValueError(f"{path}: variant {name}: tasks {sorted(set(tasks) - set(spec['tasks']))} are not in tasks")
            variants.append(Variant(name, algo, settings, priority, None if tasks is None else tuple(tasks)))
        campaign = cls(
            name=spec["name"],
            budget=int(spec["budget"]),
            eval_every=int(spec["evaluation"]["every"]),
            eval_episodes=int(spec["evaluation"]["episodes"]),
            seeds=tuple(spec["seeds"]),
            tasks=tuple(
                Task(
                    env_id,
                    tuple(t.get("gym_packages", ())),
                    t.get("env_wrapper"),
                    float(t.get("minutes_per_run", 60)),
                    t.get("gym_id"),
                    dict(t.get("env_kwargs") or {}),
                    bool(t.get("make_seed", False)),
                )
                for env_id, t in spec["tasks"].items()
            ),
            variants=tuple(variants),
            hyperparams=dict(spec.get("hyperparams") or {}),
            description=str(spec.get("description", "")).strip(),
            notes=tuple(str(note).strip() for note in spec.get("notes") or ()),
            baseline=str(spec.get("baseline", "SAC")),
        )
        if campaign.baseline not in {variant.name for variant in variants}:
            raise ValueError(f"{path}: baseline {campaign.baseline!r} is not one of the variants")
        if campaign.budget % campaign.eval_every:
            raise ValueError(f"{path}: evaluation.every={campaign.eval_every} must divide budget={campaign.budget}")
        return campaign

    def runs(self) -> list["Run"]:
        """Every run of the grid, in the order they are started: priority, task, seed, variant."""
        order = sorted(
            (
                (variant.priority, t, seed, v)
                for t in range(len(self.tasks))
                for seed in self.seeds
                for v, variant in enumerate(self.variants)
                if variant.tasks is None or self.tasks[t].env_id in variant.tasks
            ),
        )
        return [Run(self.tasks[t], self.variants[v], seed) for _, t, seed, v in order]


@dataclass(frozen=True)
class Run:
    task: Task
    variant: Variant
    seed: int

    def result_path(self, results: Path, campaign: Campaign) -> Path:
        return results / campaign.name / self.task.slug / self.variant.name / f"seed{self.seed}.json"

    def __str__(self) -> str:
        return f"{self.task.env_id} {self.variant.name} seed {self.seed}"


def evaluate(model: Any, env: gym.Env, episodes: int) -> dict[str, Any]:
    """
    Deterministic evaluation of ``model`` on ``env`` (seeded once by the caller): ``episodes`` full episodes.

    :return: ``mean_return``, ``std_return``, ``episodes`` and ``success_rate`` (the fraction of episodes in which
        the env reported ``success`` or ``is_success`` at some step; ``None`` if the env never reports it)
    """
    returns, successes = [], []
    for _ in range(episodes):
        obs, _ = env.reset()
        done, episode_return, success = False, 0.0, None
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, info = env.step(action)
            episode_return += float(reward)
            done = terminated or truncated
            for key in ("success", "is_success"):
                if key in info:
                    success = bool(success) or bool(info[key])
        returns.append(episode_return)
        successes.append(success)
    reported = [s for s in successes if s is not None]
    return {
        "mean_return": float(np.mean(returns)),
        "std_return": float(np.std(returns)),
        "episodes": episodes,
        "success_rate": float(np.mean(reported)) if reported else None,
    }


def machine() -> dict[str, Any]:
    """What the run ran on, enough to compare wall times between machines."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.system(), "python": platform.python_version()}


def git_commit() -> str:
    """The checkout's commit, with ``+dirty`` when the package or the benchmarks have uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        status = subprocess.run(
            ["git", "status", "--porcelain", "sb3_ace", "benchmarks/campaign.py"], cwd=ROOT, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit.strip() + ("+dirty" if status.strip() else "")


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for package in VERSIONED_PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    return found


class RunTakenElsewhere(Exception):
    """Another process is training this run, or has finished it since this runner listed what to train."""


class RunStopped(Exception):
    """The process training this run got SIGTERM (a cluster's preemption, or ``kill``): it stopped without a result, and
    the run trains again, from its start, when the campaign runs again."""


@contextlib.contextmanager
def claimed(run: Run, path: Path) -> Iterator[None]:
    """Hold the lock of the run whose result file is ``path`` while it trains, so that no other process trains it too.

    A runner killed with ``kill`` (SIGTERM) leaves its workers training, and they write their results when they end: a
    runner started after it would train the same runs again, two at a time on the same cores. The lock is an
    ``flock`` on a hidden file beside the result, which the system releases when its process ends, however it ends; the
    file holds the pid of the process that trains the run, and goes with its lock (:func:`stopped_by_sigterm`).
    """
    lock_path = path.with_name(f".{path.name}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as lock:  # not "w": that would empty the holder's pid before the lock is tried
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            pid = lock.read().strip()  # empty while the holder has not written it yet
            holder = f"pid {pid}, which holds {lock_path}" if pid else f"it holds {lock_path}"
            raise RunTakenElsewhere(f"{run} is being trained by another process ({holder})") from None
        try:
            if path.is_file():
                raise RunTakenElsewhere(f"{run} was finished by another process")
            lock.truncate(0)
            lock.write(f"{os.getpid()}\n")
            lock.flush()
            yield
        finally:
            lock_path.unlink(missing_ok=True)


@contextlib.contextmanager
def stopped_by_sigterm(run: Run) -> Iterator[None]:
    """Turn SIGTERM into :class:`RunStopped` while ``run`` trains, so that the ``finally`` clauses of a run stopped by a
    preemption remove its lock file and any half-written result (Python's default for SIGTERM ends the process at once,
    and leaves them); the previous handler is back afterwards."""

    def stop(signum: int, frame: Any) -> None:
        raise RunStopped(f"{run} stopped by SIGTERM, without a result")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def train_run(run: Run, campaign: Campaign, device: str, threads: int, results: Path, commit: str) -> dict[str, Any]:
    """Train and evaluate one run in this process, unless another process has it (:class:`RunTakenElsewhere`); write
    its result file last, atomically. SIGTERM stops it (:class:`RunStopped`) and leaves nothing behind.

    ``commit`` is the code the run trains with: the runner's worker server imports the package once, when the runner
    starts, so the checkout's commit at the end of a run may be a later one.
    """
    from sb3_ace.common.saving import save_atomically  # in the worker, as train's imports: the runner needs no torch

    path = run.result_path(results, campaign)
    with stopped_by_sigterm(run), claimed(run, path):
        result = train(run, campaign, device, threads, commit)
        # Complete or absent, never half-written, and readable as a plain write would leave it (not mkstemp's 0o600)
        save_atomically(path, "json", lambda destination: destination.write_text(json.dumps(result, indent=1)))
    return result


def train(run: Run, campaign: Campaign, device: str, threads: int, commit: str) -> dict[str, Any]:
    """Train and evaluate one run in this process; return its result (what its result file holds)."""
    import torch as th
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.monitor import Monitor

    th.set_num_threads(threads)
    start = time.time()
    kwargs = copy.deepcopy({**campaign.hyperparams, **run.variant.kwargs})
    policy = kwargs.pop("policy", "MlpPolicy")
    settings = {"policy": policy, **copy.deepcopy(kwargs)}  # as given: SB3 adds to policy_kwargs in place
    shuffle_weights = kwargs.pop(WEIGHTS_CONTROL, None) == "shuffled"
    shuffle_rng = np.random.default_rng(run.seed + 20_000)  # its own stream: the run's other randomness is untouched
    module, name = ALGOS[run.variant.algo].rsplit(".", 1)
    algo_class = getattr(importlib.import_module(module), name)
    model = algo_class(policy, Monitor(run.task.make(run.seed)), seed=run.seed, device=device, **kwargs)
    eval_env = run.task.make(run.seed)  # the same task set as training (Meta-World's MT1: its 50 goal positions)
    eval_env.reset(seed=run.seed + 10_000)  # seeded once, apart from the training env; later episodes continue
    eval_env.action_space.seed(run.seed + 10_000)
    curve: list[dict[str, Any]] = []
    fits: list[dict[str, Any]] = []  # the causal weights each fit set
    resets: list[dict[str, Any]] = []  # the retention of each soft reset
    eval_seconds = 0.0

    def record_ace_activity() -> None:
        """After each env step: a fit (during the step) or a reset (in the updates before it) shows in the counters."""
        if getattr(model, "num_causal_fits", 0) > len(fits):
            fit = {
                "step": model.num_timesteps,
                "weights": model.causal_weights.tolist(),
                "coefficients": model.causal_coefficients.tolist(),
            }
            if shuffle_weights:  # ACE's callbacks run first: the permuted weights enter this step's updates
                order = shuffle_rng.permutation(len(fit["weights"]))
                model.actor.causal_weights.copy_(model.actor.causal_weights[th.as_tensor(order)])
                fit |= {"fitted_weights": fit["weights"], "weights": model.causal_weights.tolist()}
            fits.append(fit)
        if getattr(model, "num_resets", 0) > len(resets):
            # after the train() call that ran the reset's update; its measurements: the actor's beta and the retention
            resets.append(
                {
                    "step": model.num_timesteps,
                    "updates": model._n_updates,
                    "retention": model.reset_retention,
                    "dormant_ratio": model.dormant_ratio,
                }
            )

    def record() -> None:
        nonlocal eval_seconds
        eval_start = time.time()
        point = {"step": model.num_timesteps, **evaluate(model, eval_env, campaign.eval_episodes)}
        point["causal_fits"] = getattr(model, "num_causal_fits", 0)
        point["num_resets"] = getattr(model, "num_resets", 0)
        curve.append(point)
        eval_seconds += time.time() - eval_start

    class Evaluation(BaseCallback):
        def _on_step(self) -> bool:
            record_ace_activity()
            if self.num_timesteps % campaign.eval_every == 0:
                record()
            return True

    record()  # the untrained policy: step 0 of the curve
    model.learn(campaign.budget, callback=Evaluation())
    wall = time.time() - start
    result = {
        "campaign": campaign.name,
        "task": run.task.env_id,
        "variant": run.variant.name,
        "algo": run.variant.algo,
        "seed": run.seed,
        "budget": campaign.budget,
        "evaluation": {"every": campaign.eval_every, "episodes": campaign.eval_episodes, "deterministic": True},
        "hyperparams": settings,
        "curve": curve,
        "causal_weights": model.causal_weights.tolist() if hasattr(model, "causal_weights") else None,
        "causal_fits": fits,
        "resets": resets,
        "wall_seconds": wall,
        "eval_seconds": eval_seconds,
        "train_steps_per_second": campaign.budget / (wall - eval_seconds),
        "device": str(model.device),
        "torch_threads": threads,
        "machine": machine(),
        "versions": versions(),
        "commit": commit,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return result


def load_results(campaign: Campaign, results: Path) -> list[dict[str, Any]]:
    """Every finished run of the campaign (the result files of its grid that exist)."""
    return [json.loads(path.read_text()) for run in campaign.runs() if (path := run.result_path(results, campaign)).is_file()]


def version_conflicts(run: Run, finished: list[dict[str, Any]]) -> dict[str, tuple[str | None, str | None]]:
    """
    The numerical libraries whose installed version differs from the one the finished runs of this run's task ran
    with: ``{package: (theirs, installed)}``. A run trained with another simulator or torch version than the other
    seeds of its task would not be comparable with them (e.g. ``pip install -e ".[dmc]"`` takes mujoco below 4,
    which HalfCheetah's committed runs did not have), so the runner leaves it for a machine that matches.
    """
    installed = versions()
    conflicts: dict[str, tuple[str | None, str | None]] = {}
    for result in finished:
        if result["task"] != run.task.env_id:
            continue
        for package in NUMERICAL_PACKAGES:
            theirs = result["versions"].get(package)
            if package in result["versions"] and theirs != installed[package]:
                conflicts[package] = (theirs, installed[package])
    return conflicts


def estimated_seconds(run: Run, finished: list[dict[str, Any]], device: str) -> float:
    """The slowest finished run of the same task on a machine like this one, else the campaign's prior."""
    here = machine()
    similar = [
        r["wall_seconds"]
        for r in finished
        if r["task"] == run.task.env_id
        and r["machine"]["cpu"] == here["cpu"]
        and r["machine"]["cores"] == here["cores"]
        and r["device"].split(":")[0] == device.split(":")[0].replace("auto", "cpu")
    ]
    return max(similar) if similar else 60.0 * run.task.minutes_per_run


def parse_shard(text: str) -> tuple[int, int]:
    index, count = (int(part) for part in text.split("/"))
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"--shard i/n needs 0 <= i < n, got {text}")
    return index, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("campaign", type=Path, help="campaign file (YAML)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="runs trained at once (default: the cores)")
    parser.add_argument("--hours", type=float, help="time the runner may take; no run is started that would end later")
    parser.add_argument("--shard", type=parse_shard, default=(0, 1), help="i/n: this machine's share of the grid")
    parser.add_argument("--device", default="cpu", help="torch device of the models (cpu, cuda, auto)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the result files")
    parser.add_argument("--list", action="store_true", help="print what is finished and what is missing, train nothing")
    args = parser.parse_args(argv)
    deadline = None if args.hours is None else time.time() + 3600 * args.hours
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    campaign = Campaign.load(args.campaign)
    shard_index, shard_count = args.shard
    grid = campaign.runs()
    mine = grid[shard_index::shard_count]
    todo = [run for run in mine if not run.result_path(args.results, campaign).is_file()]
    not_installed = [run for run in todo if not run.task.installed()]
    todo = [run for run in todo if run not in not_installed]
    print(
        f"campaign {campaign.name}: {len(grid)} runs in the grid, {len(mine)} in shard {shard_index}/{shard_count}, "
        f"{len(mine) - len(todo) - len(not_installed)} finished, {len(todo)} to train"
        + (f", {len(not_installed)} whose task is not installed here" if not_installed else "")
    )
    for task in sorted({run.task.env_id for run in not_installed}):
        print(f"  not installed: {task}")
    finished = load_results(campaign, args.results)
    mismatched = {run: conflicts for run in todo if (conflicts := version_conflicts(run, finished))}
    for task in sorted({run.task.env_id for run in mismatched}):
        conflicts = next(conflicts for run, conflicts in mismatched.items() if run.task.env_id == task)
        described = ", ".join(f"{package} {theirs} (installed: {mine})" for package, (theirs, mine) in conflicts.items())
        print(f"  not started: {task}, whose finished runs ran with {described}")
    todo = [run for run in todo if run not in mismatched]
    if args.list:
        for run in todo:
            print(f"  missing: {run}")
        return 0

    failed: list[Run] = []
    stopped: list[Run] = []
    not_started: list[Run] = []
    if todo:
        commit = git_commit()  # before the worker server imports the package: the code every run of this runner uses
        # A fresh process per run, forked from a server that imported the libraries once and never ran torch
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["gymnasium", "stable_baselines3", "sb3_contrib", "sb3_ace"])
        with ProcessPoolExecutor(max_workers=min(args.workers, len(todo)), mp_context=context, max_tasks_per_child=1) as pool:
            running: dict[Future, Run] = {}
            while todo or running:
                while todo and len(running) < args.workers:
                    run = todo.pop(0)
                    if deadline is not None and time.time() + estimated_seconds(run, finished, args.device) > deadline:
                        not_started.append(run)
                        continue
                    print(f"start {run}")
                    running[pool.submit(train_run, run, campaign, args.device, args.threads, args.results, commit)] = run
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    run = running.pop(future)
                    try:
                        result = future.result()
                    except RunTakenElsewhere as taken:
                        print(f"skipped: {taken}")
                        continue
                    except RunStopped as signalled:
                        stopped.append(run)
                        print(f"stopped: {signalled}")
                        continue
                    except Exception:
                        failed.append(run)
                        print(f"FAILED {run}:\n{traceback.format_exc()}")
                        continue
                    finished.append(result)
                    last = result["curve"][-1]
                    print(
                        f"done {run}: return {last['mean_return']:.1f} at {last['step']} steps, "
                        f"{result['wall_seconds'] / 60:.1f} min, {result['train_steps_per_second']:.1f} steps/s"
                    )
    if not_started:
        print(f"{len(not_started)} runs not started: they would not finish within --hours {args.hours}")
    if stopped:
        print(f"{len(stopped)} runs stopped by SIGTERM: they train again when the campaign runs again")
    if failed:
        print(f"{len(failed)} runs failed: {', '.join(map(str, failed))}")
    return 1 if failed or stopped else 0


if __name__ == "__main__":
    sys.exit(main())
