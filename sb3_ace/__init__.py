"""sb3-ace: ACE (Off-Policy Actor-Critic with Causality-Aware Entropy Regularization) for Stable-Baselines3."""

from sb3_ace.ace import ACE
from sb3_ace.causal_discovery import CausalDiscoveryError, estimate_causal_weights
from sb3_ace.causal_weights import CausalWeightCallback
from sb3_ace.dormancy import DormantResetCallback
from sb3_ace.finite_check import NonFiniteEnvDataError
from sb3_ace.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

__version__ = "0.1.0"

__all__ = [
    "ACE",
    "CausalDiscoveryError",
    "CausalWeightCallback",
    "CnnPolicy",
    "DormantResetCallback",
    "MlpPolicy",
    "MultiInputPolicy",
    "NonFiniteEnvDataError",
    "estimate_causal_weights",
]
