"""Policies for ACE: SAC's policies with an actor whose log-probability is causality-aware (paper, section 4.2).

The change to SAC's policy that ACE needs is :meth:`CausalActor.action_log_prob`, which returns the causal
log-probability ``log pi_c(a|s) = sum_i w_i * l_i`` instead of ``sum_i l_i``. SAC uses ``action_log_prob`` in the
critic target, the actor loss and the temperature loss, so all three become causality-aware.

Two options make the authors' networks expressible through ``policy_kwargs`` (with the defaults, the networks are
SAC's): ``activation_fn`` may be a list with one activation per hidden layer (the authors: ELU, ReLU, ReLU), and
``linear_init`` picks how every ``nn.Linear`` is initialised (the authors: ``"xavier_uniform"``, zero biases).
"""

from collections.abc import Sequence
from typing import Any, Literal, get_args

import torch as th
from stable_baselines3.common.distributions import (
    SquashedDiagGaussianDistribution,
    StateDependentNoiseDistribution,
)
from stable_baselines3.common.policies import ContinuousCritic
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.type_aliases import PyTorchObs
from stable_baselines3.sac import policies as sac_policies
from stable_baselines3.sac.policies import Actor, SACPolicy
from torch import nn

LinearInit = Literal["default", "xavier_uniform", "orthogonal"]
"""How an ``nn.Linear`` is (re)initialised: ``"default"`` is PyTorch's own (Kaiming-uniform weights, uniform biases:
what SB3's SAC networks get), ``"xavier_uniform"`` and ``"orthogonal"`` draw the weights with gain 1 and set the
biases to zero (the authors initialise with the first and draw their soft reset's fresh copy with the second)."""
LINEAR_INITS: tuple[LinearInit, ...] = get_args(LinearInit)

SQUASH_EPSILON = 1e-6
"""The ``eps`` of the squash term ``log(1 - tanh(u)^2 + eps)``: SB3's and the authors'."""

Activations = type[nn.Module] | Sequence[type[nn.Module]]
"""One activation class for every hidden layer (SB3's ``activation_fn``), or one per hidden layer."""


def init_linear(layer: nn.Linear, scheme: LinearInit) -> None:
    """
    Initialise ``layer`` in place with ``scheme`` (see :data:`LinearInit`).

    :param layer: the layer; its parameter tensors stay the same objects (optimizers keep referring to them)
    :param scheme: ``"default"``, ``"xavier_uniform"`` or ``"orthogonal"``
    """
    if scheme == "default":
        layer.reset_parameters()
        return
    draw = nn.init.xavier_uniform_ if scheme == "xavier_uniform" else nn.init.orthogonal_
    with th.no_grad():
        draw(layer.weight, gain=1.0)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


def check_linear_init(scheme: object, name: str) -> None:
    """Raise a ``ValueError`` naming the parameter ``name`` unless ``scheme`` is a :data:`LinearInit`."""
    if scheme not in LINEAR_INITS:
        raise ValueError(f"{name} must be one of {LINEAR_INITS}, got {scheme!r}")


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


def causal_log_prob(
    action_dist: SquashedDiagGaussianDistribution | StateDependentNoiseDistribution,
    actions: th.Tensor,
    weights: th.Tensor,
    action_scale: th.Tensor | None = None,
) -> th.Tensor:
    """
    Causality-aware log-probability of squashed actions just sampled from ``action_dist``.

    Per action dimension, with pre-squash Gaussian sample ``u`` and ``a = tanh(u)``::

        l_i = log N(u_i; mu_i, sigma_i) - log(1 - tanh(u_i)^2 + eps)
        log pi_c(a|s) = sum_i w_i * l_i

    Written as ``sum_i w_i * log N_i - sum_i w_i * squash_i``, in the same order of operations as SB3's
    log-probability, so that with ``w = 1`` the result is SAC's, bit for bit. With ``action_scale``, the squash term
    is the density's change of variables to the env's own units ``scale * a + bias`` (the authors' form):
    ``log(scale_i * (1 - tanh(u_i)^2) + eps)``.

    :param action_dist: the distribution the actions were sampled from (squashed Gaussian or squashed gSDE)
    :param actions: the squashed actions ``a``, shape ``(batch, action_dim)``
    :param weights: the causal weights ``w``, shape ``(action_dim,)``, constants (no gradient)
    :param action_scale: ``(high - low) / 2`` of the env's action space, shape ``(action_dim,)``, or ``None`` for
        SB3's [-1, 1] units
    :return: ``log pi_c(a|s)``, shape ``(batch,)``
    """
    squash_correction: th.Tensor | None
    if isinstance(action_dist, StateDependentNoiseDistribution):
        bijector = action_dist.bijector
        gaussian_actions = bijector.inverse(actions) if bijector is not None else actions  # u
        squash_correction = bijector.log_prob_correction(gaussian_actions) if bijector is not None else None
    else:
        assert action_dist.gaussian_actions is not None, "the actions must come from action_dist's last sample"
        gaussian_actions = action_dist.gaussian_actions  # u, kept by the distribution when sampling
        squash_correction = th.log(1 - actions**2 + action_dist.epsilon)  # log(1 - tanh(u)^2 + eps)
    if action_scale is not None:
        squash_correction = th.log(action_scale * (1 - actions**2) + SQUASH_EPSILON)  # log(scale (1 - tanh(u)^2) + eps)
    log_normal = action_dist.distribution.log_prob(gaussian_actions)  # log N(u_i; mu_i, sigma_i), per dimension
    log_prob = th.sum(weights * log_normal, dim=1)
    if squash_correction is not None:
        log_prob = log_prob - th.sum(weights * squash_correction, dim=1)
    return log_prob


class CausalActor(Actor):
    """
    SAC's actor with per-action-dimension causal weights on its log-probability.

    The weights live in the buffer ``causal_weights`` (shape ``(action_dim,)``, all 1 at construction, which makes
    the actor SAC's), move with the module between devices and are saved with the policy's parameters. The buffer
    ``action_scale`` (``None``, or the env's ``(high - low) / 2``: set by :class:`~sb3_ace.ACE` from its
    ``action_units``, not saved) puts the squash term in the env's units.

    Same parameters as :class:`stable_baselines3.sac.policies.Actor`; ``activation_fn`` may also be a list, one
    activation per hidden layer.
    """

    causal_weights: th.Tensor
    action_scale: th.Tensor | None

    def __init__(self, activation_fn: Activations = nn.ReLU, **kwargs: Any) -> None:
        super().__init__(activation_fn=first_activation(activation_fn), **kwargs)
        set_layer_activations(self.latent_pi, activation_fn)
        self.activation_fn = activation_fn  # type: ignore[assignment]  # saved as given, to re-create the actor
        self.register_buffer("causal_weights", th.ones(get_action_dim(self.action_space)))
        self.register_buffer("action_scale", None, persistent=False)

    def action_log_prob(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor]:
        mean_actions, log_std, kwargs = self.get_action_dist_params(obs)
        # kwargs holds gSDE's latent features (typed loosely by SB3, as in its own Actor.action_log_prob)
        actions = self.action_dist.actions_from_params(mean_actions, log_std, **kwargs)  # type: ignore[arg-type]
        return actions, causal_log_prob(self.action_dist, actions, self.causal_weights, self.action_scale)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        # Parameters saved by plain SAC have no causal weights: keep the current ones (all 1 on a new model)
        state_dict.setdefault(prefix + "causal_weights", self.causal_weights.clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class LayerwiseCritic(ContinuousCritic):
    """
    SAC's critics (``n_critics`` Q-networks), with ``activation_fn`` that may also be a list, one per hidden layer.
    Same parameters as :class:`stable_baselines3.common.policies.ContinuousCritic`.
    """

    def __init__(self, activation_fn: Activations = nn.ReLU, **kwargs: Any) -> None:
        super().__init__(activation_fn=first_activation(activation_fn), **kwargs)
        for q_net in self.q_networks:
            set_layer_activations(q_net, activation_fn)  # type: ignore[arg-type]


class ACEPolicy(SACPolicy):
    """
    Policy class (actor and critics) for ACE: SAC's, with a :class:`CausalActor`.

    Same parameters as :class:`stable_baselines3.sac.policies.SACPolicy`, and:

    - ``activation_fn`` may be a list of activation classes, one per hidden layer of ``net_arch`` (actor and
      critics alike), e.g. the authors' ``[nn.ELU, nn.ReLU, nn.ReLU]``;
    - ``linear_init``: how every ``nn.Linear`` of actor and critics is initialised (:data:`LinearInit`):
      ``"default"`` (PyTorch's, as in SB3's SAC), ``"xavier_uniform"`` (the authors') or ``"orthogonal"``; the
      critic target starts as a copy of the critic either way.
    """

    actor: CausalActor

    def __init__(self, *args: Any, linear_init: LinearInit = "default", **kwargs: Any) -> None:
        check_linear_init(linear_init, "policy_kwargs linear_init")
        self.linear_init = linear_init  # before SACPolicy.__init__, which builds the networks
        super().__init__(*args, **kwargs)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        if self.linear_init != "default":  # PyTorch's default is what the layers were built with
            for module in (self.actor, self.critic):
                for layer in module.modules():
                    if isinstance(layer, nn.Linear):
                        init_linear(layer, self.linear_init)
            self.critic_target.load_state_dict(self.critic.state_dict())

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "linear_init": self.linear_init}

    def make_actor(self, features_extractor: Any = None) -> CausalActor:
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return CausalActor(**actor_kwargs).to(self.device)

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


SAC_TO_ACE_POLICY: dict[type[SACPolicy], type[ACEPolicy]] = {
    sac_policies.SACPolicy: MlpPolicy,
    sac_policies.CnnPolicy: CnnPolicy,
    sac_policies.MultiInputPolicy: MultiInputPolicy,
}
