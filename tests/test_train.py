"""ACE's own training step and the authors' configuration: policy delay, warm-up, networks, action units, the causal
weights reaching the three losses, and settings read from the model."""

import math

import numpy as np
import pytest
import torch as th
from torch import nn

from sb3_ace import ACE, DormantResetCallback
from tests.helpers import (
    SMALL,
    LinearRewardEnv,
    assert_losses_follow_the_weights,
    prepare_loss_check,
    sac_losses_by_hand,
)

NO_ADDITIONS = dict(causal_method=None, reset_mode=None)


def adam_steps(optimizer: th.optim.Optimizer) -> int:
    """How many steps an Adam optimizer took (0 before the first one)."""
    states = list(optimizer.state.values())
    return int(states[0]["step"]) if states else 0


def parameters(module: nn.Module) -> list[th.Tensor]:
    return [param.detach().clone() for param in module.parameters()]


def changed(before: list[th.Tensor], module: nn.Module) -> bool:
    return any(not th.equal(old, new) for old, new in zip(before, module.parameters(), strict=True))


def test_policy_delay_counts_updates_over_the_whole_run():
    model = ACE("MlpPolicy", LinearRewardEnv(), policy_delay=2, **NO_ADDITIONS, **SMALL)
    model.learn(SMALL["learning_starts"])  # fills the buffer, no update yet
    assert model._n_updates == 0
    updates = 0
    for gradient_steps in (1, 1, 1, 3, 2, 1):  # calls starting at odd and even update indices
        actor, critic, target = parameters(model.actor), parameters(model.critic), parameters(model.critic_target)
        log_ent_coef = model.log_ent_coef.detach().clone()
        model.train(gradient_steps, batch_size=32)
        indices = range(updates, updates + gradient_steps)
        updates += gradient_steps
        policy_updates = sum(index % 2 == 0 for index in range(updates))  # updates 0, 2, 4, ...
        assert adam_steps(model.critic.optimizer) == updates  # the critics at every update
        assert adam_steps(model.actor.optimizer) == policy_updates
        assert adam_steps(model.ent_coef_optimizer) == policy_updates
        has_policy_update = any(index % 2 == 0 for index in indices)
        assert changed(critic, model.critic)
        assert changed(actor, model.actor) == has_policy_update
        assert changed(target, model.critic_target) == has_policy_update
        assert (not th.equal(log_ent_coef, model.log_ent_coef)) == has_policy_update
    assert model._n_updates == updates == 9


def test_warm_up_random_actions_while_updates_start_at_the_batch_size():
    model = ACE("MlpPolicy", LinearRewardEnv(), learning_starts=32, random_action_steps=300, batch_size=32, seed=0)
    policy_steps = []
    predict = model.predict

    def recording_predict(*args, **kwargs):
        policy_steps.append(model.num_timesteps)
        return predict(*args, **kwargs)

    model.predict = recording_predict  # type: ignore[method-assign]
    model.learn(400)
    assert policy_steps == list(range(300, 400))  # the first 300 actions were uniformly random
    assert model._n_updates == 400 - 32  # an update after every step once the buffer held more than a batch


@pytest.mark.parametrize("linear_init", ["xavier_uniform", "orthogonal"])
def test_authors_networks_through_policy_kwargs(tmp_path, linear_init):
    policy_kwargs = dict(net_arch=[32, 32, 32], activation_fn=[nn.ELU, nn.ReLU, nn.ReLU], linear_init=linear_init)
    model = ACE("MlpPolicy", LinearRewardEnv(), policy_kwargs=policy_kwargs, learning_starts=20, batch_size=16, seed=0)
    for mlp in (model.actor.latent_pi, *model.critic.q_networks, *model.critic_target.q_networks):
        activations = [type(module) for module in mlp if not isinstance(module, nn.Linear)]
        assert activations == [nn.ELU, nn.ReLU, nn.ReLU]
    for module in (model.actor, model.critic):
        for layer in (m for m in module.modules() if isinstance(m, nn.Linear)):
            assert th.count_nonzero(layer.bias) == 0
            if linear_init == "xavier_uniform":
                bound = math.sqrt(6 / (layer.in_features + layer.out_features))
                assert layer.weight.abs().max() <= bound
                assert layer.weight.std() > bound / 3  # not all zero or tiny: uniform on [-bound, bound]
            else:
                rows, cols = layer.weight.shape
                gram = layer.weight @ layer.weight.T if rows <= cols else layer.weight.T @ layer.weight
                th.testing.assert_close(gram, th.eye(min(rows, cols)), atol=1e-5, rtol=0)
    critic_state, target_state = model.critic.state_dict(), model.critic_target.state_dict()
    assert all(th.equal(critic_state[name], target_state[name]) for name in critic_state)

    model.learn(40)
    obs = np.stack([model.observation_space.sample() for _ in range(8)])
    model.save(tmp_path / "ace")
    loaded = ACE.load(tmp_path / "ace")
    assert [type(m) for m in loaded.actor.latent_pi if not isinstance(m, nn.Linear)] == [nn.ELU, nn.ReLU, nn.ReLU]
    assert loaded.policy.linear_init == linear_init
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(policy_kwargs=dict(net_arch=[8, 8], activation_fn=[nn.ELU])), "activation_fn"),
        (dict(policy_kwargs=dict(linear_init="kaiming")), "linear_init"),
        (dict(reset_init="kaiming"), "reset_init"),
        (dict(policy_delay=0), "policy_delay"),
        (dict(policy_delay=1.5), "policy_delay"),
        (dict(random_action_steps=-1), "random_action_steps"),
        (dict(action_units="normalized"), "action_units"),
        (dict(causal_interval=2.5), "causal_interval"),
    ],
)
def test_bad_training_settings_fail_at_construction(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ACE("MlpPolicy", LinearRewardEnv(), **kwargs)


@pytest.mark.parametrize(
    "policy_init, reset_init, expected",
    [("default", "orthogonal", "orthogonal"), ("xavier_uniform", None, "xavier_uniform"), ("default", None, "default")],
)
def test_reset_draws_the_fresh_copy_as_asked(policy_init, reset_init, expected):
    policy_kwargs = dict(net_arch=[16, 16], linear_init=policy_init)
    model = ACE("MlpPolicy", LinearRewardEnv(), policy_kwargs=policy_kwargs, reset_init=reset_init, **NO_ADDITIONS)
    model.reset_mode = "causal_reset"  # the retention needs no gradient in this mode
    model.reset_retention_bounds = (0.0, 0.0)  # lam = 0: the networks become the fresh copy
    callback = DormantResetCallback()
    callback.init_callback(model)
    assert callback.reset_networks() == 0.0
    layers = [m for module in (model.actor, model.critic) for m in module.modules() if isinstance(m, nn.Linear)]
    zero_biases = all(th.count_nonzero(layer.bias) == 0 for layer in layers)
    assert zero_biases == (expected != "default")  # PyTorch's default draws the biases too
    if expected == "orthogonal":
        for layer in layers:
            rows, cols = layer.weight.shape
            gram = layer.weight @ layer.weight.T if rows <= cols else layer.weight.T @ layer.weight
            th.testing.assert_close(gram, th.eye(min(rows, cols)), atol=1e-5, rtol=0)


def test_fixed_causal_weights_reach_the_three_losses():
    """One update's temperature, critic and actor losses equal an independent computation with w = [2.5, 0.25, 0.25],
    and differ from the same computation with w = 1."""
    model = ACE("MlpPolicy", LinearRewardEnv(), **NO_ADDITIONS, **SMALL)
    weights = th.tensor([2.5, 0.25, 0.25])
    before, log_alpha, rng_state, logged = prepare_loss_check(model, weights)

    assert_losses_follow_the_weights(logged, sac_losses_by_hand(model, before, log_alpha, rng_state), weights)


def test_action_units_env_puts_causal_data_and_squash_term_in_env_units():
    env_units = ACE(
        "MlpPolicy",
        LinearRewardEnv(action_bound=2.0),
        action_units="env",
        causal_sample_size=200,
        causal_interval=200,
        reset_mode=None,
        **SMALL,
    ).learn(200)
    scaled = ACE(
        "MlpPolicy", LinearRewardEnv(action_bound=2.0), causal_sample_size=200, causal_interval=200, reset_mode=None, **SMALL
    ).learn(200)
    _, actions, _ = env_units.recent_transitions.transitions()
    assert 1.0 < np.abs(actions).max() <= 2.0  # what env.step received
    np.testing.assert_allclose(env_units.causal_coefficients, [2.0, 0.0, -1.0], atol=0.05)  # r = effects . a_env
    np.testing.assert_allclose(scaled.causal_coefficients, [4.0, 0.0, -2.0], atol=0.1)  # per unit of a in [-1, 1]

    # The squash term: log(scale * (1 - tanh(u)^2) + eps), i.e. about sum_i w_i * log(2) less than SB3's
    weights = th.tensor([2.2, 0.5, 0.3])
    env_units.actor.causal_weights.copy_(weights)
    obs = th.as_tensor(np.stack([env_units.observation_space.sample() for _ in range(16)]))
    with th.no_grad():
        th.manual_seed(0)
        actions_env, log_prob_env = env_units.actor.action_log_prob(obs)
        env_units.actor.action_scale = None
        th.manual_seed(0)
        actions_sb3, log_prob_sb3 = env_units.actor.action_log_prob(obs)
    assert th.equal(actions_env, actions_sb3)
    th.testing.assert_close(log_prob_sb3 - log_prob_env, (weights.sum() * math.log(2.0)).expand(16), atol=1e-3, rtol=0)


def test_callbacks_read_the_settings_from_the_model():
    model = ACE("MlpPolicy", LinearRewardEnv(), causal_sample_size=100, causal_interval=1000, reset_interval=1000, **SMALL)
    model.causal_interval = 50
    model.reset_interval, model.reset_start = 10, 0
    model.learn(200)
    assert model.num_causal_fits == 3  # at 100, 150 and 200 steps (the transitions fill up at 100)
    assert model.num_resets == 14  # after updates 10, 20, ..., 140 of 150


def test_counters_are_saved_with_the_model(tmp_path):
    model = ACE("MlpPolicy", LinearRewardEnv(constant_reward=True), causal_sample_size=100, causal_interval=100, **SMALL)
    model.reset_interval, model.reset_start = 20, 0
    model.learn(200)
    assert model.num_failed_causal_fits == 2 and model.num_resets == 7
    model.save(tmp_path / "ace")
    loaded = ACE.load(tmp_path / "ace")
    assert (loaded.num_failed_causal_fits, loaded.num_resets, loaded.reset_interval) == (2, 7, 20)
