import copy
import io
import logging
import math

import numpy as np
import pytest
import torch as th
from stable_baselines3 import SAC, HerReplayBuffer
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.envs import BitFlippingEnv, FakeImageEnv
from stable_baselines3.common.logger import HumanOutputFormat, Logger
from torch import nn

from sb3_ace import ACE, DormantResetCallback
from sb3_ace.common.dormancy import causal_retention, dormancy_retention, dormant_ratios

LEARNING_STARTS = 20
TINY = dict(
    learning_starts=LEARNING_STARTS,
    batch_size=32,
    buffer_size=1_000,
    causal_method=None,
    seed=0,
    device="cpu",
)
FAST_RESETS = dict(reset_interval=10, reset_start=0)


def reset_callback(model: ACE) -> DormantResetCallback:
    """A DormantResetCallback reading the model's settings, bound to it as learn() would bind it."""
    callback = DormantResetCallback()
    callback.init_callback(model)
    return callback


def tiny_ace(setting: str = "mlp", **kwargs) -> ACE:
    """A small ACE for one of the policy settings the reset must work with."""
    policy_kwargs = dict(net_arch=[16, 16])
    if setting in ("mlp", "sde"):
        return ACE("MlpPolicy", "Pendulum-v1", use_sde=setting == "sde", policy_kwargs=policy_kwargs, **TINY, **kwargs)
    if setting.startswith("cnn"):
        env = FakeImageEnv(action_dim=2, screen_height=36, screen_width=36, n_channels=1, discrete=False)
        policy_kwargs.update(features_extractor_kwargs=dict(features_dim=16), share_features_extractor=setting == "cnn_shared")
        return ACE("CnnPolicy", env, policy_kwargs=policy_kwargs, **TINY, **kwargs)
    assert setting == "her"
    env = BitFlippingEnv(n_bits=4, continuous=True, max_steps=4)
    return ACE(
        "MultiInputPolicy",
        env,
        replay_buffer_class=HerReplayBuffer,
        replay_buffer_kwargs=dict(n_sampled_goal=2, goal_selection_strategy="future"),
        policy_kwargs=policy_kwargs,
        **TINY,
        **kwargs,
    )


def set_row_norms(layer: nn.Linear, norms: list[float]) -> None:
    """Give ``layer`` a weight gradient whose row ``j`` has L2 norm ``norms[j]``, and a large bias gradient."""
    direction = th.zeros(layer.in_features)
    direction[0] = -1.0  # unit norm
    layer.weight.grad = th.tensor(norms).unsqueeze(1) * direction
    layer.bias.grad = th.full_like(layer.bias, 1e6)  # the bias must not count


@pytest.mark.parametrize(
    "threshold, pooled, per_layer",
    [
        (0.05, 2 / 6, {"0": 1 / 4, "2": 1 / 2}),
        (0.5, 3 / 6, {"0": 2 / 4, "2": 1 / 2}),
    ],
)
def test_dormant_ratios_hand_made_gradients(threshold, pooled, per_layer):
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 2))
    assert dormant_ratios(net, threshold) == (None, {})  # no gradients yet

    # Layer 0: mean 0.8275, so 0.01 < 0.05 * mean and 0.3 and 0.01 < 0.5 * mean; layer 2: mean 0.51
    set_row_norms(net[0], [2.0, 1.0, 0.3, 0.01])
    set_row_norms(net[2], [1.0, 0.02])
    # net[4] has no gradient: left out
    ratio, ratios = dormant_ratios(net, threshold)
    assert ratio == pytest.approx(pooled)
    assert ratios == pytest.approx(per_layer)


def test_dormancy_threshold_is_strict():
    # g_j = tau * mean(g) exactly is not dormant (g_j < tau * mean(g)); so an all-zero gradient has no dormant neuron
    layer = nn.Linear(1, 4)
    set_row_norms(layer, [2.5, 0.5, 0.5, 0.5])  # mean 1
    assert dormant_ratios(layer, 0.5) == (0.0, {"": 0.0})
    set_row_norms(layer, [0.0, 0.0, 0.0, 0.0])
    assert dormant_ratios(layer, 0.5) == (0.0, {"": 0.0})


def test_dormant_ratios_of_a_real_actor():
    model = tiny_ace("cnn")
    model.learn(LEARNING_STARTS + 2)
    ratio, ratios = dormant_ratios(model.actor, model.dormant_threshold)
    assert set(ratios) == {"features_extractor.linear.0", "latent_pi.0", "latent_pi.2", "mu", "log_std"}
    assert 0.0 <= ratio <= 1.0


@pytest.mark.parametrize("beta, lam", [(0.0, 0.9), (0.1, 0.9), (0.35, 0.65), (0.95, 0.2)])
def test_dormancy_retention(beta, lam):
    assert dormancy_retention(beta, (0.2, 0.9)) == pytest.approx(lam)


@pytest.mark.parametrize(
    "weights, lam",
    [
        ([1.0, 1.0, 1.0, 1.0], 0.5),  # delta = 0: 1.5 - 1
        ([0.975, 1.025, 1.0, 1.0], 1.5 - math.exp(-0.4)),  # delta = 0.05
        ([0.5, 1.5, 1.0, 1.0], 0.9),  # clipped
    ],
)
def test_causal_reset_retention(weights, lam):
    assert causal_retention(np.array(weights), (0.2, 0.9)) == pytest.approx(lam)
    # The same through a model, whose actor holds the weights (no update yet: no dormancy, which this mode ignores)
    model = tiny_ace("her", reset_mode="causal_reset")
    model.actor.causal_weights.copy_(th.tensor(weights))
    assert reset_callback(model).reset_networks() == pytest.approx(lam)
    assert model.num_resets == 1
    assert model.causal_weights == pytest.approx(weights)


@pytest.mark.parametrize("setting", ["mlp", "cnn_shared"])
def test_soft_reset_interpolates_towards_fresh_copies(setting):
    model = tiny_ace(setting)
    model.learn(LEARNING_STARTS + 10)
    theta = copy.deepcopy(model.policy)
    lam_expected = dormancy_retention(dormant_ratios(model.actor, 0.05)[0], (0.2, 0.9))
    weight_object = model.actor.mu.weight

    th.manual_seed(123)
    lam = reset_callback(model).reset_networks()
    assert lam == pytest.approx(lam_expected)

    # phi: the same draws, made on a copy: module by module, layer by layer (Linear and Conv2d), a shared layer once
    th.manual_seed(123)
    phi = copy.deepcopy(theta)
    seen = set()
    for module in (phi.actor, phi.critic, phi.critic_target):
        for layer in module.modules():
            if isinstance(layer, nn.Linear | nn.Conv2d) and layer not in seen:
                seen.add(layer)
                layer.reset_parameters()

    modules = dict(model.policy.named_modules())
    reset_types = set()
    for (name, old), (_, fresh) in zip(theta.named_modules(), phi.named_modules(), strict=True):
        new = modules[name]
        for param_name, param in new.named_parameters(recurse=False):  # every learned parameter, convolutions too
            reset_types.add(type(new))
            expected = lam * getattr(old, param_name) + (1 - lam) * getattr(fresh, param_name)
            assert th.allclose(param, expected, atol=1e-6), f"{name}.{param_name}"
            assert not th.equal(param, getattr(old, param_name)), f"{name}.{param_name}"
    assert reset_types == ({nn.Linear, nn.Conv2d} if setting == "cnn_shared" else {nn.Linear})
    assert model.actor.mu.weight is weight_object  # updated in place: the optimizer still holds it

    # Critic and target each got their own fresh copy: recover phi = (new - lam * theta) / (1 - lam)
    def fresh_of(critic, old_critic):
        return (critic.q_networks[0][0].weight - lam * old_critic.q_networks[0][0].weight) / (1 - lam)

    assert not th.allclose(fresh_of(model.critic, theta.critic), fresh_of(model.critic_target, theta.critic_target))
    if setting == "cnn_shared":
        assert model.critic.features_extractor is model.actor.features_extractor


@pytest.mark.parametrize("setting", ["mlp", "sde"])
def test_reset_clears_optimizers_and_keeps_the_rest(setting):
    model = tiny_ace(setting, reset_mode="reset")
    model.learn(LEARNING_STARTS + 10)
    model.actor.causal_weights.copy_(th.tensor([0.7]))
    assert len(model.actor.optimizer.state) > 0 and len(model.critic.optimizer.state) > 0
    log_ent_coef = model.log_ent_coef.detach().clone()
    ent_coef_state = copy.deepcopy(model.ent_coef_optimizer.state_dict()["state"])
    buffer_pos = model.replay_buffer.pos
    exploration = model.actor.action_dist.exploration_mat.clone() if setting == "sde" else None

    reset_callback(model).reset_networks()

    assert len(model.actor.optimizer.state) == 0
    assert len(model.critic.optimizer.state) == 0
    assert th.equal(model.log_ent_coef, log_ent_coef)
    new_state = model.ent_coef_optimizer.state_dict()["state"]
    assert new_state.keys() == ent_coef_state.keys()
    for index, state in ent_coef_state.items():
        for key, value in state.items():
            assert th.equal(new_state[index][key], value)
    assert model.causal_weights == pytest.approx([0.7])
    assert model.replay_buffer.pos == buffer_pos
    assert model.num_resets == 1
    if exploration is not None:  # gSDE noise resampled
        assert not th.equal(model.actor.action_dist.exploration_mat, exploration)
    # Training goes on from the cleared optimizers
    model.learn(5, reset_num_timesteps=False)
    assert all(th.isfinite(param).all() for param in model.policy.parameters())


def test_reset_without_any_dormancy_measurement_keeps_the_most_and_warns(caplog):
    model = tiny_ace("mlp")  # no update yet: no gradients, and no earlier measurement
    assert model.dormant_ratio is None
    with caplog.at_level(logging.WARNING):
        assert reset_callback(model).reset_networks() == 0.9  # the upper retention bound
    assert model.num_resets == 1 and model.reset_retention == 0.9
    assert "ACE soft reset at 0 updates: the actor has no gradients" in caplog.text


@pytest.mark.parametrize("setting", ["mlp", "sde", "cnn", "cnn_shared", "her"])
def test_training_with_frequent_resets(setting):
    model = tiny_ace(setting, **FAST_RESETS)
    text = io.StringIO()
    model.set_logger(Logger(folder=None, output_formats=[HumanOutputFormat(text)]))
    n_updates = 45  # resets after the updates of index 10, 20, 30 and 40
    model.learn(LEARNING_STARTS + n_updates)
    assert model._n_updates == n_updates
    assert model.num_resets == 4
    assert all(th.isfinite(param).all() for param in model.policy.parameters())

    logged = model.logger.name_to_value
    assert logged["reset/num_resets"] == 4
    assert 0.2 <= logged["reset/retention"] <= 0.9
    assert 0.0 <= logged["reset/dormant_ratio"] <= 1.0
    layers = {name for name, module in model.actor.named_modules() if isinstance(module, nn.Linear)}
    assert {key.removeprefix("reset/dormant_ratio/") for key in logged if key.startswith("reset/dormant_ratio/")} == layers
    model.logger.dump()  # the per-layer keys stay out of the stdout table
    assert "num_resets" in text.getvalue()
    assert "latent_pi" not in text.getvalue()

    model.train(gradient_steps=1, batch_size=32)
    for key in ("train/actor_loss", "train/critic_loss", "train/ent_coef"):
        assert np.isfinite(model.logger.name_to_value[key]), key


@pytest.mark.parametrize("wrap", [lambda cb: cb, lambda cb: [cb], lambda cb: CallbackList([cb])])
def test_user_callback_replaces_the_default_one(wrap):
    model = tiny_ace("mlp", **FAST_RESETS)
    model.learn(LEARNING_STARTS + 50, callback=wrap(DormantResetCallback(reset_interval=15, reset_start=0)))
    assert model.num_resets == 3  # after updates 15, 30 and 45: the user's 15, not also ACE's 10 (4 more)


def test_reset_schedule_survives_save_and_load(tmp_path, monkeypatch):
    reset_at = []
    reset_networks = DormantResetCallback.reset_networks

    def recording_reset(self):
        reset_at.append(self.model._n_updates - 1)  # the index of the update just done
        return reset_networks(self)

    monkeypatch.setattr(DormantResetCallback, "reset_networks", recording_reset)

    tiny_ace("mlp", **FAST_RESETS).learn(LEARNING_STARTS + 50)
    straight = list(reset_at)
    assert straight == [10, 20, 30, 40]  # updates 0 to 49; the authors' rule: index > reset_start, multiple of R

    reset_at.clear()
    model = tiny_ace("mlp", **FAST_RESETS)
    model.learn(LEARNING_STARTS + 31)  # the last update (index 30) is a reset
    model.save(tmp_path / "ace")
    loaded = ACE.load(tmp_path / "ace", env=model.get_env(), device="cpu")
    assert loaded.num_resets == 3
    loaded.learn(19, reset_num_timesteps=False)
    assert reset_at == straight
    assert loaded.num_resets == 4


def test_no_reset_mode():
    model = tiny_ace("mlp", reset_mode=None, **FAST_RESETS)
    model.learn(LEARNING_STARTS + 30)
    assert model.num_resets == 0 and model.reset_retention is None
    assert not any(key.startswith("reset/") for key in model.logger.name_to_value)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(reset_mode="hard"), ValueError, "reset_mode"),
        (dict(reset_interval=0), ValueError, "reset_interval"),
        (dict(reset_interval=1.5), TypeError, "reset_interval"),
        (dict(reset_start=-1), ValueError, "reset_start"),
        (dict(reset_start="5"), TypeError, "reset_start"),
        (dict(dormant_threshold=1.0), ValueError, "dormant_threshold"),
        (dict(dormant_threshold="0.05"), TypeError, "dormant_threshold"),
        (dict(reset_retention_bounds=(0.9, 0.2)), ValueError, "reset_retention_bounds"),
        (dict(reset_retention_bounds=0.5), TypeError, "reset_retention_bounds"),
        (dict(dormancy_interval=0), ValueError, "dormancy_interval"),
    ],
)
def test_invalid_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        DormantResetCallback(**kwargs)
    if "dormancy_interval" not in kwargs:  # ACE checks the same settings at construction
        with pytest.raises(error, match=match):
            ACE("MlpPolicy", "Pendulum-v1", **kwargs)


def test_callback_needs_ace():
    model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[16]), buffer_size=100, device="cpu")
    with pytest.raises(TypeError, match="ACE"):
        model.learn(1, callback=DormantResetCallback())
