"""What ACE adds to a maximum-entropy off-policy learner of the SB3 family, in one place: :class:`ACEAdditions`.

ACE (Ji, Liang et al., ICML 2024, https://arxiv.org/abs/2402.14528) adds two things to SAC, and neither is tied to
SAC: the causality-aware entropy lives in the actor's log-probability (:class:`~sb3_ace.common.policies.CausalActorMixin`)
and the dormancy-guided soft reset acts on networks and optimizers (:class:`~sb3_ace.DormantResetCallback`). An ACE
learner is ``class ACEX(ACEAdditions, X)`` with ACE policies for ``X``; the learner's own update stays its own.
"""

import inspect
import io
import logging
import os
import pathlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, get_args

import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, RolloutReturn

from sb3_ace.common.causal_discovery import CausalMethod
from sb3_ace.common.causal_weights import CausalWeightCallback, TransitionFIFO, causal_state_dim, check_causal_settings
from sb3_ace.common.dormancy import (
    DormantResetCallback,
    ResetMode,
    check_reset_settings,
    check_resettable,
    dormant_ratios,
    resettable_networks,
)
from sb3_ace.common.finite_check import FiniteEnvDataCheck
from sb3_ace.common.policies import ACEPolicyMixin, CausalActorMixin, LinearInit
from sb3_ace.common.saving import is_damaged_zip, save_atomically

SelfACEAdditions = TypeVar("SelfACEAdditions", bound="ACEAdditions")

logger = logging.getLogger(__name__)

_ACE_LEARNERS: list[type["ACEAdditions"]] = []  # every class built on ACEAdditions, to name a policy's owner

ActionUnits = Literal["scaled", "env"]
ACTION_UNITS: tuple[ActionUnits, ...] = get_args(ActionUnits)
# Attribute of a pickled replay buffer that carries ACE's recent transitions (see ACEAdditions.save_replay_buffer)
_RECENT_TRANSITIONS_ATTRIBUTE = "ace_recent_transitions"
# Settings that have no "off" value: None is as wrong for them as any other non-number
_REQUIRED_SETTINGS = (
    "causal_sample_size",
    "causal_interval",
    "standardize_causal_effects",
    "reset_interval",
    "reset_start",
    "dormant_threshold",
    "reset_retention_bounds",
)
# Counters renamed in sb3-ace 0.2, by their old names (a model saved before carries those)
_RENAMED_COUNTERS = {"causal_fits": "num_causal_fits", "causal_failed_fits": "num_failed_causal_fits"}

ADDITIONS_PARAMETERS_DOC = """
    ACE's additions (shared by every ACE learner, see :class:`~sb3_ace.common.algorithm.ACEAdditions`):

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
        graph, well under a second per fit), the authors' estimator ``"causal_learn"``, or ``None`` (no causal step:
        all weights stay 1)
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
    :param reset_init: how a soft reset draws the fresh weights of the ``nn.Linear`` layers: ``None`` (default) as
        the policy's ``linear_init`` initialised them, or ``"default"``, ``"xavier_uniform"``, ``"orthogonal"`` (the
        authors'). Other layers are drawn as PyTorch initialises them (see :func:`~sb3_ace.common.dormancy.soft_reset`)
"""
"""The docstring part of ACE's own parameters, appended to the docstring of every ACE learner."""


def _contains_callback(callback: BaseCallback, callback_class: type[BaseCallback]) -> bool:
    if isinstance(callback, CallbackList):
        return any(_contains_callback(child, callback_class) for child in callback.callbacks)
    return isinstance(callback, callback_class)


def check_count(name: str, value: object, minimum: int) -> None:
    """Raise a ``TypeError`` or ``ValueError`` naming ``name`` unless ``value`` is an integer ``>= minimum``."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _learner_signature(ace_class: type) -> inspect.Signature:
    """
    The signature of ``ace_class(...)``: its learner's parameters, then the keyword-only parameters of the classes
    between the two (such as ACE's ``policy_delay``), then ACE's settings (:meth:`ACEAdditions.__init__` forwards
    ``*args`` and ``**learner_kwargs`` to the learner, which would otherwise hide the learner's parameters).
    """
    mro = ace_class.__mro__
    position = mro.index(ACEAdditions)
    learner = mro[position + 1]
    parameters = list(inspect.signature(learner).parameters.values())
    parameters = [parameter for parameter in parameters if parameter.kind is not parameter.VAR_KEYWORD]
    for klass in (*reversed(mro[:position]), ACEAdditions):
        if "__init__" in vars(klass):
            own = inspect.signature(vars(klass)["__init__"]).parameters.values()
            parameters += [parameter for parameter in own if parameter.kind is parameter.KEYWORD_ONLY]
    return inspect.Signature(parameters)


def _owner_of(policy_class: object) -> str:
    """Which learner ``policy_class`` belongs to, for an error message: the ACE learner whose policy it is, or the plain
    learner an ACE learner maps it from."""
    if isinstance(policy_class, type):
        for ace_class in _ACE_LEARNERS:
            ace = ace_class.__name__
            if issubclass(policy_class, tuple(ace_class.policy_aliases.values())):
                return f"a policy of {ace} (a model saved by {ace} loads with {ace}.load)"
            if policy_class in ace_class.learner_policies:
                learner = ace_class.__mro__[ace_class.__mro__.index(ACEAdditions) + 1].__name__
                return f"a policy of {learner} (a model saved by {learner} loads with {learner}.load or {ace}.load)"
    return "not a policy of an ACE learner"


# The learner interface the mixin relies on (every off-policy algorithm of SB3 and sb3-contrib)
if TYPE_CHECKING:
    _LearnerBase = OffPolicyAlgorithm
else:
    _LearnerBase = object


class ACEAdditions(_LearnerBase):
    """
    ACE's additions to a maximum-entropy off-policy learner of the SB3 family. A learner gets them from its ACE
    policies and one class line, ``class ACETQC(ACEAdditions, TQC)`` (ACE first in the bases), whose
    ``policy_aliases`` and ``learner_policies`` name its ACE policies (an
    :class:`~sb3_ace.common.policies.ACEPolicyMixin` whose ``actor_class`` is a
    :class:`~sb3_ace.common.policies.CausalActorMixin`). The learner's ``__init__`` and ``train()`` stay its own.

    - Causality-aware entropy: the actor's ``action_log_prob`` returns ``log pi_c(a|s) = sum_i w_i * l_i``, so the
      learner's critic target, actor loss and temperature loss use it unchanged (paper, eq. 5-7). The weights
      ``w = dim(A) * softmax(B[r, a])`` are refitted on schedule by a :class:`~sb3_ace.CausalWeightCallback`.
    - Dormancy-guided soft reset: a :class:`~sb3_ace.DormantResetCallback` interpolates the networks towards a fresh
      initialisation and clears the optimizers after the ``train()`` call that ran a scheduled update.
    - A NaN or infinite observation or reward stops training at the env step it comes out of the env
      (:class:`~sb3_ace.NonFiniteEnvDataError`); saves are atomic; the settings and counters are saved with the model
      and the recent transitions of the causal step with the replay buffer.

    The model owns ACE's settings (the keyword arguments below, declared here and nowhere else) and its counters
    (``num_causal_fits``, ``num_failed_causal_fits``, ``num_resets``); the callbacks read the settings from the model
    and count on it. The settings are checked when the model is built or loaded and at the start of every
    :meth:`learn` (where a setting changed on the model in between is caught). :meth:`learn` adds both callbacks by
    itself, unless ``callback=`` already holds one of that class. With ``causal_method=None`` and ``reset_mode=None``
    the learner trains exactly as without ACE, bit for bit.

    :param args: the learner's positional arguments (``policy``, ``env``, ...)
    :param learner_kwargs: the learner's keyword arguments
    """

    __doc__ += ADDITIONS_PARAMETERS_DOC

    learner_policies: ClassVar[dict[type[BasePolicy], type[BasePolicy]]] = {}
    """The learner's policy classes and ACE's counterparts: ``load`` takes a model saved by the plain learner."""
    policy: ACEPolicyMixin
    actor: CausalActorMixin

    def __init__(
        self,
        *args: Any,
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
        **learner_kwargs: Any,
    ) -> None:
        # Set before the learner's __init__, which ends by setting up the model (whose _setup_model checks them)
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
        # What the causal step found and did (the weights themselves live in the actor)
        self.causal_coefficients = np.zeros(0)  # B[r, a]: zeros, one per action dimension, once the spaces are known
        self.causal_fit_seconds = 0.0
        self.num_causal_fits = 0
        self.num_failed_causal_fits = 0
        # What the soft reset measured and did
        self.num_resets = 0
        self.dormant_ratio: float | None = None  # beta of the actor, as last measured (saved: see DormantResetCallback)
        self.reset_retention: float | None = None  # lam of the last reset
        # The N_c most recent transitions the causal weights are fitted on: saved with the replay buffer
        self.recent_transitions: TransitionFIFO | None = None
        self._stop_requested = False  # set by stop_training(), e.g. from a signal handler
        super().__init__(*args, **learner_kwargs)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__signature__ = _learner_signature(cls)  # type: ignore[attr-defined]  # for help(), IDEs and the docs
        _ACE_LEARNERS.append(cls)

    @property
    def causal_fits(self) -> int:
        """``num_causal_fits``, by its name before sb3-ace 0.2."""
        return self.num_causal_fits

    @property
    def causal_failed_fits(self) -> int:
        """``num_failed_causal_fits``, by its name before sb3-ace 0.2."""
        return self.num_failed_causal_fits

    def _check_ace_settings(self) -> None:
        """Raise a ``TypeError`` or ``ValueError`` naming the setting if one of ACE's settings cannot work."""
        for name in _REQUIRED_SETTINGS:
            if getattr(self, name) is None:
                raise TypeError(f"{name} must be given (None is no value for it)")
        if self.random_action_steps is not None:
            check_count("random_action_steps", self.random_action_steps, 0)
        if self.action_units not in ACTION_UNITS:
            raise ValueError(f"action_units must be one of {ACTION_UNITS}, got {self.action_units!r}")
        if not isinstance(self.standardize_causal_effects, bool | np.bool_):
            raise TypeError(f"standardize_causal_effects must be True or False, got {self.standardize_causal_effects!r}")
        # The sample size must exceed the causal data's columns only where there is a causal step
        n_variables = None
        if self.causal_method is not None:
            n_variables = causal_state_dim(self.observation_space) + get_action_dim(self.action_space) + 1
        check_causal_settings(self.causal_sample_size, self.causal_interval, self.causal_method, n_variables)
        check_reset_settings(
            self.reset_mode,
            self.reset_interval,
            self.reset_start,
            self.dormant_threshold,
            self.reset_retention_bounds,
            self.reset_init,
        )

    def _setup_model(self) -> None:
        # Models saved by the plain learner name its policy classes: use ACE's counterpart
        self.policy_class = self.learner_policies.get(self.policy_class, self.policy_class)  # type: ignore[arg-type]
        own = tuple(self.policy_aliases.values())
        if not (isinstance(self.policy_class, type) and issubclass(self.policy_class, own)):
            name = type(self).__name__
            policy = self.policy_class
            described = f"{policy.__module__}.{policy.__qualname__}" if isinstance(policy, type) else repr(policy)
            raise ValueError(
                f"{name} needs one of its own policies ({', '.join(self.policy_aliases)}, or a subclass of one); "
                f"{described} is {_owner_of(policy)}"
            )
        for old, new in _RENAMED_COUNTERS.items():  # a model saved before sb3-ace 0.2 (load sets its attributes)
            if old in self.__dict__:
                setattr(self, new, self.__dict__.pop(old))
        self._check_ace_settings()
        if len(self.causal_coefficients) != get_action_dim(self.action_space):  # a new model, or the plain learner's
            self.causal_coefficients = np.zeros(get_action_dim(self.action_space))
        super()._setup_model()
        if self.reset_mode is not None:
            check_resettable(resettable_networks(self.policy))  # a layer a reset could not draw afresh fails here, not later
        if self.action_units == "env":
            low, high = self.action_space.low, self.action_space.high  # type: ignore[attr-defined]
            self.actor.action_scale = th.as_tensor((high - low) / 2.0, dtype=th.float32, device=self.device)

    def _setup_learn(
        self,
        total_timesteps: int,
        callback: MaybeCallback = None,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "run",
        progress_bar: bool = False,
    ) -> tuple[int, BaseCallback]:
        total_timesteps, callback = super()._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar
        )
        self._check_ace_settings()  # after the callbacks' setup, which may have set some of them
        if self.causal_method is not None and self.causal_interval < self.n_envs:
            logger.warning(
                "causal_interval=%d is smaller than the number of envs (%d): every vector step adds %d env steps, so the "
                "causal weights are fitted at every vector step, more often than every %d env steps",
                self.causal_interval,
                self.n_envs,
                self.n_envs,
                self.causal_interval,
            )
        return total_timesteps, callback

    def stop_training(self) -> None:
        """
        Ask the running :meth:`learn` to return at the end of the current rollout (the env step now running, with
        ``train_freq=1``), after its gradient updates and any reset they make due: the model is then as a run of that
        many steps would leave it, and a resumed run keeps the schedule. Safe to call from a signal handler
        (``python -m sb3_ace.train`` does, on SIGTERM and SIGINT).
        """
        self._stop_requested = True

    def collect_rollouts(self, *args: Any, **kwargs: Any) -> RolloutReturn:
        if self._stop_requested:  # between two rollouts: the last one's transitions stored and trained on
            return RolloutReturn(0, 0, continue_training=False)
        return super().collect_rollouts(*args, **kwargs)

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
        self: SelfACEAdditions,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str | None = None,
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfACEAdditions:
        """
        The learner's ``learn``, with ACE's callbacks added (see the class docstring). Same parameters as SB3's;
        ``tb_log_name`` defaults to the algorithm's class name (``ACE``, ``ACETQC``, ...).
        """
        try:
            return super().learn(
                total_timesteps=total_timesteps,
                callback=self._with_ace_callbacks(callback),
                log_interval=log_interval,
                tb_log_name=type(self).__name__ if tb_log_name is None else tb_log_name,
                reset_num_timesteps=reset_num_timesteps,
                progress_bar=progress_bar,
            )
        finally:
            self._stop_requested = False  # answered: the next learn() trains

    def save(
        self,
        path: str | pathlib.Path | io.BufferedIOBase,
        exclude: Any = None,
        include: Any = None,
    ) -> None:
        """
        Save the model to a zip file, atomically: a previous file at ``path`` stays intact until the new one is
        complete (a process killed mid-save leaves the previous checkpoint loadable). Same parameters as SB3's.

        The actor's gradient dormancy is measured first (``dormant_ratio``): the gradients it is measured on are not
        saved, and a soft reset of the loaded model that comes before its next actor update takes it from there.
        """
        if self.reset_mode is not None:  # beta of the actor's latest gradients, which the saved parameters do not carry
            measured, _ = dormant_ratios(self.actor, self.dormant_threshold)
            self.dormant_ratio = self.dormant_ratio if measured is None else measured
        learner_save: Callable[..., None] = super().save
        save_atomically(path, "zip", lambda destination: learner_save(destination, exclude, include))

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
        learner_save_replay_buffer = super().save_replay_buffer
        setattr(self.replay_buffer, _RECENT_TRANSITIONS_ATTRIBUTE, self.recent_transitions)
        try:
            save_atomically(path, "pkl", learner_save_replay_buffer)
        finally:
            delattr(self.replay_buffer, _RECENT_TRANSITIONS_ATTRIBUTE)

    def load_replay_buffer(self, path: str | pathlib.Path | io.BufferedIOBase, truncate_last_traj: bool = True) -> None:
        """Load a replay buffer saved by :meth:`save_replay_buffer` (or by the plain learner), and ACE's recent
        transitions with it."""
        super().load_replay_buffer(path, truncate_last_traj)
        recent_transitions = self.replay_buffer.__dict__.pop(_RECENT_TRANSITIONS_ATTRIBUTE, None)  # type: ignore[union-attr]
        if recent_transitions is not None:
            self.recent_transitions = recent_transitions

    def _excluded_save_params(self) -> list[str]:
        # The recent transitions go with the replay buffer; a stop request is the running process's
        return [*super()._excluded_save_params(), "recent_transitions", "_stop_requested"]

    @classmethod
    def load(  # type: ignore[override]
        cls: type[SelfACEAdditions],
        path: str | pathlib.Path | io.BufferedIOBase,
        env: GymEnv | None = None,
        device: th.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> SelfACEAdditions:
        """
        Load a model saved by this learner (or by its plain learner: ``ACE.load`` takes SAC's models), as SB3's
        ``load``. A model of another learner is a ``ValueError`` naming both; a file that is not a complete saved model
        (truncated by a copy or by a save killed before sb3-ace's saves were atomic) one that says it is damaged.
        """
        try:
            return super().load(path, env, device, custom_objects, print_system_info, force_reset, **kwargs)
        except (AssertionError, ValueError) as error:  # SB3's "No data found", "wasn't a zip-file"
            if isinstance(path, str | os.PathLike) and is_damaged_zip(path):
                raise ValueError(
                    f"{path} is damaged: it is not a complete saved model (a truncated zip file). Load an earlier "
                    "checkpoint, or the file's original if this is a copy"
                ) from error
            raise
