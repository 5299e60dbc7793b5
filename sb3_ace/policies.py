"""Policies for ACE: SAC's policies with an actor whose log-probability is causality-aware (paper, section 4.2).

The only change to SAC's policy is :meth:`CausalActor.action_log_prob`, which returns the causal
log-probability ``log pi_c(a|s) = sum_i w_i * l_i`` instead of ``sum_i l_i``. SAC uses ``action_log_prob`` in the
critic target, the actor loss and the temperature loss, so all three become causality-aware.
"""

from typing import Any

import torch as th
from stable_baselines3.common.distributions import (
    SquashedDiagGaussianDistribution,
    StateDependentNoiseDistribution,
)
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.type_aliases import PyTorchObs
from stable_baselines3.sac import policies as sac_policies
from stable_baselines3.sac.policies import Actor, SACPolicy


def causal_log_prob(
    action_dist: SquashedDiagGaussianDistribution | StateDependentNoiseDistribution,
    actions: th.Tensor,
    weights: th.Tensor,
) -> th.Tensor:
    """
    Causality-aware log-probability of squashed actions just sampled from ``action_dist``.

    Per action dimension, with pre-squash Gaussian sample ``u`` and ``a = tanh(u)``::

        l_i = log N(u_i; mu_i, sigma_i) - log(1 - tanh(u_i)^2 + eps)
        log pi_c(a|s) = sum_i w_i * l_i

    Written as ``sum_i w_i * log N_i - sum_i w_i * squash_i``, in the same order of operations as SB3's
    log-probability, so that with ``w = 1`` the result is SAC's, bit for bit.

    :param action_dist: the distribution the actions were sampled from (squashed Gaussian or squashed gSDE)
    :param actions: the squashed actions ``a``, shape ``(batch, action_dim)``
    :param weights: the causal weights ``w``, shape ``(action_dim,)``, constants (no gradient)
    :return: ``log pi_c(a|s)``, shape ``(batch,)``
    """
    if isinstance(action_dist, StateDependentNoiseDistribution):
        bijector = action_dist.bijector
        gaussian_actions = bijector.inverse(actions) if bijector is not None else actions  # u
        squash_correction = bijector.log_prob_correction(gaussian_actions) if bijector is not None else None
    else:
        gaussian_actions = action_dist.gaussian_actions  # u, kept by the distribution when sampling
        squash_correction = th.log(1 - actions**2 + action_dist.epsilon)  # log(1 - tanh(u)^2 + eps)
    log_normal = action_dist.distribution.log_prob(gaussian_actions)  # log N(u_i; mu_i, sigma_i), per dimension
    log_prob = th.sum(weights * log_normal, dim=1)
    if squash_correction is not None:
        log_prob = log_prob - th.sum(weights * squash_correction, dim=1)
    return log_prob


class CausalActor(Actor):
    """
    SAC's actor with per-action-dimension causal weights on its log-probability.

    The weights live in the buffer ``causal_weights`` (shape ``(action_dim,)``, all 1 at construction, which makes
    the actor SAC's), move with the module between devices and are saved with the policy's parameters.
    Same parameters as :class:`stable_baselines3.sac.policies.Actor`.
    """

    causal_weights: th.Tensor

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("causal_weights", th.ones(get_action_dim(self.action_space)))

    def action_log_prob(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor]:
        mean_actions, log_std, kwargs = self.get_action_dist_params(obs)
        actions = self.action_dist.actions_from_params(mean_actions, log_std, **kwargs)
        return actions, causal_log_prob(self.action_dist, actions, self.causal_weights)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        # Parameters saved by plain SAC have no causal weights: keep the current ones (all 1 on a new model)
        state_dict.setdefault(prefix + "causal_weights", self.causal_weights.clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class ACEPolicy(SACPolicy):
    """
    Policy class (actor and critics) for ACE: SAC's, with a :class:`CausalActor`.
    Same parameters as :class:`stable_baselines3.sac.policies.SACPolicy`.
    """

    actor: CausalActor

    def make_actor(self, features_extractor: Any = None) -> CausalActor:
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return CausalActor(**actor_kwargs).to(self.device)


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
