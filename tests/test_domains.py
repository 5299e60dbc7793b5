"""The paper's other domains (docs/domains.md): Adroit and the Shadow Dexterous Hand (gymnasium-robotics), Panda-gym.

Per domain: every entry of both hyperparameters families is built through rl-zoo3 in this process (cheap: untrained),
and one task is trained for 300 steps through ``python -m sb3_ace.train``, with causal fits and soft resets. Then
what the causal step sees on these domains: goal-conditioned Dict observations, and sparse rewards whose windows are
constant. A domain whose package is not installed is skipped; the tests extra installs gymnasium-robotics and
panda-gym. The Shadow Dexterous Hand needs MuJoCo below 3.12 (the ``shadowhand`` extra, in a venv of its own): on
MuJoCo 3.12 and later its tests skip in this process and run in a child pytest that sees the extra's MuJoCo first.
"""

import argparse
import contextlib
import importlib
import importlib.metadata
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
import yaml
from packaging.requirements import Requirement
from rl_zoo3.exp_manager import ExperimentManager
from stable_baselines3 import HerReplayBuffer

import sb3_ace
from sb3_ace import ACE, estimate_causal_weights
from sb3_ace.ace.policies import MultiInputPolicy
from sb3_ace.zoo import HYPERPARAMS_FAMILIES, register

REPO_ROOT = Path(sb3_ace.__file__).parent.parent
FAMILIES = {family: yaml.safe_load(path.read_text()) for family, path in HYPERPARAMS_FAMILIES.items()}


@dataclass(frozen=True)
class Domain:
    package: str  # the module that registers the ids (rl-zoo3: --gym-packages)
    env_ids: tuple[str, ...]
    episode_steps: int  # as registered
    goal_conditioned: bool  # Dict observations, MultiInputPolicy and HerReplayBuffer
    trained: str  # the task trained through python -m sb3_ace.train
    sparse: bool  # whether the trained task's reward is sparse


DOMAINS = {
    "adroit": Domain(
        "gymnasium_robotics",
        ("AdroitHandDoor-v1", "AdroitHandHammer-v1", "AdroitHandPen-v1", "AdroitHandRelocate-v1"),
        episode_steps=200,
        goal_conditioned=False,
        trained="AdroitHandDoor-v1",
        sparse=False,
    ),
    "shadow_hand": Domain(
        "gymnasium_robotics",
        ("HandManipulateBlock-v1", "HandManipulateEgg-v1", "HandManipulatePen-v1"),
        episode_steps=100,
        goal_conditioned=True,
        trained="HandManipulateBlock-v1",
        sparse=True,
    ),
    "panda": Domain(
        "panda_gym",
        tuple(f"Panda{task}{reward}-v3" for reward in ("", "Dense") for task in ("Reach", "Push", "Slide", "PickAndPlace")),
        episode_steps=50,
        goal_conditioned=True,
        trained="PandaSlide-v3",  # sparse; its goal is out of the puck's reach at the start, so every reward is -1
        sparse=True,
    ),
}
ENTRIES = [(domain, env_id) for domain, spec in DOMAINS.items() for env_id in spec.env_ids]
# Small enough for seconds of training; ACE's schedule scaled so that three causal steps and soft resets run. Updates
# start after the first episode: HerReplayBuffer samples finished episodes only (the Shadow Dexterous Hand's last 100)
TINY_PARAMS = [
    "-params",
    "learning_starts:100",
    "buffer_size:1000",
    "batch_size:32",
    "policy_kwargs:dict(net_arch=[16, 16])",
    "causal_interval:100",
    "causal_sample_size:100",
    "reset_interval:100",
    "reset_start:50",
]
SHADOW_HAND_MUJOCO = (3, 12)  # gymnasium-robotics 1.4.2's Shadow Dexterous Hand fails from this MuJoCo version on


def mujoco_version(mujoco: Any) -> tuple[int, int]:
    major, minor = mujoco.__version__.split(".")[:2]
    return int(major), int(minor)


@contextlib.contextmanager
def domain_registered(domain: str) -> Iterator[None]:
    """
    The domain's ids registered with Gymnasium for the duration (skipped when its package is missing or cannot build
    its envs here), and Gymnasium's registry as it was afterwards.

    Importing gymnasium-robotics registers its Shadow Dexterous Hand ids too, and replaces some of Gymnasium's own;
    restoring the registry keeps the other tests of this process from seeing ids that cannot be built on MuJoCo 4.
    """
    spec = DOMAINS[domain]
    if domain == "shadow_hand":
        mujoco = pytest.importorskip("mujoco")
        if mujoco_version(mujoco) >= SHADOW_HAND_MUJOCO:
            pytest.skip(
                f"MuJoCo {mujoco.__version__}: gymnasium-robotics 1.4.2 builds its Shadow Dexterous Hand envs on MuJoCo "
                "below 3.12 only: test_dexterous_hand_on_the_extras_mujoco runs these tests on the shadowhand extra's MuJoCo"
            )
    saved = dict(gym.registry)
    try:
        module = pytest.importorskip(spec.package)
        if spec.env_ids[0] not in gym.registry:  # imported before, by a test whose registrations were taken back
            if spec.package == "gymnasium_robotics":
                module.register_robotics_envs()
            else:
                importlib.reload(module)
        yield
    finally:
        gym.registry.clear()
        gym.registry.update(saved)


def obs_dim(space: gym.Space) -> int:
    return gym.spaces.flatdim(space)


def build_entry(family: str, env_id: str, tmp_path: Path) -> Any:
    """
    rl-zoo3 reads the family's entry for ``env_id`` and builds ACE from it, untrained (the env ids registered). With a
    replay buffer of 10,000 transitions: SB3's HerReplayBuffer spends seconds filling one info dict per slot of the
    entries' 1,000,000.
    """
    register()
    manager = ExperimentManager(
        argparse.Namespace(),
        "ace",
        env_id,
        str(tmp_path),
        eval_freq=-1,
        hyperparams={"buffer_size": 10_000},
        config=str(HYPERPARAMS_FAMILIES[family]),
        verbose=0,
    )
    results = manager.setup_experiment()
    assert results is not None
    return results[0]


def test_every_domain_task_has_an_entry_in_both_families() -> None:
    for family, entries in FAMILIES.items():
        for domain, env_id in ENTRIES:
            entry = entries[env_id]
            goal_conditioned = DOMAINS[domain].goal_conditioned
            assert (entry["policy"] == "MultiInputPolicy") == goal_conditioned, (family, env_id)
            assert (entry.get("replay_buffer_class") == "HerReplayBuffer") == goal_conditioned, (family, env_id)
            # each entry is its family's default with the domain's settings over it, nothing else
            domain_keys = {"policy", "replay_buffer_class", "replay_buffer_kwargs", "monitor_kwargs"}
            assert {key: value for key, value in entry.items() if key not in domain_keys} == {
                key: value for key, value in entries["default"].items() if key not in domain_keys
            }, (family, env_id)
        # ROBEL's package does not install or run today (docs/domains.md): no entry names one of its ids
        assert not [env_id for env_id in entries if env_id.startswith(("DClaw", "DKitty"))]


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize(("domain", "env_id"), ENTRIES)
def test_entry_builds_through_rl_zoo(
    domain: str, env_id: str, family: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # MuJoCo writes its warnings (MUJOCO_LOG.TXT) to the working directory
    spec = DOMAINS[domain]
    with domain_registered(domain):
        model = build_entry(family, env_id, tmp_path)
        env = model.get_env()
        try:
            assert type(model) is ACE
            assert gym.spec(env_id).max_episode_steps == spec.episode_steps
            assert env.get_attr("spec")[0].max_episode_steps == spec.episode_steps
            entry = FAMILIES[family][env_id]
            assert model.causal_method == entry["causal_method"] and model.reset_mode == entry["reset_mode"]
            assert isinstance(model.policy, MultiInputPolicy) == spec.goal_conditioned
            assert isinstance(model.replay_buffer, HerReplayBuffer) == spec.goal_conditioned
            if spec.goal_conditioned:
                assert set(model.observation_space.spaces) == {"observation", "achieved_goal", "desired_goal"}
            # the causal data: every observation part, the actions and the reward
            n_variables = obs_dim(model.observation_space) + model.action_space.shape[0] + 1
            assert model.causal_sample_size > n_variables
            if family == "paper":
                assert model.batch_size == 512 and model.policy_delay == 2 and model.action_units == "env"
        finally:
            env.close()


def run_train(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m sb3_ace.train *args`` on one thread, as users run it; asserts it succeeds."""
    python_path = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": python_path}
    result = subprocess.run(
        [sys.executable, "-m", "sb3_ace.train", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"sb3_ace.train failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_domain_trains_through_rl_zoo(domain: str, tmp_path: Path) -> None:
    """300 steps of one task per domain (SAC-sized family): causal steps at 100, 200 and 300 steps, soft resets."""
    spec = DOMAINS[domain]
    with domain_registered(domain):  # skips where the domain cannot run
        observation_space = gym.make(spec.trained).observation_space
    result = run_train(
        *("--algo", "ace", "--hyperparams-family", "sac", "--env", spec.trained, "--gym-packages", spec.package),
        *("-n", "300", "--seed", "1", "-f", str(tmp_path), "--eval-freq", "-1", "--save-replay-buffer", *TINY_PARAMS),
        cwd=tmp_path,
    )
    run_folder = tmp_path / "ace" / f"{spec.trained}_1"
    with domain_registered(domain):  # HerReplayBuffer loads with an env
        model = ACE.load(run_folder / f"{spec.trained}.zip", env=gym.make(spec.trained))
        model.load_replay_buffer(run_folder / "replay_buffer.pkl")
        model.get_env().close()
    assert model.num_timesteps == 300 and model.num_resets >= 1
    assert model.num_causal_fits + model.num_failed_causal_fits == 3
    assert isinstance(model.replay_buffer, HerReplayBuffer) == spec.goal_conditioned
    # The causal data: every part of the observation (goals included), the action and the reward
    states, actions, rewards = model.recent_transitions.transitions()
    assert states.shape == (100, obs_dim(observation_space)) and actions.shape == (100, model.action_space.shape[0])
    if spec.sparse:  # every window's reward constant: a warning per causal step, and the weights stay 1 (SAC's)
        assert set(rewards) == {-1.0}
        assert result.stderr.count("the reward is constant") == 3 and model.num_failed_causal_fits == 3
        np.testing.assert_array_equal(model.causal_weights, np.ones(model.action_space.shape[0]))
    else:  # fitted (on 100 rows of 68 variables the lasso may keep no action: weights of 1 are a fit's result too)
        assert model.num_causal_fits == 3 and "the reward is constant" not in result.stderr
        assert len(np.unique(rewards)) > 1 and np.isfinite(model.causal_coefficients).all()
    np.testing.assert_allclose(model.causal_weights.mean(), 1.0)


def test_goal_conditioned_observations_and_sparse_windows(caplog: pytest.LogCaptureFixture) -> None:
    """
    PandaReach with dense rewards (minus the distance from the gripper to the goal), then sparse ones: the causal data
    holds each transition's Dict observation (achieved goal, desired goal, observation, in Gymnasium's key order) as
    the replay buffer stores it; the weights are the fit on that window, and a window of constant sparse rewards logs a
    warning and keeps the weights it finds.
    """
    with domain_registered("panda"):
        env = gym.make("PandaReachDense-v3")
        model = ACE(
            "MultiInputPolicy",
            env,
            replay_buffer_class=HerReplayBuffer,
            buffer_size=1000,
            learning_starts=50,
            batch_size=32,
            policy_kwargs=dict(net_arch=[16, 16]),
            causal_sample_size=100,
            causal_interval=100,
            reset_mode=None,
            seed=0,
        )
        model.learn(100)
        assert model.num_causal_fits == 1
        # The weights are the fit on the window (on 100 rows the lasso may keep no action on another machine's
        # trajectory, so they need not differ from 1)
        states, actions, rewards = model.recent_transitions.transitions()
        np.testing.assert_allclose(model.causal_weights, estimate_causal_weights(states, actions, rewards)[0], rtol=1e-6)
        # The last 100 transitions, as the replay buffer holds them (HER relabels only what it samples)
        buffer = model.replay_buffer
        stored = np.concatenate(
            [buffer.observations[key][:100, 0] for key in ("achieved_goal", "desired_goal", "observation")], 1
        )
        np.testing.assert_allclose(states, stored, rtol=1e-6)
        np.testing.assert_allclose(actions, buffer.actions[:100, 0], rtol=1e-6)
        np.testing.assert_allclose(rewards, buffer.rewards[:100, 0], rtol=1e-6)
        assert len(np.unique(rewards)) > 1

        # The same task, now rewarded 0 on success and -1 otherwise, with a success out of reach: -1 at every step
        env.unwrapped.task.reward_type = "sparse"
        env.unwrapped.task.distance_threshold = 0.0
        kept_weights = np.array([0.5, 1.0, 1.5], dtype=np.float32)  # weights that no fit gave, so keeping them shows
        model.actor.causal_weights.copy_(th.as_tensor(kept_weights))
        with caplog.at_level(logging.WARNING, logger="sb3_ace"):
            model.learn(100, reset_num_timesteps=False)
        env.close()
    _, _, rewards = model.recent_transitions.transitions()
    assert set(rewards) == {-1.0}
    assert "ACE causal step at 200 env steps skipped (the reward is constant" in caplog.text
    assert model.num_causal_fits == 1 and model.num_failed_causal_fits == 1
    np.testing.assert_array_equal(model.causal_weights, kept_weights)


def test_dexterous_hand_on_the_extras_mujoco(tmp_path: Path) -> None:
    """
    Where this interpreter's MuJoCo cannot build the Shadow Dexterous Hand (3.12 or later: CI's venv, MuJoCo 4), its
    tests above skip; here they run in a child pytest that imports the ``shadowhand`` extra's MuJoCo (installed into a
    folder ahead of this interpreter's packages, on ``PYTHONPATH``) and everything else from this interpreter.
    """
    mujoco = pytest.importorskip("mujoco")
    pytest.importorskip(DOMAINS["shadow_hand"].package)
    if mujoco_version(mujoco) < SHADOW_HAND_MUJOCO:
        pytest.skip(f"MuJoCo {mujoco.__version__} builds the hand: its tests ran in this process")
    requirements = [Requirement(text) for text in importlib.metadata.requires("sb3-ace") or []]
    (extras_mujoco,) = [
        f"mujoco{req.specifier}"
        for req in requirements
        if req.name == "mujoco" and req.marker is not None and req.marker.evaluate({"extra": "shadowhand"})
    ]
    packages = tmp_path / "packages"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(packages), extras_mujoco],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, f"pip could not install {extras_mujoco}:\n{install.stderr[-3000:]}"
    python_path = os.pathsep.join([str(packages), os.environ.get("PYTHONPATH", "")])
    # --basetemp: a folder of its own, not beside the parent's temporary folders, which a new pytest session prunes
    pytest_args = ["-k", "shadow_hand", "-p", "no:cacheprovider", "-q", "-rs", "--basetemp", str(tmp_path / "child")]
    child = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, *pytest_args],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": python_path},
        capture_output=True,
        text=True,
        timeout=600,
    )
    expected = len(DOMAINS["shadow_hand"].env_ids) * len(FAMILIES) + 1  # every entry built, one task trained
    assert child.returncode == 0 and f"{expected} passed" in child.stdout, child.stdout[-3000:] + child.stderr[-3000:]
    assert "skipped" not in child.stdout, child.stdout[-3000:]


def test_docs_table_names_every_entry() -> None:
    page = (REPO_ROOT / "docs" / "domains.md").read_text()
    for _, env_id in ENTRIES:
        assert f"`{env_id}`" in page, env_id
    for extra in ("adroit", "shadowhand", "panda"):
        assert f"`{extra}`" in page, extra
