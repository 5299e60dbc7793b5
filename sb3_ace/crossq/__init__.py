from sb3_ace.crossq.crossq import ACECrossQ
from sb3_ace.crossq.policies import MlpPolicy

__all__ = ["ACECrossQ", "MlpPolicy"]
