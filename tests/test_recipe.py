"""A fourth ACE learner built by the recipe of docs/api.md (its policies and its class line, nothing else), on a
DroQ-style SAC (Hiraoka et al., "Dropout Q-Functions for Doubly Efficient Reinforcement Learning", ICLR 2022,
https://arxiv.org/abs/2110.02034): critics with dropout and LayerNorm, several gradient updates per env step. It must
pass the checks ACE, ACETQC and ACECrossQ pass: bit for bit its learner with the additions off, the weights in its
losses, fits and resets on schedule (the reset reaching its LayerNorm layers), and a save/load round trip."""

from typing import Any

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import SAC
from stable_baselines3.common.policies import ContinuousCritic
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.sac.policies import Actor, SACPolicy
from torch import nn

from sb3_ace import DormantResetCallback
from sb3_ace.common.algorithm import ACEAdditions
from sb3_ace.common.dormancy import resettable_networks
from sb3_ace.common.policies import ACEPolicyMixin, CausalActorMixin
from tests.helpers import (
    SMALL,
    LinearRewardEnv,
    assert_losses_follow_the_weights,
    assert_save_load_round_trip,
    params_equal,
    prepare_loss_check,
    sac_losses_by_hand,
)

# --- The learner: a DroQ-style SAC, as a user would have it ---


class DroQCritic(ContinuousCritic):
    """SAC's critics whose Q-networks are Linear -> Dropout -> LayerNorm -> activation per hidden layer."""

    def __init__(
        self,
        *,
        net_arch: list[int],
        features_dim: int,
        n_critics: int = 2,
        activation_fn: type[nn.Module] = nn.ReLU,
        dropout_rate: float = 0.01,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            net_arch=net_arch, features_dim=features_dim, n_critics=n_critics, activation_fn=activation_fn, **kwargs
        )
        self.q_networks = []
        for index in range(n_critics):
            layers: list[nn.Module] = []
            size = features_dim + get_action_dim(self.action_space)
            for width in net_arch:
                layers += [nn.Linear(size, width), nn.Dropout(dropout_rate), nn.LayerNorm(width), activation_fn()]
                size = width
            q_net = nn.Sequential(*layers, nn.Linear(size, 1))
            self.add_module(f"qf{index}", q_net)  # in place of SAC's
            self.q_networks.append(q_net)


class DroQPolicy(SACPolicy):
    def make_critic(self, features_extractor: nn.Module | None = None) -> DroQCritic:
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return DroQCritic(**critic_kwargs).to(self.device)


class DroQ(SAC):
    """SAC with DroQ's critics, four gradient updates per env step by default."""

    policy_aliases = {"MlpPolicy": DroQPolicy}  # noqa: RUF012 (as SB3 declares them)

    def __init__(self, policy: Any, env: Any, gradient_steps: int = 4, **kwargs: Any) -> None:
        super().__init__(policy, env, gradient_steps=gradient_steps, **kwargs)


# --- ACE's additions on it: the recipe, nothing more ---


class DroQCausalActor(CausalActorMixin, Actor):
    pass


class ACEDroQPolicy(ACEPolicyMixin, DroQPolicy):
    actor_class = DroQCausalActor


class ACEDroQ(ACEAdditions, DroQ):
    policy_aliases = {"MlpPolicy": ACEDroQPolicy}  # noqa: RUF012
    learner_policies = {DroQPolicy: ACEDroQPolicy}  # noqa: RUF012


NO_ADDITIONS = dict(causal_method=None, reset_mode=None)


def layer_norms(model: ACEDroQ) -> list[nn.LayerNorm]:
    return [layer for layer in [*model.critic.modules(), *model.critic_target.modules()] if isinstance(layer, nn.LayerNorm)]


@pytest.mark.parametrize("kwargs", [{}, dict(gradient_steps=3, train_freq=(2, "step")), dict(use_sde=True)])
def test_additions_off_train_exactly_like_the_learner(kwargs):
    ace = ACEDroQ("MlpPolicy", "Pendulum-v1", **NO_ADDITIONS, **SMALL, **kwargs).learn(120)
    droq = DroQ("MlpPolicy", "Pendulum-v1", **SMALL, **kwargs).learn(120)
    assert isinstance(ace.policy.critic, DroQCritic) and isinstance(ace.actor, CausalActorMixin)
    assert ace._n_updates == droq._n_updates > 70  # several updates per env step
    assert params_equal(ace, droq)
    assert th.equal(ace.log_ent_coef, droq.log_ent_coef)


def test_fixed_causal_weights_reach_the_three_losses():
    """One update's temperature, critic (through dropout, in training mode) and actor losses equal an independent
    computation with w = [2.5, 0.25, 0.25], and differ from it with w = 1."""
    model = ACEDroQ("MlpPolicy", LinearRewardEnv(), **NO_ADDITIONS, **SMALL)
    weights = th.tensor([2.5, 0.25, 0.25])
    before, log_alpha, rng_state, logged = prepare_loss_check(model, weights)
    before.set_training_mode(True)  # the update's mode: dropout on in the critics (not in the target)

    assert_losses_follow_the_weights(logged, sac_losses_by_hand(model, before, log_alpha, rng_state), weights)


def test_fits_and_resets_on_schedule_and_the_reset_reaches_layer_norm(monkeypatch):
    reset_after = []
    reset_networks = DormantResetCallback.reset_networks

    def recording_reset(self: DormantResetCallback) -> float:
        norms = [(layer.weight.clone(), layer.bias.clone()) for layer in layer_norms(self.model)]
        networks = resettable_networks(self.model.policy)
        before = {(i, name): param.clone() for i, net in enumerate(networks) for name, param in net.named_parameters()}
        lam = reset_networks(self)
        reset_after.append(self.model._n_updates - 1)
        after = {(i, name): param for i, net in enumerate(networks) for name, param in net.named_parameters()}
        assert [key for key, param in after.items() if th.equal(param, before[key])] == []  # every parameter moved
        for layer, (weight, bias) in zip(layer_norms(self.model), norms, strict=True):  # towards 1 and 0
            th.testing.assert_close(layer.weight, lam * weight + (1 - lam) * th.ones_like(weight))
            th.testing.assert_close(layer.bias, lam * bias)
        return lam

    monkeypatch.setattr(DormantResetCallback, "reset_networks", recording_reset)
    model = ACEDroQ(
        "MlpPolicy", LinearRewardEnv(), causal_sample_size=100, causal_interval=100, reset_interval=100, reset_start=0, **SMALL
    )
    with th.no_grad():
        for layer in layer_norms(model):  # away from their fresh values, so that a reset moves them
            layer.weight.fill_(2.0)
            layer.bias.fill_(1.0)
    model.learn(300)
    assert model._n_updates == 4 * 250  # 4 per env step after learning_starts
    assert model.num_causal_fits == 3  # at 100, 200, 300 env steps
    assert reset_after == [103, 203, 303, 403, 503, 603, 703, 803, 903]  # the calls that ran updates 100, 200, ...
    assert model.num_resets == 9 and 0.2 <= model.reset_retention <= 0.9
    assert model.causal_weights.sum() == pytest.approx(3.0) and np.argmax(model.causal_weights) == 0  # a_0 drives r


def test_save_load_round_trip(tmp_path):
    model = ACEDroQ("MlpPolicy", LinearRewardEnv(), causal_sample_size=100, causal_interval=100, reset_interval=100, **SMALL)
    model.reset_start = 0
    model.learn(150)
    loaded = assert_save_load_round_trip(model, tmp_path, LinearRewardEnv())
    assert (loaded.num_causal_fits, loaded.num_resets) == (1, 3)
    assert isinstance(loaded.policy.critic, DroQCritic)


def test_a_layer_the_reset_cannot_reinitialise_is_refused_at_construction():
    class Scaled(nn.Module):  # a learned scale, of a type the soft reset does not know
        def __init__(self, size: int) -> None:
            super().__init__()
            self.scale = nn.Parameter(th.ones(size))

        def forward(self, x: th.Tensor) -> th.Tensor:
            return x * self.scale

    class ScaledFeatures(BaseFeaturesExtractor):
        def __init__(self, observation_space: spaces.Box) -> None:
            super().__init__(observation_space, int(np.prod(observation_space.shape)))
            self.scaled = Scaled(self.features_dim)

        def forward(self, observations: th.Tensor) -> th.Tensor:
            return self.scaled(observations)

    policy_kwargs = dict(net_arch=[16], features_extractor_class=ScaledFeatures)
    with pytest.raises(ValueError, match=r"reset_mode: the soft reset cannot reinitialise layer 'features_extractor.scaled'"):
        ACEDroQ("MlpPolicy", "Pendulum-v1", policy_kwargs=policy_kwargs)
    ACEDroQ("MlpPolicy", "Pendulum-v1", policy_kwargs=policy_kwargs, reset_mode=None)  # no reset, nothing to refuse
