"""
ACE as an algorithm of RL Baselines3 Zoo (rl-zoo3 2.9.2), which has no plugin mechanism.

rl-zoo3's scripts look algorithms up in one dict, ``rl_zoo3.utils.ALGOS``, that ``rl_zoo3``, ``train``, ``enjoy``,
``record_video``, ``exp_manager`` and the hub scripts all imported by name: the same object everywhere. Optuna's
samplers and converters live likewise in ``rl_zoo3.hyperparams_opt.HYPERPARAMS_SAMPLER`` and
``HYPERPARAMS_CONVERTER``, imported by ``exp_manager``. :func:`register` adds ``"ace"`` to these dicts in place, the
pattern of the SBX project: rl-zoo3 itself stays untouched. ``python -m sb3_ace.train`` (``enjoy``,
``record_video``) call it for you; in your own copy of an rl-zoo3 script, call it at the top.
"""

from pathlib import Path
from typing import Any

import optuna
from rl_zoo3.hyperparams_opt import HYPERPARAMS_CONVERTER, HYPERPARAMS_SAMPLER, convert_offpolicy_params, sample_sac_params
from rl_zoo3.utils import ALGOS

from sb3_ace.ace import ACE

HYPERPARAMS_FILE = Path(__file__).parent / "hyperparams" / "ace.yml"
"""ACE's hyperparameters for rl-zoo3, the authors' configuration (pass it as ``--conf-file`` to an rl-zoo3 train script
of your own)."""
SAC_SIZED_HYPERPARAMS_FILE = Path(__file__).parent / "hyperparams" / "ace_sac.yml"
"""ACE's SAC-sized hyperparameters for rl-zoo3: rl-zoo3's SAC settings plus ACE's schedule, for CPUs."""
HYPERPARAMS_FAMILIES = {"paper": HYPERPARAMS_FILE, "sac": SAC_SIZED_HYPERPARAMS_FILE}
"""The hyperparameter files ``python -m sb3_ace.train --hyperparams-family`` chooses from."""


def sample_ace_params(trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]) -> dict[str, Any]:
    """
    Optuna sampler for ACE: rl-zoo3's SAC sampler (gamma, batch size, learning rate, train frequency, tau, network
    size) plus ACE's own schedule: the causal step's interval ``I`` and sample size ``N_c``, the soft reset's
    interval ``R`` and its mode. The values are ACE's constructor arguments, so rl-zoo3's off-policy converter
    turns a trial's parameters back into hyperparameters unchanged (``--trial-id``).

    :param trial: the trial to sample for
    :param n_actions: number of action dimensions (rl-zoo3's sampler signature)
    :param n_envs: number of environments (rl-zoo3's sampler signature)
    :param additional_args: rl-zoo3's extra sampler arguments (HER replay buffer settings)
    :return: ACE's keyword arguments for this trial
    """
    hyperparams = sample_sac_params(trial, n_actions, n_envs, additional_args)
    hyperparams.update(
        causal_interval=trial.suggest_categorical("causal_interval", [1_000, 2_000, 5_000, 10_000, 20_000, 50_000]),
        causal_sample_size=trial.suggest_categorical("causal_sample_size", [1_000, 2_000, 5_000, 10_000, 20_000]),
        reset_interval=trial.suggest_categorical("reset_interval", [10_000, 25_000, 50_000, 100_000, 200_000]),
        reset_mode=trial.suggest_categorical("reset_mode", ["reset", "causal_reset"]),
    )
    return hyperparams


def register() -> None:
    """
    Make ``ace`` an rl-zoo3 algorithm: ``ALGOS["ace"]`` is :class:`~sb3_ace.ACE` (so ``--algo ace`` is accepted by
    every rl-zoo3 script called afterwards), ``HYPERPARAMS_SAMPLER["ace"]`` is :func:`sample_ace_params` and
    ``HYPERPARAMS_CONVERTER["ace"]`` rl-zoo3's off-policy converter (``-optimize``, ``--trial-id``).

    Idempotent: calling it again changes nothing. rl-zoo3 has no ``hyperparams/ace.yml`` of its own: give a script
    of your own ``--conf-file`` :data:`HYPERPARAMS_FILE` (``python -m sb3_ace.train`` adds it by itself).
    """
    ALGOS["ace"] = ACE
    HYPERPARAMS_SAMPLER["ace"] = sample_ace_params
    HYPERPARAMS_CONVERTER["ace"] = convert_offpolicy_params
