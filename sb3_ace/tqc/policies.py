"""Policies for ACETQC: TQC's policies (sb3-contrib) with an actor whose log-probability is causality-aware (ACE paper,
section 4.2; see :mod:`sb3_ace.common.policies`). The quantile critics are TQC's, unchanged."""

from sb3_contrib.tqc import policies as tqc_policies
from stable_baselines3.common.policies import BasePolicy

from sb3_ace.common.policies import ACEPolicyMixin, CausalActorMixin


class TQCCausalActor(CausalActorMixin, tqc_policies.Actor):
    """
    TQC's actor with per-action-dimension causal weights on its log-probability
    (:class:`~sb3_ace.common.policies.CausalActorMixin`).
    Same parameters as :class:`sb3_contrib.tqc.policies.Actor`.
    """


class ACETQCPolicy(ACEPolicyMixin, tqc_policies.TQCPolicy):
    """
    Policy class (actor and quantile critics) for ACETQC: TQC's, with a :class:`TQCCausalActor`.
    Same parameters as :class:`sb3_contrib.tqc.policies.TQCPolicy`, and ``linear_init``
    (:class:`~sb3_ace.common.policies.ACEPolicyMixin`).
    """

    actor_class = TQCCausalActor
    actor: TQCCausalActor


MlpPolicy = ACETQCPolicy


class CnnPolicy(ACETQCPolicy, tqc_policies.CnnPolicy):
    """
    Policy class for ACETQC on image observations (NatureCNN features by default).
    Same parameters as :class:`sb3_contrib.tqc.policies.CnnPolicy`.
    """


class MultiInputPolicy(ACETQCPolicy, tqc_policies.MultiInputPolicy):
    """
    Policy class for ACETQC on Dict observations (CombinedExtractor features by default).
    Same parameters as :class:`sb3_contrib.tqc.policies.MultiInputPolicy`.
    """


TQC_TO_ACE_POLICY: dict[type[BasePolicy], type[BasePolicy]] = {
    tqc_policies.TQCPolicy: MlpPolicy,
    tqc_policies.CnnPolicy: CnnPolicy,
    tqc_policies.MultiInputPolicy: MultiInputPolicy,
}
"""TQC's policy classes and ACETQC's counterparts (``ACETQC.load`` takes a model saved by TQC)."""
