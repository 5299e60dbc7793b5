"""ACE as an rl-zoo3 algorithm: registration, the ``python -m sb3_ace.*`` entry points (run as users run them, in a
subprocess) and ACE's hyperparameters file."""

import argparse
import contextlib
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import optuna
import pytest
import rl_zoo3
import torch as th
import yaml
from rl_zoo3 import enjoy, exp_manager, hyperparams_opt, record_video, train, utils
from rl_zoo3.exp_manager import ExperimentManager
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.sac import policies as sac_policies
from torch import nn

import sb3_ace
from sb3_ace import ACE
from sb3_ace.policies import CausalActor
from sb3_ace.train import with_ace_hyperparams
from sb3_ace.zoo import HYPERPARAMS_FAMILIES, HYPERPARAMS_FILE, SAC_SIZED_HYPERPARAMS_FILE, register, sample_ace_params

REPO_ROOT = Path(sb3_ace.__file__).parent.parent
# Small enough for seconds of training; ACE's schedule scaled so that the causal step and the soft reset both run
TINY_PARAMS = [
    "--hyperparams-family",
    "sac",
    "-params",
    "learning_starts:50",
    "batch_size:32",
    "policy_kwargs:dict(net_arch=[16, 16])",
    "causal_interval:100",
    "causal_sample_size:100",
    "reset_interval:100",
    "reset_start:50",
]
ACE_KNOBS = ("causal_interval", "causal_sample_size", "reset_interval", "reset_mode")
FAMILIES = {family: yaml.safe_load(path.read_text()) for family, path in HYPERPARAMS_FAMILIES.items()}
SAC_SIZED = FAMILIES["sac"]


def run_script(script: str, *args: str, cwd: Path) -> str:
    """Run ``python -m sb3_ace.<script> *args`` on one thread, assert it succeeds and return its standard output."""
    python_path = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": python_path}
    result = subprocess.run(
        [sys.executable, "-m", f"sb3_ace.{script}", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"sb3_ace.{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A 300-step ACE run on Pendulum-v1 through ``python -m sb3_ace.train``: its log folder and its output."""
    log_folder = tmp_path_factory.mktemp("zoo")
    output = run_script(
        "train",
        *("--algo", "ace", "--env", "Pendulum-v1", "-n", "300", "--seed", "1", "-f", str(log_folder)),
        *("--eval-freq", "150", "--eval-episodes", "1", "--save-replay-buffer", *TINY_PARAMS),
        cwd=log_folder,
    )
    return log_folder, output


def test_register_is_idempotent_and_reaches_every_module() -> None:
    registries = (utils.ALGOS, hyperparams_opt.HYPERPARAMS_SAMPLER, hyperparams_opt.HYPERPARAMS_CONVERTER)
    register()
    after_first_call = [dict(registry) for registry in registries]
    register()
    assert after_first_call == [dict(registry) for registry in registries]
    # Every rl-zoo3 module that imported ALGOS by name sees ACE, and the other algorithms stay
    for module in (rl_zoo3, utils, train, enjoy, record_video, exp_manager):
        assert module.ALGOS["ace"] is ACE and module.ALGOS["sac"] is utils.ALGOS["sac"]
    assert exp_manager.HYPERPARAMS_SAMPLER["ace"] is sample_ace_params
    assert exp_manager.HYPERPARAMS_CONVERTER["ace"] is hyperparams_opt.convert_offpolicy_params


@pytest.mark.parametrize(
    ("argv", "adds_conf_file"),
    [
        (["--algo", "ace", "--env", "Pendulum-v1"], True),
        (["--env", "Pendulum-v1", "--algo=ace", "-params", "gamma:0.9"], True),
        (["--algo", "ace", "-conf", "my.yml"], False),
        (["--algo", "ace", "--conf-file=my.yml"], False),
        (["--algo", "sac", "--env", "Pendulum-v1"], False),
        ([], False),
    ],
)
def test_ace_hyperparams_file_is_the_default_for_ace_only(argv: list[str], adds_conf_file: bool) -> None:
    expected = [*argv, "--conf-file", str(HYPERPARAMS_FILE)] if adds_conf_file else argv
    assert with_ace_hyperparams(argv) == expected


def test_hyperparams_family_chooses_the_file() -> None:
    argv = ["--algo", "ace", "--env", "Pendulum-v1", "--hyperparams-family", "sac", "-n", "10"]
    assert with_ace_hyperparams(argv) == [*argv[:4], "-n", "10", "--conf-file", str(SAC_SIZED_HYPERPARAMS_FILE)]
    assert with_ace_hyperparams(["--algo=ace", "--hyperparams-family=paper"]) == [
        "--algo=ace",
        "--conf-file",
        str(HYPERPARAMS_FILE),
    ]


def test_train(trained_run: tuple[Path, str]) -> None:
    log_folder, output = trained_run
    assert f"Loading hyperparameters from: {SAC_SIZED_HYPERPARAMS_FILE}" in output
    run_folder = log_folder / "ace" / "Pendulum-v1_1"
    for name in ("Pendulum-v1.zip", "replay_buffer.pkl", "best_model.zip", "evaluations.npz", "0.monitor.csv"):
        assert (run_folder / name).is_file(), name
    config = yaml.load((run_folder / "Pendulum-v1" / "config.yml").read_text(), Loader=yaml.UnsafeLoader)
    assert config["causal_interval"] == 100 and config["reset_mode"] == SAC_SIZED["Pendulum-v1"]["reset_mode"]
    model = ACE.load(run_folder / "Pendulum-v1.zip")
    assert model.num_timesteps == 300
    # ACE's own callbacks ran beside rl-zoo3's: fits at 100, 200 and 300 steps, resets after updates 100 and 200
    assert model.causal_fits == 3
    assert model.num_resets == 2


def test_continue_training(trained_run: tuple[Path, str]) -> None:
    log_folder, _ = trained_run
    trained_agent = log_folder / "ace" / "Pendulum-v1_1" / "Pendulum-v1.zip"
    output = run_script(
        "train",
        *("--algo", "ace", "--env", "Pendulum-v1", "-n", "100", "--seed", "2", "-f", str(log_folder)),
        *("-i", str(trained_agent), "--eval-freq", "-1", "--save-replay-buffer", *TINY_PARAMS),
        cwd=log_folder,
    )
    assert "Loading pretrained agent" in output and "Loading replay buffer" in output
    run_folder = log_folder / "ace" / "Pendulum-v1_2"
    model = ACE.load(run_folder / "Pendulum-v1.zip")
    assert model.num_timesteps == 100
    model.load_replay_buffer(run_folder / "replay_buffer.pkl")
    assert isinstance(model.replay_buffer, ReplayBuffer)
    assert model.replay_buffer.size() == 300 + 100


def test_enjoy(trained_run: tuple[Path, str]) -> None:
    log_folder, _ = trained_run
    output = run_script(
        "enjoy",
        *("--algo", "ace", "--env", "Pendulum-v1", "-f", str(log_folder), "--exp-id", "1", "--no-render", "-n", "250"),
        cwd=log_folder,
    )
    assert "Loading" in output and "Pendulum-v1_1" in output
    assert "Mean reward:" in output and "1 Episodes" in output


def test_record_video_knows_ace(tmp_path: Path) -> None:
    # Recording needs a renderer (pygame or OpenGL); the script's parser is what ACE's registration changes
    assert re.search(r"--algo \{[\w,]*,ace[,}]", run_script("record_video", "--help", cwd=tmp_path))


def test_optimize_with_storage(tmp_path: Path) -> None:
    """Two processes add one trial each to the same study, as machines sharing a database would."""
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    for seed in ("1", "2"):
        run_script(
            "train",
            *("--algo", "ace", "--env", "Pendulum-v1", "-n", "150", "--seed", seed, "-f", str(tmp_path)),
            *("-optimize", "--n-trials", "1", "--n-evaluations", "1", "--eval-episodes", "1", "--sampler", "random"),
            *("--storage", storage, "--study-name", "ace-test", "--no-optim-plots", "--hyperparams-family", "sac"),
            *("-params", "learning_starts:100"),
            cwd=tmp_path,
        )
    trials = optuna.load_study(study_name="ace-test", storage=storage).trials
    assert len(trials) == 2
    assert all(trial.state == optuna.trial.TrialState.COMPLETE for trial in trials)
    assert all(set(ACE_KNOBS) <= set(trial.params) for trial in trials)
    assert list((tmp_path / "ace").glob("report_Pendulum-v1_*.csv"))
    register()
    # What --trial-id does with a trial: its parameters, converted back, are ACE's arguments
    hyperparams = hyperparams_opt.HYPERPARAMS_CONVERTER["ace"](trials[1].params)
    model = ACE("MlpPolicy", "Pendulum-v1", **hyperparams)
    assert all(getattr(model, knob) == trials[1].params[knob] for knob in ACE_KNOBS)


@pytest.mark.parametrize("path", HYPERPARAMS_FAMILIES.values())
def test_hyperparams_files_are_shared_with_the_repository_top(path: Path) -> None:
    assert (REPO_ROOT / "hyperparams" / path.name).resolve() == path.resolve()


def _register_optional_envs() -> None:
    """DeepMind Control and Meta-World ids, where their packages are installed (``--gym-packages`` in the scripts)."""
    for package in ("shimmy", "metaworld"):
        with contextlib.suppress(ImportError):
            importlib.import_module(package)


def build_entry(family: str, entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ACE:
    """rl-zoo3 reads the entry (anchors, wrappers, policy_kwargs, env_kwargs) and builds ACE from it, untrained."""
    monkeypatch.chdir(tmp_path)  # MuJoCo writes its warnings (MUJOCO_LOG.TXT) to the working directory
    register()
    _register_optional_envs()
    env_id = "MountainCarContinuous-v0" if entry == "default" else entry  # `default` is what other envs get
    if env_id not in gym.registry:
        pytest.skip(f"{env_id} is not installed")
    config = str(HYPERPARAMS_FAMILIES[family])
    manager = ExperimentManager(argparse.Namespace(), "ace", env_id, str(tmp_path), eval_freq=-1, config=config, verbose=0)
    results = manager.setup_experiment()
    assert results is not None
    model = results[0]
    assert isinstance(model, ACE) and isinstance(model.actor, CausalActor)
    return model


@pytest.mark.parametrize("entry", list(SAC_SIZED))
def test_sac_sized_entry_builds_an_ace_model(entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = build_entry("sac", entry, tmp_path, monkeypatch)
    for key in ("batch_size", "gamma", "learning_starts", "policy_delay", *ACE_KNOBS):
        if key in SAC_SIZED[entry]:
            assert getattr(model, key) == SAC_SIZED[entry][key], key
    assert model.policy_delay == 1 and model.action_units == "scaled" and model.policy.linear_init == "default"
    model.get_env().close()


# The authors' configuration, from their paper and code: what every entry of hyperparams/ace.yml must build
AUTHORS = {
    "learning_rate": 3e-4,
    "batch_size": 512,
    "buffer_size": 1_000_000,
    "learning_starts": 512,  # updates once the buffer holds more than 512 transitions
    "random_action_steps": 10_000,
    "gamma": 0.99,
    "tau": 0.005,
    "gradient_steps": 1,
    "policy_delay": 2,
    "target_update_interval": 1,
    "action_units": "env",
    "causal_method": "causal_learn",
    "causal_sample_size": 10_000,
    "causal_interval": 10_000,
    "reset_mode": "reset",
    "reset_interval": 100_000,
    "reset_start": 5_000,
    "dormant_threshold": 0.05,
    "reset_retention_bounds": [0.2, 0.9],
    "reset_init": "orthogonal",
}
AUTHORS_HIDDEN_LAYERS = [(1024, nn.ELU), (1024, nn.ReLU), (1024, nn.ReLU)]


def hidden_layers(mlp: nn.Sequential) -> list[tuple[int, type[nn.Module]]]:
    """(width, activation) of each hidden layer of an MLP [Linear, activation, ..., (Linear)]."""
    modules = list(mlp)
    return [(layer.out_features, type(modules[i + 1])) for i, layer in enumerate(modules[:-1]) if isinstance(layer, nn.Linear)]


@pytest.mark.parametrize("entry", list(FAMILIES["paper"]))
def test_authors_entry_is_the_authors_configuration(entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = build_entry("paper", entry, tmp_path, monkeypatch)
    built = {key: getattr(model, key) for key in AUTHORS}
    built["learning_rate"] = model.lr_schedule(1.0)  # SB3 keeps the rate as a schedule
    built["reset_retention_bounds"] = list(built["reset_retention_bounds"])
    assert built == AUTHORS
    assert model.lr_schedule(0.0) == AUTHORS["learning_rate"]  # constant
    assert model.train_freq.frequency == 1 and model.train_freq.unit.value == "step"  # one update per env step
    assert model.log_ent_coef is not None and model.log_ent_coef.item() == 0.0  # alpha learned, starting at 1
    assert model.target_entropy == -model.action_space.shape[0]
    # Networks: 3 x 1024, ELU then ReLU, ReLU, for the actor and each critic; xavier-uniform weights, zero biases
    assert hidden_layers(model.actor.latent_pi) == AUTHORS_HIDDEN_LAYERS
    assert all(hidden_layers(q_net) == AUTHORS_HIDDEN_LAYERS for q_net in model.critic.q_networks)
    assert model.policy.linear_init == "xavier_uniform"
    linear_layers = [m for net in (model.actor, model.critic) for m in net.modules() if isinstance(m, nn.Linear)]
    assert all(th.count_nonzero(layer.bias) == 0 for layer in linear_layers)
    # log-std clamped to [-20, 2], as SB3's SAC actor does
    assert (sac_policies.LOG_STD_MIN, sac_policies.LOG_STD_MAX) == (-20, 2)
    model.get_env().close()
