"""The learning campaign: the runner (a tiny campaign end to end on Pendulum) and the report (on fixture results)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from benchmarks.campaign import Campaign, Run
from benchmarks.report import probability_of_improvement, report

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


def run_campaign(*args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "benchmarks.campaign", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


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
    assert result["hyperparams"]["policy_kwargs"] == {"net_arch": [16, 16]}  # as given, not as SB3 completed it
    for key in ("seed", "variant", "versions", "machine", "commit", "wall_seconds", "train_steps_per_second"):
        assert key in result, key
    assert result["versions"]["stable-baselines3"] and result["machine"]["cores"] == os.cpu_count()
    assert not list(results.rglob("*.tmp"))  # nothing half-written

    # Resumable: a second run trains nothing and leaves the files alone
    written = {f: f.stat().st_mtime_ns for f in files}
    again = run_campaign(campaign_file, "--results", results)
    assert "4 finished, 0 to train" in again.stdout
    assert {f: f.stat().st_mtime_ns for f in files} == written

    # The report: a page and a figure from the results
    text = report(Campaign.load(campaign_file), campaign_file, results, tmp_path / "docs", reps=200)
    assert "4 of 4 finished" in text and "| SAC " in text and "P(> SAC), final" in text
    assert (tmp_path / "docs" / "tiny.png").read_bytes().startswith(b"\x89PNG")


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
    }


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
        path.write_text(json.dumps(fixture_result(run.task.env_id, run.variant.name, run.seed, [0.0, final / 2, final])))

    text = report(campaign, campaign_file, results, tmp_path / "docs", reps=500)
    rows = {
        line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ACE") or line.startswith("| SAC")
    }
    # SAC finals 0, 10, 20, 30: IQM of 4 values = mean of the middle two = 15; ACE 100, 110, 120: IQM 110
    assert "|       4 |" in rows["SAC"] and "15 |" in rows["SAC"]
    assert "|       3 |" in rows["ACE"] and "110 |" in rows["ACE"]
    assert "1.00 [1.00, 1.00]" in rows["ACE"]  # every ACE seed above every SAC seed
    assert "- ACE ends better than SAC (P(ACE > SAC) = 1.00, 95% CI [1.00, 1.00], 3 vs 4 seeds" in text
    assert "7 of 8 finished; 1 missing" in text
    assert "**Notes.**\n\n- Seeds 0-1 ran before a fix." in text
    assert "- Pendulum-v1 ACE: 1" in text
    assert "1 runs, about 0.5 core-hours" in text  # 30 min per run, measured


def test_probability_of_improvement_counts_ties_half():
    value, low, high = probability_of_improvement(np.array([1.0, 2.0]), np.array([1.0, 2.0]), reps=200)
    assert value == pytest.approx(0.5)
    assert low <= value <= high


def test_result_path_is_per_task_variant_and_seed(tmp_path):
    campaign = Campaign.load(write_campaign(tmp_path, tasks={"dm_control/cheetah-run-v0": {}}))
    run: Run = campaign.runs()[0]
    assert run.result_path(tmp_path, campaign) == tmp_path / "tiny" / "dm_control-cheetah-run-v0" / "SAC" / "seed0.json"
