"""Which of ACE's two parts a difference comes from: the 2x2 design that a campaign's baseline, an ACE variant and its
two one-part ablations (no causal step, no soft reset) form on a task.

With the four cells (causal step off/on x soft reset off/on), each part's main effect is the mean return (final, or
the area under the curve) of the runs with it minus that of the runs without, averaged over the other part's two
levels (Montgomery, *Design and Analysis of Experiments*, ch. 5), and the interaction is how much one part's effect
changes with the other::

    causal step:  ((ACE - ACE-no-causal) + (ACE-no-reset - SAC)) / 2
    soft reset:   ((ACE - ACE-no-reset) + (ACE-no-causal - SAC)) / 2
    interaction:   (ACE - ACE-no-causal) - (ACE-no-reset - SAC)

each cell its mean over the seeds. The four runs of one seed are not independent: they start from the same
networks and take the same steps until ACE's first causal fit (10,000 steps in the campaigns), and each ablation
shares a longer stretch with its neighbours in the design (ACE-no-causal is the baseline's run until the first soft
reset). So the seed is the unit: the design uses the seeds that all four cells ran, and each effect is the mean over
them of the seed's own effect (the formulas above on its four runs). Every effect has a 95% percentile-bootstrap
interval over the seeds (a seed's four runs resampled together), and each main effect a two-sided sign-flip test of
the seed's effect: its null, "this part changes nothing, whatever the other part does", makes the part's label
exchangeable within every seed, which flips that seed's effect. The test is exact (all 2**n sign patterns of n seeds)
where 2**n is at most the number of resamples.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.campaign import Variant, is_ace

# One value per seed (final return or AUC) of the four cells: neither part, causal step only, soft reset only, both;
# each (seeds,), the same seeds in the same order
CellSamples = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
# An effect of the design from the four cells' values, averaged along ``axis``: causal_effect, reset_effect, interaction
Statistic = Callable[..., np.ndarray]

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
    p: float  # two-sided sign-flip p-value; NaN for the interaction

    def interval(self) -> str:
        """The effect and its interval in whole return units: "-84 [-137, -40]"."""
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


def seed_effects(statistic: Statistic, cells: CellSamples) -> np.ndarray:
    """A statistic of the design on each seed's four runs alone: shape (seeds,)."""
    return statistic(*(cell[:, np.newaxis] for cell in cells), axis=1)  # each cell (seeds, 1): one run per seed


def sign_flip_p(effect: np.ndarray, reps: int) -> float:
    """Two-sided p-value of a main effect from its value per seed: each seed's sign flipped (the part's label
    exchanged within the seed), over all 2**seeds patterns or ``reps`` random ones, whichever is fewer."""
    test = stats.permutation_test(
        (effect,), np.mean, permutation_type="samples", vectorized=True, n_resamples=reps, random_state=0
    )  # one sample and permutation_type="samples": the signs are flipped (scipy's paired test)
    return float(test.pvalue)


def _effect(name: str, by_seed: np.ndarray, reps: int, tested: bool = True) -> Effect:
    """The mean of an effect's values by seed, with its bootstrap interval over the seeds (``reps`` resamples) and,
    where ``tested``, its sign-flip p-value."""
    interval = stats.bootstrap(
        (by_seed,), np.mean, vectorized=True, method="percentile", n_resamples=reps, random_state=0
    ).confidence_interval
    p = sign_flip_p(by_seed, reps) if tested else float("nan")
    return Effect(name, float(np.mean(by_seed)), float(interval.low), float(interval.high), p)


def _check_seeds(cells: CellSamples) -> None:
    if len({len(cell) for cell in cells}) != 1:
        raise ValueError(f"the four cells must hold the same seeds, got {[len(cell) for cell in cells]} values")


def effects(cells: CellSamples, reps: int) -> list[Effect]:
    """Both main effects and the interaction of the four cells' values by seed (neither, causal only, reset only,
    both), with their intervals (``reps`` bootstrap resamples of the seeds) and the main effects' p-values (sign flips
    of the seeds' effects, at most ``reps``)."""
    _check_seeds(cells)
    statistics = (("causal step", causal_effect), ("soft reset", reset_effect), ("interaction", interaction))
    return [_effect(name, seed_effects(statistic, cells), reps, name != "interaction") for name, statistic in statistics]


def simple_effects(cells: CellSamples, names: Cells, reps: int) -> list[Effect]:
    """Each part's simple effects: its effect at each level of the other part, from one pair of cells each
    (Montgomery, ch. 5): the causal step without and with the reset, then the reset without and with the causal step,
    each named with its pair (``"causal step without the reset (ACE-no-reset - SAC)"``). A main effect is the mean of
    its part's two: they show whether it comes from both pairs of cells or from one."""
    _check_seeds(cells)
    neither, causal, reset, both = cells  # each (seeds,)
    pairs = (
        ("causal step without the reset", names.causal_only, causal, names.neither, neither),
        ("causal step with the reset", names.both, both, names.reset_only, reset),
        ("soft reset without the causal step", names.reset_only, reset, names.neither, neither),
        ("soft reset with the causal step", names.both, both, names.causal_only, causal),
    )
    return [_effect(f"{part} ({name} - {other})", runs - other_runs, reps) for part, name, runs, other, other_runs in pairs]


def reading(effect: Effect, cells: Cells) -> str:
    """One sentence on an effect: its size, interval and p-value, and whether the data detect it."""
    stat = f"{signed(effect.value)}, 95% CI [{signed(effect.low)}, {signed(effect.high)}]"
    if effect.name == "interaction":
        found = "the causal step's effect depends on the reset" if effect.detected else "none detected (interval includes 0)"
        return f"- Interaction ({cells.both} - {cells.reset_only}) - ({cells.causal_only} - {cells.neither}): {stat}: {found}."
    stat += f", sign-flip p = {effect.p:.4f}"
    if effect.detected:
        direction = "higher" if effect.value > 0 else "lower"
        return f"- Runs with the {effect.name} end {abs(effect.value):.0f} {direction} on average ({stat})."
    return f"- No effect of the {effect.name} detected ({stat})."
