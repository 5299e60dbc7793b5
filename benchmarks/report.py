"""Report of a learning campaign: tables and learning curves from every committed result, written into the docs.

    python -m benchmarks.report benchmarks/campaigns/sac_sized_100k.yml      # -> docs/campaigns/sac_sized_100k.md + .png

Every variant is compared with the campaign's ``baseline`` (SAC unless the campaign file names another) and, when its
name is another variant's name plus "-..." (an ablation: ``ACE-no-reset`` of ``ACE``), also with that variant. The
comparison is rliable's probability of improvement P(X > Y): the probability that a run of X ends higher than a run
of Y (ties count half), read as "no difference detected" when its 95% interval includes 0.5. The page has:

- across tasks: P(X > Y) of every compared pair averaged over the tasks where both have at least 5 seeds, with a
  95% stratified percentile-bootstrap interval (the seeds of each variant resampled within each task, independently);
- per task, over the seeds each variant has finished: the final evaluation return (at the budget) and the area under
  the learning curve (the mean evaluation return over all evaluations, step 0 included), each as an interquartile
  mean (IQM) with a 95% percentile-bootstrap confidence interval over the seeds, P(X > baseline) with its interval
  (the same bootstrap, on one task), the per-seed values and the authors' reported values where task, budget and
  variant names match;
- per task, how active ACE's two parts were in each variant: the largest ``|w_i - 1|`` of the causal weights over a
  run's fits (median and range over the seeds) and the soft resets per run, also in the reading;
- the ablations, per task, against the variant they ablate and against the baseline;
- which of ACE's two parts a difference comes from, where the baseline, an ACE variant and its two one-part ablations
  form a 2x2 design with enough seeds on a task: each part's main effect and their interaction (:mod:`benchmarks.parts`);
- the learning curves (IQM over the seeds, each seed faint), and the runs still missing with the core-hours they need
  (at the measured speed of their task, else the campaign file's estimate).

rliable's own bootstrap is not called: it needs ``arch``, whose 7.x releases fail to import with pandas 3; scipy's
percentile bootstrap computes the same intervals.
"""

import argparse
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import StrMethodFormatter
from rliable import metrics
from scipy import stats

from benchmarks import parts
from benchmarks.campaign import RESULTS, ROOT, Campaign, load_results

# The authors' reported final returns (read by eye off the curves of their project page: approximate), by task and
# budget, for their ACE and SAC: printed beside ours only where task, budget and the variant's name all match
AUTHORS_REPORTED: dict[tuple[str, int], dict[str, float]] = {
    ("HalfCheetah-v5", 1_000_000): {"ACE": 12_700, "SAC": 11_000},
    ("Walker2d-v5", 1_000_000): {"ACE": 5_300, "SAC": 4_200},
    ("Hopper-v5", 1_000_000): {"ACE": 3_500, "SAC": 3_300},
    ("Ant-v5", 3_000_000): {"ACE": 6_700, "SAC": 6_000},
    ("dm_control/cheetah-run-v0", 400_000): {"ACE": 760, "SAC": 550},
    ("dm_control/walker-run-v0", 400_000): {"ACE": 720, "SAC": 630},
    ("dm_control/hopper-stand-v0", 400_000): {"ACE": 840, "SAC": 750},
    ("dm_control/quadruped-walk-v0", 400_000): {"ACE": 810, "SAC": 780},
}
SEED_COLUMNS = [
    "task",
    "variant",
    "seed",
    "final",
    "auc",
    "final_success",
    "success_auc",
    "weight_activity",
    "activity_over",
    "last_weights",
    "resets",
    "steps_per_s",
    "minutes",
]
FINAL_RETURN = "final return"


def curves(results: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per evaluation of every run: task, variant, seed, step, mean_return."""
    rows = [
        {"task": r["task"], "variant": r["variant"], "seed": r["seed"], "step": p["step"], "mean_return": p["mean_return"]}
        for r in results
        for p in r["curve"]
    ]
    return pd.DataFrame(rows, columns=["task", "variant", "seed", "step", "mean_return"])


def without_causal_step(result: dict[str, Any]) -> bool:
    """The run's learner had its causal step switched off (``causal_method=None``): its weights stay 1 by construction."""
    return result["hyperparams"].get("causal_method", "default") is None


def weight_activity(result: dict[str, Any]) -> tuple[float, str]:
    """How active a run's causal weights were: the largest ``|w_i - 1|`` over every fit of the run and every action
    dimension, and over what (``"fits"``; ``"end"`` for runs that recorded only the last fit's weights, before the
    runner recorded every fit; NaN for a learner without causal weights)."""
    fits = result.get("causal_fits")
    if without_causal_step(result):
        return np.nan, ""
    if isinstance(fits, list) and fits:
        return max(float(np.max(np.abs(np.asarray(fit["weights"]) - 1.0))) for fit in fits), "fits"
    weights = result.get("causal_weights")
    if weights is None:
        return np.nan, ""
    return float(np.max(np.abs(np.asarray(weights) - 1.0))), "fits" if isinstance(fits, list) else "end"


def last_weights(result: dict[str, Any]) -> np.ndarray | None:
    """The causal weights a run ended with (its last fit's, as applied), one per action dimension; ``None`` for a
    learner without a causal step."""
    if without_causal_step(result) or result.get("causal_weights") is None:
        return None
    return np.asarray(result["causal_weights"], dtype=float)


def per_seed(results: list[dict[str, Any]], budget: int) -> pd.DataFrame:
    """One row per run: final return (at the budget), area under the curve (mean over evaluations), the final success
    rate and its AUC (NaN where the env reports no success), how active the causal weights were
    (:func:`weight_activity`), the weights it ended with, the soft resets, speed."""
    rows = []
    for r in results:
        returns = [p["mean_return"] for p in r["curve"]]
        successes = [p["success_rate"] for p in r["curve"] if p.get("success_rate") is not None]  # None: none reported
        final = [p for p in r["curve"] if p["step"] == budget]
        activity, over = weight_activity(r)
        rows.append(
            {
                "task": r["task"],
                "variant": r["variant"],
                "seed": r["seed"],
                "final": final[0]["mean_return"] if final else np.nan,
                "auc": float(np.mean(returns)),
                "final_success": final[0].get("success_rate") if final else None,
                # steadier than the final rate, which rests on one evaluation's episodes (10 in the campaigns)
                "success_auc": float(np.mean(successes)) if successes else None,
                "weight_activity": activity,
                "activity_over": over,
                "last_weights": last_weights(r),
                "resets": r["curve"][-1].get("num_resets", 0),
                "steps_per_s": r["train_steps_per_second"],
                "minutes": r["wall_seconds"] / 60,
            }
        )
    seeds = pd.DataFrame(rows, columns=SEED_COLUMNS).sort_values(["task", "variant", "seed"], ignore_index=True)
    return seeds.astype({"final_success": float, "success_auc": float})  # None: NaN


def measures(seeds: pd.DataFrame) -> list[tuple[str, str]]:
    """``(column, name)`` of what a task's reading compares: the final return, and the final success rate where the
    task's env reports success (Meta-World: the paper's measure)."""
    return [("final", FINAL_RETURN)] + ([("final_success", "final success rate")] if seeds.final_success.notna().any() else [])


# Fewest seeds of each variant an interval is computed with: with fewer, the percentile bootstrap's resamples take so
# few distinct values that its interval collapses (2 seeds of X all above 2 of Y give P = 1, 95% CI [1, 1]) and
# would read as a detected difference
MIN_SEEDS_FOR_AN_INTERVAL = 5
# Fewest seeds the four cells of a 2x2 design must share: with 5, even five seeds' effects of one sign give a two-sided
# sign-flip p of 2 / 2**5 = 0.0625, so no effect could read as detected
MIN_SEEDS_FOR_A_DESIGN = 6


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """rliable's IQM (``metrics.aggregate_iqm``: the 25% trimmed mean) along one axis, for the vectorized bootstrap."""
    return stats.trim_mean(values, proportiontocut=0.25, axis=axis)


def iqm_interval(values: np.ndarray, reps: int) -> tuple[float, float, float]:
    """IQM of ``values`` over the seeds with its 95% percentile-bootstrap interval (NaN with fewer than
    :data:`MIN_SEEDS_FOR_AN_INTERVAL` seeds)."""
    value = float(metrics.aggregate_iqm(values))
    if len(values) < MIN_SEEDS_FOR_AN_INTERVAL:
        return value, float("nan"), float("nan")
    interval = stats.bootstrap(
        (values,), iqm, vectorized=True, method="percentile", n_resamples=reps, random_state=0
    ).confidence_interval
    return value, float(interval.low), float(interval.high)


def improvement(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """
    P(X > Y) between the seeds of X and of Y along ``axis``, ties counting half: rliable's probability of improvement
    on one task (the Mann-Whitney U statistic over the number of pairs), vectorized for the bootstrap.
    """
    x = np.moveaxis(x, axis, -1)[..., :, np.newaxis]
    y = np.moveaxis(y, axis, -1)[..., np.newaxis, :]
    return np.mean((x > y) + 0.5 * (x == y), axis=(-2, -1))


def average_probability_of_improvement(pairs: list[tuple[np.ndarray, np.ndarray]], reps: int) -> tuple[float, float, float]:
    """
    P(X > Y) averaged over tasks, given each task's (seeds of X, seeds of Y): rliable's ``probability_of_improvement``
    (which needs as many seeds on every task; here each task has its own), with its 95% stratified percentile-bootstrap
    interval: each variant's seeds resampled within each task, independently. NaN interval if a task has fewer than
    :data:`MIN_SEEDS_FOR_AN_INTERVAL` seeds of either variant.
    """
    value = float(np.mean([metrics.probability_of_improvement(x[:, np.newaxis], y[:, np.newaxis]) for x, y in pairs]))
    if min(min(len(x), len(y)) for x, y in pairs) < MIN_SEEDS_FOR_AN_INTERVAL:
        return value, float("nan"), float("nan")

    def statistic(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean([improvement(x, y, axis) for x, y in zip(samples[::2], samples[1::2], strict=True)], axis=0)

    interval = stats.bootstrap(
        [sample for pair in pairs for sample in pair],
        statistic,
        vectorized=True,
        paired=False,
        method="percentile",
        n_resamples=reps,
        random_state=0,
    ).confidence_interval
    return value, float(interval.low), float(interval.high)


def probability_of_improvement(x: np.ndarray, y: np.ndarray, reps: int) -> tuple[float, float, float]:
    """P(X > Y) over the seeds of one task with its 95% bootstrap interval: the average over this one task."""
    return average_probability_of_improvement([(x, y)], reps)


def parent(variant: str, variants: list[str]) -> str | None:
    """The variant that ``variant`` ablates: the longest other name that, plus "-", begins its name (ACE-no-reset: ACE)."""
    return max((other for other in variants if variant.startswith(other + "-")), key=len, default=None)


def comparisons(variants: list[str], baseline: str) -> list[tuple[str, str]]:
    """The (X, Y) pairs compared: every other variant against the baseline, an ablation first against its parent."""
    pairs = []
    for variant in variants:
        if variant == baseline:
            continue
        of = parent(variant, variants)
        if of is not None and of != baseline:
            pairs.append((variant, of))
        pairs.append((variant, baseline))
    return pairs


def ablations(variants: list[str], baseline: str) -> list[str]:
    """The variants that ablate another (see :func:`parent`), the baseline aside."""
    return [variant for variant in variants if variant != baseline and parent(variant, variants) is not None]


def interval_text(p: float, low: float, high: float) -> str:
    return f"{p:.2f} (no CI)" if np.isnan(low) else f"{p:.2f} [{low:.2f}, {high:.2f}]"


def verdict(
    x: str, y: str, p: float, low: float, high: float, seeds: str, scope: str = "", measure: str = FINAL_RETURN
) -> str:
    """One reading of P(X > Y) in ``measure``: where its 95% interval lies from 0.5, and the seeds it rests on."""
    named = "" if measure == FINAL_RETURN else f" in {measure}"
    if np.isnan(low):
        return f"- {x} against {y}{named}{scope}: {seeds}, too few for an interval: nothing to read yet."
    stat = f"P({x} > {y}) = {p:.2f}, 95% CI [{low:.2f}, {high:.2f}], {seeds}"
    if low > 0.5:
        return f"- {x} ends better than {y}{named}{scope} ({stat}: the interval excludes 0.5)."
    if high < 0.5:
        return f"- {x} ends worse than {y}{named}{scope} ({stat}: the interval excludes 0.5)."
    return f"- No difference detected between {x} and {y} in {measure}{scope} ({stat}: the interval includes 0.5)."


def values(seeds: pd.DataFrame, variant: str, metric: str) -> np.ndarray:
    return seeds[seeds.variant == variant][metric].to_numpy(dtype=float)


def task_table(seeds: pd.DataFrame, variants: list[str], baseline: str, reps: int, success: bool = False) -> pd.DataFrame:
    """Per variant of one task: seeds, IQM and interval of final return and AUC, P(variant > baseline); of the final
    success rate and its AUC instead with ``success`` (a table of its own: with the returns' it would not fit the page's
    column)."""
    shown = (
        [("final_success", "final success", ".2f"), ("success_auc", "AUC", ".2f")]
        if success
        else [("final", "final return", ".0f"), ("auc", "AUC", ".0f")]
    )
    # the success table's AUC and P columns are named as the returns' (its heading says what they are): with "success" in
    # their names it overflows the page's column
    compared = (("final_success", "final"), ("success_auc", "AUC")) if success else (("final", "final"), ("auc", "AUC"))
    rows = []
    for variant in variants:
        runs = seeds[seeds.variant == variant]
        if runs.empty:
            continue
        row: dict[str, Any] = {"variant": variant, "seeds": len(runs)}
        for metric, name, digits in shown:
            value, low, high = iqm_interval(runs[metric].to_numpy(dtype=float), reps)
            row[f"{name} IQM"] = f"{value:{digits}}"
            row[f"{name} 95% CI"] = f"[{low:{digits}}, {high:{digits}}]" if not np.isnan(low) else "(too few seeds)"
        if variant != baseline and (seeds.variant == baseline).any():
            for metric, name in compared:
                p = probability_of_improvement(values(seeds, variant, metric), values(seeds, baseline, metric), reps)
                row[f"P(> {baseline}), {name}"] = interval_text(*p)
        rows.append(row)
    return pd.DataFrame(rows)


def reading(seeds: pd.DataFrame, pairs: list[tuple[str, str]], reps: int) -> list[str]:
    """One sentence per pair (X, Y) of one task with runs of both and per measure (:func:`measures`): what the final
    values say, from P(X > Y)'s interval."""
    sentences = []
    for x, y in pairs:
        for metric, measure in measures(seeds):
            xs, ys = values(seeds, x, metric), values(seeds, y, metric)
            if len(xs) and len(ys):
                p = probability_of_improvement(xs, ys, reps)
                sentences.append(verdict(x, y, *p, f"{len(xs)} vs {len(ys)} seeds", measure=measure))
            elif len(xs) and metric == "final":
                sentences.append(f"- {x} against {y}: no run of {y} on this task yet.")
    return sentences


def scope_line(campaign: Campaign, where: str) -> str:
    return (
        f"Reading (final return at {campaign.budget:,} env steps, at the campaign's settings, {where}, with the seeds "
        "counted; it says nothing of longer budgets, other settings or other tasks):"
    )


def few_seeds_caveat(sentences: list[str], counts: list[int]) -> list[str]:
    """The caveat of readings that rest on intervals from fewer than 10 seeds of a variant."""
    if any("95% CI" in sentence for sentence in sentences) and min(counts) < 10:
        return [
            '- With fewer than 10 seeds per variant the intervals are wide: read "no difference detected" as '
            '"not enough runs yet", not as "no difference".'
        ]
    return []


def across_tasks(campaign: Campaign, seeds: pd.DataFrame, reps: int) -> list[str]:
    """The section comparing the variants across tasks: P(X > Y) averaged over the tasks with enough seeds of both."""
    variants = [variant.name for variant in campaign.variants]
    rows, sentences, not_yet, left_out = [], [], [], []
    entered_tasks: set[str] = set()
    entered_counts: list[int] = []
    by_task = {task.env_id: seeds[seeds.task == task.env_id] for task in campaign.tasks}
    for x, y in comparisons(variants, campaign.baseline):
        counts = {task: (int((runs.variant == x).sum()), int((runs.variant == y).sum())) for task, runs in by_task.items()}
        entered = [task for task, (nx, ny) in counts.items() if min(nx, ny) >= MIN_SEEDS_FOR_AN_INTERVAL]
        left_out += [
            f"{task} for {x} vs {y} ({nx} vs {ny} seeds)"
            for task, (nx, ny) in counts.items()
            if 0 < min(nx, ny) < MIN_SEEDS_FOR_AN_INTERVAL
        ]
        if not entered:
            not_yet.append(f"{x} vs {y}")
            continue
        entered_tasks.update(entered)
        entered_counts += [n for task in entered for n in counts[task]]
        described = "; ".join(f"{task}: {counts[task][0]} vs {counts[task][1]}" for task in entered)
        row: dict[str, Any] = {"X": x, "Y": y, "tasks: seeds of X vs Y": described}
        for metric, name in (("final", "final"), ("auc", "AUC")):
            per_task = [(values(by_task[task], x, metric), values(by_task[task], y, metric)) for task in entered]
            result = average_probability_of_improvement(per_task, reps)
            row[f"P(X > Y), {name}"] = interval_text(*result)
            if metric == "final":
                over = f", averaged over {len(entered)} task{'s' if len(entered) > 1 else ''}"
                sentences.append(verdict(x, y, *result, f"{described} seeds", over))
        rows.append(row)
    lines = [
        "## Across tasks",
        "",
        "P(X > Y): the probability that a run of X ends higher than a run of Y (ties count half), averaged over the tasks "
        f"where both have at least {MIN_SEEDS_FOR_AN_INTERVAL} seeds (rliable's probability of improvement); "
        "its 95% interval is a stratified bootstrap: the seeds of each variant resampled within each task, "
        "independently, as in each task's own interval. "
        "Final return at the budget, and AUC (the mean evaluation return along the run).",
        "",
    ]
    if not rows:
        which = (
            "No finished runs yet."
            if seeds.empty
            else f"No pair of variants has a task with {MIN_SEEDS_FOR_AN_INTERVAL} seeds of both yet."
        )
        return [*lines, which, "", *([f"- Left out: {'; '.join(left_out)}.", ""] if left_out else [])]
    lines += [pd.DataFrame(rows).to_markdown(index=False), "", scope_line(campaign, "on the tasks listed"), "", *sentences]
    if len(entered_tasks) == 1:
        lines += [f"- One task only so far ({min(entered_tasks)}): these values are that task's own, not a view across tasks."]
    lines += few_seeds_caveat(sentences, entered_counts)
    if not_yet:
        lines += [f"- Not compared yet (no task with {MIN_SEEDS_FOR_AN_INTERVAL} seeds of both): {', '.join(not_yet)}."]
    if left_out:
        lines += [f"- Left out, fewer than {MIN_SEEDS_FOR_AN_INTERVAL} seeds of one variant: {'; '.join(left_out)}."]
    return [*lines, ""]


def ablation_section(campaign: Campaign, seeds: pd.DataFrame, reps: int) -> list[str]:
    """The ablations on each task where they have runs: P(X > Y) against the variant each ablates and the baseline."""
    variants = [variant.name for variant in campaign.variants]
    ablated = ablations(variants, campaign.baseline)
    if not ablated:
        return []
    parents = sorted({name for variant in ablated if (name := parent(variant, variants))}, key=variants.index)
    against = " and ".join(f"`{name}`" for name in dict.fromkeys([*parents, campaign.baseline]))
    lines = [
        "## Ablations",
        "",
        'The variants named after another plus "-...": '
        + ", ".join(f"`{variant}` (of `{parent(variant, variants)}`)" for variant in ablated)
        + f". Each against the variant it ablates (what removing the part changes) and against the baseline, so against "
        f"{against}, on each task where it has runs: P(X > Y) over the seeds with its 95% bootstrap interval, as in the "
        "task sections.",
        "",
    ]
    shown = False
    for task in (task.env_id for task in campaign.tasks):
        task_seeds = seeds[seeds.task == task]
        pairs = [
            (x, y) for x, y in comparisons(variants, campaign.baseline) if x in ablated and (task_seeds.variant == x).any()
        ]
        if not pairs:
            continue
        shown = True
        rows = []
        for x, y in pairs:
            row: dict[str, Any] = {
                "ablation": x,
                "against": y,
                "seeds": f"{(task_seeds.variant == x).sum()} vs {(task_seeds.variant == y).sum()}",
            }
            for metric, name in (("final", "final"), ("auc", "AUC")):
                xs, ys = values(task_seeds, x, metric), values(task_seeds, y, metric)
                row[f"P(ablation > against), {name}"] = (
                    interval_text(*probability_of_improvement(xs, ys, reps)) if len(ys) else ""
                )
            rows.append(row)
        counts = task_seeds[task_seeds.variant.isin({v for pair in pairs for v in pair})].groupby("variant").size().tolist()
        lines += [f"### {task}", "", pd.DataFrame(rows).to_markdown(index=False), "", scope_line(campaign, f"on {task}"), ""]
        sentences = reading(task_seeds, pairs, reps)
        lines += [*sentences, *few_seeds_caveat(sentences, counts), ""]
    if not shown:
        lines += [f"No run of {' or '.join(ablated)} has finished yet (see the missing runs).", ""]
    return lines


def designs(campaign: Campaign) -> list[parts.Cells]:
    """The 2x2 designs of the campaign: the baseline (neither of ACE's parts), a variant with both and its two
    ablations (see :func:`parent`) with one part each."""
    names = [variant.name for variant in campaign.variants]
    run = {variant.name: parts.variant_parts(variant, campaign.hyperparams) for variant in campaign.variants}
    both = frozenset(parts.PART_SETTINGS)
    found = []
    for name in names:
        if name == campaign.baseline or run[name] != both or run[campaign.baseline]:
            continue
        one_part = {run[child]: child for child in names if parent(child, names) == name}
        causal_only, reset_only = one_part.get(frozenset({"causal step"})), one_part.get(frozenset({"soft reset"}))
        if causal_only and reset_only:
            found.append(parts.Cells(campaign.baseline, causal_only, reset_only, name))
    return found


# (task, cells, effects) of every 2x2 design on every task with the seeds for it: see design_effects
DesignEffects = list[tuple[str, parts.Cells, list[parts.Effect]]]


def design_seeds(task_seeds: pd.DataFrame, cells: parts.Cells) -> list[int]:
    """The seeds that all four cells of a design ran on one task: the design's unit (see :mod:`benchmarks.parts`)."""
    ran = [set(task_seeds.seed[task_seeds.variant == name]) for name in astuple(cells)]
    return sorted(set.intersection(*ran))


def design_samples(task_seeds: pd.DataFrame, cells: parts.Cells, metric: str) -> parts.CellSamples:
    """The four cells' values of ``metric`` on one task, on :func:`design_seeds`, in seed order."""
    table = task_seeds.pivot(index="seed", columns="variant", values=metric)  # (seeds, variants)
    table = table.reindex(index=design_seeds(task_seeds, cells), columns=list(astuple(cells)))  # (design's seeds, 4)
    neither, causal, reset, both = (table[name].to_numpy(dtype=float) for name in astuple(cells))
    return neither, causal, reset, both


def design_effects(campaign: Campaign, seeds: pd.DataFrame, reps: int, metric: str = "final") -> DesignEffects:
    """``(task, cells, effects)`` on ``metric`` (``"final"`` or ``"auc"``) for every design and task where the four
    cells share at least :data:`MIN_SEEDS_FOR_A_DESIGN` seeds."""
    found = []
    for cells in designs(campaign):
        for task in (task.env_id for task in campaign.tasks):
            samples = design_samples(seeds[seeds.task == task], cells, metric)
            if len(samples[0]) >= MIN_SEEDS_FOR_A_DESIGN:
                found.append((task, cells, parts.effects(samples, reps)))
    return found


def short_step(step: int) -> str:
    """An env step count as a short label: ``95000`` as ``95k``, ``0`` and ``50`` as they are."""
    return f"{step // 1000}k" if step and step % 1000 == 0 else f"{step}"


def effects_by_step(task_curves: pd.DataFrame, cells: parts.Cells, seeds: list[int]) -> list[str]:
    """Where along the run each main effect of a 2x2 design is: its value on the mean evaluation return of the design's
    ``seeds`` at every evaluation step that all their runs reached (point values: the intervals are on the final
    return and AUC)."""
    design_curves = task_curves[task_curves.seed.isin(seeds)]
    returns = design_curves.pivot_table(index="step", columns=["variant", "seed"], values="mean_return")
    returns = returns.dropna()  # (steps, runs): only the steps every run evaluated
    neither, causal, reset, both = (returns[name].to_numpy() for name in astuple(cells))  # each (steps, seeds)
    lines = []
    for name, statistic in (("causal step", parts.causal_effect), ("soft reset", parts.reset_effect)):
        by_step = statistic(neither, causal, reset, both, axis=1)  # (steps,)
        labels = map(short_step, returns.index)
        steps = ", ".join(f"{label} {parts.signed(effect)}" for label, effect in zip(labels, by_step, strict=True))
        lines.append(f"- The {name}'s effect by evaluation step: {steps}.")
    return lines


def effects_table(effects: Iterable[tuple[parts.Effect, parts.Effect]]) -> str:
    """A table of effects, one row per (final return, AUC) pair of one effect: value, interval and p of each."""
    rows = []
    for final, auc in effects:
        row = {"effect": final.name}
        for metric, on in (("final", final), ("AUC", auc)):
            row[f"{metric} [95% CI]"] = on.interval()
            row[f"{metric} p"] = "" if np.isnan(on.p) else f"{on.p:.4f}"
        rows.append(row)
    return pd.DataFrame(rows).to_markdown(index=False)


def parts_section(
    campaign: Campaign, seeds: pd.DataFrame, evaluations: pd.DataFrame, reps: int, found: DesignEffects
) -> list[str]:
    """Which of ACE's parts each difference comes from, per 2x2 design and task (:mod:`benchmarks.parts`): the effects
    on the final return (``found``, read), on the AUC, by evaluation step (where along the run they are), and each
    part's simple effects (which pairs of cells a main effect comes from)."""
    if not designs(campaign):
        return []
    lines = [
        "## Which part of ACE",
        "",
        "The baseline, ACE and its two one-part ablations form a 2x2 design: causal step off/on x soft reset off/on. A "
        "part's main effect is the mean return of the runs with it minus the runs without, averaged over the other "
        "part's two levels; the interaction is how much the causal step's effect changes with the reset. On the final "
        "return and on the AUC (the mean over the run's evaluations: an effect on the final return that the AUC does "
        "not show came late in the run). The seed is the unit: a seed's four runs share their first steps, up to ACE's "
        "first causal fit, so the design uses the seeds that all four cells ran, and an effect is the mean of each "
        "seed's own. Intervals: 95% percentile bootstrap over those seeds; p: two-sided sign-flip test of the seeds' "
        f"effects (the part's label exchanged within a seed; all sign patterns, or {reps:,} of them where there are "
        "more). An effect reads as detected where its interval excludes 0 and p < 0.05. Only tasks where the four cells "
        f"share at least {MIN_SEEDS_FOR_A_DESIGN} seeds (with fewer, no sign-flip p can be below 0.05).",
        "",
    ]
    along_the_run = design_effects(campaign, seeds, reps, metric="auc")
    for (task, cells, effects), (_, _, auc_effects) in zip(found, along_the_run, strict=True):
        task_seeds = seeds[seeds.task == task]
        shared = design_seeds(task_seeds, cells)
        finals, aucs = (design_samples(task_seeds, cells, metric) for metric in ("final", "auc"))
        means = ", ".join(f"{name} {final.mean():.0f}" for name, final in zip(astuple(cells), finals, strict=True))
        simple = zip(parts.simple_effects(finals, cells, reps), parts.simple_effects(aucs, cells, reps), strict=True)
        lines += [f"### {task}: {cells.both}", "", f"Mean final return per cell, seeds {seed_ranges(shared)}: {means}.", ""]
        lines += [effects_table(zip(effects, auc_effects, strict=True)), "", scope_line(campaign, f"on {task}"), ""]
        lines += [*(parts.reading(effect, cells) for effect in effects)]
        along = [f"the {auc.name} {auc.interval()}" for auc in auc_effects if auc.detected]
        lines += [f"- Along the run (AUC): {'; '.join(along) if along else 'no effect detected'}."]
        lines += [*effects_by_step(evaluations[evaluations.task == task], cells, shared), ""]
        lines += [
            "Simple effects: each part's effect at one level of the other, from one pair of cells (the seed's two runs), "
            "with the same intervals and tests; a main effect is the mean of its part's two.",
            "",
            effects_table(simple),
            "",
        ]
    if not found:
        lines += [f"On no task do the four cells share {MIN_SEEDS_FOR_A_DESIGN} seeds yet.", ""]
    return lines


def seed_ranges(seeds: list[int]) -> str:
    """``[0, 1, 2, 5]`` as ``0-2, 5``."""
    spans: list[list[int]] = []
    for seed in sorted(seeds):
        if spans and seed == spans[-1][1] + 1:
            spans[-1][1] = seed
        else:
            spans.append([seed, seed])
    return ", ".join(f"{low}-{high}" if high > low else f"{low}" for low, high in spans)


def missing_section(campaign: Campaign, missing: list[Any], seeds: pd.DataFrame) -> list[str]:
    """The runs still missing, per task and variant, and the core-hours they need at the best estimate of their speed."""
    rows, total = [], 0.0
    for task in campaign.tasks:
        for variant in campaign.variants:
            runs = [run for run in missing if run.task == task and run.variant == variant]
            if not runs:
                continue
            same = seeds[(seeds.task == task.env_id) & (seeds.variant == variant.name)].minutes
            on_task = seeds[seeds.task == task.env_id].minutes
            if len(same):
                minutes, source = float(same.median()), f"median of its {len(same)} runs" if len(same) > 1 else "its 1 run"
            elif len(on_task):
                n = len(on_task)
                minutes, source = float(on_task.median()), f"median of the task's {n} runs" if n > 1 else "the task's 1 run"
            else:
                minutes, source = task.minutes_per_run, "campaign file's estimate"
            total += len(runs) * minutes / 60
            rows.append(
                {
                    "task": f"`{task.env_id}`",
                    "variant": variant.name,
                    "runs": len(runs),
                    "seeds": seed_ranges([run.seed for run in runs]),
                    "min per run": f"{minutes:.0f}",
                    "estimated from": source,
                    "core-hours": f"{len(runs) * minutes / 60:.1f}",
                }
            )
    return [
        "## Missing runs",
        "",
        f"{len(missing)} run{'s' if len(missing) > 1 else ''}, about {total:.1f} core-hours (one single-threaded worker "
        "per run). Measured minutes are wall times including evaluation, on cores shared with other work (an upper bound "
        "for a core of the same kind); the campaign file's estimates stand in for tasks with no finished run.",
        "",
        pd.DataFrame(rows).to_markdown(index=False),
        "",
    ]


def plot(evaluations: pd.DataFrame, tasks: list[str], variants: list[str], path: Path) -> None:
    """One panel per task: IQM over the seeds of the evaluation return against env steps, each seed faint."""
    colors = dict(zip(variants, plt.get_cmap("tab10")(range(10)), strict=False))
    # One panel per row, 7 x 4.2 inches at 100 dpi: 700 px wide, about the docs' column, so the text stays legible there
    fig, axes = plt.subplots(len(tasks), 1, figsize=(7, 4.2 * len(tasks)), squeeze=False)
    for ax, task in zip(axes[:, 0], tasks, strict=True):
        for variant in variants:
            runs = evaluations[(evaluations.task == task) & (evaluations.variant == variant)]
            if runs.empty:
                continue
            table = runs.pivot(index="step", columns="seed", values="mean_return")
            curve = table.apply(lambda row: metrics.aggregate_iqm(row.dropna().to_numpy()), axis=1)
            ax.plot(table.index, table.to_numpy(), color=colors[variant], alpha=0.15, linewidth=0.7)
            label = f"{variant} (IQM, {table.shape[1]} seeds)" if table.shape[1] > 1 else f"{variant} (1 seed)"
            ax.plot(curve.index, curve, color=colors[variant], linewidth=2, label=label)
        ax.set(title=task, xlabel="env steps", ylabel="evaluation return (deterministic)")
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def returns(reported: dict[str, float]) -> str:
    """Reported final returns as ``ACE ~12,700, SAC ~11,000``."""
    return ", ".join(f"{variant} ~{value:,.0f}" for variant, value in reported.items())


def authors_line(task: str, campaign: Campaign) -> list[str]:
    """The authors' reported values of the campaign's variants on this task (their ACE and SAC: matched by name)."""
    names = {variant.name for variant in campaign.variants}
    reported = {
        budget: matched
        for (t, budget), by_variant in AUTHORS_REPORTED.items()
        if t == task and (matched := {v: value for v, value in by_variant.items() if v in names})
    }
    if campaign.budget in reported:
        at_budget = returns(reported[campaign.budget])
        return [f"The authors report (read off their curves, their settings) at this budget: {at_budget}.", ""]
    if reported:
        at = "; ".join(f"{returns(values)} at {budget:,} steps" for budget, values in reported.items())
        return [f"The authors report (read off their curves, their settings) only {at}: not comparable.", ""]
    return []


@dataclass(frozen=True)
class Activity:
    """What ACE's two parts did in a variant's runs of one task (see :func:`activity`)."""

    variant: str
    distance: pd.Series  # per run, the largest |w_i - 1| over its fits (empty: no causal step)
    at_end_only: int  # runs that recorded their last fit's weights only (before the runner recorded every fit)
    common: tuple[float, int] | None  # the seeds' mean of w_i - 1 at the end, at its largest |.|, and that dimension i
    resets: pd.Series  # per run

    def row(self) -> dict[str, str]:
        """The variant's row of the task's activity table."""
        weights = "no causal step"
        if not self.distance.empty:
            weights = f"{self.distance.median():.3f} ({self.distance.min():.3f} to {self.distance.max():.3f})"
            weights += f", {self.at_end_only} runs at their last fit only" if self.at_end_only else ""
        return {
            "variant": self.variant,
            "largest abs(w_i - 1), median (range)": weights,
            "seeds' mean of w_i - 1 at the end": self.common_at_end,
            "resets per run": self.resets_per_run,
        }

    @property
    def common_at_end(self) -> str:
        """The seeds' mean of ``w_i - 1`` at the end and its dimension: "+0.0999 (a_1)"; empty without it."""
        return "" if self.common is None else f"{self.common[0]:+.4f} (a_{self.common[1]})"

    @property
    def resets_per_run(self) -> str:
        low, high = self.resets.min(), self.resets.max()
        return f"{low}" if low == high else f"{low} to {high}"

    def sentence(self) -> str:
        """The variant's part of the reading's sentence."""
        if self.distance.empty:
            return f"{self.variant} no causal step, {self.resets_per_run} resets per run"
        weights = f"weights within {self.distance.median():.3f} of 1 (median)"
        weights += "" if self.common is None else f", the seeds' mean of w_i - 1 at the end {self.common_at_end}"
        return f"{self.variant} {weights}, {self.resets_per_run} resets per run"


def common_direction(runs: pd.DataFrame) -> tuple[float, int] | None:
    """Whether a variant's weights point the same way across seeds: the mean over the seeds of ``w_i - 1`` at the end
    of the runs, at the action dimension ``i`` where it is largest in absolute value, and ``i``. Weights that favour
    the same dimensions in every seed keep it near the runs' own ``|w_i - 1|``; weights that favour other dimensions
    in each seed average it towards 0. ``None`` with fewer than 2 runs' weights."""
    weights = [w for w in runs.last_weights if w is not None]
    if len(weights) < 2:
        return None
    mean = np.mean(np.stack(weights) - 1.0, axis=0)  # (action_dim,)
    i = int(np.argmax(np.abs(mean)))
    return float(mean[i]), i


def activity(task_seeds: pd.DataFrame, variant: str) -> Activity | None:
    """What ACE's two parts did in a variant's runs of one task: how far the causal weights got from 1 (the largest
    ``|w_i - 1|`` over a run's fits and action dimensions, median and range over the seeds), whether they point the
    same way across seeds (:func:`common_direction`) and the soft resets per run; ``None`` for a variant with neither.
    ``w = dim(A) * softmax(B[r, a])``, so a weight near 1 means that the action dimensions' effects on the reward
    differed little (``log w_i - log w_j = B[r, a_i] - B[r, a_j]``) and the entropy term is nearly SAC's."""
    runs = task_seeds[task_seeds.variant == variant]
    distance = runs.weight_activity.dropna()
    if runs.empty or (distance.empty and runs.resets.max() == 0):
        return None
    at_end_only = 0 if distance.empty else int((runs.activity_over == "end").sum())
    return Activity(variant, distance, at_end_only, common_direction(runs), runs.resets)


def activity_section(task_seeds: pd.DataFrame, variants: list[str]) -> tuple[list[str], list[str]]:
    """The table of what ACE's parts did on this task, per variant, and the reading's sentence about it."""
    found = [did for variant in variants if (did := activity(task_seeds, variant))]
    if not found:
        return [], []
    table = [
        "What ACE's parts did: how far the causal weights got from 1 over a run's fits (0: SAC's entropy term; runs "
        "before the runner recorded every fit count their last fit only); whether they point the same way across "
        "seeds (the mean over the seeds of w_i - 1 at the end of the runs, at its largest action dimension a_i: near "
        "the runs' own distance from 1 where every seed favours the same dimensions, near 0 where each favours "
        "others); and the soft resets per run:",
        "",
        pd.DataFrame([variant.row() for variant in found]).to_markdown(index=False),
        "",
    ]
    return table, [f"- What ACE's parts did here: {'; '.join(variant.sentence() for variant in found)}."]


def repo_path(path: Path) -> str:
    """``path`` relative to the repository, as the commands run from its root take it (absolute if outside)."""
    resolved = path.resolve()
    return resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(ROOT) else str(resolved)


def main_pairs(campaign: Campaign, seeds: pd.DataFrame) -> list[tuple[str, str, str]]:
    """``(task, X, baseline)`` for every variant X that is not an ablation, on every task where X and the baseline
    both have the seeds an interval needs."""
    variants = [variant.name for variant in campaign.variants]
    ablated = ablations(variants, campaign.baseline)
    return [
        (task.env_id, x, campaign.baseline)
        for task in campaign.tasks
        for x in variants
        if x != campaign.baseline
        and x not in ablated
        and min(len(values(seeds[seeds.task == task.env_id], v, "final")) for v in (x, campaign.baseline))
        >= MIN_SEEDS_FOR_AN_INTERVAL
    ]


def headline(campaign: Campaign, seeds: pd.DataFrame, reps: int, found: DesignEffects) -> list[str]:
    """The answer in two sentences: how each variant ended against the baseline on each task, and how active ACE's two
    parts were there (what a difference, or its absence, can come from)."""
    verdicts, activities = [], []
    for task, x, y in main_pairs(campaign, seeds):
        task_seeds = seeds[seeds.task == task]
        p, low, high = probability_of_improvement(values(task_seeds, x, "final"), values(task_seeds, y, "final"), reps)
        n = f"{len(values(task_seeds, x, 'final'))} vs {len(values(task_seeds, y, 'final'))} seeds"
        ending = (
            f"{x} ends above {y}"
            if low > 0.5
            else f"{x} ends below {y}"
            if high < 0.5
            else f"no difference detected between {x} and {y}"
        )
        verdicts.append(f"on `{task}` {ending} (P({x} > {y}) = {p:.2f}, 95% CI [{low:.2f}, {high:.2f}], {n})")
        if task_seeds.final_success.notna().any():
            xs, ys = values(task_seeds, x, "final_success"), values(task_seeds, y, "final_success")
            p, low, high = probability_of_improvement(xs, ys, reps)
            verdicts[-1] += f", in final success rate P({x} > {y}) = {p:.2f} [{low:.2f}, {high:.2f}]"
        parts_did = activity(task_seeds, x)
        if parts_did is not None:
            distance = parts_did.distance
            active = "no causal step" if distance.empty else f"causal weights within {distance.median():.3f} of 1"
            activities.append(f"on `{task}` {active} and {parts_did.resets_per_run} soft resets per run")
    if not verdicts:
        return [
            f"Not enough runs yet for a reading (at least {MIN_SEEDS_FOR_AN_INTERVAL} seeds of a variant and the baseline)."
        ]
    sentences = f"At {campaign.budget:,} env steps, " + "; ".join(verdicts) + "."
    if activities:
        sentences += " " + x_parts(activities)
    attributed = [f"on `{task}` {attribution(effects)}" for task, _, effects in found]
    if attributed:
        sentences += " Which part (2x2 design with the ablations): " + "; ".join(attributed) + "."
    return [sentences]


def attribution(effects: list[parts.Effect]) -> str:
    """The main effects a 2x2 design detects, in a few words (see :func:`benchmarks.parts.reading`)."""
    detected = [
        f"the {effect.name} {effect.interval()} (p = {effect.p:.4f})"
        for effect in effects
        if effect.name != "interaction" and effect.detected
    ]
    return ("a detected effect of " + " and ".join(detected)) if detected else "no effect of either part detected"


def x_parts(parts: list[str]) -> str:
    """The second sentence of the headline: what ACE's parts did, task by task."""
    return "ACE's parts: " + "; ".join(parts) + " (the largest |w_i - 1| over a run's fits, median over the seeds)."


def summary(campaign: Campaign, seeds: pd.DataFrame, reps: int, figure: Path | None, found: DesignEffects) -> str:
    """What an algorithm's page and the index show of the campaign: the variants against the baseline per task, the
    learning curves, the two-sentence reading and a link to the full report (``docs/campaigns/<name>_summary.md``,
    included by those pages)."""
    rows, success_rows = [], []
    for task, x, y in main_pairs(campaign, seeds):
        task_seeds = seeds[seeds.task == task]
        for variant in (y, x):
            row = {"task": f"`{task}`", "variant": variant, "seeds": len(values(task_seeds, variant, "final"))}
            value, low, high = iqm_interval(values(task_seeds, variant, "final"), reps)
            p = probability_of_improvement(values(task_seeds, variant, "final"), values(task_seeds, y, "final"), reps)
            rows.append(
                row
                | {
                    "final return, IQM [95% CI]": f"{value:.0f} [{low:.0f}, {high:.0f}]",
                    f"P(> {y})": "" if variant == y else interval_text(*p),
                }
            )
            if task_seeds.final_success.notna().any():  # a table of its own: with the returns' it overflows the column
                value, low, high = iqm_interval(values(task_seeds, variant, "final_success"), reps)
                successes = (values(task_seeds, variant, "final_success"), values(task_seeds, y, "final_success"))
                success_rows.append(
                    row
                    | {
                        "final success, IQM [95% CI]": f"{value:.2f} [{low:.2f}, {high:.2f}]",
                        f"P(> {y})": "" if variant == y else interval_text(*probability_of_improvement(*successes, reps)),
                    }
                )
    lines = [
        f"Learning campaign `{campaign.name}`: {campaign.budget:,} env steps per run, "
        f"{campaign.description.split('.')[0].strip()}. {' '.join(headline(campaign, seeds, reps, found))}",
        "",
    ]
    if rows:
        lines += [pd.DataFrame(rows).to_markdown(index=False), ""]
    if success_rows:
        lines += ["Final success rate, where the env reports success:", ""]
        lines += [pd.DataFrame(success_rows).to_markdown(index=False), ""]
    if figure is not None:  # scaled to the column: Sphinx links it to the full-size image
        lines += [f"```{{image}} /campaigns/{figure.name}", f":alt: Learning curves of {campaign.name}", ":width: 100%"]
        lines += ["```", ""]
    lines += [
        f"The full report (every seed, the ablations where the campaign has some, where the runs ran): "
        f"{{doc}}`/campaigns/{campaign.name}`.",
        "",
    ]
    return "\n".join(lines)


def provenance(campaign: Campaign, campaign_file: Path, results_folder: Path, results: list[dict[str, Any]]) -> list[str]:
    """Where the numbers come from, at the end of the page: the command, the campaign's settings, machines, commits."""
    seeds = per_seed(results, campaign.budget)
    lines = [
        "## How these runs were made",
        "",
        f"Generated by `python -m benchmarks.report {repo_path(campaign_file)}` from the result files in "
        f"`{repo_path(results_folder / campaign.name)}`; more runs: "
        f"`python -m benchmarks.campaign {repo_path(campaign_file)} --workers N --hours H`.",
        "",
        f"**Campaign.** {campaign.budget:,} env steps per run; deterministic evaluation of {campaign.eval_episodes} "
        f"episodes every {campaign.eval_every:,} steps and before training, on a separate env. Variants: "
        + "; ".join(
            f"`{v.name}` ({v.algo}{', ' + ', '.join(f'{k}={val}' for k, val in v.kwargs.items()) if v.kwargs else ''})"
            for v in campaign.variants
        )
        + f"; the baseline the others are compared with: `{campaign.baseline}`. Common settings: "
        f"{campaign.hyperparams or 'the defaults of each algorithm'}. {campaign.description}",
        "",
    ]
    if results:
        machines = sorted({f"{r['machine']['cpu']}, {r['machine']['cores']} cores, {r['device']}" for r in results})
        commits = sorted({r["commit"] for r in results})
        speeds = "; ".join(
            f"{task.env_id} {runs.steps_per_s.median():.1f} env steps/s, {runs.minutes.median():.0f} min"
            for task in campaign.tasks
            if not (runs := seeds[seeds.task == task.env_id]).empty
        )
        lines += [
            f"**Machines.** {'; '.join(machines)}. Train speed and wall time per run including evaluation (medians; "
            f"runs shared the cores): {speeds}.",
            "",
            f"**Package commits.** {', '.join(commits)}.",
            "",
        ]
    if campaign.notes:
        lines += ["**Notes.**", "", *(f"- {note}" for note in campaign.notes), ""]
    return lines


def report(campaign: Campaign, campaign_file: Path, results_folder: Path, docs: Path, reps: int) -> str:
    """Write ``<docs>/<name>.md``, its figure ``<name>.png`` and the summary ``<name>_summary.md`` the algorithm pages
    include; return the page's text. The page leads with the answer; where the runs ran comes last."""
    results = load_results(campaign, results_folder)
    variants = [variant.name for variant in campaign.variants]
    tasks = [task.env_id for task in campaign.tasks]
    baseline = campaign.baseline
    ablated = ablations(variants, baseline)
    seeds = per_seed(results, campaign.budget)
    found = design_effects(campaign, seeds, reps)  # the headline's, the summary's and the parts section's
    figure = docs / f"{campaign.name}.png"
    evaluations = curves(results)
    if results:
        plot(evaluations, [t for t in tasks if (seeds.task == t).any()], variants, figure)

    grid = campaign.runs()
    missing = [run for run in grid if not run.result_path(results_folder, campaign).is_file()]
    lines = [
        f"# Learning campaign `{campaign.name}`",
        "",
        f"**What the runs found.** {' '.join(headline(campaign, seeds, reps, found))} "
        f"{len(results)} of {len(grid)} runs finished" + (f"; {len(missing)} missing (the last section)." if missing else "."),
        "",
    ]
    if results:  # scaled to the column: Sphinx links it to the full-size image
        lines += ["```{image} " + figure.name, f":alt: Learning curves of {campaign.name}", ":width: 100%", "```", ""]
        lines += ["Learning curves: IQM over the seeds, each seed faint (click for full size).", ""]
    lines += across_tasks(campaign, seeds, reps)
    for task in tasks:
        task_seeds = seeds[seeds.task == task]
        lines += [f"## {task}", ""]
        if task_seeds.empty:
            lines += ["No finished run yet.", ""]
            continue
        lines += [task_table(task_seeds, variants, baseline, reps).fillna("").to_markdown(index=False), ""]
        if task_seeds.final_success.notna().any():
            table = task_table(task_seeds, variants, baseline, reps, success=True).fillna("").to_markdown(index=False)
            lines += ["Success rate (the env reports success; its AUC is the mean over the run's evaluations):", "", table, ""]
        pairs = [(variant, baseline) for variant in variants if variant != baseline and variant not in ablated]
        sentences = reading(task_seeds, pairs, reps)
        activity_table, activity_sentence = activity_section(task_seeds, variants)
        sentences += activity_sentence
        if task_seeds.variant.isin(ablated).any():
            sentences += ["- The ablations: see the Ablations section."]
        if sentences:
            counts = task_seeds.groupby("variant").size().tolist()
            lines += [scope_line(campaign, "on this task"), "", *sentences, *few_seeds_caveat(sentences, counts), ""]
        lines += authors_line(task, campaign)
        for metric, measure in measures(task_seeds):
            wide = (
                task_seeds.pivot(index="seed", columns="variant", values=metric)
                .reindex(columns=variants)
                .dropna(how="all", axis=1)
            )
            shown = wide.astype(object).where(wide.notna(), None)  # a seed one variant has not run: an empty cell
            digits = ".0f" if metric == "final" else ".2f"
            lines += [f"{measure.capitalize()} per seed:", "", shown.to_markdown(missingval="", floatfmt=digits), ""]
        lines += activity_table
    lines += ablation_section(campaign, seeds, reps)
    lines += parts_section(campaign, seeds, evaluations, reps, found)
    if missing:
        lines += missing_section(campaign, missing, seeds)
    lines += provenance(campaign, campaign_file, results_folder, results)
    text = "\n".join(lines)
    docs.mkdir(parents=True, exist_ok=True)
    (docs / f"{campaign.name}.md").write_text(text)
    (docs / f"{campaign.name}_summary.md").write_text(summary(campaign, seeds, reps, figure if results else None, found))
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("campaign", type=Path, help="campaign file (YAML)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the result files")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "campaigns", help="folder the page is written to")
    parser.add_argument("--bootstrap-reps", type=int, default=10_000, help="bootstrap resamples of the intervals")
    args = parser.parse_args()
    args.docs.mkdir(parents=True, exist_ok=True)
    print(report(Campaign.load(args.campaign), args.campaign, args.results, args.docs, args.bootstrap_reps))


if __name__ == "__main__":
    main()
