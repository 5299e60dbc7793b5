"""Long runs on shared clusters: a resumed run keeps the reset schedule, a model is refused by the wrong learner, killed
saves leave nothing behind, and ``python -m sb3_ace.train`` stops on SIGTERM, saves, and resumes on the same schedule."""

import copy
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch as th
from sb3_contrib import TQC, CrossQ
from stable_baselines3 import SAC
from stable_baselines3.common.env_util import make_vec_env

from sb3_ace import ACE, ACETQC, ACECrossQ, DormantResetCallback
from sb3_ace.preemption import PREEMPTED_EXIT_CODE
from tests.helpers import LinearRewardEnv, params_equal

REPO_ROOT = Path(__file__).resolve().parents[1]
# The reproduction: resets after updates 50, 100, ..., 250 of a 400-step run (updates 0 to 299)
RESUME_SETTINGS = dict(
    learning_starts=100,
    batch_size=32,
    policy_kwargs=dict(net_arch=[32, 32]),
    causal_sample_size=100,
    causal_interval=100,
    reset_interval=50,
    reset_start=10,
    seed=0,
)


@pytest.mark.parametrize(
    "algorithm, kwargs, split",
    [
        (ACECrossQ, {}, 250),  # 150 updates done: the reset after update 150 (no actor update: CrossQ's are 2, 5, ...)
        (ACE, dict(policy_delay=3), 299),  # 199 done: the reset after update 200 (ACE's actor updates are 0, 3, ...)
        (ACE, dict(policy_delay=2), 250),
        (ACETQC, {}, 250),
    ],
)
def test_a_resumed_run_resets_at_the_same_updates_with_the_same_retention(algorithm, kwargs, split, tmp_path, monkeypatch):
    """learn(split), save model and replay buffer, load both, learn the rest: the resets of a straight learn(400), at
    the same updates with the same retentions. After load the actor holds no gradients until its next update (none
    before the first reset here, with a policy delay of 3): the dormancy measured at the save stands in for them.

    The resumed model is handed the env, last observation and random state of the save, which SB3's load does not
    restore, so that what the saved files carry is all that could differ."""
    resets: list[tuple[int, float]] = []
    reset_networks = DormantResetCallback.reset_networks

    def recording_reset(self: DormantResetCallback) -> float:
        lam = reset_networks(self)
        resets.append((self.model._n_updates - 1, lam))
        return lam

    monkeypatch.setattr(DormantResetCallback, "reset_networks", recording_reset)
    algorithm("MlpPolicy", "Pendulum-v1", **RESUME_SETTINGS, **kwargs).learn(400)
    once = list(resets)
    assert [update for update, _ in once] == [50, 100, 150, 200, 250]

    resets.clear()
    straight = algorithm("MlpPolicy", "Pendulum-v1", **RESUME_SETTINGS, **kwargs).learn(split)
    straight.save(tmp_path / "model")
    straight.save_replay_buffer(tmp_path / "buffer")
    env_at_save = copy.deepcopy(straight.get_env())
    last_obs = copy.deepcopy(straight._last_obs)
    rng_at_save = np.random.get_state(), th.get_rng_state()  # noqa: NPY002 (SB3 samples its batches with it)
    straight.learn(400 - split, reset_num_timesteps=False)
    assert resets == once  # two learn() calls on one model: the run trained straight through
    before_split = sum(update < split - 100 for update, _ in once)

    resets.clear()
    resumed = algorithm.load(tmp_path / "model", env=env_at_save, device="cpu")
    resumed.load_replay_buffer(tmp_path / "buffer")
    resumed._last_obs = last_obs
    np.random.set_state(rng_at_save[0])  # noqa: NPY002
    th.set_rng_state(rng_at_save[1])
    resumed.learn(400 - split, reset_num_timesteps=False)
    assert resets == once[before_split:]  # the same updates, the same retentions (the same dormancy measurements)
    assert resumed.num_resets == straight.num_resets == 5
    assert params_equal(resumed, straight)


def test_a_reset_with_no_measurement_at_all_warns_naming_the_learner(caplog):
    model = ACECrossQ("MlpPolicy", "Pendulum-v1", **RESUME_SETTINGS)
    with caplog.at_level(logging.WARNING):
        callback = DormantResetCallback()
        callback.init_callback(model)
        assert callback.reset_networks() == 0.9
    assert "ACECrossQ soft reset at 0 updates: the actor has no gradients" in caplog.text and "ACE soft" not in caplog.text


SMALL_NETS = dict(policy_kwargs=dict(net_arch=[8]), buffer_size=100)


@pytest.mark.parametrize(
    "saved_by, loaded_by, names",
    [
        (ACE, ACETQC, ("ACETQC", "ACE")),
        (ACE, ACECrossQ, ("ACECrossQ", "ACE")),
        (ACETQC, ACE, ("ACE", "ACETQC")),
        (ACECrossQ, ACETQC, ("ACETQC", "ACECrossQ")),
        (TQC, ACE, ("ACE", "TQC")),
        (CrossQ, ACETQC, ("ACETQC", "CrossQ")),
        (SAC, ACECrossQ, ("ACECrossQ", "SAC")),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_loading_another_learners_model_is_refused_naming_both(saved_by, loaded_by, names, tmp_path):
    saved_by("MlpPolicy", "Pendulum-v1", **SMALL_NETS).save(tmp_path / "model")
    loader, owner = names
    with pytest.raises(ValueError, match=rf"^{loader} needs one of its own policies .* is a policy of {owner} "):
        loaded_by.load(tmp_path / "model")


@pytest.mark.parametrize("saved_by, loaded_by", [(SAC, ACE), (TQC, ACETQC), (CrossQ, ACECrossQ), (ACETQC, ACETQC)])
def test_a_learners_own_models_and_its_plain_learners_still_load(saved_by, loaded_by, tmp_path):
    saved_by("MlpPolicy", "Pendulum-v1", **SMALL_NETS).save(tmp_path / "model")
    assert isinstance(loaded_by.load(tmp_path / "model"), loaded_by)


@pytest.mark.parametrize("keep", [0.5, 0.02])
def test_loading_a_truncated_file_says_it_is_damaged(keep, tmp_path):
    ACE("MlpPolicy", "Pendulum-v1", **SMALL_NETS).save(tmp_path / "model")
    data = (tmp_path / "model.zip").read_bytes()
    (tmp_path / "copy.zip").write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="copy is damaged: it is not a complete saved model"):
        ACE.load(tmp_path / "copy")


def test_a_causal_interval_below_the_number_of_envs_warns(caplog):
    model = ACE("MlpPolicy", make_vec_env("Pendulum-v1", n_envs=4), causal_sample_size=50, causal_interval=3, **SMALL_NETS)
    with caplog.at_level(logging.WARNING):
        model.learn(8)
    assert "causal_interval=3 is smaller than the number of envs (4)" in caplog.text


def test_a_save_clears_the_partial_files_of_any_name_that_killed_saves_left(tmp_path):
    host = os.uname().nodename.split(".")[0]
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)  # a process of this host that no longer runs
    orphans = [
        tmp_path / f".rl_model_1024_steps.zip.{host}-{dead_pid}.1a2b3c4d.partial.zip",  # rl-zoo3's checkpoints
        tmp_path / f".rl_model_2048_steps.zip.{host}-{dead_pid}.5e6f7a8b.partial.zip",
        tmp_path / f".replay_buffer.pkl.{host}-{dead_pid}.0a0b0c0d.partial.pkl",
    ]
    kept = [
        tmp_path / f".rl_model_3072_steps.zip.{host}-{os.getpid()}.12345678.partial.zip",  # a save in progress
        tmp_path / f".rl_model_3072_steps.zip.otherhost-{dead_pid}.12345678.partial.zip",  # a shared file system
    ]
    for path in orphans + kept:
        path.write_bytes(b"40 MB of a checkpoint, cut short")
    ACE("MlpPolicy", LinearRewardEnv(), **SMALL_NETS).save(tmp_path / "rl_model_4096_steps")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["rl_model_4096_steps.zip", *(p.name for p in kept)])


# --- python -m sb3_ace.train under SIGTERM ---

TRAIN_CONF = """
Pendulum-v1:
  n_timesteps: 2000
  policy: 'MlpPolicy'
  learning_starts: 100
  batch_size: 32
  policy_kwargs: "dict(net_arch=[16, 16])"
  causal_sample_size: 100
  causal_interval: 100
  reset_interval: 50
  reset_start: 10
  policy_delay: 3
  normalize: true
"""


def train(log_folder: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "sb3_ace.train", "--algo", "ace", "--env", "Pendulum-v1", "--seed", "0"]
    command += ["-f", str(log_folder), "-conf", str(log_folder / "conf.yml"), "--eval-freq", "-1", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(command, cwd=log_folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def counters(model_path: Path) -> tuple[int, int, int, int]:
    model = ACE.load(model_path, device="cpu")
    return model.num_timesteps, model._n_updates, model.num_causal_fits, model.num_resets


def test_sigterm_saves_and_the_resumed_run_keeps_the_schedule(tmp_path):
    """A run terminated at a random moment of its training, then resumed with -i, ends with the updates, fits and
    resets of a run trained straight through."""
    (tmp_path / "conf.yml").write_text(TRAIN_CONF)
    straight = train(tmp_path)
    assert straight.wait(timeout=300) == 0, straight.stdout.read()  # type: ignore[union-attr]
    expected = counters(tmp_path / "ace" / "Pendulum-v1_1" / "Pendulum-v1.zip")
    assert expected == (2000, 1900, 20, 37)

    preempted = train(tmp_path)
    output = []
    for line in preempted.stdout:  # type: ignore[union-attr]
        output.append(line)
        if line.startswith("Log path:"):  # rl-zoo3's last word before training
            break
    time.sleep(random.uniform(1.0, 4.0))
    sent = time.monotonic()
    preempted.send_signal(signal.SIGTERM)
    output += preempted.stdout.readlines()  # type: ignore[union-attr]
    assert preempted.wait(timeout=60) == PREEMPTED_EXIT_CODE, "".join(output)
    seconds = time.monotonic() - sent
    folder = tmp_path / "ace" / "Pendulum-v1_2"
    record = json.loads((folder / "preempted.json").read_text())
    assert 0 < record["num_timesteps"] < 2000 and record["n_timesteps"] == 2000, "".join(output)
    assert {"Pendulum-v1.zip", "replay_buffer.pkl", "preempted.json"} <= {path.name for path in folder.iterdir()}
    assert (folder / "Pendulum-v1" / "vecnormalize.pkl").is_file()
    assert not list(tmp_path.rglob("*.partial.*")) and seconds < 30

    orphan = folder / f".Pendulum-v1.zip.{os.uname().nodename.split('.')[0]}-{straight.pid}.00000000.partial.zip"
    orphan.write_bytes(b"a save killed by the scheduler's SIGKILL")  # what a killed save would have left
    resumed = train(tmp_path, "-i", str(folder / "Pendulum-v1.zip"))
    output = resumed.stdout.read()  # type: ignore[union-attr]
    assert resumed.wait(timeout=300) == 0, output
    assert f"Resuming a preempted run at {record['num_timesteps']} of 2000 env steps" in output
    assert not orphan.exists()
    assert counters(tmp_path / "ace" / "Pendulum-v1_3" / "Pendulum-v1.zip") == expected
