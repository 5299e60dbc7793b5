"""Write the intersphinx inventories the documentation links other projects' names with (``docs/conf.py``).

    pip install sphobjinv && python docs/_inventories/make_inventories.py

The documentation builds offline, so intersphinx reads these files instead of each project's ``objects.inv``: they
hold the names the pages and docstrings refer to, each with its page in that project's documentation. A name referred
to and missing here fails the build (it runs with ``-n``): add it below and run this script again.
"""

from pathlib import Path

import sphobjinv as soi

HERE = Path(__file__).parent

# project: (name, role, page#anchor relative to the project's documentation root; "$" stands for the name)
INVENTORIES: dict[str, list[tuple[str, str, str]]] = {
    "python": [
        ("collections.abc.Callable", "class", "library/collections.abc.html#$"),
        ("collections.abc.Iterable", "class", "library/collections.abc.html#$"),
    ],
    "numpy": [("numpy.ndarray", "class", "reference/generated/numpy.ndarray.html#$")],
    "torch": [
        ("torch.Tensor", "class", "tensors.html#$"),
        ("torch.device", "class", "tensor_attributes.html#$"),
        ("torch.nn.Module", "class", "generated/torch.nn.Module.html#$"),
        ("torch.nn.modules.module.Module", "class", "generated/torch.nn.Module.html#torch.nn.Module"),
    ],
    "gymnasium": [
        ("gymnasium.Env", "class", "api/env/#$"),
        ("gymnasium.core.Env", "class", "api/env/#gymnasium.Env"),
    ],
    "sb3": [
        ("stable_baselines3.common.noise.ActionNoise", "class", "common/noise.html#$"),
        ("stable_baselines3.common.buffers.ReplayBuffer", "class", "common/utils.html"),
        ("stable_baselines3.common.vec_env.VecEnv", "class", "guide/vec_envs.html#$"),
        ("VecEnv", "class", "guide/vec_envs.html#stable_baselines3.common.vec_env.VecEnv"),
        ("stable_baselines3.sac.policies.SACPolicy", "class", "modules/sac.html#stable_baselines3.sac.MlpPolicy"),
        ("stable_baselines3.sac.policies.CnnPolicy", "class", "modules/sac.html#stable_baselines3.sac.CnnPolicy"),
        (
            "stable_baselines3.sac.policies.MultiInputPolicy",
            "class",
            "modules/sac.html#stable_baselines3.sac.MultiInputPolicy",
        ),
        ("stable_baselines3.sac.policies.Actor", "class", "modules/sac.html"),
        ("stable_baselines3.common.distributions.SquashedDiagGaussianDistribution", "class", "common/distributions.html#$"),
        ("stable_baselines3.common.distributions.StateDependentNoiseDistribution", "class", "common/distributions.html#$"),
    ],
    "sb3_contrib": [
        ("sb3_contrib.tqc.policies.TQCPolicy", "class", "modules/tqc.html#sb3_contrib.tqc.MlpPolicy"),
        ("sb3_contrib.tqc.policies.CnnPolicy", "class", "modules/tqc.html#sb3_contrib.tqc.CnnPolicy"),
        ("sb3_contrib.tqc.policies.MultiInputPolicy", "class", "modules/tqc.html#sb3_contrib.tqc.MultiInputPolicy"),
        ("sb3_contrib.tqc.policies.Actor", "class", "modules/tqc.html"),
        ("sb3_contrib.crossq.policies.CrossQPolicy", "class", "modules/crossq.html#sb3_contrib.crossq.MlpPolicy"),
        ("sb3_contrib.crossq.policies.Actor", "class", "modules/crossq.html"),
    ],
}


def main() -> None:
    for project, names in INVENTORIES.items():
        inventory = soi.Inventory()
        inventory.project, inventory.version = project, ""
        for name, role, uri in names:
            inventory.objects.append(soi.DataObjStr(name=name, domain="py", role=role, priority="1", uri=uri, dispname="-"))
        soi.writebytes(HERE / f"{project}.inv", soi.compress(inventory.data_file(contract=True)))
        print(f"{project}.inv: {len(names)} names")


if __name__ == "__main__":
    main()
