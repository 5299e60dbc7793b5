"""Policies for ACECrossQ: CrossQ's policy (sb3-contrib) with an actor whose log-probability is causality-aware (ACE
paper, section 4.2; see :mod:`sb3_ace.common.policies`). The BatchRenorm critics are CrossQ's, unchanged."""

from sb3_contrib.crossq import policies as crossq_policies
from stable_baselines3.common.policies import BasePolicy

from sb3_ace.common.policies import ACEPolicyMixin, CausalActorMixin


class CrossQCausalActor(CausalActorMixin, crossq_policies.Actor):
    """
    CrossQ's actor (with BatchRenorm layers) with per-action-dimension causal weights on its log-probability
    (:class:`~sb3_ace.common.policies.CausalActorMixin`). Same parameters as :class:`sb3_contrib.crossq.policies.Actor`.
    """


class ACECrossQPolicy(ACEPolicyMixin, crossq_policies.CrossQPolicy):
    """
    Policy class (actor and BatchRenorm critics, no target network) for ACECrossQ: CrossQ's, with a
    :class:`CrossQCausalActor`. Same parameters as :class:`sb3_contrib.crossq.policies.CrossQPolicy`, and
    ``linear_init`` (:class:`~sb3_ace.common.policies.ACEPolicyMixin`).
    """

    actor_class = CrossQCausalActor
    actor: CrossQCausalActor


MlpPolicy = ACECrossQPolicy

CROSSQ_TO_ACE_POLICY: dict[type[BasePolicy], type[BasePolicy]] = {crossq_policies.CrossQPolicy: MlpPolicy}
"""CrossQ's policy class and ACECrossQ's counterpart (``ACECrossQ.load`` takes a model saved by CrossQ)."""
