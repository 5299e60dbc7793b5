"""Gradient dormancy of the actor and ACE's dormancy-guided soft reset (ACE paper, section 4.3).

The fresh parameters ``phi`` a reset moves towards are drawn, by default, the way the networks were initialised
(the policy's ``linear_init``: PyTorch's default for SB3's and sb3-contrib's networks), so that a reset pulls them back
towards the distribution they started from. ``reset_init="orthogonal"`` draws ``phi`` as the authors' code does
(orthogonal weights, gain 1, zero biases), although their networks are initialised xavier-uniform.

The paper resets plain MLPs. CrossQ's networks also hold BatchRenorm layers (https://arxiv.org/abs/1702.03275): their
learned affine scale and bias are parameters like a Linear layer's and are interpolated the same way, towards their
fresh values 1 and 0. Their running mean and variance and their warm-up step count are left as they are: they are not
learned but measure the activations that flow into the layer, and they follow the reset networks' new activations
within about ``1 / momentum`` (100) training passes. Setting them back to (0, 1) would make every eval-mode forward
pass (the actor acting, CrossQ's next-action pass) normalize with wrong statistics until they are re-estimated, and
restarting the warm-up count would switch the layers back to plain batch normalization for ``renorm_warmup_steps``
(100,000) passes: a change of regime the paper does not ask for.
"""

import collections
import logging
import math
from collections.abc import Iterable
from numbers import Real
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import torch as th
from sb3_contrib.common.torch_layers import BatchRenorm
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn

from sb3_ace.common.policies import CausalActorMixin, LinearInit, check_linear_init, init_linear
from sb3_ace.common.schedule import crossed_multiple

if TYPE_CHECKING:
    from sb3_ace.common.algorithm import ACEAdditions

logger = logging.getLogger(__name__)

ResetMode = Literal["reset", "causal_reset"]
RESET_MODES: tuple[ResetMode, ...] = get_args(ResetMode)


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def check_reset_settings(
    reset_mode: str | None = None,
    reset_interval: int | None = None,
    reset_start: int | None = None,
    dormant_threshold: float | None = None,
    reset_retention_bounds: tuple[float, float] | None = None,
    reset_init: LinearInit | None = None,
) -> None:
    """
    Raise a ``TypeError`` or ``ValueError`` naming the parameter if a soft reset's setting cannot work (settings
    that are ``None`` are not checked).

    :param reset_mode: ``"reset"`` or ``"causal_reset"``
    :param reset_interval: gradient updates between two resets (``R``)
    :param reset_start: the update index after which resets may happen
    :param dormant_threshold: dormancy threshold ``tau``
    :param reset_retention_bounds: ``(low, high)`` bounds of the retention ``lam``
    :param reset_init: how the fresh copy is drawn, ``None`` for the policy's own ``linear_init``
    """
    if reset_mode is not None and reset_mode not in RESET_MODES:
        raise ValueError(f"reset_mode must be one of {RESET_MODES} (or None for no reset), got {reset_mode!r}")
    for name, value in (("reset_interval", reset_interval), ("reset_start", reset_start)):
        if value is not None and not _is_int(value):
            raise TypeError(f"{name} must be an integer number of gradient updates, got {value!r} ({type(value).__name__})")
    if reset_interval is not None and reset_interval <= 0:
        raise ValueError(f"reset_interval must be a positive number of gradient updates, got {reset_interval}")
    if reset_start is not None and reset_start < 0:
        raise ValueError(f"reset_start must be a non-negative number of gradient updates, got {reset_start}")
    if dormant_threshold is not None:
        if not _is_real(dormant_threshold):
            raise TypeError(
                f"dormant_threshold must be a number, got {dormant_threshold!r} ({type(dormant_threshold).__name__})"
            )
        if not 0.0 < dormant_threshold < 1.0:
            raise ValueError(f"dormant_threshold must lie in (0, 1), got {dormant_threshold}")
    if reset_retention_bounds is not None:
        if not (
            isinstance(reset_retention_bounds, tuple | list)
            and len(reset_retention_bounds) == 2
            and all(_is_real(bound) for bound in reset_retention_bounds)
        ):
            raise TypeError(f"reset_retention_bounds must be a pair of numbers (low, high), got {reset_retention_bounds!r}")
        low, high = reset_retention_bounds
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"reset_retention_bounds must satisfy 0 <= low <= high <= 1, got {reset_retention_bounds}")
    if reset_init is not None:
        check_linear_init(reset_init, "reset_init")


def dormant_ratios(module: nn.Module, threshold: float) -> tuple[float | None, dict[str, float]]:
    """
    Gradient dormancy of the ``nn.Linear`` layers of ``module``, from the gradients its parameters hold.

    Per layer and output neuron ``j``: ``g_j = ||dL/dW_j||_2``, the norm of the gradient w.r.t. row ``j`` of the
    weight (the bias is left out). Neuron ``j`` is dormant if ``g_j < tau * mean_j(g_j)``. Layers whose weight has no
    gradient (``.grad is None``, e.g. before the first update) are left out.

    :param module: the network, e.g. ACE's actor (hidden layers, mean and log-std heads, features extractor)
    :param threshold: the dormancy threshold ``tau``
    :return: the dormant ratio ``beta`` (dormant neurons / all neurons, pooled over the layers; ``None`` if no
        layer has a gradient) and the ratio of each layer, by module name
    """
    per_layer: dict[str, float] = {}
    dormant, total = 0, 0
    for name, layer in module.named_modules():
        if not isinstance(layer, nn.Linear) or layer.weight.grad is None:
            continue
        g = th.linalg.vector_norm(layer.weight.grad, dim=1)  # g_j, one per output neuron
        n_dormant = int((g < threshold * g.mean()).sum())  # g_j < tau * mean(g)
        per_layer[name] = n_dormant / len(g)
        dormant, total = dormant + n_dormant, total + len(g)
    return (dormant / total if total else None), per_layer  # beta


def dormancy_retention(dormant_ratio: float, bounds: tuple[float, float]) -> float:
    """
    Retention of the old parameters in mode ``"reset"``: ``lam = clip(1 - beta, low, high)``.

    :param dormant_ratio: the actor's dormant ratio ``beta``
    :param bounds: ``(low, high)``
    :return: ``lam``
    """
    return float(np.clip(1.0 - dormant_ratio, *bounds))


def causal_retention(causal_weights: np.ndarray, bounds: tuple[float, float]) -> float:
    """
    Retention of the old parameters in mode ``"causal_reset"``: ``lam = clip(1.5 - exp(-8 * delta), low, high)``
    with ``delta = max(w) - min(w)``, the spread of the causal weights.

    :param causal_weights: the causal weights ``w``, one per action dimension
    :param bounds: ``(low, high)``
    :return: ``lam``
    """
    delta = float(np.max(causal_weights) - np.min(causal_weights))
    return float(np.clip(1.5 - math.exp(-8.0 * delta), *bounds))


def soft_reset(modules: Iterable[nn.Module], retention: float, init: LinearInit) -> None:
    """
    Interpolate the learned parameters of ``modules`` towards a fresh initialisation, in place:
    ``theta <- lam * theta + (1 - lam) * phi``, for the weight and bias of every ``nn.Linear`` (``phi`` drawn with
    ``init``) and the affine scale and bias of every ``BatchRenorm`` layer (``phi`` = 1 and 0; their running
    statistics and warm-up count are kept, see the module docstring).

    The layers are visited module by module in ``named_modules()`` order, each Linear layer drawing its ``phi`` from
    torch's global generator, so every module gets its own independent fresh copy. A layer shared by several modules
    (e.g. a features extractor shared by actor and critic) is interpolated once, on its first visit. The parameter
    tensors stay the same objects (the optimizers keep referring to them); gradients are left as they are.

    :param modules: the networks to reset, e.g. actor, critic and critic target
    :param retention: ``lam``, the weight of the old parameters
    :param init: how ``phi`` of the Linear layers is drawn (:data:`sb3_ace.common.policies.LinearInit`)
    """
    visited: set[nn.Module] = set()  # shared by the modules: a shared layer is reset once
    with th.no_grad():
        for module in modules:
            for _, layer in module.named_modules(memo=visited):
                if isinstance(layer, nn.Linear):
                    theta = [param.clone() for param in layer.parameters(recurse=False)]
                    init_linear(layer, init)  # the layer now holds phi
                    for param, old in zip(layer.parameters(recurse=False), theta, strict=True):
                        param.mul_(1.0 - retention).add_(old, alpha=retention)  # lam * theta + (1 - lam) * phi
                elif isinstance(layer, BatchRenorm):
                    layer.scale.mul_(retention).add_(1.0 - retention)  # lam * scale + (1 - lam) * 1
                    layer.bias.mul_(retention)  # lam * bias + (1 - lam) * 0


class DormantResetCallback(BaseCallback):
    """
    Dormancy-guided soft reset of an ACE learner's actor, critics and optimizers.

    Right after the gradient update of index ``u`` (0-based, over the whole run; the algorithm's ``train()`` calls
    :meth:`after_updates` and ends a run of updates at the scheduled one), when ``u > reset_start`` and ``u`` is a
    multiple of ``reset_interval`` (the authors' schedule), the callback:

    - sets the retention ``lam``: ``clip(1 - beta, low, high)`` from the actor's dormant ratio ``beta``
      (mode ``"reset"``, see :func:`dormant_ratios`) or ``clip(1.5 - exp(-8 * (max(w) - min(w))), low, high)``
      from the causal weights ``w`` (mode ``"causal_reset"``);
    - interpolates actor, critic and critic target (where the learner has one: CrossQ has none) towards fresh
      initialisations (:func:`soft_reset`);
    - clears the state (moments, step counts) of the actor and critic optimizers;
    - resamples the gSDE exploration noise (with ``use_sde``) and counts the reset in ``model.num_resets``.

    The temperature and its optimizer, the replay buffer and the causal weights are left untouched. The dormancy is
    measured on the gradients of the latest actor update, which the actor's parameters still hold. The schedule
    depends on the update index only, so a saved and reloaded model resets at the same updates as one trained
    straight through.

    Every setting left ``None`` is read from the model (``model.reset_interval`` etc.) each time it is used: ACE's
    own instance reads them all, so changing them on the model takes effect. Give a value to override the model's.

    Logged under ``reset/``: ``dormant_ratio`` (``beta``, measured at every reset and after the ``train()`` call
    whose updates reach a multiple of ``dormancy_interval``), ``dormant_ratio/<layer>`` per actor layer (to csv,
    json and tensorboard only: long layer names would collide once truncated in the stdout table), ``retention``
    (``lam`` of the last reset) and ``num_resets``.

    Every ACE learner (:class:`~sb3_ace.ACE`, :class:`~sb3_ace.ACETQC`, :class:`~sb3_ace.ACECrossQ`) adds one by
    itself (with ``reset_mode`` not ``None``); pass your own in ``callback=`` to replace it.

    :param reset_mode: ``"reset"`` (retention from the dormant ratio) or ``"causal_reset"`` (from the causal weights)
    :param reset_interval: gradient updates between two resets (``R``)
    :param reset_start: the update index after which resets may happen
    :param dormant_threshold: a neuron is gradient-dormant below this fraction of its layer's mean (``tau``)
    :param reset_retention_bounds: ``(low, high)`` bounds the retention ``lam`` is clipped to
    :param reset_init: how the fresh copy ``phi`` is drawn (:data:`sb3_ace.common.policies.LinearInit`); the model's
        ``reset_init``, whose ``None`` means the policy's own ``linear_init``
    :param dormancy_interval: gradient updates between two measurements of the dormant ratio for the logs
    :param verbose: verbosity level: 0 no output, 1 a line per reset
    """

    model: "ACEAdditions"

    def __init__(
        self,
        reset_mode: ResetMode | None = None,
        reset_interval: int | None = None,
        reset_start: int | None = None,
        dormant_threshold: float | None = None,
        reset_retention_bounds: tuple[float, float] | None = None,
        reset_init: LinearInit | None = None,
        dormancy_interval: int = 1_000,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if not _is_int(dormancy_interval):
            raise TypeError(f"dormancy_interval must be an integer number of gradient updates, got {dormancy_interval!r}")
        if dormancy_interval <= 0:
            raise ValueError(f"dormancy_interval must be a positive number of gradient updates, got {dormancy_interval}")
        self.own_settings: dict[str, Any] = {
            "reset_mode": reset_mode,
            "reset_interval": reset_interval,
            "reset_start": reset_start,
            "dormant_threshold": dormant_threshold,
            "reset_retention_bounds": reset_retention_bounds,
            "reset_init": reset_init,
        }
        check_reset_settings(**self.own_settings)  # those given; the model checks its own
        self.dormancy_interval = dormancy_interval
        self.dormant_ratio: float | None = None
        self.layer_dormant_ratios: dict[str, float] = {}
        self.retention: float | None = None

    def setting(self, name: str) -> Any:
        """The value of setting ``name``: this callback's own, else the model's."""
        own = self.own_settings[name]
        return getattr(self.model, name) if own is None else own

    def _init_callback(self) -> None:
        if not isinstance(getattr(self.model, "actor", None), CausalActorMixin):
            raise TypeError(f"DormantResetCallback needs an ACE model, got {type(self.model).__name__}")
        if self.setting("reset_mode") is None:
            raise ValueError("DormantResetCallback needs a reset_mode: the model's is None (no reset) and none was given")
        check_reset_settings(**{name: self.setting(name) for name in self.own_settings})
        self.model.dormant_reset = self  # the algorithm's train() calls after_updates() after its gradient updates

    def _on_training_end(self) -> None:
        self.model.dormant_reset = None

    def _on_step(self) -> bool:
        return True

    def next_reset_update(self, update: int) -> int:
        """
        The index of the first update at or after ``update`` that a reset follows.

        :param update: a 0-based update index, counted over the whole run
        :return: the smallest ``u >= update`` with ``u > reset_start`` and ``u`` a multiple of ``reset_interval``
        """
        interval = self.setting("reset_interval")
        earliest = max(update, self.setting("reset_start") + 1)
        return -(-earliest // interval) * interval  # the first multiple of the interval at or after earliest

    def after_updates(self, first: int, end: int) -> None:
        """
        Measure the dormancy and softly reset on schedule, right after the gradient updates ``first, ..., end - 1``.

        :param first: the 0-based index of the first of these updates, counted over the whole run
        :param end: one past the last one's index (the model's ``_n_updates`` after them)
        """
        if end <= first:
            return
        if crossed_multiple(first - 1, end - 1, self.dormancy_interval):
            self.measure_dormancy()
        if self.next_reset_update(end - 1) == end - 1:
            self.reset_networks()

    def measure_dormancy(self) -> float | None:
        """
        Measure the actor's gradient dormancy (kept for the logs).

        :return: the dormant ratio ``beta``, ``None`` if the actor has no gradients yet
        """
        self.dormant_ratio, self.layer_dormant_ratios = dormant_ratios(self.model.actor, self.setting("dormant_threshold"))
        return self.dormant_ratio

    def reset_networks(self) -> float | None:
        """
        Softly reset actor, critic and critic target (if any) and clear their optimizers' state, now.

        :return: the retention ``lam`` used, ``None`` if the reset was skipped (mode ``"reset"`` with no actor
            gradients to measure the dormancy on)
        """
        beta = self.measure_dormancy()
        bounds = self.setting("reset_retention_bounds")
        if self.setting("reset_mode") == "causal_reset":
            lam = causal_retention(self.model.causal_weights, bounds)
        elif beta is not None:
            lam = dormancy_retention(beta, bounds)
        else:
            logger.warning("ACE soft reset at %d updates skipped: the actor has no gradients", self.model._n_updates)
            return None
        policy = self.model.policy
        init = self.setting("reset_init") or policy.linear_init
        critic_target = getattr(policy, "critic_target", None)  # CrossQ has no target network
        networks = [policy.actor, policy.critic] + ([critic_target] if critic_target is not None else [])
        soft_reset(networks, lam, init)
        for optimizer in (policy.actor.optimizer, policy.critic.optimizer):
            optimizer.state = collections.defaultdict(dict)  # Adam moments and step counts
        if self.model.use_sde:
            self.model.actor.reset_noise(self.model.n_envs)
        self.model.num_resets += 1
        self.retention = lam
        if self.verbose >= 1:
            beta_text = "unknown" if beta is None else f"{beta:.3f}"
            print(f"ACE soft reset at {self.model._n_updates} updates: retention {lam:.3f}, dormant ratio {beta_text}")
        return lam

    def _on_rollout_end(self) -> None:
        if self.dormant_ratio is not None:
            self.logger.record("reset/dormant_ratio", self.dormant_ratio)
        for name, ratio in self.layer_dormant_ratios.items():
            self.logger.record(f"reset/dormant_ratio/{name}", ratio, exclude=("stdout", "log"))
        if self.retention is not None:
            self.logger.record("reset/retention", self.retention)
        self.logger.record("reset/num_resets", self.model.num_resets)
