"""Trust under faults: non-finite env data, resumed runs, saturated weights, interrupted saves."""

import copy
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_ace import ACE
from sb3_ace.common.finite_check import NonFiniteEnvDataError
from tests.helpers import SMALL, LinearRewardEnv, params_equal


class FaultyEnv(LinearRewardEnv):
    """A LinearRewardEnv whose ``quantity`` ("reward", "observation" or "terminal observation") becomes ``value`` at
    its step ``bad_step`` (1-based)."""

    def __init__(self, quantity: str, bad_step: int, value: float = np.nan):
        super().__init__()
        self.quantity, self.bad_step, self.value = quantity, bad_step, value

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = super().step(action)
        if self.steps == self.bad_step:
            if self.quantity == "reward":
                reward = self.value
            else:
                obs = obs.copy()
                obs[1] = self.value
                truncated = self.quantity == "terminal observation"  # the obs SB3 stores as the terminal one
        return obs, reward, terminated, truncated, info


@pytest.mark.parametrize(
    "quantity, value",
    [("reward", np.nan), ("reward", np.inf), ("observation", -np.inf), ("terminal observation", np.nan)],
)
def test_non_finite_env_data_stops_at_the_step_it_enters(quantity, value):
    bad_step = 70
    env = DummyVecEnv([LinearRewardEnv, lambda: FaultyEnv(quantity, bad_step, value)])  # the faulty env is env 1
    model = ACE("MlpPolicy", env, causal_sample_size=500, causal_interval=500, **SMALL)
    with pytest.raises(NonFiniteEnvDataError) as error:
        model.learn(1000)
    message = str(error.value)
    assert f"non-finite {quantity}" in message
    assert f"in env 1 at env step {2 * bad_step}" in message  # both envs count
    assert "VecCheckNan" in message
    # Nothing of the bad step reached a buffer: both hold the bad_step - 1 steps before it, all finite
    assert model.replay_buffer.size() == bad_step - 1
    assert model.recent_transitions.size == 2 * (bad_step - 1)
    assert np.isfinite(model.recent_transitions.rows).all()
    stored = model.replay_buffer
    assert np.isfinite(stored.rewards[: bad_step - 1]).all() and np.isfinite(stored.next_observations[: bad_step - 1]).all()


def test_non_finite_dict_observation_names_its_key():
    class DictEnv(gym.Env):
        observation_space = spaces.Dict({"position": spaces.Box(-1, 1, (2,)), "speed": spaces.Box(-1, 1, (1,))})
        action_space = spaces.Box(-1, 1, (2,))

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.steps = 0
            return self.observation_space.sample(), {}

        def step(self, action):
            self.steps += 1
            obs = self.observation_space.sample()
            if self.steps == 30:
                obs["speed"][0] = np.nan
            return obs, float(action[0]), False, False, {}

    model = ACE("MultiInputPolicy", DictEnv(), causal_sample_size=100, causal_interval=100, **SMALL)
    with pytest.raises(NonFiniteEnvDataError, match=r"observation \(key 'speed'\): nan in env 0 at env step 30"):
        model.learn(100)


def make_env(normalize: bool) -> DummyVecEnv | VecNormalize:
    # One episode for the whole run: SB3's load reseeds the env for its next reset, which would change the transitions
    # after a resume whatever ACE does
    env = DummyVecEnv([lambda: LinearRewardEnv(episode_length=10_000)])
    return VecNormalize(env, gamma=0.99) if normalize else env


def copy_env(env: DummyVecEnv | VecNormalize) -> DummyVecEnv | VecNormalize:
    """The env exactly as it is (VecNormalize leaves its wrapped env and running returns out of copies)."""
    if not isinstance(env, VecNormalize):
        return copy.deepcopy(env)
    normalized = copy.deepcopy(env)
    normalized.set_venv(copy.deepcopy(env.venv))
    normalized.returns = env.returns.copy()
    return normalized


@pytest.mark.parametrize("normalize", [False, True])
def test_resumed_run_fits_like_an_uninterrupted_one(tmp_path, normalize):
    """Saved at 450 steps with its replay buffer and resumed to 900, with N_c = I = 300: the fits happen at the same
    steps, on the same transitions, as in a run trained straight through (3 fits, equal weights and parameters).

    The resumed model is handed the env as it was at the save (a copy, its last observation and the random state),
    which SB3's load does not restore (it starts a new episode), so that ACE's recent transitions are the only thing
    a resume could lose."""
    settings = dict(causal_sample_size=300, causal_interval=300, reset_interval=200, reset_start=0, **SMALL)
    fits_at: dict[str, list[tuple[int, list[float]]]] = {"straight": [], "resumed": []}

    def record(run: str):
        def callback(local_vars, global_vars) -> bool:
            model = local_vars["self"]
            if model.num_causal_fits > len(fits_at[run]):
                fits_at[run].append((model.num_timesteps, list(model.causal_weights)))
            return True

        return callback

    straight = ACE("MlpPolicy", make_env(normalize), **settings)
    straight.learn(450, callback=record("straight"))
    straight.save(tmp_path / "ace")
    straight.save_replay_buffer(tmp_path / "replay_buffer")
    env_at_save = copy_env(straight.get_env())  # the env exactly where the run stopped
    last_obs = {name: copy.deepcopy(getattr(straight, name)) for name in ("_last_obs", "_last_original_obs")}
    rng_at_save = np.random.get_state(), th.get_rng_state()  # noqa: NPY002 (SB3 samples its batches with it)
    straight.learn(450, reset_num_timesteps=False, callback=record("straight"))
    assert straight.num_causal_fits == 3

    # The resumed run: a new process would load the model and its replay buffer (rl-zoo3's -i --save-replay-buffer)
    fits_at["resumed"] = [fit for fit in fits_at["straight"] if fit[0] <= 450]
    resumed = ACE.load(tmp_path / "ace", env=env_at_save)
    resumed.load_replay_buffer(tmp_path / "replay_buffer")
    for name, value in last_obs.items():
        setattr(resumed, name, value)
    np.random.set_state(rng_at_save[0])  # noqa: NPY002
    th.set_rng_state(rng_at_save[1])
    resumed.learn(450, reset_num_timesteps=False, callback=record("resumed"))
    assert resumed.num_causal_fits == 3
    assert [step for step, _ in fits_at["resumed"]] == [step for step, _ in fits_at["straight"]] == [300, 600, 900]
    assert fits_at["resumed"] == fits_at["straight"]  # equal weights
    np.testing.assert_array_equal(resumed.recent_transitions.rows, straight.recent_transitions.rows)
    assert params_equal(resumed, straight)


def test_model_saved_without_replay_buffer_refits_once_it_has_new_transitions(tmp_path):
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=200, causal_interval=100, **SMALL).learn(300)
    model.save(tmp_path / "ace")
    loaded = ACE.load(tmp_path / "ace", env=LinearRewardEnv())
    assert loaded.recent_transitions is None
    loaded.learn(300, reset_num_timesteps=False)  # at 400 steps it holds 100 transitions: no fit; at 500 and 600: fits
    assert loaded.num_causal_fits == model.num_causal_fits + 2


def test_saturated_weights_warn_once_and_standardized_effects_do_not_saturate(caplog):
    large_rewards = LinearRewardEnv(effects=(2e3, 0.0, -1e3))
    settings = dict(causal_sample_size=100, causal_interval=100, reset_mode=None, **SMALL)
    with caplog.at_level(logging.WARNING, logger="sb3_ace"):
        model = ACE("MlpPolicy", large_rewards, **settings).learn(300)
    assert model.num_causal_fits == 3
    np.testing.assert_allclose(model.causal_weights, [3.0, 0.0, 0.0], atol=1e-6)  # the paper's formula, kept
    warnings = [record.getMessage() for record in caplog.records if "saturated" in record.getMessage()]
    assert len(warnings) == 1
    assert "VecNormalize" in warnings[0] and "standardize_causal_effects=True" in warnings[0]

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sb3_ace"):
        scale_free = ACE("MlpPolicy", large_rewards, standardize_causal_effects=True, **settings).learn(300)
    assert "saturated" not in caplog.text
    assert scale_free.causal_weights.min() > 0.1
    assert scale_free.causal_weights[0] > scale_free.causal_weights[1] > scale_free.causal_weights[2]


class Interrupted(BaseException):
    """Stands for the process being killed in the middle of a write."""


def interrupt_on_call(monkeypatch: pytest.MonkeyPatch, target: str, call: int) -> None:
    """Make ``target`` (a module attribute, by dotted path) raise :class:`Interrupted` on its ``call``-th call."""
    module_name, name = target.rsplit(".", 1)
    module = __import__(module_name, fromlist=[name])
    original, calls = getattr(module, name), []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise Interrupted
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, interrupted)


def test_interrupted_save_leaves_the_previous_checkpoint_loadable(tmp_path, monkeypatch):
    model = ACE("MlpPolicy", LinearRewardEnv(), **SMALL).learn(60)
    model.save(tmp_path / "checkpoint")
    obs = np.stack([model.observation_space.sample() for _ in range(5)])
    saved_actions = model.predict(obs, deterministic=True)[0]
    model.learn(60, reset_num_timesteps=False)

    # Killed after the archive's first parameter file was written: a plain save would leave a truncated zip
    interrupt_on_call(monkeypatch, "torch.save", 2)
    with pytest.raises(Interrupted):
        model.save(tmp_path / "checkpoint")
    monkeypatch.undo()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checkpoint.zip"]  # no partial file left behind
    loaded = ACE.load(tmp_path / "checkpoint")
    assert loaded.num_timesteps == 60
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], saved_actions)

    model.save(tmp_path / "checkpoint")  # an uninterrupted save replaces it
    assert ACE.load(tmp_path / "checkpoint").num_timesteps == 120


def test_interrupted_replay_buffer_save_leaves_the_previous_one_loadable(tmp_path, monkeypatch):
    model = ACE("MlpPolicy", LinearRewardEnv(), **SMALL).learn(60)
    model.save_replay_buffer(tmp_path / "buffer.pkl")
    model.learn(40, reset_num_timesteps=False)
    interrupt_on_call(monkeypatch, "pickle.dump", 1)
    with pytest.raises(Interrupted):
        model.save_replay_buffer(tmp_path / "buffer.pkl")
    monkeypatch.undo()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["buffer.pkl"]
    with open(tmp_path / "buffer.pkl", "rb") as file:
        assert pickle.load(file).size() == 60


KILLED_MID_SAVE = """
import os, signal, sys
from sb3_ace.common.saving import save_atomically

def write_then_die(path):
    path.write_bytes(b"half a checkpoint")
    os.kill(os.getpid(), signal.SIGKILL)  # kill -9 in the middle of the save

save_atomically(sys.argv[1], "zip", write_then_die)
"""


def test_partial_files_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    checkpoint = tmp_path / "checkpoint.zip"
    orphans = []
    for _ in range(2):  # the second killed save removes the first one's partial file before it is killed too
        killed = subprocess.run([sys.executable, "-c", KILLED_MID_SAVE, str(checkpoint)], capture_output=True)
        assert killed.returncode == -signal.SIGKILL
        (orphan,) = tmp_path.glob(".checkpoint.zip.*.partial.zip")
        orphans.append(orphan)
    assert orphans[0] != orphans[1] and not checkpoint.exists()
    # A save in progress (this process's) and another host's (a shared file system) are not touched
    running = tmp_path / f".checkpoint.zip.{socket.gethostname().split('.')[0]}-{os.getpid()}.abc.partial.zip"
    elsewhere = tmp_path / ".checkpoint.zip.otherhost-1.abc.partial.zip"
    running.touch()
    elsewhere.touch()

    ACE("MlpPolicy", LinearRewardEnv(), **SMALL).save(checkpoint)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["checkpoint.zip", running.name, elsewhere.name])
    assert ACE.load(checkpoint).num_timesteps == 0


def test_the_new_file_reaches_the_disk_before_it_replaces_the_old_one(tmp_path, monkeypatch):
    events = []
    original_fsync, original_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or original_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda *args: events.append("replace") or original_replace(*args))
    ACE("MlpPolicy", LinearRewardEnv(), **SMALL).save(tmp_path / "checkpoint")
    assert events == ["fsync", "replace", "fsync"]  # the file, the move, the folder's entry


def test_a_checkpoint_gets_the_permissions_of_a_plain_save(tmp_path):
    umask = os.umask(0o022)
    try:
        ACE("MlpPolicy", LinearRewardEnv(), **SMALL).save(tmp_path / "checkpoint")
    finally:
        os.umask(umask)
    assert (tmp_path / "checkpoint.zip").stat().st_mode & 0o777 == 0o644
