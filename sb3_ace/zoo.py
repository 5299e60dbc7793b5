"""
ACE's three learners as algorithms of RL Baselines3 Zoo (rl-zoo3 2.9.2), which has no plugin mechanism.

rl-zoo3's scripts look algorithms up in one dict, ``rl_zoo3.utils.ALGOS``, that ``rl_zoo3``, ``train``, ``enjoy``,
``record_video``, ``exp_manager`` and the hub scripts all imported by name: the same object everywhere. Optuna's
samplers and converters live likewise in ``rl_zoo3.hyperparams_opt.HYPERPARAMS_SAMPLER`` and
``HYPERPARAMS_CONVERTER``, imported by ``exp_manager``. :func:`register` adds three keys to these dicts in place, the
pattern of the SBX project: rl-zoo3 itself stays untouched.

- ``ace``: :class:`~sb3_ace.ACE`, sampler :func:`sample_ace_params`, hyperparameters ``ace.yml`` (the authors') or
  ``ace_sac.yml`` (SAC-sized);
- ``ace_tqc``: :class:`~sb3_ace.ACETQC`, sampler :func:`sample_ace_tqc_params`, hyperparameters ``ace_tqc.yml``;
- ``ace_crossq``: :class:`~sb3_ace.ACECrossQ`, sampler :func:`sample_ace_crossq_params`, hyperparameters
  ``ace_crossq.yml``.

Each sampler is rl-zoo3's sampler for the underlying learner (for CrossQ, which has none in rl-zoo3 2.9.2,
:func:`sample_crossq_params`) plus ACE's schedule (:func:`sample_ace_schedule`), and each converter rl-zoo3's
off-policy one, so ``--trial-id`` gives a trial's settings back. ``python -m sb3_ace.train`` (``enjoy``,
``record_video``) call :func:`register` for you, and ``train`` adds the key's hyperparameters file; in your own copy of
an rl-zoo3 script, call it at the top and pass the file as ``--conf-file`` (:data:`HYPERPARAMS_FILES`).
"""

from pathlib import Path
from typing import Any

import optuna
from rl_zoo3.hyperparams_opt import (
    HYPERPARAMS_CONVERTER,
    HYPERPARAMS_SAMPLER,
    convert_offpolicy_params,
    sample_her_params,
    sample_sac_params,
    sample_tqc_params,
)
from rl_zoo3.utils import ALGOS

from sb3_ace.ace import ACE
from sb3_ace.crossq import ACECrossQ
from sb3_ace.tqc import ACETQC

_HYPERPARAMS_DIR = Path(__file__).parent / "hyperparams"
HYPERPARAMS_FILE = _HYPERPARAMS_DIR / "ace.yml"
"""ACE's hyperparameters for rl-zoo3, the authors' configuration (pass it as ``--conf-file`` to an rl-zoo3 train script
of your own)."""
SAC_SIZED_HYPERPARAMS_FILE = _HYPERPARAMS_DIR / "ace_sac.yml"
"""ACE's SAC-sized hyperparameters for rl-zoo3: rl-zoo3's SAC settings plus ACE's schedule, for CPUs."""
HYPERPARAMS_FAMILIES = {"paper": HYPERPARAMS_FILE, "sac": SAC_SIZED_HYPERPARAMS_FILE}
"""The files ``python -m sb3_ace.train --algo ace --hyperparams-family`` chooses from (``ace`` only: the other keys
have one file each)."""
TQC_HYPERPARAMS_FILE = _HYPERPARAMS_DIR / "ace_tqc.yml"
"""ACETQC's hyperparameters for rl-zoo3 (``ace_tqc``): rl-zoo3's TQC settings plus ACE's schedule."""
CROSSQ_HYPERPARAMS_FILE = _HYPERPARAMS_DIR / "ace_crossq.yml"
"""ACECrossQ's hyperparameters for rl-zoo3 (``ace_crossq``): rl-zoo3's CrossQ settings plus ACE's schedule."""
HYPERPARAMS_FILES = {"ace": HYPERPARAMS_FILE, "ace_tqc": TQC_HYPERPARAMS_FILE, "ace_crossq": CROSSQ_HYPERPARAMS_FILE}
"""Each key's default hyperparameters file (``ace``: the ``paper`` family), what ``python -m sb3_ace.train`` passes as
``--conf-file`` when none is given."""


def sample_ace_schedule(trial: optuna.Trial) -> dict[str, Any]:
    """
    ACE's own part of every ACE sampler: the causal step's interval ``I`` and sample size ``N_c``, the soft reset's
    interval ``R`` and its mode. The values are the learners' constructor arguments, which rl-zoo3's off-policy
    converter passes through unchanged.

    :param trial: the trial to sample for
    :return: ``causal_interval``, ``causal_sample_size``, ``reset_interval`` and ``reset_mode``
    """
    return {
        "causal_interval": trial.suggest_categorical("causal_interval", [1_000, 2_000, 5_000, 10_000, 20_000, 50_000]),
        "causal_sample_size": trial.suggest_categorical("causal_sample_size", [1_000, 2_000, 5_000, 10_000, 20_000]),
        "reset_interval": trial.suggest_categorical("reset_interval", [10_000, 25_000, 50_000, 100_000, 200_000]),
        "reset_mode": trial.suggest_categorical("reset_mode", ["reset", "causal_reset"]),
    }


def sample_ace_params(trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]) -> dict[str, Any]:
    """
    Optuna sampler for ACE (``ace``): rl-zoo3's SAC sampler (gamma, batch size, learning rate, train frequency, tau,
    network size) plus ACE's schedule (:func:`sample_ace_schedule`). rl-zoo3's off-policy converter turns a trial's
    parameters back into these hyperparameters (``--trial-id``).

    :param trial: the trial to sample for
    :param n_actions: number of action dimensions (rl-zoo3's sampler signature)
    :param n_envs: number of environments (rl-zoo3's sampler signature)
    :param additional_args: rl-zoo3's extra sampler arguments (HER replay buffer settings)
    :return: ACE's keyword arguments for this trial
    """
    return {**sample_sac_params(trial, n_actions, n_envs, additional_args), **sample_ace_schedule(trial)}


def sample_ace_tqc_params(trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]) -> dict[str, Any]:
    """
    Optuna sampler for ACETQC (``ace_tqc``): rl-zoo3's TQC sampler (SAC's search space plus the number of quantiles
    per critic and of top quantiles dropped per critic) plus ACE's schedule (:func:`sample_ace_schedule`).

    :param trial: the trial to sample for
    :param n_actions: number of action dimensions (rl-zoo3's sampler signature)
    :param n_envs: number of environments (rl-zoo3's sampler signature)
    :param additional_args: rl-zoo3's extra sampler arguments (HER replay buffer settings)
    :return: ACETQC's keyword arguments for this trial
    """
    return {**sample_tqc_params(trial, n_actions, n_envs, additional_args), **sample_ace_schedule(trial)}


def sample_crossq_params(trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]) -> dict[str, Any]:
    """
    Optuna sampler for CrossQ, which rl-zoo3 2.9.2 lacks (it trains ``crossq`` but cannot ``-optimize`` it): rl-zoo3's
    SAC sampler, with the same names and ranges, less ``tau`` (CrossQ has no target network) and plus CrossQ's
    ``policy_delay`` (1 to 3; sb3-contrib's default and rl-zoo3's MuJoCo setting is 3, its Pendulum setting 2).

    ``net_arch`` keeps the names of rl-zoo3's off-policy converter, one list for the actor and the critics: CrossQ's
    wide critics (sb3-contrib's default 1024x1024, rl-zoo3's MuJoCo 2048x2048) are not among them, as the authors'
    3x1024 networks are not among the SAC choices.

    :param trial: the trial to sample for
    :param n_actions: number of action dimensions (rl-zoo3's sampler signature)
    :param n_envs: number of environments (rl-zoo3's sampler signature)
    :param additional_args: rl-zoo3's extra sampler arguments (HER replay buffer settings)
    :return: CrossQ's keyword arguments for this trial
    """
    one_minus_gamma = trial.suggest_float("one_minus_gamma", 0.0001, 0.03, log=True)
    batch_size_pow = trial.suggest_int("batch_size_pow", 2, 11)
    learning_rate = trial.suggest_float("learning_rate", 1e-5, 0.002, log=True)
    train_freq = trial.suggest_int("train_freq", 1, 10)
    policy_delay = trial.suggest_int("policy_delay", 1, 3)
    net_arch = trial.suggest_categorical("net_arch", ["small", "medium", "big"])
    trial.set_user_attr("gamma", 1 - one_minus_gamma)
    trial.set_user_attr("batch_size", 2**batch_size_pow)
    hyperparams = {
        "one_minus_gamma": one_minus_gamma,
        "learning_rate": learning_rate,
        "batch_size_pow": batch_size_pow,
        "train_freq": train_freq,
        "policy_delay": policy_delay,
        "net_arch": net_arch,
    }
    if additional_args["using_her_replay_buffer"]:
        hyperparams = sample_her_params(trial, hyperparams, additional_args["her_kwargs"])
    return convert_offpolicy_params(hyperparams)


def sample_ace_crossq_params(
    trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]
) -> dict[str, Any]:
    """
    Optuna sampler for ACECrossQ (``ace_crossq``): :func:`sample_crossq_params` (rl-zoo3's SAC search space without
    ``tau``, with CrossQ's ``policy_delay``) plus ACE's schedule (:func:`sample_ace_schedule`).

    :param trial: the trial to sample for
    :param n_actions: number of action dimensions (rl-zoo3's sampler signature)
    :param n_envs: number of environments (rl-zoo3's sampler signature)
    :param additional_args: rl-zoo3's extra sampler arguments (HER replay buffer settings)
    :return: ACECrossQ's keyword arguments for this trial
    """
    return {**sample_crossq_params(trial, n_actions, n_envs, additional_args), **sample_ace_schedule(trial)}


def register() -> None:
    """
    Make ``ace``, ``ace_tqc`` and ``ace_crossq`` rl-zoo3 algorithms: ``ALGOS`` maps them to :class:`~sb3_ace.ACE`,
    :class:`~sb3_ace.ACETQC` and :class:`~sb3_ace.ACECrossQ` (so ``--algo ace_tqc`` is accepted by every rl-zoo3
    script called afterwards), ``HYPERPARAMS_SAMPLER`` to :func:`sample_ace_params`, :func:`sample_ace_tqc_params` and
    :func:`sample_ace_crossq_params`, and ``HYPERPARAMS_CONVERTER`` to rl-zoo3's off-policy converter (``-optimize``,
    ``--trial-id``).

    Idempotent: calling it again changes nothing. rl-zoo3 has no ``hyperparams/ace*.yml`` of its own: give a script of
    your own ``--conf-file`` with the key's file from :data:`HYPERPARAMS_FILES` (``python -m sb3_ace.train`` adds it by
    itself).
    """
    for key, learner, sampler in (
        ("ace", ACE, sample_ace_params),
        ("ace_tqc", ACETQC, sample_ace_tqc_params),
        ("ace_crossq", ACECrossQ, sample_ace_crossq_params),
    ):
        ALGOS[key] = learner
        HYPERPARAMS_SAMPLER[key] = sampler
        HYPERPARAMS_CONVERTER[key] = convert_offpolicy_params
