"""sb3-ace: ACE (Off-Policy Actor-Critic with Causality-Aware Entropy Regularization) for Stable-Baselines3, on SAC
(``ACE``) and on sb3-contrib's TQC (``ACETQC``) and CrossQ (``ACECrossQ``)."""

import sys

from sb3_ace.ace import ACE, CnnPolicy, MlpPolicy, MultiInputPolicy
from sb3_ace.ace import policies as _ace_policies
from sb3_ace.common.causal_discovery import CausalDiscoveryError, estimate_causal_weights
from sb3_ace.common.causal_weights import CausalWeightCallback
from sb3_ace.common.dormancy import DormantResetCallback
from sb3_ace.common.finite_check import NonFiniteEnvDataError
from sb3_ace.crossq import ACECrossQ
from sb3_ace.tqc import ACETQC

# Models saved by sb3-ace 0.1.0 name their policy class as sb3_ace.policies.<name>, where ACE's policies were then
sys.modules.setdefault("sb3_ace.policies", _ace_policies)

__version__ = "0.1.0"

__all__ = [
    "ACE",
    "ACETQC",
    "ACECrossQ",
    "CausalDiscoveryError",
    "CausalWeightCallback",
    "CnnPolicy",
    "DormantResetCallback",
    "MlpPolicy",
    "MultiInputPolicy",
    "NonFiniteEnvDataError",
    "estimate_causal_weights",
]
