"""ACE's additions on sb3-contrib's TQC and CrossQ (ACETQC, ACECrossQ), and what every ACE learner shares with ACE:
bit for bit the learner with the additions off, the causal weights in each learner's three losses, the soft reset of
each learner's networks, save/load, and the constructor checks of every argument ACE adds."""

import inspect
import math
from pathlib import Path

import numpy as np
import pytest
import torch as th
from sb3_contrib import TQC, CrossQ
from sb3_contrib.common.torch_layers import BatchRenorm
from stable_baselines3 import SAC
from stable_baselines3.common.env_util import make_vec_env
from torch import nn
from torch.nn import functional as F

from sb3_ace import ACE, ACETQC, ACECrossQ, DormantResetCallback
from sb3_ace.common.algorithm import ACEAdditions
from sb3_ace.common.policies import CausalActorMixin
from tests.helpers import (
    SMALL,
    LinearRewardEnv,
    assert_losses_follow_the_weights,
    assert_save_load_round_trip,
    copy_of,
    params_equal,
    policy_draws,
    prepare_loss_check,
    restore_and_sample,
    sample_and_causal_log_prob,
)

NO_ADDITIONS = dict(causal_method=None, reset_mode=None)
ACE_LEARNERS = [(ACE, SAC), (ACETQC, TQC), (ACECrossQ, CrossQ)]
CONTRIB_LEARNERS = ACE_LEARNERS[1:]
ALGORITHMS = [ace for ace, _ in ACE_LEARNERS]


def ids(value: object) -> str:
    return value.__name__ if isinstance(value, type) else str(value)


@pytest.mark.parametrize("ace_class, learner_class", CONTRIB_LEARNERS, ids=ids)
def test_is_its_learner_with_a_causal_actor(ace_class, learner_class):
    model = ace_class("MlpPolicy", LinearRewardEnv(), **SMALL)
    assert isinstance(model, learner_class)
    assert isinstance(model.actor, CausalActorMixin)
    np.testing.assert_array_equal(model.causal_weights, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("ace_class, learner_class", CONTRIB_LEARNERS, ids=ids)
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        dict(use_sde=True),
        dict(n_steps=3),
        dict(ent_coef=0.1, train_freq=(2, "step"), gradient_steps=2),
        dict(policy_kwargs=dict(net_arch=[16, 16], n_critics=3)),
    ],
)
def test_additions_off_train_exactly_like_the_learner(ace_class, learner_class, kwargs):
    settings = {**SMALL, **kwargs}
    ace = ace_class("MlpPolicy", "Pendulum-v1", **NO_ADDITIONS, **settings).learn(200)
    learner = learner_class("MlpPolicy", "Pendulum-v1", **settings).learn(200)
    assert params_equal(ace, learner)  # parameters and buffers (CrossQ's BatchRenorm statistics too)
    assert ace._n_updates == learner._n_updates
    if ace.log_ent_coef is not None:
        assert th.equal(ace.log_ent_coef, learner.log_ent_coef)


def test_tqc_target_update_interval_is_kept():
    settings = dict(**SMALL, target_update_interval=3, train_freq=(4, "step"), gradient_steps=4)
    ace = ACETQC("MlpPolicy", "Pendulum-v1", **NO_ADDITIONS, **settings).learn(200)
    tqc = TQC("MlpPolicy", "Pendulum-v1", **settings).learn(200)
    assert params_equal(ace, tqc)


def quantile_huber_loss_by_hand(current: th.Tensor, target: th.Tensor) -> th.Tensor:
    """TQC's critic loss: rho_tau(delta) = |tau - 1{delta < 0}| * huber(delta), averaged over batch, critics, current
    and target quantiles. current (batch, n_critics, n_quantiles), target (batch, n_target)."""
    n_quantiles = current.shape[2]
    tau = (th.arange(n_quantiles, dtype=th.float32) + 0.5) / n_quantiles  # quantile midpoints
    delta = target[:, None, None, :] - current[:, :, :, None]  # (batch, n_critics, n_quantiles, n_target)
    huber = th.where(delta.abs() > 1, delta.abs() - 0.5, 0.5 * delta**2)
    return ((tau[None, None, :, None] - (delta < 0).float()).abs() * huber).mean()


def test_fixed_causal_weights_reach_tqcs_three_losses():
    """One TQC update's temperature, quantile critic and actor losses equal an independent computation with
    w = [2.5, 0.25, 0.25], and differ from it with w = 1."""
    model = ACETQC("MlpPolicy", LinearRewardEnv(), **NO_ADDITIONS, **SMALL)
    weights = th.tensor([2.5, 0.25, 0.25])
    before, log_alpha, rng_state, logged = prepare_loss_check(model, weights)

    def losses(w: th.Tensor) -> dict[str, float]:
        with th.no_grad():
            d = policy_draws(model, before.actor, log_alpha, rng_state, w)
            next_z = before.critic_target(d.data.next_observations, d.next_actions).reshape(32, -1)  # (batch, N * M)
            n_kept = next_z.shape[1] - model.top_quantiles_to_drop_per_net * model.critic.n_critics
            next_z = next_z.sort(dim=1).values[:, :n_kept]  # drop the largest
            target = d.data.rewards + (1 - d.data.dones) * model.gamma * (next_z - d.alpha * d.next_log_prob)
            critic_loss = quantile_huber_loss_by_hand(before.critic(d.data.observations, d.data.actions), target)
            # the actor's loss takes the critics after their update: the model's now; Q = mean over all quantiles
            q_pi = model.critic(d.data.observations, d.actions_pi).mean(dim=(1, 2)).reshape(-1, 1)
            actor_loss = (d.alpha * d.log_prob - q_pi).mean()
        return {
            "train/ent_coef_loss": d.temperature_loss.item(),
            "train/critic_loss": critic_loss.item(),
            "train/actor_loss": actor_loss.item(),
        }

    assert_losses_follow_the_weights(logged, losses, weights)


def test_fixed_causal_weights_reach_crossqs_three_losses():
    """One CrossQ update (policy_delay=1: actor and temperature too) with w = [2.5, 0.25, 0.25]: the critic loss from
    the joint BatchRenorm pass, the temperature and actor losses, each equal to an independent computation."""
    model = ACECrossQ("MlpPolicy", LinearRewardEnv(), policy_delay=1, **NO_ADDITIONS, **SMALL)
    weights = th.tensor([2.5, 0.25, 0.25])
    before, log_alpha, rng_state, logged = prepare_loss_check(model, weights)

    def losses(w: th.Tensor) -> dict[str, float]:
        policy = copy_of(before)  # the passes below update BatchRenorm statistics, as the update's did
        data = restore_and_sample(model, rng_state)  # after copy_of, whose new networks draw from torch's generator
        with th.no_grad():
            alpha = log_alpha.exp()
            policy.actor.set_bn_training_mode(False)  # a' from the running statistics
            next_actions, next_log_prob = sample_and_causal_log_prob(policy.actor, data.next_observations, w)
            policy.critic.set_bn_training_mode(True)  # (s, a) and (s', a') through the critics in one batch
            joint = policy.critic(th.cat([data.observations, data.next_observations]), th.cat([data.actions, next_actions]))
            q, next_q = th.cat(joint, dim=1).split(32)  # (batch, n_critics) each
            target = data.rewards + (1 - data.dones) * model.gamma * (
                next_q.min(dim=1, keepdim=True).values - alpha * next_log_prob
            )
            critic_loss = 0.5 * sum(F.mse_loss(q[:, [k]], target) for k in range(q.shape[1]))
            policy.actor.set_bn_training_mode(True)
            actions_pi, log_prob = sample_and_causal_log_prob(policy.actor, data.observations, w)
            temperature_loss = -(log_alpha * (log_prob + model.target_entropy)).mean()
            # the critics after their update (the model's now), in BatchRenorm eval mode
            model.critic.set_bn_training_mode(False)
            q_pi = th.cat(model.critic(data.observations, actions_pi), dim=1).min(dim=1, keepdim=True).values
            actor_loss = (alpha * log_prob - q_pi).mean()
        return {
            "train/ent_coef_loss": temperature_loss.item(),
            "train/critic_loss": float(critic_loss),
            "train/actor_loss": actor_loss.item(),
        }

    assert_losses_follow_the_weights(logged, losses, weights)


def linear_layers(module: nn.Module) -> list[nn.Linear]:
    return [layer for layer in module.modules() if isinstance(layer, nn.Linear)]


def reset_now(model: ACE | ACETQC | ACECrossQ, retention: float) -> None:
    """One soft reset with retention ``retention``, now."""
    model.reset_mode = "causal_reset"  # the retention needs no gradient in this mode
    model.reset_retention_bounds = (retention, retention)
    callback = DormantResetCallback()
    callback.init_callback(model)
    assert callback.reset_networks() == retention


def test_tqc_reset_gives_quantile_critics_and_target_their_own_fresh_copy():
    settings = {**SMALL, "policy_kwargs": dict(net_arch=[16, 16], linear_init="xavier_uniform")}
    model = ACETQC("MlpPolicy", LinearRewardEnv(), **settings).learn(SMALL["learning_starts"] + 20)
    reset_now(model, retention=0.0)
    critic, target = linear_layers(model.critic), linear_layers(model.critic_target)
    assert len(critic) == len(target) == 2 * 3  # n_critics x (2 hidden + 1 output of n_quantiles)
    assert critic[2].out_features == model.critic.n_quantiles
    for layer in [*critic, *target, *linear_layers(model.actor)]:
        assert th.count_nonzero(layer.bias) == 0  # lam = 0: exactly the fresh xavier copy, zero biases
    assert not any(th.equal(c.weight, t.weight) for c, t in zip(critic, target, strict=True))  # drawn separately
    assert all(not optimizer.state for optimizer in (model.actor.optimizer, model.critic.optimizer))


@pytest.mark.parametrize("retention", [0.0, 0.5])
def test_crossq_reset_interpolates_batch_renorm_affine_and_keeps_its_statistics(retention):
    model = ACECrossQ("MlpPolicy", LinearRewardEnv(), **SMALL)
    model.learn(SMALL["learning_starts"] + 20)
    renorms = [layer for module in (model.actor, model.critic) for layer in module.modules() if isinstance(layer, BatchRenorm)]
    assert renorms
    with th.no_grad():
        for layer in renorms:  # move the affine parameters away from their fresh values (1, 0)
            layer.scale.fill_(3.0)
            layer.bias.fill_(2.0)
    statistics = [(layer.ra_mean.clone(), layer.ra_var.clone(), int(layer.steps)) for layer in renorms]
    reset_now(model, retention)
    for layer, (mean, var, steps) in zip(renorms, statistics, strict=True):
        th.testing.assert_close(layer.scale, th.full_like(layer.scale, retention * 3.0 + (1 - retention)))
        th.testing.assert_close(layer.bias, th.full_like(layer.bias, retention * 2.0))
        assert th.equal(layer.ra_mean, mean) and th.equal(layer.ra_var, var) and int(layer.steps) == steps
    assert not hasattr(model.policy, "critic_target")
    assert all(not optimizer.state for optimizer in (model.actor.optimizer, model.critic.optimizer))


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=ids)
def test_reset_comes_after_the_train_call_that_ran_the_scheduled_update(algorithm, monkeypatch):
    reset_after = []
    reset_networks = DormantResetCallback.reset_networks

    def recording_reset(self):
        reset_after.append(self.model._n_updates - 1)  # index of the update just done
        return reset_networks(self)

    monkeypatch.setattr(DormantResetCallback, "reset_networks", recording_reset)
    model = algorithm(
        "MlpPolicy",
        LinearRewardEnv(),
        train_freq=(10, "step"),
        gradient_steps=10,  # one train() call does 10 updates
        causal_method=None,
        reset_interval=8,
        reset_start=0,
        **SMALL,
    )
    model.learn(SMALL["learning_starts"] + 30)
    assert model._n_updates == 30  # three calls: updates 0-9, 10-19, 20-29
    assert reset_after == [9, 19, 29]  # after the calls that ran updates 8, 16 and 24 (train() is the learner's own)


@pytest.mark.parametrize("algorithm", [ACETQC, ACECrossQ], ids=ids)
@pytest.mark.parametrize("kwargs", [{}, dict(use_sde=True), dict(reset_mode="causal_reset", action_units="env")])
def test_training_with_causal_fits_and_resets(algorithm, kwargs):
    model = algorithm(
        "MlpPolicy",
        LinearRewardEnv(action_bound=2.0),
        causal_sample_size=100,
        causal_interval=100,
        reset_interval=50,
        reset_start=0,
        **SMALL,
        **kwargs,
    ).learn(300)
    assert model.num_causal_fits == 3 and model.num_resets == 4  # fits at 100, 200, 300 steps; resets after updates 50 ... 200
    assert model.causal_weights.sum() == pytest.approx(3.0) and model.causal_weights[0] > 1.0  # a_0 drives r most
    assert all(th.isfinite(value).all() for value in model.policy.state_dict().values())


@pytest.mark.parametrize("ace_class, learner_class", CONTRIB_LEARNERS, ids=ids)
def test_save_load_round_trip_with_weights_counters_and_recent_transitions(ace_class, learner_class, tmp_path):
    model = ace_class("MlpPolicy", LinearRewardEnv(), causal_sample_size=100, causal_interval=100, reset_interval=50, **SMALL)
    model.reset_start = 0
    model.learn(250)
    loaded = assert_save_load_round_trip(model, tmp_path, LinearRewardEnv())
    assert (loaded.num_causal_fits, loaded.num_resets, loaded.reset_start) == (2, 3, 0)


@pytest.mark.parametrize("ace_class, learner_class", CONTRIB_LEARNERS, ids=ids)
def test_load_a_model_saved_by_the_learner(ace_class, learner_class, tmp_path):
    learner = learner_class("MlpPolicy", "Pendulum-v1", **SMALL).learn(100)
    learner.save(tmp_path / "learner")
    model = ace_class.load(tmp_path / "learner", env=learner.get_env())
    assert isinstance(model.actor, CausalActorMixin)
    obs = np.stack([model.observation_space.sample() for _ in range(10)])
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], learner.predict(obs, deterministic=True)[0])
    model.learn(100, reset_num_timesteps=False)
    assert model.num_timesteps == 200


# Every argument an ACE learner adds to its learner's, and the bad values each must reject with an error naming it
ADDED_ARGUMENTS = {
    ACE: ["policy_delay"],  # ACE's own update schedule; CrossQ's policy_delay is CrossQ's
    ACETQC: [],
    ACECrossQ: [],
}
SHARED_ARGUMENTS = [
    "random_action_steps",
    "action_units",
    "causal_sample_size",
    "causal_interval",
    "causal_method",
    "standardize_causal_effects",
    "reset_mode",
    "reset_interval",
    "reset_start",
    "dormant_threshold",
    "reset_retention_bounds",
    "reset_init",
]
# None means "off" or "the default" for these, on purpose
NONE_ACCEPTED = {"random_action_steps", "causal_method", "reset_mode", "reset_init"}
BAD_VALUES = [None, 2.5, "x", math.nan, -1]


@pytest.mark.parametrize(
    "algorithm, argument",
    [(algorithm, argument) for algorithm in ALGORITHMS for argument in ADDED_ARGUMENTS[algorithm] + SHARED_ARGUMENTS],
    ids=ids,
)
@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_every_added_argument_rejects_bad_values_by_name(algorithm, argument, value):
    if value is None and argument in NONE_ACCEPTED:
        algorithm("MlpPolicy", LinearRewardEnv(), **{argument: value})
        return
    with pytest.raises((TypeError, ValueError), match=argument):
        algorithm("MlpPolicy", LinearRewardEnv(), **{argument: value})


def test_ace_settings_are_declared_once():
    """ACE's settings and their defaults are ACEAdditions' keyword arguments only: no learner declares them again, so the
    learners cannot disagree on a default."""
    shared = {
        name: parameter.default
        for name, parameter in inspect.signature(ACEAdditions.__init__).parameters.items()
        if parameter.kind is parameter.KEYWORD_ONLY
    }
    assert sorted(shared) == sorted(SHARED_ARGUMENTS)
    assert "__init__" not in vars(ACETQC) and "__init__" not in vars(ACECrossQ)
    assert [
        name for name in inspect.signature(vars(ACE)["__init__"]).parameters if name not in ("self", "args", "kwargs")
    ] == ["policy_delay"]
    for algorithm, (_, learner) in zip(ALGORITHMS, ACE_LEARNERS, strict=True):
        signature = inspect.signature(algorithm).parameters  # what help() and the docs show: the learner's, then ACE's
        assert list(signature)[: len(inspect.signature(learner).parameters)] == list(inspect.signature(learner).parameters)
        assert {name: signature[name].default for name in shared} == shared


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=ids)
def test_a_setting_changed_between_learn_calls_is_checked_when_learn_starts(algorithm):
    model = algorithm("MlpPolicy", LinearRewardEnv(), **SMALL)
    model.causal_interval = 0
    with pytest.raises(ValueError, match="causal_interval must be a positive number"):
        model.learn(10)
    model.causal_interval = 100
    model.reset_retention_bounds = (0.9, 0.2)
    with pytest.raises(ValueError, match="reset_retention_bounds"):
        model.learn(10)


@pytest.mark.parametrize("algorithm, name", [(ACE, "ace"), (ACETQC, "ace_tqc"), (ACECrossQ, "ace_crossq")], ids=ids)
def test_load_a_model_saved_before_the_settings_moved_to_the_model(algorithm, name):
    """Saved at 51546ee (sb3-ace 0.1.0 + the TQC and CrossQ learners): counters under their old names."""
    model = algorithm.load(Path(__file__).parent / "data" / f"{name}_main_51546ee_pendulum.zip", device="cpu")
    obs = np.linspace(-1, 1, 9, dtype=np.float32).reshape(3, 3)
    saved_actions = {  # predicted at 51546ee
        "ace": [[-0.033620595932006836], [-0.12225556373596191], [-0.06911253929138184]],
        "ace_tqc": [[0.026778459548950195], [-0.10415816307067871], [-0.09002947807312012]],
        "ace_crossq": [[0.011399030685424805], [-0.1501861810684204], [-0.13281786441802979]],
    }[name]
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], np.array(saved_actions, dtype=np.float32))
    assert (model.num_causal_fits, model.num_causal_fits, model.num_failed_causal_fits, model.num_resets) == (2, 2, 0, 1)
    assert "causal_fits" not in model.__dict__ and model.reset_interval == 40 and model.dormant_ratio is None
    model.set_env(make_vec_env("Pendulum-v1"))
    model.learn(50, reset_num_timesteps=False)
    assert model.num_timesteps == 180
