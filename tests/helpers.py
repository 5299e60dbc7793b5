"""Small environments and settings the tests share."""

import math
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import SAC
from stable_baselines3.common.logger import configure
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from torch import nn
from torch.nn import functional as F

SMALL = dict(learning_starts=50, batch_size=32, policy_kwargs=dict(net_arch=[16, 16]), seed=0)
NO_CAUSAL_FIT = dict(causal_interval=10**9, reset_mode=None)


class LinearRewardEnv(gym.Env):
    """Reward linear in the action (in the env's units) plus uniform noise: r = effects . a + 0.1 * s_1 + noise (a LiNGAM).

    The first observation dimension counts this env's steps, so tests can tell which transitions a buffer holds.
    """

    def __init__(
        self,
        effects: tuple[float, ...] = (2.0, 0.0, -1.0),
        constant_reward: bool = False,
        padded: int = 0,
        action_bound: float = 1.0,
        episode_length: int = 50,
    ):
        self.effects = np.array(effects)
        self.constant_reward = constant_reward
        self.observation_space = spaces.Box(-np.inf, np.inf, (3 + padded,), np.float32)
        self.action_space = spaces.Box(-action_bound, action_bound, (len(effects),), np.float32)
        self.steps = 0
        self.padded = padded
        self.episode_length = episode_length

    def _obs(self) -> np.ndarray:
        noise = self.np_random.uniform(-1, 1, 2)
        return np.concatenate([[self.steps], noise, np.zeros(self.padded)]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.episode_steps = 0
        self.state = self._obs()
        return self.state, {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward = 1.0 if self.constant_reward else self.effects @ action + 0.1 * self.state[1]
        reward += 0.0 if self.constant_reward else 0.1 * self.np_random.uniform(-1, 1)
        self.steps += 1
        self.episode_steps += 1
        self.state = self._obs()
        return self.state, float(reward), False, self.episode_steps >= self.episode_length, {}


def params_equal(model_a: SAC, model_b: SAC) -> bool:
    state_a, state_b = model_a.policy.state_dict(), model_b.policy.state_dict()
    return all(th.equal(state_a[name], state_b[name]) for name in state_b)


def unpacked_test_suite(package: str, version: str, folder: Path) -> Path:
    """
    The ``tests/`` folder and pytest settings of ``package``'s source distribution at ``version`` (its tests ship in the
    sdist, not in the wheel), unpacked into ``folder``; the test is skipped if the sdist cannot be downloaded.

    The package's own sources are left packed: the suite runs from the unpacked root, which comes first on
    ``sys.path``, and must import the installed package, not a copy.

    :return: the unpacked root, the working directory to run the suite from
    """
    command = ["pip", "download", f"{package}=={version}", "--no-binary", ":all:", "--no-deps", "--dest", str(folder)]
    result = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"{package} {version}'s sdist could not be downloaded: {result.stderr[-500:]}")
    (sdist,) = folder.glob(f"{package.replace('-', '_')}-*.tar.gz")
    root = f"{package.replace('-', '_')}-{version}"
    with tarfile.open(sdist) as archive:
        wanted = [
            member
            for member in archive.getmembers()
            if member.name.startswith(f"{root}/tests/") or member.name in {f"{root}/pyproject.toml", f"{root}/setup.cfg"}
        ]
        archive.extractall(folder, members=wanted, filter="data")
    return folder / root


def copy_of(policy: BasePolicy) -> BasePolicy:
    """A policy with the same parameters and statistics (deepcopy fails on the graph its distribution keeps)."""
    twin = type(policy)(**policy._get_constructor_parameters())
    twin.load_state_dict(policy.state_dict())
    twin.set_training_mode(policy.training)
    return twin


def prepare_loss_check(model: OffPolicyAlgorithm, weights: th.Tensor) -> tuple:
    """Fill the replay buffer, fix the weights and the temperature; return the policy before the update, log(alpha),
    the RNG states the update starts from, and what the update logged."""
    model.learn(SMALL["learning_starts"] + 10)
    model.actor.causal_weights.copy_(weights)
    with th.no_grad():
        model.log_ent_coef.fill_(math.log(0.2))  # away from alpha = 1, where the temperature loss vanishes
    before = copy_of(model.policy)
    log_alpha = model.log_ent_coef.detach().clone()
    rng_state = np.random.get_state(), th.get_rng_state()  # noqa: NPY002 (SB3's replay buffer samples with it)
    model.set_logger(configure(None, [""]))
    model.train(gradient_steps=1, batch_size=32)
    return before, log_alpha, rng_state, dict(model.logger.name_to_value)


def sample_and_causal_log_prob(actor: nn.Module, obs: th.Tensor, w: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
    """a = tanh(u), u ~ N(mu, sigma), and log pi_c = sum_i w_i * l_i, computed by hand, shape (batch, 1)."""
    mean, log_std, _ = actor.get_action_dist_params(obs)
    u = th.distributions.Normal(mean, log_std.exp()).rsample()
    log_normal = -((u - mean) ** 2) / (2 * log_std.exp() ** 2) - log_std - 0.5 * math.log(2 * math.pi)
    per_dimension = log_normal - th.log(1 - th.tanh(u) ** 2 + 1e-6)  # l_i
    return th.tanh(u), (w * per_dimension).sum(dim=1, keepdim=True)


def restore_and_sample(model: OffPolicyAlgorithm, rng_state: tuple) -> Any:
    np.random.set_state(rng_state[0])  # noqa: NPY002
    th.set_rng_state(rng_state[1])
    return model.replay_buffer.sample(32)  # type: ignore[union-attr]


def assert_losses_follow_the_weights(
    logged: dict[str, Any], losses: Callable[[th.Tensor], dict[str, float]], weights: th.Tensor
) -> None:
    """The losses an update logged equal ``losses(weights)``, computed by hand, and differ from ``losses(1)``."""
    weighted, unweighted = losses(weights), losses(th.ones_like(weights))
    for key, value in weighted.items():
        assert logged[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
        assert abs(unweighted[key] - value) > 1e-3, key  # the weights make a difference this test can see


class PolicyDraws(NamedTuple):
    """What one update draws from the actor before its losses, in the update's order, with ``log pi_c`` by hand."""

    data: Any  # the minibatch
    actions_pi: th.Tensor  # a ~ pi(.|s)
    log_prob: th.Tensor  # log pi_c(a|s), (batch, 1)
    alpha: th.Tensor
    temperature_loss: th.Tensor
    next_actions: th.Tensor  # a' ~ pi(.|s')
    next_log_prob: th.Tensor  # log pi_c(a'|s'), (batch, 1)


def policy_draws(
    model: OffPolicyAlgorithm, actor: nn.Module, log_alpha: th.Tensor, rng_state: tuple, w: th.Tensor
) -> PolicyDraws:
    """The minibatch, a and a' of the update ``prepare_loss_check`` ran (the same random draws) and its temperature
    loss ``-mean(log alpha * (log pi_c(a|s) + target_entropy))``, with the weights ``w``."""
    data = restore_and_sample(model, rng_state)
    actions_pi, log_prob = sample_and_causal_log_prob(actor, data.observations, w)
    temperature_loss = -(log_alpha * (log_prob + model.target_entropy)).mean()  # type: ignore[attr-defined]
    next_actions, next_log_prob = sample_and_causal_log_prob(actor, data.next_observations, w)
    return PolicyDraws(data, actions_pi, log_prob, log_alpha.exp(), temperature_loss, next_actions, next_log_prob)


def sac_losses_by_hand(model: OffPolicyAlgorithm, before: BasePolicy, log_alpha: th.Tensor, rng_state: tuple) -> Callable:
    """SAC's three losses of the update ``prepare_loss_check`` ran, with ``log pi_c = sum_i w_i * l_i``, computed by hand
    with the same random draws (in the update's order: a, a', then the critics' own draws such as dropout masks)."""

    def losses(w: th.Tensor) -> dict[str, float]:
        with th.no_grad():
            d = policy_draws(model, before.actor, log_alpha, rng_state, w)
            next_q = th.cat(before.critic_target(d.data.next_observations, d.next_actions), dim=1).min(dim=1, keepdim=True)
            target = d.data.rewards + (1 - d.data.dones) * model.gamma * (next_q.values - d.alpha * d.next_log_prob)
            critic_loss = 0.5 * sum(F.mse_loss(q, target) for q in before.critic(d.data.observations, d.data.actions))
            # the actor's loss takes the critics after their update: the model's now
            q_pi = th.cat(model.critic(d.data.observations, d.actions_pi), dim=1).min(dim=1, keepdim=True).values
            actor_loss = (d.alpha * d.log_prob - q_pi).mean()
        return {
            "train/ent_coef_loss": d.temperature_loss.item(),
            "train/critic_loss": float(critic_loss),
            "train/actor_loss": actor_loss.item(),
        }

    return losses


def assert_save_load_round_trip(model: Any, path: Path, env: gym.Env) -> Any:
    """Save ``model`` and its replay buffer, load both into a model of its class, and check that the loaded one predicts
    the same actions and carries the same causal weights, counters, settings and recent transitions; return it."""
    model.save(path / "model")
    model.save_replay_buffer(path / "buffer")
    loaded = type(model).load(path / "model", env=env)
    loaded.load_replay_buffer(path / "buffer")
    obs = np.stack([model.observation_space.sample() for _ in range(10)])
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    np.testing.assert_array_equal(loaded.causal_weights, model.causal_weights)
    for name in ("num_causal_fits", "num_resets", "reset_start", "reset_retention", "dormant_ratio"):
        assert getattr(loaded, name) == getattr(model, name), name
    np.testing.assert_array_equal(loaded.recent_transitions.rows, model.recent_transitions.rows)
    return loaded
