"""ACE as a drop-in SAC: causal-weighted entropy, the causal-weight callback, save/load and SAC's features."""

import logging
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import SAC, HerReplayBuffer
from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import BitFlippingEnv, FakeImageEnv
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from sb3_ace import ACE, CausalDiscoveryError, CausalWeightCallback, estimate_causal_weights
from sb3_ace.ace.policies import ACEPolicy, CausalActor
from sb3_ace.common.causal_discovery import CAUSAL_METHODS
from sb3_ace.common.causal_weights import flatten_states
from sb3_ace.common.policies import causal_log_prob
from tests.helpers import NO_CAUSAL_FIT, SMALL, LinearRewardEnv, params_equal


def test_ace_is_a_sac_with_causal_actor():
    model = ACE("MlpPolicy", "Pendulum-v1", **SMALL)
    assert isinstance(model, SAC)
    assert isinstance(model.policy, ACEPolicy)
    assert isinstance(model.actor, CausalActor)
    np.testing.assert_array_equal(model.causal_weights, [1.0])


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        dict(use_sde=True),
        dict(n_steps=3),
        dict(causal_method=None),
        dict(ent_coef=0.1, target_update_interval=2, train_freq=(2, "step"), gradient_steps=2),
    ],
)
def test_unit_weights_train_exactly_like_sac(kwargs):
    ace = ACE("MlpPolicy", "Pendulum-v1", **SMALL, **NO_CAUSAL_FIT, **kwargs).learn(200)
    sac = SAC("MlpPolicy", "Pendulum-v1", **SMALL, **{k: v for k, v in kwargs.items() if k != "causal_method"}).learn(200)
    assert ace.actor.causal_weights.eq(1).all()
    assert params_equal(ace, sac)
    if ace.log_ent_coef is not None:
        assert th.equal(ace.log_ent_coef, sac.log_ent_coef)


@pytest.mark.parametrize("causal_method", CAUSAL_METHODS)
def test_the_causal_step_changes_nothing_but_the_weights(causal_method, monkeypatch):
    """Fits on schedule whose weights are put back to 1 at once: SAC, bit for bit. The causal step acts on training
    only through the weights (no random draw, no state of its own that reaches the update): what separates ACE without
    reset from SAC is the weights alone (benchmarks/placebo.py does the same on a campaign task)."""
    fit = CausalWeightCallback.update_weights

    def fit_then_unit_weights(self: CausalWeightCallback) -> None:
        fit(self)
        self.model.actor.causal_weights.fill_(1.0)

    monkeypatch.setattr(CausalWeightCallback, "update_weights", fit_then_unit_weights)
    settings = dict(causal_sample_size=60, causal_interval=60, reset_mode=None)
    ace = ACE("MlpPolicy", LinearRewardEnv(), causal_method=causal_method, **settings, **SMALL).learn(200)
    sac = SAC("MlpPolicy", LinearRewardEnv(), **SMALL).learn(200)
    assert ace.num_causal_fits == 3 and not np.allclose(ace.causal_coefficients, 0.0)  # the fits ran
    assert params_equal(ace, sac) and th.equal(ace.log_ent_coef, sac.log_ent_coef)


@pytest.mark.parametrize("use_sde", [False, True])
def test_causal_log_prob_against_per_dimension_computation(use_sde):
    model = ACE("MlpPolicy", LinearRewardEnv(), use_sde=use_sde, **SMALL)
    actor = model.actor
    weights = th.tensor([2.2, 0.5, 0.3])
    actor.causal_weights.copy_(weights)
    obs = th.as_tensor(np.stack([model.env.observation_space.sample() for _ in range(8)]))
    if use_sde:
        actor.reset_noise(8)
    with th.no_grad():
        actions, log_prob = actor.action_log_prob(obs)
        mean, log_std, kwargs = actor.get_action_dist_params(obs)
    if use_sde:
        std = th.sqrt((kwargs["latent_sde"] ** 2) @ (actor.get_std() ** 2) + actor.action_dist.epsilon)
        u = th.atanh(actions.clamp(-1 + th.finfo(actions.dtype).eps, 1 - th.finfo(actions.dtype).eps))
    else:
        std = log_std.exp()
        u = actor.action_dist.gaussian_actions
    expected = th.zeros(8)
    for i in range(3):
        log_normal = -((u[:, i] - mean[:, i]) ** 2) / (2 * std[:, i] ** 2) - th.log(std[:, i]) - 0.5 * math.log(2 * math.pi)
        squash = th.log(1 - th.tanh(u[:, i]) ** 2 + 1e-6)
        expected += weights[i] * (log_normal - squash)
    th.testing.assert_close(log_prob, expected, rtol=1e-5, atol=1e-4)
    # The unweighted log-probability is SAC's
    actor.causal_weights.fill_(1.0)
    unweighted = causal_log_prob(actor.action_dist, actions, actor.causal_weights)
    th.testing.assert_close(unweighted, actor.action_dist.log_prob(actions), atol=1e-4, rtol=1e-5)


def test_weights_follow_the_reward_effects():
    model = ACE("MlpPolicy", LinearRewardEnv(effects=(2.0, 0.0, -1.0)), causal_sample_size=300, causal_interval=300, **SMALL)
    model.learn(600)
    assert model.num_causal_fits == 2
    weights = model.causal_weights
    assert weights[0] > weights[1] > weights[2] > 0
    assert weights.sum() == pytest.approx(3.0)
    np.testing.assert_allclose(model.causal_coefficients, [2.0, 0.0, -1.0], atol=0.05)
    # They are exactly the estimate on the callback's transitions
    expected, _ = estimate_causal_weights(*model.recent_transitions.transitions())
    np.testing.assert_allclose(weights, expected, rtol=1e-6)


@pytest.mark.parametrize("n_envs", [1, 2])
def test_weights_fitted_on_schedule_from_recent_transitions_only(n_envs):
    env = make_vec_env(LinearRewardEnv, n_envs=n_envs, seed=0)
    model = ACE("MlpPolicy", env, causal_sample_size=200, causal_interval=300, **SMALL)
    model.learn(1000)
    assert model.num_causal_fits == 3  # at 300, 600 and 900 steps: every env step of every env counts
    states, _, _ = model.recent_transitions.transitions()
    steps_seen = np.sort(states[:, 0])  # each env's own step counter
    per_env = 1000 // n_envs
    expected = np.sort(np.tile(np.arange(per_env - 200 // n_envs, per_env), n_envs))
    np.testing.assert_array_equal(steps_seen, expected)


def test_weights_track_a_change_of_reward():
    env = LinearRewardEnv(effects=(2.0, 0.0, -1.0))
    model = ACE("MlpPolicy", env, causal_sample_size=200, causal_interval=200, **SMALL).learn(400)
    assert np.argmax(model.causal_weights) == 0
    env.effects = np.array([-1.0, 0.0, 2.0])
    model.learn(400, reset_num_timesteps=False)
    assert np.argmax(model.causal_weights) == 2  # the last fit saw the new reward only


def test_no_fit_before_the_buffer_is_full():
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=500, causal_interval=100, **SMALL).learn(400)
    assert model.num_causal_fits == 0
    np.testing.assert_array_equal(model.causal_weights, np.ones(3))


def test_recent_transitions_survive_successive_learn_calls():
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=200, causal_interval=100, **SMALL)
    for _ in range(3):
        model.learn(100, reset_num_timesteps=False)
    assert model.num_causal_fits == 2  # at 200 and 300 steps, although no single call saw 200 steps


def test_save_load_round_trip_with_weights(tmp_path):
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=200, causal_interval=200, **SMALL).learn(400)
    obs = np.stack([model.observation_space.sample() for _ in range(10)])
    model.save(tmp_path / "ace")
    loaded = ACE.load(tmp_path / "ace", env=LinearRewardEnv())
    np.testing.assert_array_equal(loaded.causal_weights, model.causal_weights)
    np.testing.assert_array_equal(loaded.causal_coefficients, model.causal_coefficients)
    assert loaded.num_causal_fits == model.num_causal_fits == 2
    assert loaded.causal_fit_seconds == model.causal_fit_seconds
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    # A loaded model trains on with its weights until its next fit
    loaded.learn(100, reset_num_timesteps=False)
    np.testing.assert_array_equal(loaded.causal_weights, model.causal_weights)
    loaded.learn(200, reset_num_timesteps=False)
    assert loaded.num_causal_fits == 3


def test_load_a_model_saved_by_sac(tmp_path):
    sac = SAC("MlpPolicy", "Pendulum-v1", **SMALL).learn(100)
    sac.save(tmp_path / "sac")
    ace = ACE.load(tmp_path / "sac", env=gym.make("Pendulum-v1"))
    assert isinstance(ace.policy, ACEPolicy)
    np.testing.assert_array_equal(ace.causal_weights, [1.0])
    obs = np.stack([ace.observation_space.sample() for _ in range(10)])
    np.testing.assert_array_equal(ace.predict(obs, deterministic=True)[0], sac.predict(obs, deterministic=True)[0])
    ace.learn(100, reset_num_timesteps=False)
    assert ace.num_timesteps == 200


@pytest.mark.parametrize(
    "env, kwargs, match",
    [
        (FakeImageEnv(discrete=True), {}, "Box"),
        (LinearRewardEnv(), dict(causal_sample_size=6), "causal_sample_size"),
        (LinearRewardEnv(), dict(causal_interval=0), "causal_interval"),
        (LinearRewardEnv(), dict(causal_interval=-5), "causal_interval"),
        (LinearRewardEnv(), dict(causal_method="pc"), "causal_method"),
        (LinearRewardEnv(), dict(reset_mode="hard"), "reset_mode"),
        (LinearRewardEnv(), dict(reset_interval=0), "reset_interval"),
        (LinearRewardEnv(), dict(reset_retention_bounds=(0.9, 0.2)), "reset_retention_bounds"),
    ],
)
def test_bad_input_fails_at_construction(env, kwargs, match):
    with pytest.raises((ValueError, AssertionError), match=match):
        ACE("MlpPolicy", env, **kwargs)


def test_callback_needs_an_ace_model():
    with pytest.raises(TypeError, match="ACE"):
        SAC("MlpPolicy", "Pendulum-v1", **SMALL).learn(10, callback=CausalWeightCallback(20, 10))


def test_constant_reward_warns_and_keeps_unit_weights(caplog):
    model = ACE("MlpPolicy", LinearRewardEnv(constant_reward=True), causal_sample_size=100, causal_interval=100, **SMALL)
    with caplog.at_level(logging.WARNING, logger="sb3_ace"):
        model.learn(300)
    assert "reward is constant" in caplog.text
    assert model.num_causal_fits == 0 and model.num_failed_causal_fits == 3
    np.testing.assert_array_equal(model.causal_weights, np.ones(3))
    assert all(th.isfinite(p).all() for p in model.policy.parameters())


def test_padded_state_columns_are_left_out():
    model = ACE("MlpPolicy", LinearRewardEnv(padded=4), causal_sample_size=200, causal_interval=200, **SMALL).learn(200)
    assert model.num_causal_fits == 1
    assert np.argmax(model.causal_weights) == 0


def test_fit_the_data_cannot_support_keeps_previous_weights(caplog, monkeypatch):
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=100, causal_interval=100, **SMALL).learn(100)
    fitted = model.causal_weights
    assert model.num_causal_fits == 1

    def degenerate_fit(*args, **kwargs):
        raise CausalDiscoveryError("the reward is an exact linear function of the other columns")

    monkeypatch.setattr("sb3_ace.common.causal_weights.estimate_causal_weights", degenerate_fit)
    with caplog.at_level(logging.WARNING, logger="sb3_ace"):
        model.learn(200, reset_num_timesteps=False)
    assert "exact linear function" in caplog.text
    np.testing.assert_array_equal(model.causal_weights, fitted)
    assert model.num_causal_fits == 1 and model.num_failed_causal_fits == 2


def test_a_bug_in_the_causal_step_propagates(monkeypatch):
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=100, causal_interval=100, **SMALL)

    def buggy_fit(*args, **kwargs):
        raise IndexError("index 3 is out of bounds for axis 1 with size 3")

    monkeypatch.setattr("sb3_ace.common.causal_weights.estimate_causal_weights", buggy_fit)
    with pytest.raises(IndexError, match="out of bounds"):
        model.learn(100)
    assert model.num_failed_causal_fits == 0


def test_non_finite_transitions_are_dropped():
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=100, causal_interval=100, **SMALL).learn(100)
    transitions = model.recent_transitions
    transitions.rows[::10, 1] = np.nan
    transitions.rows[5::10, -1] = np.inf
    callback = CausalWeightCallback()
    callback.init_callback(model)
    callback.update_weights()
    assert model.num_causal_fits == 2
    assert np.isfinite(model.causal_weights).all() and np.argmax(model.causal_weights) == 0


def test_causal_values_are_logged(tmp_path):
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=100, causal_interval=100, **SMALL)
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(300, log_interval=1)
    log = (tmp_path / "progress.csv").read_text().splitlines()
    header = log[0].split(",")
    for key in ["causal/weight_0", "causal/weight_2", "causal/coefficient_1", "causal/fit_seconds", "causal/fits"]:
        assert key in header
    last = dict(zip(header, log[-1].split(","), strict=True))
    assert float(last["causal/weight_0"]) == pytest.approx(model.causal_weights[0])
    assert int(float(last["causal/fits"])) == model.num_causal_fits


def test_tensorboard_run_is_named_ace(tmp_path):
    pytest.importorskip("tensorboard")
    ACE("MlpPolicy", "Pendulum-v1", tensorboard_log=str(tmp_path), **SMALL).learn(60)
    assert (tmp_path / "ACE_1").is_dir()
    assert any((tmp_path / "ACE_1").iterdir())


def test_user_callbacks_run_and_own_causal_callback_replaces_the_default(tmp_path):
    own = CausalWeightCallback(causal_sample_size=100, causal_interval=50)
    checkpoint = CheckpointCallback(save_freq=100, save_path=str(tmp_path))
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=100, causal_interval=100, **SMALL)
    model.learn(200, callback=CallbackList([checkpoint, own]))
    assert model.num_causal_fits == 3  # at 100, 150 and 200 steps: the user's callback, not ACE's default
    assert len(list(tmp_path.glob("*.zip"))) == 2


def test_progress_bar_and_plain_callable():
    pytest.importorskip("tqdm")
    calls = []

    def count(local_vars, global_vars):
        calls.append(1)
        return True

    ACE("MlpPolicy", "Pendulum-v1", **SMALL).learn(60, callback=count, progress_bar=True)
    assert len(calls) == 60


def image_env() -> gym.Env:
    return FakeImageEnv(screen_height=36, screen_width=36, n_channels=1, discrete=False)


def test_cnn_policy_leaves_pixels_out_of_causal_discovery(caplog):
    model = ACE("CnnPolicy", image_env(), buffer_size=500, causal_sample_size=60, causal_interval=60, **SMALL)
    with caplog.at_level(logging.WARNING, logger="sb3_ace"):
        model.learn(120)
    assert model.recent_transitions.rows.shape == (60, 5 + 1)  # actions and reward only
    assert "reward is constant" in caplog.text  # FakeImageEnv's reward is always 0


def test_multi_input_policy_with_her():
    env = BitFlippingEnv(n_bits=4, continuous=True)
    model = ACE(
        "MultiInputPolicy",
        env,
        replay_buffer_class=HerReplayBuffer,
        replay_buffer_kwargs=dict(n_sampled_goal=2, goal_selection_strategy="future"),
        causal_sample_size=60,
        causal_interval=60,
        **SMALL,
    )
    model.learn(200)
    states, actions, _ = model.recent_transitions.transitions()
    assert states.shape == (60, 12) and actions.shape == (60, 4)  # three 4-bit Dict entries, flattened
    assert np.isfinite(model.causal_weights).all()


def test_flatten_dict_states_is_ordered_by_key():
    image = spaces.Box(0, 255, (36, 36, 1), np.uint8)
    space = spaces.Dict({"b": spaces.Box(0, 1, (2,)), "a": spaces.Box(0, 1, (1,)), "img": image})
    obs = {"b": np.array([[1.0, 2.0], [3.0, 4.0]]), "a": np.array([[0.0], [5.0]]), "img": np.zeros((2, 36, 36, 1))}
    np.testing.assert_array_equal(flatten_states(obs, space), [[0.0, 1.0, 2.0], [5.0, 3.0, 4.0]])


class NonBoxObservations(gym.ObservationWrapper):
    """LinearRewardEnv (its reward unchanged) seen through another observation space: random observations of it."""

    def __init__(self, env: gym.Env, observation_space: spaces.Space):
        super().__init__(env)
        self.observation_space = observation_space
        self.observation_space.seed(0)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return self.observation_space.sample()


@pytest.mark.parametrize(
    "space, state_dim, ones_per_row",
    [(spaces.Discrete(5), 5, 1), (spaces.MultiDiscrete([3, 4]), 3 + 4, 2), (spaces.MultiBinary(3), 3, None)],
)
def test_discrete_observations_enter_the_causal_data_one_hot(space, state_dim, ones_per_row):
    """SAC takes these observation spaces (one-hot encoded for the networks): so does ACE's causal step."""
    env = NonBoxObservations(LinearRewardEnv(), space)
    model = ACE("MlpPolicy", env, causal_sample_size=100, causal_interval=100, **SMALL).learn(200)
    states, _, _ = model.recent_transitions.transitions()
    assert states.shape == (100, state_dim)
    if ones_per_row is not None:
        assert set(np.unique(states)) == {0.0, 1.0} and (states.sum(axis=1) == ones_per_row).all()
    assert model.num_causal_fits == 2 and np.argmax(model.causal_weights) == 0


@pytest.mark.parametrize(
    "kwargs", [dict(use_sde=True), dict(n_steps=3), dict(policy_kwargs=dict(net_arch=dict(pi=[8], qf=[16, 8])))]
)
def test_sac_options_train_with_causal_fits(kwargs):
    options = {**SMALL, **kwargs}
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=100, causal_interval=100, **options).learn(200)
    assert model.num_causal_fits == 2
    assert np.argmax(model.causal_weights) == 0


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_device(device):
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=100, causal_interval=100, device=device, **SMALL).learn(100)
    assert model.actor.causal_weights.device == model.device
    assert model.num_causal_fits == 1


def test_vec_normalize_save_load(tmp_path):
    env = VecNormalize(DummyVecEnv([LinearRewardEnv]), gamma=0.99)
    model = ACE("MlpPolicy", env, causal_sample_size=100, causal_interval=100, **SMALL).learn(200)
    # The causal data is what the agent sees: normalized states
    states, _, _ = model.recent_transitions.transitions()
    assert np.abs(states[:, 0]).max() <= env.clip_obs
    model.save(tmp_path / "ace")
    env.save(str(tmp_path / "vecnormalize.pkl"))
    loaded_env = VecNormalize.load(str(tmp_path / "vecnormalize.pkl"), DummyVecEnv([LinearRewardEnv]))
    loaded = ACE.load(tmp_path / "ace", env=loaded_env)
    obs = env.normalize_obs(np.stack([LinearRewardEnv().observation_space.sample() for _ in range(5)]))
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    loaded.learn(100, reset_num_timesteps=False)


def test_replay_buffer_save_load_and_set_env(tmp_path):
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=100, causal_interval=100, **SMALL).learn(150)
    model.save_replay_buffer(tmp_path / "buffer")
    model.save(tmp_path / "ace")
    loaded = ACE.load(tmp_path / "ace")
    loaded.load_replay_buffer(tmp_path / "buffer")
    assert loaded.replay_buffer.size() == model.replay_buffer.size() == 150
    np.testing.assert_array_equal(loaded.replay_buffer.actions[:150], model.replay_buffer.actions[:150])
    loaded.set_env(make_vec_env(LinearRewardEnv, n_envs=1))
    loaded.learn(100, reset_num_timesteps=False)
    assert loaded.num_timesteps == 250


def test_load_a_model_saved_by_sb3_ace_0_1_0():
    """sb3-ace 0.1.0 kept ACE's policies in ``sb3_ace.policies``: its saved models name their policy class there."""
    model = ACE.load(Path(__file__).parent / "data" / "ace_0_1_0_pendulum.zip")
    assert isinstance(model.policy, ACEPolicy)
    obs = np.linspace(-1, 1, 9, dtype=np.float32).reshape(3, 3)
    saved_actions = [[-0.38229095935821533], [-0.40176594257354736], [-0.5188071727752686]]  # predicted by 0.1.0
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], np.array(saved_actions, dtype=np.float32))
