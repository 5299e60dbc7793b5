"""The learning campaign: the runner (a tiny campaign end to end on Pendulum) and the report (on fixture results)."""

import fcntl
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from gymnasium.envs.classic_control.pendulum import PendulumEnv
from rliable import metrics
from scipy import stats

from benchmarks import parts
from benchmarks import report as report_module
from benchmarks.campaign import Campaign, Run, RunTakenElsewhere, train, train_run
from benchmarks.report import (
    average_probability_of_improvement,
    comparisons,
    improvement,
    parent,
    probability_of_improvement,
    report,
    verdict,
)

ROOT = Path(__file__).resolve().parents[1]
TINY_CAMPAIGN = {
    "name": "tiny",
    "description": "Pendulum in seconds.",
    "budget": 300,
    "evaluation": {"every": 150, "episodes": 1},
    "seeds": [0, 1],
    "tasks": {"Pendulum-v1": {"minutes_per_run": 0.5}},
    "hyperparams": {"learning_starts": 50, "batch_size": 32, "policy_kwargs": {"net_arch": [16, 16]}},
    "variants": {
        "SAC": {"algo": "sac"},
        "ACE": {"algo": "ace", "causal_sample_size": 100, "causal_interval": 100, "reset_interval": 100, "reset_start": 0},
    },
}


def write_campaign(folder: Path, **changes) -> Path:
    path = folder / "campaign.yml"
    path.write_text(yaml.safe_dump({**TINY_CAMPAIGN, **changes}, sort_keys=False))
    return path


def runner_call(*args: str | Path) -> dict[str, Any]:
    """The arguments of ``subprocess.run`` or ``Popen`` that start a campaign runner with ``args``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return {"args": [sys.executable, "-m", "benchmarks.campaign", *map(str, args)], "text": True, "cwd": ROOT, "env": env}


def run_campaign(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(**runner_call(*args), capture_output=True, timeout=600)


def test_tiny_campaign_end_to_end(tmp_path):
    campaign_file, results = write_campaign(tmp_path), tmp_path / "results"
    first = run_campaign(campaign_file, "--workers", "2", "--results", results)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "4 to train" in first.stdout
    files = sorted(results.glob("tiny/Pendulum-v1/*/seed*.json"))
    assert [f.relative_to(results / "tiny" / "Pendulum-v1").as_posix() for f in files] == [
        "ACE/seed0.json",
        "ACE/seed1.json",
        "SAC/seed0.json",
        "SAC/seed1.json",
    ]
    result = json.loads(files[0].read_text())
    assert [point["step"] for point in result["curve"]] == [0, 150, 300]  # before training, then every 150 steps
    assert result["curve"][-1]["causal_fits"] == 3 and result["curve"][-1]["num_resets"] == 2
    # ACE's activity: the weights of every fit (at 100, 200, 300 steps), the retention of every reset
    assert [fit["step"] for fit in result["causal_fits"]] == [100, 200, 300]
    assert result["causal_fits"][-1]["weights"] == result["causal_weights"]
    assert all(np.isclose(np.mean(fit["weights"]), 1.0) and len(fit["coefficients"]) == 1 for fit in result["causal_fits"])
    assert len(result["resets"]) == 2 and all(0.2 <= reset["retention"] <= 0.9 for reset in result["resets"])
    sac_result = json.loads(files[2].read_text())
    assert sac_result["causal_fits"] == [] and sac_result["resets"] == [] and sac_result["causal_weights"] is None
    assert result["hyperparams"]["policy_kwargs"] == {"net_arch": [16, 16]}  # as given, not as SB3 completed it
    for key in ("seed", "variant", "versions", "machine", "commit", "wall_seconds", "train_steps_per_second"):
        assert key in result, key
    assert result["versions"]["stable-baselines3"] and result["machine"]["cores"] == os.cpu_count()
    assert [f.name for f in results.rglob("*") if f.is_file() and f not in files] == []  # nothing half-written
    umask = os.umask(0)
    os.umask(umask)
    assert {f.stat().st_mode & 0o777 for f in files} == {0o666 & ~umask}  # as a plain write leaves them
    assert not list(results.rglob("*.lock"))  # the runs' locks gone with them

    # Resumable: a second run trains nothing and leaves the files alone
    written = {f: f.stat().st_mtime_ns for f in files}
    again = run_campaign(campaign_file, "--results", results)
    assert "4 finished, 0 to train" in again.stdout
    assert {f: f.stat().st_mtime_ns for f in files} == written

    # The report: a page and a figure from the results
    text = report(Campaign.load(campaign_file), campaign_file, results, tmp_path / "docs", reps=200)
    assert "4 of 4 runs finished" in text and "| SAC " in text and "P(> SAC), final" in text
    assert (tmp_path / "docs" / "tiny.png").read_bytes().startswith(b"\x89PNG")
    # The answer first, where the runs ran last; the summary the algorithm pages include
    assert text.index("**What the runs found.**") < text.index("## Across tasks") < text.index("## How these runs were made")
    assert "**Machines.**" in text.split("## How these runs were made")[1]
    summary = (tmp_path / "docs" / "tiny_summary.md").read_text()
    assert "```{image} /campaigns/tiny.png" in summary and "{doc}`/campaigns/tiny`" in summary


def test_shards_split_the_grid_without_overlap(tmp_path):
    campaign = Campaign.load(write_campaign(tmp_path, seeds=[0, 1, 2]))
    grid = campaign.runs()
    shards = [grid[i::3] for i in range(3)]
    assert sorted(str(run) for shard in shards for run in shard) == sorted(map(str, grid)) and len(grid) == 6
    listed = [run_campaign(tmp_path / "campaign.yml", "--shard", f"{i}/3", "--list", "--results", tmp_path) for i in range(3)]
    missing = [line for out in listed for line in out.stdout.splitlines() if line.strip().startswith("missing:")]
    assert sorted(missing) == sorted(f"  missing: {run}" for run in grid)


def test_priority_orders_the_grid(tmp_path):
    variants = {**TINY_CAMPAIGN["variants"], "ablation": {"algo": "ace", "reset_mode": None, "priority": 1}}
    campaign = Campaign.load(write_campaign(tmp_path, variants=variants))
    assert [run.variant.name for run in campaign.runs()] == ["SAC", "ACE", "SAC", "ACE", "ablation", "ablation"]


def test_a_variant_runs_on_the_tasks_it_names(tmp_path):
    tasks = {"Pendulum-v1": {}, "MountainCarContinuous-v0": {}}
    variants = {**TINY_CAMPAIGN["variants"], "only-pendulum": {"algo": "ace", "tasks": ["Pendulum-v1"], "priority": 1}}
    campaign = Campaign.load(write_campaign(tmp_path, tasks=tasks, variants=variants, seeds=[0]))
    assert [str(run) for run in campaign.runs() if run.variant.name == "only-pendulum"] == ["Pendulum-v1 only-pendulum seed 0"]
    elsewhere = {**variants, "only-pendulum": {"algo": "ace", "tasks": ["Hopper-v5"]}}
    with pytest.raises(ValueError, match=r"variant only-pendulum: tasks \['Hopper-v5'\] are not in tasks"):
        Campaign.load(write_campaign(tmp_path, variants=elsewhere))


def test_a_task_may_name_its_gym_id_and_env_kwargs(tmp_path):
    tasks = {"Pendulum-light": {"gym_id": "Pendulum-v1", "env_kwargs": {"g": 3.0}}}
    campaign = Campaign.load(write_campaign(tmp_path, tasks=tasks, seeds=[0]))
    (task,) = campaign.tasks
    assert task.installed() and task.slug == "Pendulum-light" and task.make(seed=0).unwrapped.g == 3.0


class SeededAtConstructionEnv(PendulumEnv):
    """An env whose constructor takes the seed, as Meta-World's MT1 does."""

    def __init__(self, seed: int | None = None):
        super().__init__()
        self.constructed_with_seed = seed


def test_a_task_may_pass_the_runs_seed_to_gym_make(tmp_path):
    gym.register("SeededAtConstruction-v0", entry_point=SeededAtConstructionEnv)
    tasks = {
        "plain": {"gym_id": "SeededAtConstruction-v0"},
        "seeded": {"gym_id": "SeededAtConstruction-v0", "make_seed": True},
    }
    campaign = Campaign.load(write_campaign(tmp_path, tasks=tasks, seeds=[0]))
    plain, seeded = campaign.tasks
    assert plain.make(seed=7).unwrapped.constructed_with_seed is None
    assert seeded.make(seed=7).unwrapped.constructed_with_seed == 7


def test_no_run_starts_that_cannot_finish_in_time(tmp_path):
    campaign_file = write_campaign(tmp_path, tasks={"Pendulum-v1": {"minutes_per_run": 30}})
    out = run_campaign(campaign_file, "--hours", "0.1", "--results", tmp_path / "results")
    assert out.returncode == 0
    assert "4 runs not started: they would not finish within --hours 0.1" in out.stdout
    assert not (tmp_path / "results").exists()


def test_a_failing_run_leaves_nothing_behind(tmp_path):
    variants = {"SAC": {"algo": "sac"}, "broken": {"algo": "ace", "causal_interval": 0}}
    campaign_file = write_campaign(tmp_path, variants=variants, seeds=[0])
    out = run_campaign(campaign_file, "--workers", "1", "--results", tmp_path / "results")
    assert out.returncode == 1
    assert "FAILED Pendulum-v1 broken seed 0" in out.stdout and "causal_interval" in out.stdout
    assert [p.name for p in (tmp_path / "results").rglob("*") if p.is_file()] == ["seed0.json"]  # SAC's only


def test_a_run_that_another_process_trains_or_has_finished_is_skipped(tmp_path):
    campaign_file, results = write_campaign(tmp_path, seeds=[0], variants={"SAC": {"algo": "sac"}}), tmp_path / "results"
    campaign = Campaign.load(campaign_file)
    (run,) = campaign.runs()
    path = run.result_path(results, campaign)
    path.parent.mkdir(parents=True)
    lock_path = path.with_name(f".{path.name}.lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process's claim (an flock is per open file: this process is another)
        lock.write("4242\n")
        lock.flush()
        out = run_campaign(campaign_file, "--results", results)
        assert out.returncode == 0, out.stdout + out.stderr
        holder = f"pid 4242, which holds {lock_path}"
        assert f"skipped: Pendulum-v1 SAC seed 0 is being trained by another process ({holder})" in out.stdout
        assert not path.exists()
        with pytest.raises(RunTakenElsewhere, match="being trained by another process"):
            train_run(run, campaign, "cpu", 1, results, "abc")
    path.write_text("{}")  # finished by another process after this runner listed what to train
    with pytest.raises(RunTakenElsewhere, match="was finished by another process"):
        train_run(run, campaign, "cpu", 1, results, "abc")
    assert path.read_text() == "{}" and not lock_path.exists()


def test_a_run_stopped_by_sigterm_leaves_nothing_behind(tmp_path):
    """A cluster's preemption sends SIGTERM to the workers too: the run stops, its lock file goes with it, and the
    runner says so and exits non-zero (the campaign is not complete); the next runner trains the run again."""
    campaign_file = write_campaign(tmp_path, budget=150_000, seeds=[0], variants={"SAC": {"algo": "sac"}})
    results = tmp_path / "results"
    call = runner_call(campaign_file, "--workers", "1", "--results", results)
    runner = subprocess.Popen(**call, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lock_path = results / "tiny" / "Pendulum-v1" / "SAC" / ".seed0.json.lock"
    deadline = time.monotonic() + 120
    while not (lock_path.is_file() and lock_path.read_text().strip()):  # the worker has claimed the run
        assert time.monotonic() < deadline and runner.poll() is None, "the run never started"
        time.sleep(0.1)
    worker = int(lock_path.read_text())
    assert worker != runner.pid  # a worker process trains it, not the runner
    os.kill(worker, signal.SIGTERM)
    output, _ = runner.communicate(timeout=120)
    assert runner.returncode == 1, output
    assert "stopped: Pendulum-v1 SAC seed 0 stopped by SIGTERM, without a result" in output
    assert "1 runs stopped by SIGTERM: they train again when the campaign runs again" in output
    assert [path for path in results.rglob("*") if path.is_file()] == []  # no lock, no result, no partial file
    assert "1 to train" in run_campaign(campaign_file, "--list", "--results", results).stdout


def test_the_learners_and_their_ace_versions_train_in_a_campaign(tmp_path):
    schedule = {"causal_sample_size": 100, "causal_interval": 100, "reset_interval": 100, "reset_start": 0}
    variants = {
        "TQC": {"algo": "tqc"},
        "ACETQC": {"algo": "ace_tqc", **schedule},
        "CrossQ": {"algo": "crossq"},
        "ACECrossQ": {"algo": "ace_crossq", **schedule},
    }
    campaign_file = write_campaign(tmp_path, variants=variants, seeds=[0], baseline="TQC")
    out = run_campaign(campaign_file, "--workers", "2", "--results", tmp_path / "results")
    assert out.returncode == 0, out.stdout + out.stderr
    for variant in variants:
        result = json.loads((tmp_path / "results" / "tiny" / "Pendulum-v1" / variant / "seed0.json").read_text())
        assert result["algo"] == variants[variant]["algo"] and result["curve"][-1]["step"] == 300
        assert (result["causal_weights"] is None) == (not variant.startswith("ACE"))


def test_shuffled_weights_control_permutes_every_fit_and_leaves_the_rest_of_the_run_alone(tmp_path):
    ace = TINY_CAMPAIGN["variants"]["ACE"]
    variants = {"ACE": ace, "ACE-shuffled": {**ace, "causal_weights_control": "shuffled"}}
    tasks = {"Hopper-v5": {}}  # 3 action dimensions to permute
    campaign = Campaign.load(write_campaign(tmp_path, tasks=tasks, variants=variants, seeds=[0], baseline="ACE"))
    runs = {run.variant.name: run for run in campaign.runs()}
    plain, shuffled = (train(runs[name], campaign, "cpu", 1, "abc") for name in ("ACE", "ACE-shuffled"))
    assert shuffled["hyperparams"]["causal_weights_control"] == "shuffled"  # recorded, and not passed to ACE
    assert [fit["step"] for fit in shuffled["causal_fits"]] == [100, 200, 300]
    # until the first fit, the two runs are the same run; the first fit is too: the shuffle draws from its own stream
    assert shuffled["curve"][0] == plain["curve"][0]
    assert shuffled["causal_fits"][0]["fitted_weights"] == plain["causal_fits"][0]["weights"]
    for fit in shuffled["causal_fits"]:
        assert sorted(fit["weights"]) == sorted(fit["fitted_weights"])  # the same sizes
    assert any(fit["weights"] != fit["fitted_weights"] for fit in shuffled["causal_fits"])  # on other dimensions
    assert shuffled["causal_weights"] == shuffled["causal_fits"][-1]["weights"]  # what the updates used
    with pytest.raises(ValueError, match="causal_weights_control must be one of"):
        Campaign.load(write_campaign(tmp_path, variants={"SAC": {"algo": "sac", "causal_weights_control": "shuffled"}}))


def test_runs_whose_libraries_differ_from_their_tasks_finished_runs_are_not_started(tmp_path):
    campaign_file, results = write_campaign(tmp_path), tmp_path / "results"
    finished = {**fixture_result("Pendulum-v1", "SAC", 0, [0.0, 0.0, 0.0]), "versions": {"torch": "0.0.1"}}
    path = results / "tiny" / "Pendulum-v1" / "SAC" / "seed0.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(finished))
    out = run_campaign(campaign_file, "--list", "--results", results)
    assert out.returncode == 0
    assert "not started: Pendulum-v1, whose finished runs ran with torch 0.0.1 (installed: 2." in out.stdout
    assert "missing:" not in out.stdout  # the task's other runs wait for a machine that matches


def fixture_result(task: str, variant: str, seed: int, finals: list[float]) -> dict:
    """A result file's content whose curve ends at ``finals`` (evaluations at 0, 50 and 100 steps)."""
    return {
        "task": task,
        "variant": variant,
        "seed": seed,
        "curve": [{"step": step, "mean_return": value} for step, value in zip((0, 50, 100), finals, strict=True)],
        "train_steps_per_second": 100.0,
        "wall_seconds": 1800.0,
        "machine": {"cpu": "test cpu", "cores": 2},
        "device": "cpu",
        "commit": "abc",
        "hyperparams": {},
        "causal_weights": None,
    }


@pytest.fixture
def intervals_from_two_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture campaigns below have 3-4 seeds: let the report compute intervals from 2 (the campaigns' is 5)."""
    monkeypatch.setattr(report_module, "MIN_SEEDS_FOR_AN_INTERVAL", 2)


def test_two_seeds_give_no_interval_and_no_verdict():
    # 2 seeds of X above 2 of Y: the bootstrap's interval would be [1, 1], "a detected difference" from 4 runs
    p, low, high = probability_of_improvement(np.array([3.0, 4.0]), np.array([1.0, 2.0]), reps=200)
    assert p == 1.0 and np.isnan(low) and np.isnan(high)
    assert "too few for an interval: nothing to read yet" in verdict("X", "Y", p, low, high, "2 vs 2 seeds")


@pytest.mark.usefixtures("intervals_from_two_seeds")
def test_report_from_fixture_results(tmp_path):
    campaign_file = write_campaign(
        tmp_path,
        budget=100,
        evaluation={"every": 50, "episodes": 1},
        seeds=[0, 1, 2, 3],
        variants={"SAC": {"algo": "sac"}, "ACE": {"algo": "ace"}},
        notes=["Seeds 0-1 ran before a fix."],
    )
    campaign = Campaign.load(campaign_file)
    results = tmp_path / "results"
    for run in campaign.runs():
        if run.seed == 3 and run.variant.name == "ACE":
            continue  # still missing
        final = 10.0 * run.seed + (100.0 if run.variant.name == "ACE" else 0.0)
        path = run.result_path(results, campaign)
        path.parent.mkdir(parents=True, exist_ok=True)
        result = fixture_result(run.task.env_id, run.variant.name, run.seed, [0.0, final / 2, final])
        if run.variant.name == "ACE":
            result["causal_weights"] = [1.0 - 0.01 * run.seed, 1.0 + 0.01 * run.seed]
            result["curve"][-1]["num_resets"] = 3
            if run.seed == 2:  # a run that recorded every fit: the largest |w_i - 1| is the first fit's
                result["causal_fits"] = [{"step": 50, "weights": [1.05, 0.95]}, {"step": 100, "weights": [0.98, 1.02]}]
        path.write_text(json.dumps(result))

    text = report(campaign, campaign_file, results, tmp_path / "docs", reps=500)
    task_table = text.split("## Pendulum-v1")[1].split("Reading")[0]
    rows = {line.split("|")[1].strip(): line for line in task_table.splitlines() if line.startswith(("| ACE", "| SAC"))}
    # SAC finals 0, 10, 20, 30: IQM of 4 values = mean of the middle two = 15; ACE 100, 110, 120: IQM 110
    assert "|       4 |" in rows["SAC"] and "15 |" in rows["SAC"]
    assert "|       3 |" in rows["ACE"] and "110 |" in rows["ACE"]
    assert "1.00 [1.00, 1.00]" in rows["ACE"]  # every ACE seed above every SAC seed
    assert "- ACE ends better than SAC (P(ACE > SAC) = 1.00, 95% CI [1.00, 1.00], 3 vs 4 seeds" in text
    assert "7 of 8 runs finished; 1 missing" in text
    assert "**Notes.**\n\n- Seeds 0-1 ran before a fix." in text
    assert re.search(r"\| `Pendulum-v1` \| ACE +\| +1 \| +3 \| +30 \| median of its 3 runs +\| +0.5 \|", text)
    assert "1 run, about 0.5 core-hours" in text  # 30 min per run, measured
    # How active ACE's parts were: max |w_i - 1| 0 and 0.01 at the last fit (seeds 0, 1), 0.05 over seed 2's fits;
    # the weights at the end, 1 -/+ 0.01 * seed, favour a_1 in every seed: their mean w_i - 1 is -0.01 and +0.01, a tie
    # of absolute values that names the first dimension, a_0
    assert re.search(r"\| ACE +\| 0.010 \(0.000 to 0.050\), 2 runs at their last fit only +\| -0.0100 \(a_0\) +\| +3 \|", text)
    assert (
        "- What ACE's parts did here: ACE weights within 0.010 of 1 (median), the seeds' mean of w_i - 1 at the end "
        "-0.0100 (a_0), 3 resets per run." in text
    )
    assert "| SAC " not in text.split("What ACE's parts did:")[1].split("##")[0]  # SAC has neither part


def write_fixture_results(campaign: Campaign, results: Path, finals: dict[tuple[str, str], list[float]]) -> None:
    """Result files of the runs in ``finals``: seed i of (task, variant) ends at ``finals[task, variant][i]``."""
    runs = {(run.task.env_id, run.variant.name, run.seed): run for run in campaign.runs()}
    for (task, variant), values in finals.items():
        for seed, final in enumerate(values):
            path = runs[task, variant, seed].result_path(results, campaign)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(fixture_result(task, variant, seed, [0.0, final / 2, final])))


@pytest.mark.usefixtures("intervals_from_two_seeds")
def test_report_across_tasks_and_ablations_against_the_campaigns_baseline(tmp_path):
    campaign_file = write_campaign(
        tmp_path,
        budget=100,
        evaluation={"every": 50, "episodes": 1},
        seeds=[0, 1, 2, 3],
        tasks={"HalfCheetah-v5": {}, "Pendulum-v1": {}, "Hopper-v5": {"minutes_per_run": 50}},
        baseline="TQC",
        variants={
            "TQC": {"algo": "tqc"},
            "ACETQC": {"algo": "ace_tqc"},
            "ACETQC-no-reset": {"algo": "ace_tqc", "reset_mode": None, "priority": 1},
        },
    )
    campaign = Campaign.load(campaign_file)
    finals = {
        ("HalfCheetah-v5", "TQC"): [0, 10, 20, 30],
        ("HalfCheetah-v5", "ACETQC"): [100, 110, 120, 130],  # P(ACETQC > TQC) = 1
        ("HalfCheetah-v5", "ACETQC-no-reset"): [50, 60, 70],  # below every ACETQC seed, above every TQC seed
        ("Pendulum-v1", "TQC"): [0, 10, 20, 30],
        ("Pendulum-v1", "ACETQC"): [5, 15, 25, 35],  # P(ACETQC > TQC) = (1 + 2 + 3 + 4) / 16 = 0.625
        ("Pendulum-v1", "ACETQC-no-reset"): [40],  # one seed: no interval, and left out of the view across tasks
    }
    write_fixture_results(campaign, tmp_path / "results", finals)
    text = report(campaign, campaign_file, tmp_path / "results", tmp_path / "docs", reps=200)

    assert "SAC" not in text  # the campaign's baseline everywhere; the authors' ACE and SAC values match no variant
    assert "the baseline the others are compared with: `TQC`" in text and "P(> TQC), final" in text
    # Across tasks: the mean over the tasks of P(X > Y) on each, (1 + 0.625) / 2, over the tasks with 2 seeds of both
    across = text.split("## Across tasks")[1].split("## HalfCheetah-v5")[0]
    assert re.search(r"\| ACETQC +\| TQC +\| HalfCheetah-v5: 4 vs 4; Pendulum-v1: 4 vs 4 +\| 0.81 \[", across)
    assert "- ACETQC ends better than TQC, averaged over 2 tasks (P(ACETQC > TQC) = 0.81, 95% CI [" in across
    assert re.search(r"\| ACETQC-no-reset \| ACETQC +\| HalfCheetah-v5: 3 vs 4 +\| 0.00 \[0.00, 0.00\]", across)
    assert "- ACETQC-no-reset ends worse than ACETQC, averaged over 1 task (P(ACETQC-no-reset > ACETQC) = 0.00" in across
    assert "Pendulum-v1 for ACETQC-no-reset vs ACETQC (1 vs 4 seeds)" in across
    assert "One task only" not in across and "Hopper-v5" not in across
    # Ablations: against the variant they ablate and against the baseline, per task
    ablations = text.split("## Ablations")[1].split("## Learning curves")[0]
    assert "`ACETQC-no-reset` (of `ACETQC`)" in ablations and "against `ACETQC` and `TQC`" in ablations
    cheetah, pendulum = ablations.split("### HalfCheetah-v5")[1].split("### Pendulum-v1")
    assert re.search(r"\| ACETQC-no-reset \| ACETQC +\| 3 vs 4 +\| 0.00 \[0.00, 0.00\]", cheetah)
    assert re.search(r"\| ACETQC-no-reset \| TQC +\| 3 vs 4 +\| 1.00 \[1.00, 1.00\]", cheetah)
    assert (
        "- ACETQC-no-reset ends better than TQC (P(ACETQC-no-reset > TQC) = 1.00, 95% CI [1.00, 1.00], 3 vs 4 seeds" in cheetah
    )
    assert "- ACETQC-no-reset against ACETQC: 1 vs 4 seeds, too few for an interval" in pendulum
    assert re.search(r"\| ACETQC-no-reset \| ACETQC +\| 1 vs 4 +\| 1.00 \(no CI\)", pendulum)
    # Per task: the ablation's reading is in its section, not repeated; a task with no run yet says so
    assert "- The ablations: see the Ablations section." in text.split("## HalfCheetah-v5")[1].split("## Pendulum-v1")[0]
    assert "## Hopper-v5\n\nNo finished run yet." in text
    # Missing runs: every task, at its own measured speed, else the campaign file's estimate
    missing = text.split("## Missing runs")[1]
    assert re.search(r"\| `Pendulum-v1` +\| ACETQC-no-reset \| +3 \| 1-3 +\| +30 \| its 1 run +\| +1.5 \|", missing)
    assert re.search(r"\| `Hopper-v5` +\| TQC +\| +4 \| 0-3 +\| +50 \| campaign file's estimate +\| +3.3 \|", missing)
    assert "16 runs, about 12.0 core-hours" in missing  # 1 + 3 at the measured 30 min, 12 at the estimated 50
    assert (tmp_path / "docs" / "tiny.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.usefixtures("intervals_from_two_seeds")
def test_report_reads_the_success_rate_where_the_env_reports_one(tmp_path):
    campaign_file = write_campaign(tmp_path, budget=100, evaluation={"every": 50, "episodes": 1}, seeds=[0, 1, 2, 3])
    campaign = Campaign.load(campaign_file)
    for run in campaign.runs():
        ace = run.variant.name == "ACE"
        result = fixture_result("Pendulum-v1", run.variant.name, run.seed, [0.0, 50.0, 100.0 + run.seed])  # tied returns
        for point, success in zip(result["curve"], (0.0, 0.5, 0.6 + 0.1 * run.seed if ace else 0.1 * run.seed), strict=True):
            point["success_rate"] = success  # ACE's final success 0.6-0.9, SAC's 0.0-0.3
        path = run.result_path(tmp_path / "results", campaign)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result))
    text = report(campaign, campaign_file, tmp_path / "results", tmp_path / "docs", reps=500)
    table = text.split("## Pendulum-v1")[1].split("Success rate (the env reports success;")[1].split("Reading")[0]
    assert "final success IQM" in table and " AUC IQM |" in table and "return" not in table  # fits the column
    # ACE: final IQM of 0.6-0.9 (the mean of 0.7, 0.8); success AUC (0 + 0.5 + final) / 3, IQM of 0.37-0.47: 0.42
    assert re.search(r"\| ACE +\| +4 \| +0.75 \| \[0.60, 0.90\] +\| +0.42 \| \[0.37, 0.47\]", table)
    assert "| P(> SAC), final " in table and "| P(> SAC), AUC " in table  # named as the returns' table: it fits
    assert "- No difference detected between ACE and SAC in final return (" in text  # the same returns
    assert "- ACE ends better than SAC in final success rate (P(ACE > SAC) = 1.00, 95% CI [1.00, 1.00], 4 vs 4 seeds" in text
    assert "in final success rate P(ACE > SAC) = 1.00 [1.00, 1.00]" in text.split("## Across tasks")[0]  # the headline
    summary = (tmp_path / "docs" / "tiny_summary.md").read_text()  # what the algorithm pages include
    returns, successes = summary.split("Final success rate, where the env reports success:")  # apart, to fit the column
    assert "final return, IQM [95% CI]" in returns and "success" not in returns.split("\n\n", 1)[1]
    assert "final success, IQM [95% CI]" in successes and re.search(r"\| ACE +\| +4 \| 0.75 \[0.60, 0.90\]", successes)


def test_report_without_results_says_so(tmp_path):
    campaign_file = write_campaign(tmp_path, baseline="TQC", variants={"TQC": {"algo": "tqc"}, "ACETQC": {"algo": "ace_tqc"}})
    text = report(Campaign.load(campaign_file), campaign_file, tmp_path / "results", tmp_path / "docs", reps=200)
    assert "0 of 4 runs finished; 4 missing" in text and "Not enough runs yet for a reading" in text
    assert "## Across tasks" in text and "No finished runs yet." in text.split("## Across tasks")[1]
    assert "## Pendulum-v1\n\nNo finished run yet." in text and "Ablations" not in text
    assert re.search(r"\| `Pendulum-v1` \| ACETQC +\| +2 \| 0-1 +\| +0 \| campaign file's estimate", text)
    assert not (tmp_path / "docs" / "tiny.png").exists()


def test_authors_values_only_for_the_variants_they_are_for(tmp_path):
    tasks = {"HalfCheetah-v5": {}}
    for variants, expected in (
        ({"SAC": {"algo": "sac"}, "ACE": {"algo": "ace"}}, "only ACE ~12,700, SAC ~11,000 at 1,000,000 steps: not comparable"),
        ({"SAC": {"algo": "sac"}, "ACETQC": {"algo": "ace_tqc"}}, "only SAC ~11,000 at 1,000,000 steps: not comparable"),
        ({"TQC": {"algo": "tqc"}, "ACETQC": {"algo": "ace_tqc"}}, None),
    ):
        folder = tmp_path / "-".join(variants)
        folder.mkdir()
        campaign_file = write_campaign(
            folder,
            budget=100,
            evaluation={"every": 50, "episodes": 1},
            seeds=[0],
            tasks=tasks,
            variants=variants,
            baseline=next(iter(variants)),
        )
        campaign = Campaign.load(campaign_file)
        write_fixture_results(campaign, folder / "results", {("HalfCheetah-v5", v): [1.0] for v in variants})
        text = report(campaign, campaign_file, folder / "results", folder / "docs", reps=200)
        assert ("The authors report" in text) == (expected is not None) and (expected is None or expected in text)
        first, second = variants
        assert f"- {second} against {first}: 1 vs 1 seeds, too few for an interval: nothing to read yet." in text


def test_main_effects_and_interaction_of_a_2x2_design():
    rng = np.random.default_rng(1)  # seed 0 draws a reset effect of +15 from noise alone (2.3 standard errors)
    base = rng.normal(300.0, 40.0, size=10)  # a seed's four runs share their start: one level per seed
    # cells: neither, causal step only, reset only, both; the causal step -80 whatever the reset, the reset nothing;
    # each run its own noise after the seed's shared start
    shifts = (0.0, -80.0, 0.0, -80.0)
    cells = tuple(base + shift + rng.normal(0.0, 20.0, size=10) for shift in shifts)
    causal, reset, interaction = parts.effects(cells, reps=2000)
    assert causal.value == pytest.approx(np.mean(parts.seed_effects(parts.causal_effect, cells)))
    assert causal.low < causal.value < causal.high and causal.detected and causal.p < 0.01
    assert abs(causal.value + 80.0) < 20.0 and abs(reset.value) < 20.0
    assert reset.p > 0.05 and not reset.detected
    assert np.isnan(interaction.p) and not interaction.detected
    # the interaction: the causal step's effect with the reset minus without
    shifted = (base, base - 80.0, base + 20.0, base + 20.0)
    assert parts.interaction(*shifted) == pytest.approx(80.0)
    with pytest.raises(ValueError, match="the same seeds"):
        parts.effects((base, base, base, base[:-1]), reps=100)


def test_simple_effects_are_the_pairs_of_cells_whose_mean_is_the_main_effect():
    rng = np.random.default_rng(2)
    cells = tuple(rng.normal(300.0, 40.0, size=8) for _ in range(4))  # neither, causal only, reset only, both
    neither, causal_only, reset_only, both = cells
    names = parts.Cells("SAC", "ACE-no-reset", "ACE-no-causal", "ACE")
    simple = parts.simple_effects(cells, names, reps=500)
    assert [effect.name for effect in simple] == [
        "causal step without the reset (ACE-no-reset - SAC)",
        "causal step with the reset (ACE - ACE-no-causal)",
        "soft reset without the causal step (ACE-no-causal - SAC)",
        "soft reset with the causal step (ACE - ACE-no-reset)",
    ]
    pairs = (causal_only - neither, both - reset_only, reset_only - neither, both - causal_only)
    for effect, pair in zip(simple, pairs, strict=True):
        assert effect.value == pytest.approx(pair.mean()) and effect.low < effect.value < effect.high
        assert effect.p == pytest.approx(parts.sign_flip_p(pair, reps=500))
    causal, reset, _ = parts.effects(cells, reps=500)
    assert causal.value == pytest.approx((simple[0].value + simple[1].value) / 2)
    assert reset.value == pytest.approx((simple[2].value + simple[3].value) / 2)


def test_sign_flip_p_is_the_exact_one():
    # 4 seeds: 16 sign patterns of the seeds' effects, each a relabelling of the part within every seed
    cells = (
        np.array([1.0, 4.0, 2.0, 0.0]),
        np.array([3.0, 6.0, 1.0, 2.0]),
        np.array([0.0, 2.0, 2.0, 1.0]),
        np.array([5.0, 7.0, 2.0, 3.0]),
    )
    for statistic in (parts.causal_effect, parts.reset_effect):
        effect = parts.seed_effects(statistic, cells)
        assert effect == pytest.approx([statistic(*(np.array([cell[i]]) for cell in cells)) for i in range(4)])
        signs = np.array(list(itertools.product([-1.0, 1.0], repeat=4)))  # (16, seeds)
        exact = np.mean(np.abs((signs * effect).mean(axis=1)) >= abs(effect.mean()) - 1e-12)
        assert parts.sign_flip_p(effect, reps=10_000) == pytest.approx(exact)


@pytest.mark.parametrize(
    ("value", "text"), [(-0.3, "+0"), (-0.0, "+0"), (0.4, "+0"), (-0.6, "-1"), (84.4, "+84"), (-123.7, "-124")]
)
def test_a_signed_effect_never_reads_minus_zero(value, text):
    assert parts.signed(value) == text
    assert parts.Effect("soft reset", value, value - 1.0, value + 1.0, 0.5).interval().startswith(f"{text} [")


@pytest.mark.usefixtures("intervals_from_two_seeds")
def test_report_attributes_a_difference_to_aces_parts_by_their_settings(tmp_path):
    variants = {
        "SAC": {"algo": "sac"},
        "ACE": {"algo": "ace"},
        "ACE-without-fit": {"algo": "ace", "causal_method": None},  # the design comes from settings, not names
        "ACE-without-reset": {"algo": "ace", "reset_mode": None},
        "ACE-standardized": {"algo": "ace", "standardize_causal_effects": True},  # both parts, no ablations: no design
    }
    campaign_file = write_campaign(
        tmp_path, budget=100, evaluation={"every": 50, "episodes": 1}, seeds=list(range(7)), variants=variants
    )
    campaign = Campaign.load(campaign_file)
    sac = [200.0, 260.0, 300.0, 340.0, 220.0, 280.0, 500.0]
    jitter = [6.0, -6.0, 4.0, -4.0, 2.0, -2.0]  # ACE's, per seed: the seeds' effects differ, their mean does not
    finals = {
        ("Pendulum-v1", "SAC"): sac,  # seed 6 in this cell only: not in the design, whose unit is the seed
        ("Pendulum-v1", "ACE"): [x - 100 + j for x, j in zip(sac[:6], jitter, strict=True)],
        ("Pendulum-v1", "ACE-without-fit"): [x + 1 for x in sac[:6]],
        ("Pendulum-v1", "ACE-without-reset"): [x - 99 for x in sac[:6]],
        ("Pendulum-v1", "ACE-standardized"): sac[:6],
    }
    write_fixture_results(campaign, tmp_path / "results", finals)
    assert report_module.designs(campaign) == [parts.Cells("SAC", "ACE-without-reset", "ACE-without-fit", "ACE")]
    text = report(campaign, campaign_file, tmp_path / "results", tmp_path / "docs", reps=500)
    section = text.split("## Which part of ACE")[1].split("\n## ")[0]
    assert "### Pendulum-v1: ACE\n" in section and "ACE-standardized" not in section
    # per seed: causal step -100 + jitter / 2, soft reset jitter / 2, interaction -2 + jitter; all six seeds' causal
    # effects negative: sign-flip p = 2 / 2**6
    assert "Mean final return per cell, seeds 0-5: SAC 267, ACE-without-reset 168, ACE-without-fit 268, ACE 167." in section
    assert re.search(r"\| causal step +\| -100 \[-102, -98\] +\| +0.0312 \|", section)
    assert re.search(r"\| soft reset +\| \+0 \[", section)
    assert "- Runs with the causal step end 100 lower on average (-100, 95% CI [-102, -98], sign-flip p = 0.0312)." in section
    assert "- No effect of the soft reset detected (+0, 95% CI [" in section
    assert "- Along the run (AUC): the causal step -50 [" in section  # curves 0, final / 2, final: AUC final / 2
    assert "- The causal step's effect by evaluation step: 0 +0, 50 -50, 100 -100." in section
    assert "- The soft reset's effect by evaluation step: 0 +0, 50 +0, 100 +0." in section  # no "-0" from rounding
    # simple effects: one pair of cells each; six seeds of one sign give p = 2 / 2**6 again
    simple = section.split("Simple effects:")[1]
    rows = {
        r"causal step without the reset \(ACE-without-reset - SAC\)": r"-99 \[-99, -99\] +\| +0.0312",
        r"causal step with the reset \(ACE - ACE-without-fit\)": r"-101 \[-10\d, -9\d\] +\| +0.0312",
        r"soft reset without the causal step \(ACE-without-fit - SAC\)": r"\+1 \[\+1, \+1\] +\| +0.0312",
        r"soft reset with the causal step \(ACE - ACE-without-reset\)": r"-1 \[",
    }
    for effect, figures in rows.items():
        assert re.search(rf"\| {effect} +\| {figures}", simple), effect
    assert "Which part (2x2 design with the ablations): on `Pendulum-v1` a detected effect of the causal step -100" in text


def test_a_design_needs_six_shared_seeds(tmp_path):
    # 5 seeds all of one sign give a sign-flip p of 2 / 2**5 = 0.0625: no design below 6 shared seeds
    variants = {"SAC": {"algo": "sac"}, "ACE": {"algo": "ace"}}
    variants |= {"ACE-no-causal": {"algo": "ace", "causal_method": None}, "ACE-no-reset": {"algo": "ace", "reset_mode": None}}
    campaign_file = write_campaign(
        tmp_path, budget=100, evaluation={"every": 50, "episodes": 1}, seeds=list(range(6)), variants=variants
    )
    campaign = Campaign.load(campaign_file)
    finals = {("Pendulum-v1", name): [100.0 + seed for seed in range(6)] for name in variants}
    finals["Pendulum-v1", "ACE-no-reset"] = finals["Pendulum-v1", "ACE-no-reset"][:5]  # seed 5 missing
    write_fixture_results(campaign, tmp_path / "results", finals)
    text = report(campaign, campaign_file, tmp_path / "results", tmp_path / "docs", reps=200)
    assert "On no task do the four cells share 6 seeds yet." in text


def test_ablations_are_compared_with_their_parent_and_the_baseline():
    variants = ["SAC", "ACE", "ACE-no-reset", "ACE-no-reset-slow", "ACETQC"]
    assert parent("ACE-no-reset", variants) == "ACE" and parent("ACE-no-reset-slow", variants) == "ACE-no-reset"
    assert parent("ACETQC", variants) is None and parent("ACE", variants) is None
    assert comparisons(["SAC", "ACE", "ACE-no-reset"], "SAC") == [
        ("ACE", "SAC"),
        ("ACE-no-reset", "ACE"),
        ("ACE-no-reset", "SAC"),
    ]
    assert comparisons(["TQC", "ACETQC"], "TQC") == [("ACETQC", "TQC")]
    assert comparisons(["SAC", "SAC-x"], "SAC") == [("SAC-x", "SAC")]  # its parent is the baseline: compared once


@pytest.mark.usefixtures("intervals_from_two_seeds")
def test_average_probability_of_improvement_is_rliables_with_a_stratified_bootstrap():
    rng = np.random.default_rng(0)
    x1, y1, x2, y2 = (rng.integers(0, 5, n).astype(float) for n in (6, 4, 3, 5))  # small integers: ties
    for x, y in ((x1, y1), (x2, y2), (y1, y1)):
        assert improvement(x, y) == pytest.approx(metrics.probability_of_improvement(x[:, None], y[:, None]))
    value, low, high = average_probability_of_improvement([(x1, y1), (x2, y2)], reps=200)
    assert value == pytest.approx((improvement(x1, y1) + improvement(x2, y2)) / 2) and low <= value <= high
    # Seeds are resampled within each task: X always above Y on one, always below on the other, averages 0.5 exactly
    high_low = (np.array([10.0, 11.0]), np.array([0.0, 1.0]))
    assert average_probability_of_improvement([high_low, high_low[::-1]], reps=200) == (0.5, 0.5, 0.5)
    # On one task: the interval of scipy's bootstrap of rliable's own function (seeds resampled in each variant)
    reference = stats.bootstrap(
        (x1, y1),
        lambda a, b: metrics.probability_of_improvement(a[:, None], b[:, None]),
        vectorized=False,
        paired=False,
        method="percentile",
        n_resamples=200,
        random_state=0,
    ).confidence_interval
    assert average_probability_of_improvement([(x1, y1)], reps=200)[1:] == pytest.approx((reference.low, reference.high))
    # A task with one seed: no interval
    assert np.isnan(average_probability_of_improvement([(x1, y1), (x2[:1], y2)], reps=200)[1])


@pytest.mark.usefixtures("intervals_from_two_seeds")
def test_probability_of_improvement_counts_ties_half():
    value, low, high = probability_of_improvement(np.array([1.0, 2.0]), np.array([1.0, 2.0]), reps=200)
    assert value == pytest.approx(0.5)
    assert low <= value <= high


def test_result_path_is_per_task_variant_and_seed(tmp_path):
    campaign = Campaign.load(write_campaign(tmp_path, tasks={"dm_control/cheetah-run-v0": {}}))
    run: Run = campaign.runs()[0]
    assert run.result_path(tmp_path, campaign) == tmp_path / "tiny" / "dm_control-cheetah-run-v0" / "SAC" / "seed0.json"


@pytest.mark.parametrize(
    ("variant", "reference"),
    [("ACE-no-reset", None), ("ACE", "ACE-no-causal")],  # with the soft reset too: resets at 100 and 200 updates
)
def test_placebo_equals_the_reference_where_the_causal_step_only_sets_weights(tmp_path, capsys, variant, reference):
    from benchmarks import placebo

    ace = {"algo": "ace", "causal_sample_size": 100, "causal_interval": 100, "reset_interval": 100, "reset_start": 0}
    variants = {
        "SAC": {"algo": "sac"},
        "ACE": ace,
        "ACE-no-reset": {**ace, "reset_mode": None},
        "ACE-no-causal": {**ace, "causal_method": None},
    }
    campaign_file = write_campaign(tmp_path, variants=variants)
    chosen = ["--variant", variant] + (["--reference", reference] if reference else [])
    assert placebo.main([str(campaign_file), "Pendulum-v1", *chosen, "--seed", "0", "--steps", "300"]) == 0
    out = capsys.readouterr().out
    assert f"{variant}, weights 1 after every fit: " in out and out.count("(3)") == 2  # fits at 100, 200, 300 steps
    assert f"the placebo equals {reference or 'SAC'} bit for bit" in out


def test_placebo_names_a_variant_the_campaign_has_not_before_training(tmp_path, capsys):
    from benchmarks import placebo

    campaign_file = write_campaign(tmp_path)
    with pytest.raises(ValueError, match="no run of 'ACE-typo' on 'Pendulum-v1' with seed 0"):
        placebo.main([str(campaign_file), "Pendulum-v1", "--variant", "ACE-typo", "--steps", "300"])
    assert capsys.readouterr().out == ""  # nothing trained: the reference's curve would have been printed after
