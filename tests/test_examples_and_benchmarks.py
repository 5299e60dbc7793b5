"""The examples and benchmark scripts run end to end on tiny budgets (Pendulum-v1) and write what they promise."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# Same tiny schedule for both benchmarks: several causal fits and resets in a few hundred steps
TINY_ACE = ["--causal-sample-size", "100", "--causal-interval", "100", "--reset-interval", "100", "--reset-start", "0"]
TINY_NETS = ["--net-arch", "32", "32", "--batch-size", "32"]


def run_script(script: str, *args: str, cwd: Path) -> str:
    """Run a script of the repository with this interpreter (one torch thread) and return its stdout."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True, text=True, cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def run_module(module: str, *args: str, cwd: Path) -> str:
    """Run ``python -m module`` from the repository root (one torch thread) and return its stdout."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_swap_sac_for_ace_changes_one_line_and_runs(tmp_path):
    source = (ROOT / "examples" / "swap_sac_for_ace.py").read_text().splitlines()
    sac_line = next(line for line in source if line.lstrip().startswith("# model = SAC("))
    ace_line = next(line for line in source if line.lstrip().startswith("model = ACE("))
    assert sac_line.replace("# ", "", 1).replace("SAC(", "ACE(") == ace_line

    args = ["--env", "Pendulum-v1", "--timesteps", "300", "--eval-episodes", "1", "--save-path", str(tmp_path / "ace")]
    stdout = run_script("examples/swap_sac_for_ace.py", *args, cwd=tmp_path)
    assert "evaluation over 1 episodes (deterministic):" in stdout
    assert (tmp_path / "ace.zip").is_file()


def test_plot_causal_weights_logs_fits_and_resets_and_draws_them(tmp_path):
    args = ["--env", "Pendulum-v1", "--timesteps", "400", "--log-interval", "50", "--log-dir", str(tmp_path / "logs")]
    stdout = run_script("examples/plot_causal_weights.py", *args, "--plot", str(tmp_path / "weights.png"), cwd=tmp_path)
    progress = pd.read_csv(tmp_path / "logs" / "progress.csv")
    assert list(progress["time/total_timesteps"]) == list(range(50, 401, 50))
    assert {"causal/weight_0", "causal/fits", "reset/dormant_ratio", "reset/num_resets"} <= set(progress.columns)
    assert progress["causal/fits"].max() >= 3
    assert progress["reset/num_resets"].max() >= 2
    assert progress["reset/dormant_ratio"].notna().any()
    assert (tmp_path / "weights.png").read_bytes().startswith(b"\x89PNG")
    assert "causal fits" in stdout


def test_throughput_measures_every_config_with_fits_and_resets_in_the_window(tmp_path):
    args = ["--env", "Pendulum-v1", "--repetitions", "1", "--learning-starts", "100", "--window", "200", "--chunk", "50"]
    args += ["--configs", "SAC", "ACE", "ACE direct_lingam", *TINY_ACE, *TINY_NETS]
    stdout = run_script("benchmarks/throughput.py", *args, "--out", str(tmp_path / "throughput.csv"), cwd=tmp_path)
    runs = pd.read_csv(tmp_path / "throughput.csv")
    assert list(runs.algo) == ["SAC", "ACE", "ACE direct_lingam"]
    columns = ["repetition", "algo", "steps_per_s", "window_steps", "causal_fits", "seconds_per_fit", "resets"]
    assert list(runs.columns) == columns
    assert (runs.window_steps == 200).all()
    assert (runs.steps_per_s > 0).all()
    ace = runs[runs.algo != "SAC"]
    assert (ace.causal_fits == 2).all()  # at 200 and 300 steps; the fit at 100 steps is in the warm-up
    assert (ace.resets == 1).all()  # after update 100 (updates 0 to 199 in the window)
    assert "| ACE direct_lingam | SAC " in stdout
    assert "x learner (median)" in stdout


def test_throughput_compares_each_ace_learner_with_its_own_learner(tmp_path):
    args = ["--env", "Pendulum-v1", "--repetitions", "1", "--learning-starts", "100", "--window", "200", "--chunk", "100"]
    args += ["--configs", "ACECrossQ", "TQC", "ACETQC", "CrossQ", *TINY_ACE, *TINY_NETS]
    stdout = run_script("benchmarks/throughput.py", *args, "--out", str(tmp_path / "throughput.csv"), cwd=tmp_path)
    runs = pd.read_csv(tmp_path / "throughput.csv")
    assert list(runs.algo) == ["CrossQ", "ACECrossQ", "TQC", "ACETQC"]  # each learner, then its ACE learner
    ace = runs[runs.algo.str.startswith("ACE")]
    assert (ace.causal_fits == 2).all() and (ace.resets == 1).all()
    # CrossQ's own settings for both (learning rate 1e-3, policy delay 3), TQC's for both
    assert "   ACECrossQ: ACECrossQ, learning rate 0.001, batch 32, policy delay 3, net_arch [32, 32]" in stdout
    assert "      ACETQC: ACETQC, learning rate 0.0003, batch 32, policy delay 1, net_arch [32, 32]" in stdout
    summary = {line.split("|")[1].strip(): line.split("|") for line in stdout.splitlines() if line.startswith("| ")}
    steps_per_s = runs.set_index("algo").steps_per_s
    for ace_learner, learner in (("ACECrossQ", "CrossQ"), ("ACETQC", "TQC")):
        assert summary[ace_learner][2].strip() == learner
        assert float(summary[ace_learner][7]) == float(f"{steps_per_s[ace_learner] / steps_per_s[learner]:.3g}")


def test_throughput_at_the_default_schedule_times_the_first_fit(tmp_path):
    args = ["--env", "Pendulum-v1", "--repetitions", "1", "--schedule", "default", "--learning-starts", "9900"]
    args += ["--window", "200", "--chunk", "100", "--configs", "TQC", "ACETQC", *TINY_NETS]
    stdout = run_script("benchmarks/throughput.py", *args, "--out", str(tmp_path / "throughput.csv"), cwd=tmp_path)
    runs = pd.read_csv(tmp_path / "throughput.csv").set_index("algo")
    assert runs.causal_fits["ACETQC"] == 1  # at step 10,000, on 10,000 transitions
    assert runs.resets["ACETQC"] == 0
    assert "ACE's default schedule" in stdout
    assert "N_c=10000 transitions every I=10000 steps, soft reset every R=100000 updates after update 5000" in stdout


def test_soak_samples_memory_with_the_replay_buffer_taken_out(tmp_path):
    args = ["--env", "Pendulum-v1", "--steps", "600", "--causal-interval", "100", "--reset-interval", "100"]
    stdout = run_module("benchmarks.soak", *args, "--sample-every", "200", "--out", str(tmp_path), cwd=ROOT)
    memory = pd.read_csv(tmp_path / "memory.csv")
    assert list(memory.steps) == [0, 200, 400, 600]
    assert (memory.replay_buffer_mib.diff().dropna() > 0).all()  # the buffer fills
    assert (memory.other_mib == memory.rss_mib - memory.replay_buffer_mib).all()
    assert (
        memory.causal_fits.iloc[-1] == 6 and memory.resets.iloc[-1] == 4
    )  # fits at 100, ..., 600; resets after updates 100, ..., 400
    assert "warnings: 0" in stdout and (tmp_path / "summary.md").read_text() == stdout.rstrip("\n") + "\n"
