"""What ACE adds to the policies of a maximum-entropy learner (ACE paper, section 4.2): an actor whose log-probability is
causality-aware, and a choice of how every ``nn.Linear`` is initialised (which the soft reset draws its fresh copy with).

The change to the learner's actor is :meth:`CausalActorMixin.action_log_prob`, which returns the causal log-probability
``log pi_c(a|s) = sum_i w_i * l_i`` instead of ``sum_i l_i``. SAC, TQC and CrossQ draw ``log pi`` only through
``actor.action_log_prob`` (critic target, actor loss, temperature loss), so all three losses become causality-aware
without touching the learner's update.
"""

from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

import torch as th
from stable_baselines3.common.distributions import (
    SquashedDiagGaussianDistribution,
    StateDependentNoiseDistribution,
)
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.type_aliases import PyTorchObs
from stable_baselines3.sac.policies import Actor
from torch import nn

LinearInit = Literal["default", "xavier_uniform", "orthogonal"]
"""How an ``nn.Linear`` is (re)initialised: ``"default"`` is PyTorch's own (Kaiming-uniform weights, uniform biases:
what SB3's and sb3-contrib's networks get), ``"xavier_uniform"`` and ``"orthogonal"`` draw the weights with gain 1 and
set the biases to zero (the authors initialise with the first and draw their soft reset's fresh copy with the second)."""
LINEAR_INITS: tuple[LinearInit, ...] = get_args(LinearInit)

SQUASH_EPSILON = 1e-6
"""The ``eps`` of the squash term ``log(1 - tanh(u)^2 + eps)``: SB3's and the authors'."""


def init_linear(layer: nn.Linear, scheme: LinearInit) -> None:
    """
    Initialise ``layer`` in place with ``scheme`` (see :data:`~sb3_ace.common.policies.LinearInit`).

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
    """Raise a ``ValueError`` naming the parameter ``name`` unless ``scheme`` is a :data:`LinearInit` value."""
    if scheme not in LINEAR_INITS:
        raise ValueError(f"{name} must be one of {LINEAR_INITS}, got {scheme!r}")


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
    log-probability, so that with ``w = 1`` the result is SB3's, bit for bit. With ``action_scale``, the squash term
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


# The actor interface the mixin relies on (SB3's SAC actor; TQC's and CrossQ's actors have the same one)
if TYPE_CHECKING:
    _ActorBase = Actor
else:
    _ActorBase = object


class CausalActorMixin(_ActorBase):
    """
    Per-action-dimension causal weights on the log-probability of a squashed-Gaussian actor (SAC's, TQC's, CrossQ's:
    any actor with ``get_action_dist_params`` and ``action_dist``). Put it first in the bases:
    ``class TQCCausalActor(CausalActorMixin, tqc.policies.Actor)``.

    The weights live in the buffer ``causal_weights`` (shape ``(action_dim,)``, all 1 at construction, which makes
    the actor the learner's), move with the module between devices and are saved with the policy's parameters. The
    buffer ``action_scale`` (``None``, or the env's ``(high - low) / 2``: set by the algorithm from its
    ``action_units``, not saved) puts the squash term in the env's units.
    """

    causal_weights: th.Tensor
    action_scale: th.Tensor | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("causal_weights", th.ones(get_action_dim(self.action_space)))
        self.register_buffer("action_scale", None, persistent=False)

    def action_log_prob(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor]:
        mean_actions, log_std, kwargs = self.get_action_dist_params(obs)
        # kwargs holds gSDE's latent features (typed loosely by SB3, as in its own Actor.action_log_prob)
        actions = self.action_dist.actions_from_params(mean_actions, log_std, **kwargs)  # type: ignore[arg-type]
        return actions, causal_log_prob(self.action_dist, actions, self.causal_weights, self.action_scale)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        # Parameters saved by the plain learner have no causal weights: keep the current ones (all 1 on a new model)
        state_dict.setdefault(prefix + "causal_weights", self.causal_weights.clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


if TYPE_CHECKING:
    _PolicyBase = BasePolicy
else:
    _PolicyBase = object


class ACEPolicyMixin(_PolicyBase):
    """
    The option every ACE policy adds to its learner's: ``linear_init``, how every ``nn.Linear`` of actor and critics is
    initialised (:data:`LinearInit`): ``"default"`` (PyTorch's, as in SB3 and sb3-contrib), ``"xavier_uniform"`` (the
    authors') or ``"orthogonal"``. A critic target, where the learner has one, starts as a copy of the critic either
    way. The soft reset draws its fresh copy the same way unless the algorithm's ``reset_init`` says otherwise.

    Put it first in the bases and name the learner's actor with causal weights:
    ``class ACETQCPolicy(ACEPolicyMixin, TQCPolicy): actor_class = TQCCausalActor``.
    """

    actor_class: ClassVar[type[CausalActorMixin]]
    """The learner's actor, with :class:`~sb3_ace.common.policies.CausalActorMixin` first in its bases."""
    # The learner's policy builds these (their classes differ from learner to learner)
    actor: Any
    critic: Any
    actor_kwargs: dict[str, Any]

    def __init__(self, *args: Any, linear_init: LinearInit = "default", **kwargs: Any) -> None:
        check_linear_init(linear_init, "policy_kwargs linear_init")
        self.linear_init = linear_init  # before the learner's __init__, which builds the networks
        super().__init__(*args, **kwargs)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)  # type: ignore[misc]  # every learner's policy has one
        if self.linear_init != "default":  # PyTorch's default is what the layers were built with
            for module in (self.actor, self.critic):
                for layer in module.modules():
                    if isinstance(layer, nn.Linear):
                        init_linear(layer, self.linear_init)
            critic_target = getattr(self, "critic_target", None)  # CrossQ has none
            if critic_target is not None:
                critic_target.load_state_dict(self.critic.state_dict())

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "linear_init": self.linear_init}

    def make_actor(self, features_extractor: Any = None) -> Any:  # the learner's actor class, with causal weights
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return self.actor_class(**actor_kwargs).to(self.device)
