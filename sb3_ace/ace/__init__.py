from sb3_ace.ace.ace import ACE
from sb3_ace.ace.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

__all__ = ["ACE", "CnnPolicy", "MlpPolicy", "MultiInputPolicy"]
