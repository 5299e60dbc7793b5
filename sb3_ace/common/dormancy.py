"""Gradient dormancy of the actor and ACE's dormancy-guided soft reset (ACE paper, section 4.3).

The fresh parameters ``phi`` a reset moves towards are drawn, by default, the way the networks were initialised
(the policy's ``linear_init``: PyTorch's default for SB3's and sb3-contrib's networks), so that a reset pulls them back
towards the distribution they started from. ``reset_init="orthogonal"`` draws ``phi`` as the authors' code does
(orthogonal weights, gain 1, zero biases), although their networks are initialised xavier-uniform.
"""

import collections
import logging
import math
from collections.abc import Iterable
from numbers import Real
from typing import Literal, get_args

import numpy as np
import torch as th
from sb3_contrib.common.torch_layers import BatchRenorm
from torch import nn

from sb3_ace.common.policies import ACEPolicyMixin, LinearInit, check_linear_init, init_linear
from sb3_ace.common.schedule import crossed_multiple
from sb3_ace.common.step_callback import ACEStepCallback

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


# Layers a soft reset draws afresh: phi is a new draw of the layer's initialisation (``reset_parameters()``, or the
# Linear init scheme for nn.Linear)
_DRAWN_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.Embedding,
)
# Normalization layers: phi is their initial affine transform, scale 1 and shift 0
_NORMALIZATION_LAYERS: tuple[type[nn.Module], ...] = (
    nn.LayerNorm,
    nn.GroupNorm,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    BatchRenorm,
    *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()),  # torch >= 2.4
)


def resettable_networks(policy: ACEPolicyMixin) -> list[nn.Module]:
    """The networks a soft reset interpolates: actor, critic and the critic target where the learner has one."""
    critic_target = getattr(policy, "critic_target", None)  # CrossQ has no target network
    return [policy.actor, policy.critic] + ([critic_target] if critic_target is not None else [])


def _is_gsde_log_std(layer: nn.Module) -> bool:
    """Whether the parameters of ``layer`` itself are an SB3 actor's gSDE ``log_std`` (reset towards ``log_std_init``)."""
    own = dict(layer.named_parameters(recurse=False))
    return own.keys() == {"log_std"} and hasattr(layer, "log_std_init")


def check_resettable(modules: Iterable[nn.Module]) -> None:
    """
    Raise a ``ValueError`` naming the first layer that holds learned parameters of its own and that :func:`soft_reset`
    cannot draw afresh (a layer type it does not know), so that no reset is silently partial.

    :param modules: the networks a reset would interpolate
    """
    known = _DRAWN_LAYERS + _NORMALIZATION_LAYERS
    for module in modules:
        for name, layer in module.named_modules():
            has_parameters = next(layer.parameters(recurse=False), None) is not None
            if not has_parameters or isinstance(layer, known) or _is_gsde_log_std(layer):
                continue
            raise ValueError(
                f"reset_mode: the soft reset cannot reinitialise layer {name!r} of {type(module).__name__} "
                f"({type(layer).__name__}): it knows {', '.join(t.__name__ for t in known)}. "
                "Use reset_mode=None, or networks built of these layers"
            )


def soft_reset(modules: Iterable[nn.Module], retention: float, init: LinearInit) -> None:
    """
    Interpolate every learned parameter of ``modules`` towards a fresh initialisation, in place:
    ``theta <- lam * theta + (1 - lam) * phi`` (ACE paper, section 4.3).

    - ``nn.Linear``: ``phi`` drawn with ``init`` (:data:`~sb3_ace.common.policies.LinearInit`).
    - Convolutions and embeddings: ``phi`` drawn by the layer's own ``reset_parameters()`` (PyTorch's initialisation,
      which SB3's feature extractors keep).
    - Normalization layers (LayerNorm, GroupNorm, BatchNorm, sb3-contrib's BatchRenorm, RMSNorm): ``phi`` is the
      identity transform, scale 1 and shift 0. Their running statistics (and BatchRenorm's warm-up count) are kept:
      they are not learned but measure the activations flowing in, and follow the reset networks within about
      ``1 / momentum`` training passes. Setting them back would make every eval-mode pass (acting, CrossQ's
      next-action pass) normalize with wrong statistics until re-estimated, and restart BatchRenorm's warm-up as
      plain batch normalization (https://arxiv.org/abs/1702.03275): a change of regime the paper does not ask for.
    - gSDE's ``log_std`` (an SB3 actor's own parameter with ``use_sde``): ``phi`` is its initial value ``log_std_init``.

    The layers are visited module by module in ``named_modules()`` order, each drawing its ``phi`` from torch's global
    generator, so every module gets its own independent fresh copy. A layer shared by several modules (e.g. a features
    extractor shared by actor and critic) is interpolated once, on its first visit. The parameter tensors stay the same
    objects (the optimizers keep referring to them); gradients are left as they are. A layer of another type that
    holds parameters is an error (:func:`~sb3_ace.common.dormancy.check_resettable`).

    :param modules: the networks to reset, e.g. actor, critic and critic target
    :param retention: ``lam``, the weight of the old parameters
    :param init: how ``phi`` of the Linear layers is drawn
    """
    modules = list(modules)
    check_resettable(modules)
    visited: set[nn.Module] = set()  # shared by the modules: a shared layer is reset once
    with th.no_grad():
        for module in modules:
            for _, layer in module.named_modules(memo=visited):
                params = list(layer.parameters(recurse=False))
                if not params:
                    continue
                theta = [param.clone() for param in params]
                if isinstance(layer, nn.Linear):
                    init_linear(layer, init)  # the layer now holds phi
                elif isinstance(layer, _DRAWN_LAYERS):
                    layer.reset_parameters()  # type: ignore[operator]
                elif _is_gsde_log_std(layer):
                    params[0].fill_(layer.log_std_init)  # type: ignore[arg-type]
                else:  # a normalization layer: its biases (shift) 0, the rest (scale) 1
                    for param_name, param in layer.named_parameters(recurse=False):
                        param.fill_(0.0 if param_name == "bias" else 1.0)
                for param, old in zip(params, theta, strict=True):
                    param.mul_(1.0 - retention).add_(old, alpha=retention)  # lam * theta + (1 - lam) * phi


class DormantResetCallback(ACEStepCallback):
    """
    Dormancy-guided soft reset of an ACE learner's actor, critics and optimizers (ACE paper, section 4.3).

    A reset follows the gradient update of index ``u`` (0-based, over the whole run) when ``u > reset_start`` and
    ``u`` is a multiple of ``reset_interval`` (the authors' schedule). It comes at the end of the learner's ``train()``
    call that ran update ``u``: right after it with one gradient update per call (SB3's default and the authors'),
    after the call's last update otherwise (at most one reset per call). The schedule depends on the update index only,
    so a run saved and resumed resets at the same updates as one trained straight through. A reset:

    - sets the retention ``lam``: ``clip(1 - beta, low, high)`` from the actor's dormant ratio ``beta``
      (mode ``"reset"``, see :func:`~sb3_ace.common.dormancy.dormant_ratios`) or
      ``clip(1.5 - exp(-8 * (max(w) - min(w))), low, high)`` from the causal weights ``w`` (mode ``"causal_reset"``);
    - interpolates actor, critic and critic target (where the learner has one) towards fresh initialisations
      (:func:`~sb3_ace.common.dormancy.soft_reset`);
    - clears the state (moments, step counts) of the actor and critic optimizers;
    - resamples the gSDE exploration noise (with ``use_sde``) and counts the reset in ``model.num_resets``.

    The temperature and its optimizer, the replay buffer and the causal weights are left untouched. ``beta`` is measured
    on the gradients of the latest actor update, which the actor's parameters still hold. After ``load`` they hold none
    until the next actor update (with ``policy_delay > 1`` a reset can come first): the reset then takes the ``beta``
    the model measured when it was saved (``model.dormant_ratio``), the same measurement. A model saved before
    sb3-ace 0.2, or before its first actor update, has none: that reset keeps the most of the old parameters
    (``lam = high``) and logs a warning.

    The settings are the model's (``model.reset_interval`` etc.): a value given here sets the model's when training
    starts, replacing its own (and is saved with it).

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
    :param reset_init: how the fresh weights of the Linear layers are drawn (:data:`~sb3_ace.common.policies.LinearInit`);
        the model's ``reset_init``, whose ``None`` means the policy's own ``linear_init``
    :param dormancy_interval: gradient updates between two measurements of the dormant ratio for the logs
    :param verbose: verbosity level: 0 no output, 1 a line per reset
    """

    switch = "reset_mode"

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
        if not _is_int(dormancy_interval):
            raise TypeError(f"dormancy_interval must be an integer number of gradient updates, got {dormancy_interval!r}")
        if dormancy_interval <= 0:
            raise ValueError(f"dormancy_interval must be a positive number of gradient updates, got {dormancy_interval}")
        check_reset_settings(reset_mode, reset_interval, reset_start, dormant_threshold, reset_retention_bounds, reset_init)
        settings = {
            "reset_mode": reset_mode,
            "reset_interval": reset_interval,
            "reset_start": reset_start,
            "dormant_threshold": dormant_threshold,
            "reset_retention_bounds": reset_retention_bounds,
            "reset_init": reset_init,
        }
        super().__init__(settings, verbose)
        self.dormancy_interval = dormancy_interval
        self.layer_dormant_ratios: dict[str, float] = {}  # for the logs
        self.updates_seen = 0  # the model's update count when this callback last looked

    def _init_callback(self) -> None:
        super()._init_callback()
        self.updates_seen = self.model._n_updates

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        self.after_updates()  # those of the train() call since the last rollout

    def _on_training_end(self) -> None:
        self.after_updates()  # those of the last train() call: a resumed run must not miss its reset

    def after_updates(self) -> None:
        """Measure the dormancy and softly reset on schedule, after the updates the model ran since the last call."""
        first, end = self.updates_seen, self.model._n_updates  # updates first, ..., end - 1 are new
        self.updates_seen = end
        if end <= first:
            return
        if crossed_multiple(first - 1, end - 1, self.dormancy_interval):
            self.measure_dormancy()
        if self.next_reset_update(first) < end:
            self.reset_networks()

    def next_reset_update(self, update: int) -> int:
        """
        The index of the first update at or after ``update`` that a reset follows.

        :param update: a 0-based update index, counted over the whole run
        :return: the smallest ``u >= update`` with ``u > reset_start`` and ``u`` a multiple of ``reset_interval``
        """
        interval = self.model.reset_interval
        earliest = max(update, self.model.reset_start + 1)
        return -(-earliest // interval) * interval  # the first multiple of the interval at or after earliest

    def measure_dormancy(self) -> float | None:
        """
        Measure the actor's gradient dormancy into ``model.dormant_ratio`` (and per layer, for the logs).

        :return: the dormant ratio ``beta``, ``None`` if the actor has no gradients (``model.dormant_ratio`` is kept)
        """
        beta, self.layer_dormant_ratios = dormant_ratios(self.model.actor, self.model.dormant_threshold)
        if beta is not None:
            self.model.dormant_ratio = beta
        return beta

    def reset_networks(self) -> float:
        """
        Softly reset actor, critic and critic target (if any) and clear their optimizers' state, now.

        :return: the retention ``lam`` used
        """
        model = self.model
        bounds = model.reset_retention_bounds
        beta = self.measure_dormancy()
        if model.reset_mode == "causal_reset":
            lam = causal_retention(model.causal_weights, bounds)
        elif beta is not None or model.dormant_ratio is not None:  # after load, the ratio measured at the save
            lam = dormancy_retention(model.dormant_ratio, bounds)  # type: ignore[arg-type]
        else:
            lam = bounds[1]
            logger.warning(
                "%s soft reset at %d updates: the actor has no gradients to measure its dormancy on, and the model "
                "holds no earlier measurement (saved before sb3-ace 0.2, or before its first actor update): retention "
                "%.3f, the upper bound",
                type(model).__name__,
                model._n_updates,
                lam,
            )
        policy = model.policy
        soft_reset(resettable_networks(policy), lam, model.reset_init or policy.linear_init)
        for optimizer in (policy.actor.optimizer, policy.critic.optimizer):
            optimizer.state = collections.defaultdict(dict)  # Adam moments and step counts
        if model.use_sde:
            model.actor.reset_noise(model.n_envs)
        model.num_resets += 1
        model.reset_retention = lam
        if self.verbose >= 1:
            beta_text = "unknown" if model.dormant_ratio is None else f"{model.dormant_ratio:.3f}"
            name = type(model).__name__
            print(f"{name} soft reset at {model._n_updates} updates: retention {lam:.3f}, dormant ratio {beta_text}")
        return lam

    def _on_rollout_end(self) -> None:
        if self.model.dormant_ratio is not None:
            self.logger.record("reset/dormant_ratio", self.model.dormant_ratio)
        for name, ratio in self.layer_dormant_ratios.items():
            self.logger.record(f"reset/dormant_ratio/{name}", ratio, exclude=("stdout", "log"))
        if self.model.reset_retention is not None:
            self.logger.record("reset/retention", self.model.reset_retention)
        self.logger.record("reset/num_resets", self.model.num_resets)
