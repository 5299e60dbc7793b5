from sb3_ace.tqc.policies import CnnPolicy, MlpPolicy, MultiInputPolicy
from sb3_ace.tqc.tqc import ACETQC

__all__ = ["ACETQC", "CnnPolicy", "MlpPolicy", "MultiInputPolicy"]
