"""ACE: Off-Policy Actor-Critic with Causality-Aware Entropy Regularization."""

from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule

from sb3_ace.causal_weights import CausalWeightCallback, causal_state_dim, check_causal_settings
from sb3_ace.dormancy import DormantResetCallback
from sb3_ace.policies import SAC_TO_ACE_POLICY, ACEPolicy, CausalActor, CnnPolicy, MlpPolicy, MultiInputPolicy

SelfACE = TypeVar("SelfACE", bound="ACE")


def _contains_callback(callback: BaseCallback, callback_class: type[BaseCallback]) -> bool:
    if isinstance(callback, CallbackList):
        return any(_contains_callback(child, callback_class) for child in callback.callbacks)
    return isinstance(callback, callback_class)


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
    weights 1 (``causal_method=None``) and ``reset_mode=None``, ACE is SAC.

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
    :param causal_sample_size: number of most recent transitions the causal weights are fitted on (``N_c``)
    :param causal_interval: env steps between two fits of the causal weights (``I``)
    :param causal_method: how the causal effects of the actions on the reward are estimated: ``"reward_sink"``
        (reward as a sink of the causal graph, well under a second per fit), ``"direct_lingam"`` (the authors' full
        DirectLiNGAM, seconds to hours per fit) or ``None`` (no causal step: all weights stay 1)
    :param reset_mode: ``"reset"`` (retention from the actor's dormant ratio), ``"causal_reset"`` (retention from
        the spread of the causal weights) or ``None`` (no reset)
    :param reset_interval: gradient updates between two soft resets (``R``)
    :param reset_start: gradient updates before the first soft reset may happen
    :param dormant_threshold: a neuron is gradient-dormant when its gradient norm is below this fraction of its
        layer's mean (``tau``)
    :param reset_retention_bounds: ``(low, high)`` bounds of the retention ``lam`` of the old parameters
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
        causal_sample_size: int = 10_000,
        causal_interval: int = 10_000,
        causal_method: str | None = "reward_sink",
        reset_mode: str | None = "reset",
        reset_interval: int = 100_000,
        reset_start: int = 5_000,
        dormant_threshold: float = 0.05,
        reset_retention_bounds: tuple[float, float] = (0.2, 0.9),
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
        self.causal_sample_size = causal_sample_size
        self.causal_interval = causal_interval
        self.causal_method = causal_method
        self.reset_mode = reset_mode
        self.reset_interval = reset_interval
        self.reset_start = reset_start
        self.dormant_threshold = dormant_threshold
        self.reset_retention_bounds = reset_retention_bounds
        # What the causal step found last (saved with the model; the weights themselves live in the actor)
        self.causal_coefficients: np.ndarray | None = None  # B[r, a]; zeros once the spaces are known
        self.causal_fit_seconds = 0.0
        self.causal_fits = 0
        self.num_resets = 0  # soft resets done so far (saved with the model)

        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        # Models saved by SAC name SAC's policy classes: use ACE's counterpart
        self.policy_class = SAC_TO_ACE_POLICY.get(self.policy_class, self.policy_class)  # type: ignore[arg-type]
        if not issubclass(self.policy_class, ACEPolicy):
            raise ValueError(f"ACE needs an ACEPolicy (whose actor applies the causal weights), got {self.policy_class}")
        self.causal_weight_callback: CausalWeightCallback | None = None
        if self.causal_method is not None:
            n_variables = causal_state_dim(self.observation_space) + get_action_dim(self.action_space) + 1
            check_causal_settings(self.causal_sample_size, self.causal_interval, self.causal_method, n_variables)
            self.causal_weight_callback = CausalWeightCallback(
                self.causal_sample_size, self.causal_interval, self.causal_method, verbose=self.verbose
            )
        if self.causal_coefficients is None:
            self.causal_coefficients = np.zeros(get_action_dim(self.action_space))
        self.dormant_reset_callback: DormantResetCallback | None = None
        if self.reset_mode is not None:
            self.dormant_reset_callback = DormantResetCallback(
                self.reset_mode,
                self.reset_interval,
                self.reset_start,
                self.dormant_threshold,
                self.reset_retention_bounds,
                verbose=self.verbose,
            )
        super()._setup_model()

    @property
    def causal_weights(self) -> np.ndarray:
        """The current causal weights ``w`` of the entropy term, one per action dimension (all 1 before the first fit)."""
        return self.actor.causal_weights.cpu().numpy().copy()

    def _with_ace_callbacks(self, callback: MaybeCallback) -> list[BaseCallback]:
        """The user's callbacks, preceded by ACE's own unless the user passed one of the same class."""
        user_callbacks = [] if callback is None else list(callback) if isinstance(callback, list) else [callback]
        user_callbacks = [cb if isinstance(cb, BaseCallback) else ConvertCallback(cb) for cb in user_callbacks]
        ace_callbacks = [
            ace_callback
            for ace_callback in (self.causal_weight_callback, self.dormant_reset_callback)
            if ace_callback is not None and not any(_contains_callback(cb, type(ace_callback)) for cb in user_callbacks)
        ]
        return ace_callbacks + user_callbacks

    def learn(
        self: SelfACE,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "ACE",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfACE:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=self._with_ace_callbacks(callback),
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )

    def _excluded_save_params(self) -> list[str]:
        # The callbacks hold the recent transitions and a reference to the model: rebuilt by _setup_model on load
        return [*super()._excluded_save_params(), "causal_weight_callback", "dormant_reset_callback"]
