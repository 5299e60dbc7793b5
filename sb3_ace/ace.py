"""ACE: Off-Policy Actor-Critic with Causality-Aware Entropy Regularization."""

import io
import pathlib
from typing import Any, ClassVar, Literal, TypeVar, get_args

import numpy as np
import torch as th
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import polyak_update
from torch.nn import functional as F

from sb3_ace.causal_discovery import CausalMethod
from sb3_ace.causal_weights import CausalWeightCallback, TransitionFIFO, causal_state_dim, check_causal_settings
from sb3_ace.dormancy import DormantResetCallback, ResetMode, check_reset_settings
from sb3_ace.finite_check import FiniteEnvDataCheck
from sb3_ace.policies import SAC_TO_ACE_POLICY, ACEPolicy, CausalActor, CnnPolicy, LinearInit, MlpPolicy, MultiInputPolicy
from sb3_ace.saving import save_atomically

SelfACE = TypeVar("SelfACE", bound="ACE")

ActionUnits = Literal["scaled", "env"]
ACTION_UNITS: tuple[ActionUnits, ...] = get_args(ActionUnits)
# Attribute of a pickled replay buffer that carries ACE's recent transitions (see ACE.save_replay_buffer)
_RECENT_TRANSITIONS_ATTRIBUTE = "ace_recent_transitions"


def _contains_callback(callback: BaseCallback, callback_class: type[BaseCallback]) -> bool:
    if isinstance(callback, CallbackList):
        return any(_contains_callback(child, callback_class) for child in callback.callbacks)
    return isinstance(callback, callback_class)


def _check_count(name: str, value: object, minimum: int) -> None:
    """Raise a ``TypeError`` or ``ValueError`` naming ``name`` unless ``value`` is an integer ``>= minimum``."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


class ACE(SAC):
    """
    ACE: Off-Policy Actor-Critic with Causality-Aware Entropy Regularization.

    SAC whose entropy term weights each action dimension by its causal effect on the reward, and whose networks
    are softly reset when the actor's gradients go dormant.
    Paper: Ji, Liang et al., ICML 2024, https://arxiv.org/abs/2402.14528

    - Causality-aware entropy: ``log pi_c(a|s) = sum_i w_i * l_i`` replaces ``log pi(a|s)`` in the critic target,
      the actor loss and the temperature loss (:class:`sb3_ace.policies.CausalActor`).
    - The weights ``w = dim(A) * softmax(B[r, a])`` come from a causal model of the most recent transitions, refitted
      on schedule (:class:`sb3_ace.CausalWeightCallback`, :func:`sb3_ace.estimate_causal_weights`).
    - Every ``reset_interval`` gradient updates, actor, critic and target are interpolated towards a fresh
      initialisation and the optimizers cleared, guided by the actor's gradient dormancy
      (:class:`sb3_ace.DormantResetCallback`).

    :meth:`learn` adds both callbacks by itself, unless ``callback=`` already holds one of that class. With all
    weights 1 (``causal_method=None``), ``reset_mode=None`` and ``policy_delay=1``, ACE is SAC, bit for bit. The
    authors' configuration (their networks, update delay, warm-up, action units and estimator) is expressible with the
    arguments below and shipped as ``sb3_ace/hyperparams/ace.yml``.

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy or an ``ACEPolicy`` subclass).
        SAC's policy classes are mapped to ACE's, so ``ACE.load`` takes a model saved by ``SAC``
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: learning rate for adam optimizer,
        the same learning rate will be used for all networks (Q-Values, Actor and Value function)
        it can be a function of the current progress remaining (from 1 to 0)
    :param buffer_size: size of the replay buffer
    :param learning_starts: how many steps of the model to collect transitions for before learning starts
    :param batch_size: Minibatch size for each gradient update
    :param tau: the soft update coefficient ("Polyak update", between 0 and 1)
    :param gamma: the discount factor
    :param train_freq: Update the model every ``train_freq`` steps. Alternatively pass a tuple of frequency and unit
        like ``(5, "step")`` or ``(2, "episode")``.
    :param gradient_steps: How many gradient steps to do after each rollout (see ``train_freq``)
        Set to ``-1`` means to do as many gradient steps as steps done in the environment
        during the rollout.
    :param action_noise: the action noise type (None by default), this can help
        for hard exploration problem. Cf common.noise for the different action noise type.
    :param replay_buffer_class: Replay buffer class to use (for instance ``HerReplayBuffer``).
        If ``None``, it will be automatically selected.
    :param replay_buffer_kwargs: Keyword arguments to pass to the replay buffer on creation.
    :param optimize_memory_usage: Enable a memory efficient variant of the replay buffer
        at a cost of more complexity.
        See https://github.com/DLR-RM/stable-baselines3/issues/37#issuecomment-637501195
    :param n_steps: When n_step > 1, uses n-step return (with the NStepReplayBuffer) when updating the Q-value network.
        Note: it is only used when ``replay_buffer_class`` is ``None``, and is not supported for Dict
        observation spaces yet. When passing a custom ``replay_buffer_class``, configure it directly
        with ``replay_buffer_kwargs={"n_steps": ..., "gamma": ...}`` instead.
    :param ent_coef: Entropy regularization coefficient. (Equivalent to
        inverse of reward scale in the original SAC paper.)  Controlling exploration/exploitation trade-off.
        Set it to 'auto' to learn it automatically (and 'auto_0.1' for using 0.1 as initial value)
    :param target_update_interval: update the target network every ``target_network_update_freq``
        gradient steps.
    :param target_entropy: target entropy when learning ``ent_coef`` (``ent_coef = 'auto'``)
    :param use_sde: Whether to use generalized State Dependent Exploration (gSDE)
        instead of action noise exploration (default: False)
    :param sde_sample_freq: Sample a new noise matrix every n steps when using gSDE
        Default: -1 (only sample at the beginning of the rollout)
    :param use_sde_at_warmup: Whether to use gSDE instead of uniform sampling
        during the warm up phase (before learning starts)
    :param stats_window_size: Window size for the rollout logging, specifying the number of episodes to average
        the reported success rate, mean episode length, and mean reward over
    :param tensorboard_log: the log location for tensorboard (if None, no logging)
    :param policy_kwargs: additional arguments to be passed to the policy on creation. See :class:`sb3_ace.policies.ACEPolicy`
    :param verbose: Verbosity level: 0 for no output, 1 for info messages (such as device or wrappers used), 2 for
        debug messages
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run.
        Setting it to auto, the code will be run on the GPU if possible.
    :param policy_delay: the actor, the temperature and the target networks are updated once every ``policy_delay``
        gradient steps, the critics at every step (the authors: 2). Counted over the whole run (``_n_updates``), the
        first update included: updates 0, d, 2d, ... The default 1 is SAC's schedule
    :param random_action_steps: env steps taken with uniformly random actions at the start (the warm-up). ``None``
        (default): ``learning_starts``, SB3's warm-up, random until the updates start. The authors take 10,000 random
        steps while updating from step 513 (``learning_starts=512``)
    :param action_units: the units ACE's additions see actions in: ``"scaled"`` (default; SB3's [-1, 1], as stored
        for learning) or ``"env"`` (the env's own bounds, the authors'): the actions of the causal data, and the
        squash term of the log-probability ``log(scale * (1 - tanh(u)^2) + eps)``. The same for actions in [-1, 1]
    :param causal_sample_size: number of most recent transitions the causal weights are fitted on (``N_c``)
    :param causal_interval: env steps between two fits of the causal weights (``I``)
    :param causal_method: how the causal effects of the actions on the reward are estimated (see
        :func:`sb3_ace.estimate_causal_weights`): ``"reward_sink"`` (default: the reward as a sink of the causal
        graph, well under a second per fit), the authors' estimator, or ``None`` (no causal step: all weights stay 1)
    :param standardize_causal_effects: softmax over the standardized effects ``B[r, a_i] * std(a_i) / std(r)``
        instead of the paper's raw coefficients: weights independent of the reward's and the actions' scales, which
        otherwise saturate (e.g. ``[3, 0, 0]``) when rewards are large. Off by default (the paper's formula)
    :param reset_mode: ``"reset"`` (retention from the actor's dormant ratio), ``"causal_reset"`` (retention from
        the spread of the causal weights) or ``None`` (no reset)
    :param reset_interval: gradient updates between two soft resets (``R``)
    :param reset_start: soft resets happen after updates of index (0-based) larger than this
    :param dormant_threshold: a neuron is gradient-dormant when its gradient norm is below this fraction of its
        layer's mean (``tau``)
    :param reset_retention_bounds: ``(low, high)`` bounds of the retention ``lam`` of the old parameters
    :param reset_init: how a soft reset draws its fresh parameters: ``None`` (default) as the policy's
        ``linear_init`` initialised the networks, or ``"default"``, ``"xavier_uniform"``, ``"orthogonal"`` (the
        authors')
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    policy: ACEPolicy
    actor: CausalActor

    def __init__(
        self,
        policy: str | type[ACEPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 3e-4,
        buffer_size: int = 1_000_000,
        learning_starts: int = 100,
        batch_size: int = 256,
        tau: float = 0.005,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 1,
        gradient_steps: int = 1,
        action_noise: ActionNoise | None = None,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        optimize_memory_usage: bool = False,
        n_steps: int = 1,
        ent_coef: str | float = "auto",
        target_update_interval: int = 1,
        target_entropy: str | float = "auto",
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        use_sde_at_warmup: bool = False,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        policy_delay: int = 1,
        random_action_steps: int | None = None,
        action_units: ActionUnits = "scaled",
        causal_sample_size: int = 10_000,
        causal_interval: int = 10_000,
        causal_method: CausalMethod | None = "reward_sink",
        standardize_causal_effects: bool = False,
        reset_mode: ResetMode | None = "reset",
        reset_interval: int = 100_000,
        reset_start: int = 5_000,
        dormant_threshold: float = 0.05,
        reset_retention_bounds: tuple[float, float] = (0.2, 0.9),
        reset_init: LinearInit | None = None,
        _init_setup_model: bool = True,
    ):
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            buffer_size=buffer_size,
            learning_starts=learning_starts,
            batch_size=batch_size,
            tau=tau,
            gamma=gamma,
            train_freq=train_freq,
            gradient_steps=gradient_steps,
            action_noise=action_noise,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            optimize_memory_usage=optimize_memory_usage,
            n_steps=n_steps,
            ent_coef=ent_coef,
            target_update_interval=target_update_interval,
            target_entropy=target_entropy,
            use_sde=use_sde,
            sde_sample_freq=sde_sample_freq,
            use_sde_at_warmup=use_sde_at_warmup,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
        )
        self.policy_delay = policy_delay
        self.random_action_steps = random_action_steps
        self.action_units = action_units
        self.causal_sample_size = causal_sample_size
        self.causal_interval = causal_interval
        self.causal_method = causal_method
        self.standardize_causal_effects = standardize_causal_effects
        self.reset_mode = reset_mode
        self.reset_interval = reset_interval
        self.reset_start = reset_start
        self.dormant_threshold = dormant_threshold
        self.reset_retention_bounds = reset_retention_bounds
        self.reset_init = reset_init
        # What the causal step found and did (saved with the model; the weights themselves live in the actor)
        self.causal_coefficients = np.zeros(0)  # B[r, a]: zeros, one per action dimension, once the spaces are known
        self.causal_fit_seconds = 0.0
        self.causal_fits = 0
        self.causal_failed_fits = 0
        self.num_resets = 0  # soft resets done so far
        # The N_c most recent transitions the causal weights are fitted on: saved with the replay buffer
        self.recent_transitions: TransitionFIFO | None = None
        # The DormantResetCallback of the running learn() call, if any: train() calls it after each update
        self.dormant_reset: DormantResetCallback | None = None

        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        # Models saved by SAC name SAC's policy classes: use ACE's counterpart
        self.policy_class = SAC_TO_ACE_POLICY.get(self.policy_class, self.policy_class)  # type: ignore[arg-type]
        if not issubclass(self.policy_class, ACEPolicy):
            raise ValueError(f"ACE needs an ACEPolicy (whose actor applies the causal weights), got {self.policy_class}")
        _check_count("policy_delay", self.policy_delay, 1)
        if self.random_action_steps is not None:
            _check_count("random_action_steps", self.random_action_steps, 0)
        if self.action_units not in ACTION_UNITS:
            raise ValueError(f"action_units must be one of {ACTION_UNITS}, got {self.action_units!r}")
        if self.causal_method is not None:
            n_variables = causal_state_dim(self.observation_space) + get_action_dim(self.action_space) + 1
            check_causal_settings(self.causal_sample_size, self.causal_interval, self.causal_method, n_variables)
        if self.reset_mode is not None:
            check_reset_settings(
                self.reset_mode,
                self.reset_interval,
                self.reset_start,
                self.dormant_threshold,
                self.reset_retention_bounds,
                self.reset_init,
            )
        if len(self.causal_coefficients) != get_action_dim(self.action_space):  # a new model, or one saved by SAC
            self.causal_coefficients = np.zeros(get_action_dim(self.action_space))
        super()._setup_model()
        if self.action_units == "env":
            low, high = self.action_space.low, self.action_space.high  # type: ignore[attr-defined]
            self.actor.action_scale = th.as_tensor((high - low) / 2.0, dtype=th.float32, device=self.device)

    @property
    def causal_weights(self) -> np.ndarray:
        """The current causal weights ``w`` of the entropy term, one per action dimension (all 1 before the first fit)."""
        return self.actor.causal_weights.cpu().numpy().copy()

    def _sample_action(
        self, learning_starts: int, action_noise: ActionNoise | None = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        # Random actions for the first random_action_steps env steps, whenever the updates start
        random_steps = learning_starts if self.random_action_steps is None else self.random_action_steps
        return super()._sample_action(random_steps, action_noise, n_envs)

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """
        ``gradient_steps`` updates of SAC's three losses, with the causal log-probability ``log pi_c`` (paper, eq. 5-7).

        The critics are updated at every step; the actor, the temperature and the target networks at the steps whose
        index over the whole run is a multiple of ``policy_delay``. After each update, the active
        :class:`~sb3_ace.DormantResetCallback` measures the dormancy and softly resets on schedule. With
        ``policy_delay=1`` and all weights 1, this is SAC's ``train()``, operation for operation.
        """
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers += [self.ent_coef_optimizer]
        self._update_learning_rate(optimizers)

        ent_coef_losses, ent_coefs = [], []
        actor_losses, critic_losses = [], []

        for gradient_step in range(gradient_steps):
            update = self._n_updates  # this update's index over the whole run
            policy_update = update % self.policy_delay == 0  # actor, temperature and target at updates 0, d, 2d, ...
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            # For n-step replay, discount factor is gamma**n_steps (when no early termination)
            discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma
            if self.use_sde:
                self.actor.reset_noise()  # log_std may have changed since the last sample

            if policy_update:
                # a ~ pi(.|s) and log pi_c(a|s) = sum_i w_i * l_i, the causality-aware log-probability
                actions_pi, log_prob = self.actor.action_log_prob(replay_data.observations)
                log_prob = log_prob.reshape(-1, 1)  # (batch, 1)

            # Temperature alpha: J(alpha) = -E[log alpha * (log pi_c(a|s) + target_entropy)]
            ent_coef_loss = None
            if self.ent_coef_optimizer is not None and self.log_ent_coef is not None:
                ent_coef = th.exp(self.log_ent_coef.detach())  # detached: the other losses must not move alpha
                if policy_update:
                    assert isinstance(self.target_entropy, float)
                    ent_coef_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
                    ent_coef_losses.append(ent_coef_loss.item())
            else:
                ent_coef = self.ent_coef_tensor
            ent_coefs.append(ent_coef.item())
            if ent_coef_loss is not None and self.ent_coef_optimizer is not None:
                self.ent_coef_optimizer.zero_grad()
                ent_coef_loss.backward()
                self.ent_coef_optimizer.step()

            # Critic target: y = r + gamma * (1 - done) * (min_k Q'_k(s', a') - alpha * log pi_c(a'|s')), a' ~ pi(.|s')
            with th.no_grad():
                next_actions, next_log_prob = self.actor.action_log_prob(replay_data.next_observations)
                next_q_values = th.cat(self.critic_target(replay_data.next_observations, next_actions), dim=1)
                next_q_values, _ = th.min(next_q_values, dim=1, keepdim=True)  # (batch, 1)
                next_q_values = next_q_values - ent_coef * next_log_prob.reshape(-1, 1)
                target_q_values = replay_data.rewards + (1 - replay_data.dones) * discounts * next_q_values

            # Critics: J(Q) = sum_k 0.5 * E[(Q_k(s, a) - y)^2]
            current_q_values = self.critic(replay_data.observations, replay_data.actions)
            critic_loss = 0.5 * sum(F.mse_loss(current_q, target_q_values) for current_q in current_q_values)
            assert isinstance(critic_loss, th.Tensor)  # for type checker
            critic_losses.append(critic_loss.item())
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()

            if policy_update:
                # Actor: J(pi) = E[alpha * log pi_c(a|s) - min_k Q_k(s, a)], a ~ pi(.|s), with the critics just updated
                q_values_pi = th.cat(self.critic(replay_data.observations, actions_pi), dim=1)
                min_qf_pi, _ = th.min(q_values_pi, dim=1, keepdim=True)
                actor_loss = (ent_coef * log_prob - min_qf_pi).mean()
                actor_losses.append(actor_loss.item())
                self.actor.optimizer.zero_grad()
                actor_loss.backward()
                self.actor.optimizer.step()

                # Target networks (SAC's target_update_interval counts the steps of this call)
                if gradient_step % self.target_update_interval == 0:
                    polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                    # Copy running stats, see https://github.com/DLR-RM/stable-baselines3/issues/996
                    polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)

            self._n_updates += 1
            if self.dormant_reset is not None:
                self.dormant_reset.after_update(update)  # right after the update that reaches the reset schedule

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/ent_coef", np.mean(ent_coefs))
        self.logger.record("train/critic_loss", np.mean(critic_losses))
        if actor_losses:  # none in a call of only critic updates (policy_delay > 1)
            self.logger.record("train/actor_loss", np.mean(actor_losses))
        if ent_coef_losses:
            self.logger.record("train/ent_coef_loss", np.mean(ent_coef_losses))

    def _with_ace_callbacks(self, callback: MaybeCallback) -> list[BaseCallback]:
        """The user's callbacks, preceded by ACE's own (a user's instance of the same class replaces ACE's)."""
        user_callbacks = [] if callback is None else list(callback) if isinstance(callback, list) else [callback]
        user_callbacks = [cb if isinstance(cb, BaseCallback) else ConvertCallback(cb) for cb in user_callbacks]
        ace_callbacks: list[BaseCallback] = []
        if self.causal_method is not None and not any(_contains_callback(cb, CausalWeightCallback) for cb in user_callbacks):
            ace_callbacks.append(CausalWeightCallback(verbose=self.verbose))
        if self.reset_mode is not None and not any(_contains_callback(cb, DormantResetCallback) for cb in user_callbacks):
            ace_callbacks.append(DormantResetCallback(verbose=self.verbose))
        # First: a NaN from the env stops training before any other callback or buffer sees it
        return [FiniteEnvDataCheck(), *ace_callbacks, *user_callbacks]

    def learn(
        self: SelfACE,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "ACE",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfACE:
        self.dormant_reset = None  # set by this call's DormantResetCallback, if any
        return super().learn(
            total_timesteps=total_timesteps,
            callback=self._with_ace_callbacks(callback),
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )

    def save(
        self,
        path: str | pathlib.Path | io.BufferedIOBase,
        exclude: Any = None,
        include: Any = None,
    ) -> None:
        """
        Save the model to a zip file, atomically: a previous file at ``path`` stays intact until the new one is
        complete (a process killed mid-save leaves the previous checkpoint loadable). Same parameters as SB3's.
        """
        save_atomically(path, "zip", lambda destination: super(ACE, self).save(destination, exclude, include))

    def save_replay_buffer(self, path: str | pathlib.Path | io.BufferedIOBase) -> None:
        """
        Save the replay buffer as a pickle file, atomically, with ACE's recent transitions (the ``N_c`` rows the
        causal weights are fitted on).

        They travel with the replay buffer rather than being rebuilt from it because they are not always in it:
        under ``VecNormalize`` they hold what the agent saw (normalized with the statistics of their time) where the
        buffer keeps raw observations and rewards, and with ``HerReplayBuffer`` the buffer's goals are relabelled. A
        model saved without its replay buffer refits once it has collected ``N_c`` new transitions.
        """
        assert self.replay_buffer is not None, "The replay buffer is not defined"
        setattr(self.replay_buffer, _RECENT_TRANSITIONS_ATTRIBUTE, self.recent_transitions)
        try:
            save_atomically(path, "pkl", lambda destination: super(ACE, self).save_replay_buffer(destination))
        finally:
            delattr(self.replay_buffer, _RECENT_TRANSITIONS_ATTRIBUTE)

    def load_replay_buffer(self, path: str | pathlib.Path | io.BufferedIOBase, truncate_last_traj: bool = True) -> None:
        """Load a replay buffer saved by :meth:`save_replay_buffer` (or by SAC), and ACE's recent transitions with it."""
        super().load_replay_buffer(path, truncate_last_traj)
        recent_transitions = self.replay_buffer.__dict__.pop(_RECENT_TRANSITIONS_ATTRIBUTE, None)  # type: ignore[union-attr]
        if recent_transitions is not None:
            self.recent_transitions = recent_transitions

    def _excluded_save_params(self) -> list[str]:
        # The recent transitions go with the replay buffer; the reset callback is the running learn() call's
        return [*super()._excluded_save_params(), "recent_transitions", "dormant_reset"]
