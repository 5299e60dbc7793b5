"""Policies for ACE: SAC's policies with an actor whose log-probability is causality-aware (paper, section 4.2; see
:mod:`sb3_ace.common.policies` for what every ACE policy adds to its learner's).

Two options make the authors' networks expressible through ``policy_kwargs`` (with the defaults, the networks are
SAC's): ``activation_fn`` may be a list with one activation per hidden layer (the authors: ELU, ReLU, ReLU), and
``linear_init`` picks how every ``nn.Linear`` is initialised (the authors: ``"xavier_uniform"``, zero biases).
"""

from collections.abc import Sequence
from typing import Any

from stable_baselines3.common.policies import BasePolicy, ContinuousCritic
from stable_baselines3.sac import policies as sac_policies
from stable_baselines3.sac.policies import Actor, SACPolicy
from torch import nn

from sb3_ace.common.policies import ACEPolicyMixin, CausalActorMixin

Activations = type[nn.Module] | Sequence[type[nn.Module]]
"""One activation class for every hidden layer (SB3's ``activation_fn``), or one per hidden layer."""


def set_layer_activations(mlp: nn.Sequential, activation_fn: Activations) -> None:
    """
    Give each hidden layer of an MLP built by SB3's ``create_mlp`` its own activation, in place.

    :param mlp: ``[Linear, activation, Linear, activation, ..., (Linear)]``, as ``create_mlp`` builds it
    :param activation_fn: one activation class (nothing to do: ``create_mlp`` used it) or one per hidden layer
    :raises ValueError: the number of activations is not the number of hidden layers
    """
    if isinstance(activation_fn, type):
        return
    positions = [i for i, module in enumerate(mlp) if not isinstance(module, nn.Linear)]
    if len(positions) != len(activation_fn):
        raise ValueError(
            f"policy_kwargs activation_fn has {len(activation_fn)} activations for {len(positions)} hidden layers: "
            "give one per layer of net_arch, or a single class for all"
        )
    for position, activation in zip(positions, activation_fn, strict=True):
        mlp[position] = activation()


def first_activation(activation_fn: Activations) -> type[nn.Module]:
    """The activation class SB3's ``create_mlp`` is given to build the layers (replaced per layer afterwards)."""
    if isinstance(activation_fn, type):
        return activation_fn
    return activation_fn[0] if len(activation_fn) else nn.ReLU


class CausalActor(CausalActorMixin, Actor):
    """
    SAC's actor with per-action-dimension causal weights on its log-probability
    (:class:`~sb3_ace.common.policies.CausalActorMixin`).

    Same parameters as :class:`stable_baselines3.sac.policies.Actor`; ``activation_fn`` may also be a list, one
    activation per hidden layer.
    """

    def __init__(self, activation_fn: Activations = nn.ReLU, **kwargs: Any) -> None:
        super().__init__(activation_fn=first_activation(activation_fn), **kwargs)
        set_layer_activations(self.latent_pi, activation_fn)
        self.activation_fn = activation_fn  # type: ignore[assignment]  # saved as given, to re-create the actor


class LayerwiseCritic(ContinuousCritic):
    """
    SAC's critics (``n_critics`` Q-networks), with ``activation_fn`` that may also be a list, one per hidden layer.
    Same parameters as :class:`stable_baselines3.common.policies.ContinuousCritic`.
    """

    def __init__(self, activation_fn: Activations = nn.ReLU, **kwargs: Any) -> None:
        super().__init__(activation_fn=first_activation(activation_fn), **kwargs)
        for q_net in self.q_networks:
            set_layer_activations(q_net, activation_fn)  # type: ignore[arg-type]


class ACEPolicy(ACEPolicyMixin, SACPolicy):
    """
    Policy class (actor and critics) for ACE: SAC's, with a :class:`CausalActor`.

    Same parameters as :class:`stable_baselines3.sac.policies.SACPolicy`, and:

    - ``activation_fn`` may be a list of activation classes, one per hidden layer of ``net_arch`` (actor and
      critics alike), e.g. the authors' ``[nn.ELU, nn.ReLU, nn.ReLU]``;
    - ``linear_init``: how every ``nn.Linear`` of actor and critics is initialised
      (:class:`~sb3_ace.common.policies.ACEPolicyMixin`), e.g. the authors' ``"xavier_uniform"``.
    """

    actor_class = CausalActor
    actor: CausalActor

    def make_critic(self, features_extractor: Any = None) -> LayerwiseCritic:
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return LayerwiseCritic(**critic_kwargs).to(self.device)


MlpPolicy = ACEPolicy


class CnnPolicy(ACEPolicy, sac_policies.CnnPolicy):
    """
    Policy class for ACE on image observations (NatureCNN features by default).
    Same parameters as :class:`stable_baselines3.sac.policies.CnnPolicy`.
    """


class MultiInputPolicy(ACEPolicy, sac_policies.MultiInputPolicy):
    """
    Policy class for ACE on Dict observations (CombinedExtractor features by default).
    Same parameters as :class:`stable_baselines3.sac.policies.MultiInputPolicy`.
    """


SAC_TO_ACE_POLICY: dict[type[BasePolicy], type[BasePolicy]] = {
    sac_policies.SACPolicy: MlpPolicy,
    sac_policies.CnnPolicy: CnnPolicy,
    sac_policies.MultiInputPolicy: MultiInputPolicy,
}
"""SAC's policy classes and ACE's counterparts (``ACE.load`` takes a model saved by SAC)."""
