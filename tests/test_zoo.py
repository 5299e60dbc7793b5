"""ACE's learners as rl-zoo3 algorithms (``ace``, ``ace_tqc``, ``ace_crossq``): registration, the ``python -m
sb3_ace.*`` entry points (run as users run them, in a subprocess) and the hyperparameters files."""

import argparse
import contextlib
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

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
from sb3_ace import ACE, ACETQC, ACECrossQ
from sb3_ace import train as ace_train
from sb3_ace.ace.policies import CausalActor
from sb3_ace.common.policies import CausalActorMixin
from sb3_ace.train import with_ace_hyperparams
from sb3_ace.zoo import (
    CROSSQ_HYPERPARAMS_FILE,
    HYPERPARAMS_FAMILIES,
    HYPERPARAMS_FILE,
    HYPERPARAMS_FILES,
    SAC_SIZED_HYPERPARAMS_FILE,
    TQC_HYPERPARAMS_FILE,
    register,
    sample_ace_crossq_params,
    sample_ace_params,
    sample_ace_tqc_params,
)

REPO_ROOT = Path(sb3_ace.__file__).parent.parent
LEARNERS = {"ace": ACE, "ace_tqc": ACETQC, "ace_crossq": ACECrossQ}
SAMPLERS = {"ace": sample_ace_params, "ace_tqc": sample_ace_tqc_params, "ace_crossq": sample_ace_crossq_params}
# The file each key's tests train with: ACE's SAC-sized family, the others' only file
TEST_CONF_FILES = {"ace": SAC_SIZED_HYPERPARAMS_FILE, "ace_tqc": TQC_HYPERPARAMS_FILE, "ace_crossq": CROSSQ_HYPERPARAMS_FILE}
# Small enough for seconds of training; ACE's schedule scaled so that the causal step and the soft reset both run
TINY_PARAMS = [
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
# ACE's schedule as the SAC-sized file sets it, which ace_tqc.yml and ace_crossq.yml repeat
ACE_SCHEDULE = ("causal_method", "causal_sample_size", "causal_interval", "reset_mode", "reset_interval", "reset_start")
FAMILIES = {family: yaml.safe_load(path.read_text()) for family, path in HYPERPARAMS_FAMILIES.items()}
SAC_SIZED = FAMILIES["sac"]
# Goal-conditioned entries (HerReplayBuffer: seconds each to allocate its buffer) are built by tests/test_domains.py
NOT_GOAL_CONDITIONED = {
    family: [entry for entry, spec in entries.items() if "replay_buffer_class" not in spec]
    for family, entries in FAMILIES.items()
}
LEARNER_FILES = {algo: yaml.safe_load(HYPERPARAMS_FILES[algo].read_text()) for algo in ("ace_tqc", "ace_crossq")}


def family_args(algo: str) -> list[str]:
    """The tests' hyperparameters file for ``algo`` (ACE: the SAC-sized family; the others have one file)."""
    return ["--hyperparams-family", "sac"] if algo == "ace" else []


def run_script(script: str, *args: str, cwd: Path) -> str:
    """Run ``python -m sb3_ace.<script> *args`` on one thread, assert it succeeds and return its standard output."""
    python_path = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": python_path}
    result = subprocess.run(
        [sys.executable, "-m", f"sb3_ace.{script}", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"sb3_ace.{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module", params=list(LEARNERS))
def trained_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, str]:
    """A 300-step run on Pendulum-v1 through ``python -m sb3_ace.train`` (one per key): the key, its log folder and its
    output."""
    algo = request.param
    log_folder = tmp_path_factory.mktemp(f"zoo_{algo}")
    output = run_script(
        "train",
        *("--algo", algo, "--env", "Pendulum-v1", "-n", "300", "--seed", "1", "-f", str(log_folder)),
        *("--eval-freq", "150", "--eval-episodes", "1", "--save-replay-buffer", *family_args(algo), *TINY_PARAMS),
        cwd=log_folder,
    )
    return algo, log_folder, output


def test_register_is_idempotent_and_reaches_every_module() -> None:
    registries = (utils.ALGOS, hyperparams_opt.HYPERPARAMS_SAMPLER, hyperparams_opt.HYPERPARAMS_CONVERTER)
    register()
    after_first_call = [dict(registry) for registry in registries]
    register()
    assert after_first_call == [dict(registry) for registry in registries]
    # Every rl-zoo3 module that imported ALGOS by name sees ACE's learners, and the other algorithms stay
    for module in (rl_zoo3, utils, train, enjoy, record_video, exp_manager):
        assert all(module.ALGOS[algo] is learner for algo, learner in LEARNERS.items())
        assert module.ALGOS["sac"] is utils.ALGOS["sac"] and module.ALGOS["tqc"] is utils.ALGOS["tqc"]
    for algo, sampler in SAMPLERS.items():
        assert exp_manager.HYPERPARAMS_SAMPLER[algo] is sampler
        assert exp_manager.HYPERPARAMS_CONVERTER[algo] is hyperparams_opt.convert_offpolicy_params


@pytest.mark.parametrize(
    ("argv", "adds_conf_file"),
    [
        (["--algo", "ace", "--env", "Pendulum-v1"], True),
        (["--env", "Pendulum-v1", "--algo=ace", "-params", "gamma:0.9"], True),
        (["--algo", "ace", "-conf", "my.yml"], False),
        (["--algo", "ace", "--conf-file=my.yml"], False),
        (["--algo", "sac", "--env", "Pendulum-v1"], False),
        (["--algo", "tqc", "--env", "Pendulum-v1"], False),
        ([], False),
    ],
)
def test_ace_hyperparams_file_is_the_default_for_ace_only(argv: list[str], adds_conf_file: bool) -> None:
    expected = [*argv, "--conf-file", str(HYPERPARAMS_FILE)] if adds_conf_file else argv
    assert with_ace_hyperparams(argv) == expected


@pytest.mark.parametrize("algo", ["ace_tqc", "ace_crossq"])
def test_each_learner_has_its_hyperparams_file(algo: str) -> None:
    argv = ["--algo", algo, "--env", "Pendulum-v1"]
    assert with_ace_hyperparams(argv) == [*argv, "--conf-file", str(HYPERPARAMS_FILES[algo])]
    assert with_ace_hyperparams([f"--algo={algo}", "-conf", "my.yml"]) == [f"--algo={algo}", "-conf", "my.yml"]


def test_hyperparams_family_chooses_the_file() -> None:
    argv = ["--algo", "ace", "--env", "Pendulum-v1", "--hyperparams-family", "sac", "-n", "10"]
    assert with_ace_hyperparams(argv) == [*argv[:4], "-n", "10", "--conf-file", str(SAC_SIZED_HYPERPARAMS_FILE)]
    assert with_ace_hyperparams(["--algo=ace", "--hyperparams-family=paper"]) == [
        "--algo=ace",
        "--conf-file",
        str(HYPERPARAMS_FILE),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--algo", "ace_tqc", "--hyperparams-family", "sac"], "applies to --algo ace only"),
        (["--algo", "sac", "--hyperparams-family=paper"], "applies to --algo ace only"),
        (["--hyperparams-family", "sac"], "applies to --algo ace only"),  # rl-zoo3's default algorithm, PPO
        (["--algo", "ace", "--hyperparams-family", "sac", "-conf", "my.yml"], "give one of them"),
    ],
)
def test_hyperparams_family_is_refused_where_it_chooses_nothing(argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        with_ace_hyperparams(argv)


def test_help_lists_the_family_flag(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["sb3_ace.train", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        ace_train.main()
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert re.search(r"--algo \{[\w,]*,ace,ace_tqc,ace_crossq[,}]", out)  # rl-zoo3's help, with ACE's learners
    assert "--hyperparams-family {paper,sac}" in out and "--algo ace only" in out


def test_train(trained_run: tuple[str, Path, str]) -> None:
    algo, log_folder, output = trained_run
    assert f"Loading hyperparameters from: {TEST_CONF_FILES[algo]}" in output
    run_folder = log_folder / algo / "Pendulum-v1_1"
    for name in ("Pendulum-v1.zip", "replay_buffer.pkl", "best_model.zip", "evaluations.npz", "0.monitor.csv"):
        assert (run_folder / name).is_file(), name
    config = yaml.load((run_folder / "Pendulum-v1" / "config.yml").read_text(), Loader=yaml.UnsafeLoader)
    # The file's Pendulum-v1 entry, with the command line's -params over it
    entry = yaml.safe_load(TEST_CONF_FILES[algo].read_text())["Pendulum-v1"]
    overridden = {arg.split(":")[0] for arg in TINY_PARAMS[1:]}
    assert config["causal_interval"] == 100
    assert all(config[key] == value for key, value in entry.items() if key not in overridden)
    model = LEARNERS[algo].load(run_folder / "Pendulum-v1.zip")
    assert type(model) is LEARNERS[algo] and model.num_timesteps == 300
    # ACE's own callbacks ran beside rl-zoo3's: fits at 100, 200 and 300 steps, resets after updates 100 and 200
    assert model.num_causal_fits == 3
    assert model.num_resets == 2


@pytest.mark.parametrize("trained_run", ["ace"], indirect=True)  # the loading is rl-zoo3's and ACEAdditions', shared
def test_continue_training(trained_run: tuple[str, Path, str]) -> None:
    _, log_folder, _ = trained_run
    trained_agent = log_folder / "ace" / "Pendulum-v1_1" / "Pendulum-v1.zip"
    output = run_script(
        "train",
        *("--algo", "ace", "--env", "Pendulum-v1", "-n", "100", "--seed", "2", "-f", str(log_folder)),
        *("-i", str(trained_agent), "--eval-freq", "-1", "--save-replay-buffer", *family_args("ace"), *TINY_PARAMS),
        cwd=log_folder,
    )
    assert "Loading pretrained agent" in output and "Loading replay buffer" in output
    run_folder = log_folder / "ace" / "Pendulum-v1_2"
    model = ACE.load(run_folder / "Pendulum-v1.zip")
    assert model.num_timesteps == 100
    model.load_replay_buffer(run_folder / "replay_buffer.pkl")
    assert isinstance(model.replay_buffer, ReplayBuffer)
    assert model.replay_buffer.size() == 300 + 100


def test_enjoy(trained_run: tuple[str, Path, str]) -> None:
    algo, log_folder, _ = trained_run
    output = run_script(
        "enjoy",
        *("--algo", algo, "--env", "Pendulum-v1", "-f", str(log_folder), "--exp-id", "1", "--no-render", "-n", "250"),
        cwd=log_folder,
    )
    assert "Loading" in output and "Pendulum-v1_1" in output
    assert "Mean reward:" in output and "1 Episodes" in output


def test_record_video_knows_ace(tmp_path: Path) -> None:
    # Recording needs a renderer (pygame or OpenGL); the script's parser is what ACE's registration changes
    assert re.search(r"--algo \{[\w,]*,ace,ace_tqc,ace_crossq[,}]", run_script("record_video", "--help", cwd=tmp_path))


# Each key's own sampled parameters, beside rl-zoo3's SAC ones and ACE's schedule
OWN_KNOBS = {"ace": set(), "ace_tqc": {"n_quantiles", "top_quantiles_to_drop_per_net"}, "ace_crossq": {"policy_delay"}}


@pytest.mark.parametrize(("algo", "processes"), [("ace", 2), ("ace_tqc", 1), ("ace_crossq", 1)])
def test_optimize_with_storage(algo: str, processes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Two trials in one study in a database. For ``ace``, two processes add one trial each, as machines sharing the
    database would; that sharing is rl-zoo3's and Optuna's, the same for every key, so the others take both trials in
    one process. Then ``--trial-id 1``: rl-zoo3 reads the trial back through the key's converter and builds the learner.
    """
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    for seed in range(1, processes + 1):
        run_script(
            "train",
            *("--algo", algo, "--env", "Pendulum-v1", "-n", "150", "--seed", str(seed), "-f", str(tmp_path)),
            *("-optimize", "--n-trials", str(2 // processes), "--n-evaluations", "1", "--eval-episodes", "1"),
            *("--sampler", "random", "--storage", storage, "--study-name", "ace-test", "--no-optim-plots"),
            *family_args(algo),
            *("-params", "learning_starts:140"),  # 10 updates: the sampled sizes reach batches of 2048
            cwd=tmp_path,
        )
    trials = optuna.load_study(study_name="ace-test", storage=storage).trials
    assert len(trials) == 2
    assert all(trial.state == optuna.trial.TrialState.COMPLETE for trial in trials)
    assert all(set(ACE_KNOBS) | OWN_KNOBS[algo] <= set(trial.params) for trial in trials)
    assert all(("tau" in trial.params) == (algo != "ace_crossq") for trial in trials)  # CrossQ: no target network
    assert list((tmp_path / algo).glob("report_Pendulum-v1_*.csv"))
    # What --trial-id 1 does (rl-zoo3 2.9.2 ignores --trial-id 0), in this process: the trial's parameters, converted
    # back, over the file's entry, build the learner
    monkeypatch.chdir(tmp_path)
    register()
    manager = ExperimentManager(
        argparse.Namespace(),
        algo,
        "Pendulum-v1",
        str(tmp_path / "trial"),
        eval_freq=-1,
        config=str(TEST_CONF_FILES[algo]),
        storage=storage,
        study_name="ace-test",
        trial_id=1,
        verbose=0,
    )
    results = manager.setup_experiment()
    assert results is not None
    model = results[0]
    assert type(model) is LEARNERS[algo]
    hyperparams = hyperparams_opt.HYPERPARAMS_CONVERTER[algo](trials[1].params)
    assert set(ACE_KNOBS) | (OWN_KNOBS[algo] - {"n_quantiles"}) <= set(hyperparams)  # n_quantiles: in policy_kwargs
    for key, value in hyperparams.items():
        if key == "policy_kwargs":  # the sampled network (and TQC's quantiles) replace the entry's
            assert {name: model.policy_kwargs[name] for name in value} == value
        elif key == "train_freq":
            assert model.train_freq.frequency == value
        elif key == "learning_rate":  # rl-zoo3 makes it a constant schedule
            assert model.lr_schedule(1.0) == model.lr_schedule(0.0) == value
        else:
            assert getattr(model, key) == value, key
    model.get_env().close()


@pytest.mark.parametrize("path", sorted({*HYPERPARAMS_FAMILIES.values(), *HYPERPARAMS_FILES.values()}))
def test_hyperparams_files_are_shared_with_the_repository_top(path: Path) -> None:
    assert (REPO_ROOT / "hyperparams" / path.name).resolve() == path.resolve()


def _register_optional_envs() -> None:
    """DeepMind Control and Meta-World ids, where their packages are installed (``--gym-packages`` in the scripts)."""
    for package in ("shimmy", "metaworld"):
        with contextlib.suppress(ImportError):
            importlib.import_module(package)


def build_entry(config: Path, entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, algo: str = "ace") -> Any:
    """rl-zoo3 reads the entry (anchors, wrappers, policy_kwargs, env_kwargs) of a file and builds the key's learner from
    it, untrained."""
    monkeypatch.chdir(tmp_path)  # MuJoCo writes its warnings (MUJOCO_LOG.TXT) to the working directory
    register()
    _register_optional_envs()
    env_id = "MountainCarContinuous-v0" if entry == "default" else entry  # `default` is what other envs get
    if env_id not in gym.registry:
        pytest.skip(f"{env_id} is not installed")
    manager = ExperimentManager(argparse.Namespace(), algo, env_id, str(tmp_path), eval_freq=-1, config=str(config), verbose=0)
    results = manager.setup_experiment()
    assert results is not None
    model = results[0]
    assert type(model) is LEARNERS[algo] and isinstance(model.actor, CausalActorMixin)
    assert algo != "ace" or isinstance(model.actor, CausalActor)
    return model


@pytest.mark.parametrize("entry", NOT_GOAL_CONDITIONED["sac"])
def test_sac_sized_entry_builds_an_ace_model(entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = build_entry(SAC_SIZED_HYPERPARAMS_FILE, entry, tmp_path, monkeypatch)
    for key in ("batch_size", "gamma", "learning_starts", "policy_delay", *ACE_KNOBS):
        if key in SAC_SIZED[entry]:
            assert getattr(model, key) == SAC_SIZED[entry][key], key
    assert model.policy_delay == 1 and model.action_units == "scaled" and model.policy.linear_init == "default"
    model.get_env().close()


# rl-zoo3's own files for the learners under ace_tqc.yml and ace_crossq.yml (MuJoCo ids: v4 there, v5 here)
ZOO_FILES = {
    algo: yaml.safe_load((Path(rl_zoo3.__file__).parent / "hyperparams" / name).read_text())
    for algo, name in (("ace_tqc", "tqc.yml"), ("ace_crossq", "crossq.yml"))
}
ENV_SETTINGS = ("env_wrapper", "env_kwargs", "monitor_kwargs")


@pytest.mark.parametrize(("algo", "entry"), [(algo, entry) for algo, entries in LEARNER_FILES.items() for entry in entries])
def test_learner_entry_is_rl_zoos_plus_aces_schedule(
    algo: str, entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each entry of ace_tqc.yml / ace_crossq.yml is rl-zoo3's TQC / CrossQ entry for the env (its `default` where it has
    none), plus ACE's schedule and the env settings of the same entry of ace_sac.yml, and builds the learner."""
    ours = LEARNER_FILES[algo][entry]
    zoo = ZOO_FILES[algo]
    zoo_entry = zoo.get(entry.replace("-v5", "-v4"), zoo["default"])
    assert {key: ours.get(key) for key in zoo_entry} == zoo_entry
    assert {key: value for key, value in ours.items() if key not in zoo_entry} == {
        key: SAC_SIZED[entry][key] for key in (*ACE_SCHEDULE, *ENV_SETTINGS) if key in SAC_SIZED[entry]
    }
    model = build_entry(HYPERPARAMS_FILES[algo], entry, tmp_path, monkeypatch, algo=algo)
    for key in ("batch_size", "gamma", "learning_starts", "policy_delay", "top_quantiles_to_drop_per_net", *ACE_SCHEDULE):
        if key in ours:
            assert getattr(model, key) == ours[key], key
    assert model.action_units == "scaled" and model.policy.linear_init == "default"
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


@pytest.mark.parametrize("entry", NOT_GOAL_CONDITIONED["paper"])
def test_authors_entry_is_the_authors_configuration(entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = build_entry(HYPERPARAMS_FILE, entry, tmp_path, monkeypatch)
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
