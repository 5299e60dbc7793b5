"""Which of ACE's two parts a difference comes from: the 2x2 design that a campaign's baseline, an ACE variant and its
two one-part ablations (no causal step, no soft reset) form on a task.

With the four cells (causal step off/on x soft reset off/on), each part's main effect is the mean return (final, or
the area under the curve) of the runs with it minus that of the runs without, averaged over the other part's two
levels (Montgomery, *Design and Analysis of Experiments*, ch. 5), and the interaction is how much one part's effect
changes with the other::

    causal step:  ((ACE - ACE-no-causal) + (ACE-no-reset - SAC)) / 2
    soft reset:   ((ACE - ACE-no-reset) + (ACE-no-causal - SAC)) / 2
    interaction:   (ACE - ACE-no-causal) - (ACE-no-reset - SAC)

each cell its mean over its seeds. Every effect has a 95% percentile-bootstrap interval (each cell's seeds resampled
independently, as the report's other intervals), and each main effect a two-sided permutation test whose
permutations exchange the part's label only within each level of the other part: its null is "this part changes
nothing, whatever the other part does", which the other part's own effect cannot reject.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.campaign import Variant, is_ace

# One value per seed (final return or AUC) of the four cells: neither part, causal step only, soft reset only, both
CellSamples = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

# ACE's two parts, by the setting that switches each off (None) in a variant of one of ACE's learners
PART_SETTINGS = {"causal step": "causal_method", "soft reset": "reset_mode"}


def variant_parts(variant: Variant, hyperparams: dict[str, Any]) -> frozenset[str]:
    """The parts of ACE (keys of :data:`PART_SETTINGS`) that ``variant`` runs: none for a learner that is not ACE's."""
    if not is_ace(variant.algo):
        return frozenset()
    settings = {**hyperparams, **variant.kwargs}
    return frozenset(part for part, setting in PART_SETTINGS.items() if settings.get(setting, "default") is not None)


@dataclass(frozen=True)
class Cells:
    """The four variants of a 2x2 design, by the parts they run."""

    neither: str  # the baseline: SAC
    causal_only: str  # ACE-no-reset
    reset_only: str  # ACE-no-causal
    both: str  # ACE


@dataclass(frozen=True)
class Effect:
    name: str  # "causal step", "soft reset" or "interaction"
    value: float  # in return units
    low: float  # its 95% bootstrap interval
    high: float
    p: float  # two-sided permutation p-value; NaN for the interaction

    def interval(self) -> str:
        """The effect and its interval in whole return units: "-84 [-124, -42]"."""
        return f"{signed(self.value)} [{signed(self.low)}, {signed(self.high)}]"

    @property
    def detected(self) -> bool:
        """The interval excludes 0 and, for a main effect, p < 0.05."""
        return (self.low > 0 or self.high < 0) and (np.isnan(self.p) or self.p < 0.05)


def signed(value: float) -> str:
    """A signed effect in whole return units. Rounded to an int first: a float format prints -0.3 as "-0"."""
    return f"{round(value):+d}"


def _cell_means(
    neither: np.ndarray, causal: np.ndarray, reset: np.ndarray, both: np.ndarray, axis: int = -1
) -> Iterator[np.ndarray]:
    return (np.mean(cell, axis=axis) for cell in (neither, causal, reset, both))


def causal_effect(neither: np.ndarray, causal: np.ndarray, reset: np.ndarray, both: np.ndarray, axis: int = -1) -> np.ndarray:
    n, c, r, b = _cell_means(neither, causal, reset, both, axis)
    return ((b - r) + (c - n)) / 2


def reset_effect(neither: np.ndarray, causal: np.ndarray, reset: np.ndarray, both: np.ndarray, axis: int = -1) -> np.ndarray:
    n, c, r, b = _cell_means(neither, causal, reset, both, axis)
    return ((b - c) + (r - n)) / 2


def interaction(neither: np.ndarray, causal: np.ndarray, reset: np.ndarray, both: np.ndarray, axis: int = -1) -> np.ndarray:
    n, c, r, b = _cell_means(neither, causal, reset, both, axis)
    return (b - r) - (c - n)


def _shuffled(without: np.ndarray, with_: np.ndarray, reps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``reps`` relabellings of one stratum: the pooled runs shuffled, then split at the sizes of the two groups."""
    pooled = np.tile(np.concatenate([without, with_]), (reps, 1))  # (reps, n_without + n_with)
    shuffled = rng.permuted(pooled, axis=1)
    return shuffled[:, : len(without)], shuffled[:, len(without) :]


def permutation_p(effect: str, cells: CellSamples, reps: int, seed: int = 0) -> float:
    """Two-sided p-value of a main effect (``"causal step"`` or ``"soft reset"``): the part's label exchanged within
    each level of the other part, ``reps`` times; (more extreme relabellings + 1) / (reps + 1)."""
    neither, causal, reset, both = cells
    rng = np.random.default_rng(seed)
    if effect == "causal step":  # strata: reset off (neither | causal), reset on (reset | both)
        statistic = causal_effect
        neither_p, causal_p = _shuffled(neither, causal, reps, rng)
        reset_p, both_p = _shuffled(reset, both, reps, rng)
    else:  # strata: causal step off (neither | reset), on (causal | both)
        statistic = reset_effect
        neither_p, reset_p = _shuffled(neither, reset, reps, rng)
        causal_p, both_p = _shuffled(causal, both, reps, rng)
    observed = abs(statistic(*cells))
    permuted = np.abs(statistic(neither_p, causal_p, reset_p, both_p, axis=1))
    return float((np.sum(permuted >= observed - 1e-12) + 1) / (reps + 1))


def effects(cells: CellSamples, reps: int) -> list[Effect]:
    """Both main effects and the interaction of the four cells' values (neither, causal only, reset only, both), with
    their intervals (``reps`` bootstrap resamples) and the main effects' p-values (``reps`` relabellings)."""
    found = []
    for name, statistic in (("causal step", causal_effect), ("soft reset", reset_effect), ("interaction", interaction)):
        interval = stats.bootstrap(
            cells, statistic, vectorized=True, paired=False, method="percentile", n_resamples=reps, random_state=0
        ).confidence_interval
        p = float("nan") if name == "interaction" else permutation_p(name, cells, reps)
        found.append(Effect(name, float(statistic(*cells)), float(interval.low), float(interval.high), p))
    return found


def reading(effect: Effect, cells: Cells) -> str:
    """One sentence on an effect: its size, interval and p-value, and whether the data detect it."""
    stat = f"{signed(effect.value)}, 95% CI [{signed(effect.low)}, {signed(effect.high)}]"
    if effect.name == "interaction":
        found = "the causal step's effect depends on the reset" if effect.detected else "none detected (interval includes 0)"
        return f"- Interaction ({cells.both} - {cells.reset_only}) - ({cells.causal_only} - {cells.neither}): {stat}: {found}."
    stat += f", permutation p = {effect.p:.4f}"
    if effect.detected:
        direction = "higher" if effect.value > 0 else "lower"
        return f"- Runs with the {effect.name} end {abs(effect.value):.0f} {direction} on average ({stat})."
    return f"- No effect of the {effect.name} detected ({stat})."
