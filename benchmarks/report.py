"""Report of a learning campaign: tables and learning curves from every committed result, written into the docs.

    python -m benchmarks.report benchmarks/campaigns/sac_sized_100k.yml      # -> docs/campaigns/sac_sized_100k.md + .png

Per task, over the seeds each variant has finished: the final evaluation return (at the budget) and the area under
the learning curve (the mean evaluation return over all evaluations, step 0 included), each as an interquartile mean
(IQM) with a 95% percentile-bootstrap confidence interval over the seeds, and the probability of improvement of
each ACE variant over SAC, P(X > SAC), with its 95% bootstrap interval (rliable's metrics; seeds resampled
independently in each variant), read as "no difference detected" when the interval includes 0.5. Then the
per-seed values, the learning curves (IQM over the seeds, with each seed faint), the runs still missing and the
core-hours they need at the measured speed, and the authors' reported values where task and budget match.
rliable's own bootstrap is not called: it needs ``arch``, whose 7.x releases
fail to import with pandas 3; scipy's percentile bootstrap computes the same intervals.
"""

import argparse
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from rliable import metrics
from scipy import stats

from benchmarks.campaign import RESULTS, ROOT, Campaign, load_results

BASELINE = "SAC"
# The authors' reported final returns (read by eye off the curves of their project page: approximate), by task and
# budget: printed beside ours only where both match
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


def curves(results: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per evaluation of every run: task, variant, seed, step, mean_return."""
    rows = [
        {"task": r["task"], "variant": r["variant"], "seed": r["seed"], "step": p["step"], "mean_return": p["mean_return"]}
        for r in results
        for p in r["curve"]
    ]
    return pd.DataFrame(rows, columns=["task", "variant", "seed", "step", "mean_return"])


def per_seed(results: list[dict[str, Any]], budget: int) -> pd.DataFrame:
    """One row per run: final return (at the budget), area under the curve (mean over evaluations), speed."""
    rows = []
    for r in results:
        returns = [p["mean_return"] for p in r["curve"]]
        final = [p["mean_return"] for p in r["curve"] if p["step"] == budget]
        rows.append(
            {
                "task": r["task"],
                "variant": r["variant"],
                "seed": r["seed"],
                "final": final[0] if final else np.nan,
                "auc": float(np.mean(returns)),
                "steps_per_s": r["train_steps_per_second"],
                "minutes": r["wall_seconds"] / 60,
            }
        )
    return pd.DataFrame(rows).sort_values(["task", "variant", "seed"], ignore_index=True)


def iqm_interval(values: np.ndarray, reps: int) -> tuple[float, float, float]:
    """IQM of ``values`` over the seeds with its 95% percentile-bootstrap interval (NaN with fewer than 2 seeds)."""
    iqm = float(metrics.aggregate_iqm(values))
    if len(values) < 2:
        return iqm, float("nan"), float("nan")
    interval = stats.bootstrap(
        (values,), metrics.aggregate_iqm, vectorized=False, method="percentile", n_resamples=reps, random_state=0
    ).confidence_interval
    return iqm, float(interval.low), float(interval.high)


def probability_of_improvement(x: np.ndarray, y: np.ndarray, reps: int) -> tuple[float, float, float]:
    """P(X > Y) over the seeds (ties count half: rliable's definition) with its 95% bootstrap interval."""

    def statistic(a: np.ndarray, b: np.ndarray) -> float:
        return float(metrics.probability_of_improvement(a[:, np.newaxis], b[:, np.newaxis]))

    value = statistic(x, y)
    if min(len(x), len(y)) < 2:
        return value, float("nan"), float("nan")
    interval = stats.bootstrap(
        (x, y), statistic, vectorized=False, paired=False, method="percentile", n_resamples=reps, random_state=0
    ).confidence_interval
    return value, float(interval.low), float(interval.high)


def task_table(seeds: pd.DataFrame, variants: list[str], reps: int) -> pd.DataFrame:
    """Per variant of one task: seeds, IQM and interval of final return and AUC, P(variant > SAC)."""
    rows = []
    baseline = seeds[seeds.variant == BASELINE]
    for variant in variants:
        runs = seeds[seeds.variant == variant]
        if runs.empty:
            continue
        row: dict[str, Any] = {"variant": variant, "seeds": len(runs)}
        for metric, name in (("final", "final return"), ("auc", "AUC")):
            iqm, low, high = iqm_interval(runs[metric].to_numpy(), reps)
            row[f"{name} IQM"] = f"{iqm:.0f}"
            row[f"{name} 95% CI"] = f"[{low:.0f}, {high:.0f}]"
        if variant != BASELINE and not baseline.empty:
            for metric, name in (("final", "final"), ("auc", "AUC")):
                p, low, high = probability_of_improvement(runs[metric].to_numpy(), baseline[metric].to_numpy(), reps)
                row[f"P(> SAC), {name}"] = f"{p:.2f} [{low:.2f}, {high:.2f}]"
        rows.append(row)
    return pd.DataFrame(rows)


def reading(seeds: pd.DataFrame, variants: list[str], reps: int) -> list[str]:
    """One sentence per ACE variant of one task: what the final returns say against SAC, from P(X > SAC)'s interval."""
    baseline = seeds[seeds.variant == BASELINE].final.to_numpy()
    sentences = []
    for variant in variants:
        runs = seeds[seeds.variant == variant].final.to_numpy()
        if variant == BASELINE or len(runs) == 0:
            continue
        if min(len(runs), len(baseline)) < 2:
            sentences.append(f"- {variant}: {len(runs)} seed(s) against {len(baseline)} of SAC: too few for an interval.")
            continue
        p, low, high = probability_of_improvement(runs, baseline, reps)
        interval = f"P({variant} > SAC) = {p:.2f}, 95% CI [{low:.2f}, {high:.2f}], {len(runs)} vs {len(baseline)} seeds"
        if low > 0.5:
            sentences.append(f"- {variant} ends better than SAC ({interval}: the interval excludes 0.5).")
        elif high < 0.5:
            sentences.append(f"- {variant} ends worse than SAC ({interval}: the interval excludes 0.5).")
        else:
            sentences.append(f"- No difference detected between {variant} and SAC in final return ({interval}).")
    return sentences


def plot(evaluations: pd.DataFrame, tasks: list[str], variants: list[str], path: Path) -> None:
    """One panel per task: IQM over the seeds of the evaluation return against env steps, each seed faint."""
    colors = dict(zip(variants, plt.get_cmap("tab10").colors, strict=False))
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 4.3), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for variant in variants:
            runs = evaluations[(evaluations.task == task) & (evaluations.variant == variant)]
            if runs.empty:
                continue
            table = runs.pivot(index="step", columns="seed", values="mean_return")
            iqm = table.apply(lambda row: metrics.aggregate_iqm(row.dropna().to_numpy()), axis=1)
            ax.plot(table.index, table.to_numpy(), color=colors[variant], alpha=0.15, linewidth=0.7)
            ax.plot(iqm.index, iqm, color=colors[variant], linewidth=2, label=f"{variant} (IQM, {table.shape[1]} seeds)")
        ax.set(title=task, xlabel="env steps", ylabel="evaluation return (deterministic)")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def returns(values: dict[str, float]) -> str:
    """Reported final returns as ``ACE ~12,700, SAC ~11,000``."""
    return ", ".join(f"{variant} ~{value:,.0f}" for variant, value in values.items())


def repo_path(path: Path) -> str:
    """``path`` relative to the repository, as the commands run from its root take it (absolute if outside)."""
    resolved = path.resolve()
    return resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(ROOT) else str(resolved)


def report(campaign: Campaign, campaign_file: Path, results_folder: Path, docs: Path, reps: int) -> str:
    """Write ``docs/<name>.md`` and ``docs/<name>.png`` for the campaign; return the page's text."""
    results = load_results(campaign, results_folder)
    variants = [variant.name for variant in campaign.variants]
    tasks = [task.env_id for task in campaign.tasks]
    seeds = per_seed(results, campaign.budget) if results else pd.DataFrame(columns=["task", "variant"])
    figure = docs / f"{campaign.name}.png"
    if results:
        plot(curves(results), [t for t in tasks if (seeds.task == t).any()], variants, figure)

    grid = campaign.runs()
    missing = [run for run in grid if not run.result_path(results_folder, campaign).is_file()]
    lines = [
        f"# Learning campaign `{campaign.name}`",
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
        + f". Common settings: {campaign.hyperparams or 'SB3 defaults'}. {campaign.description}",
        "",
        f"**Runs.** {len(results)} of {len(grid)} finished; {len(missing)} missing.",
    ]
    if results:
        machines = sorted({f"{r['machine']['cpu']}, {r['machine']['cores']} cores, {r['device']}" for r in results})
        commits = sorted({r["commit"] for r in results})
        lines += [
            f"Machines: {'; '.join(machines)}. Package commits: {', '.join(commits)}. "
            f"Train speed {seeds.steps_per_s.median():.1f} env steps/s per run (median; runs shared the cores), "
            f"{seeds.minutes.median():.0f} min per run including evaluation.",
        ]
    if campaign.notes:
        lines += ["", "**Notes.**", "", *(f"- {note}" for note in campaign.notes)]
    for task in tasks:
        task_seeds = seeds[seeds.task == task]
        lines += ["", f"## {task}", ""]
        if task_seeds.empty:
            lines += ["No finished run yet."]
            continue
        lines += [task_table(task_seeds, variants, reps).fillna("").to_markdown(index=False), ""]
        lines += ["Reading (final return):", "", *reading(task_seeds, variants, reps)]
        if task_seeds.groupby("variant").size().min() < 10:
            lines += [
                '- With fewer than 10 seeds per variant the intervals are wide: read "no difference detected" as '
                '"not enough runs yet", not as "no difference".'
            ]
        lines += [""]
        authors = AUTHORS_REPORTED.get((task, campaign.budget))
        if authors:
            lines += [f"The authors report (read off their curves, their settings) at this budget: {returns(authors)}.", ""]
        elif reported := {budget: values for (t, budget), values in AUTHORS_REPORTED.items() if t == task}:
            at = "; ".join(f"{returns(values)} at {budget:,} steps" for budget, values in reported.items())
            lines += [f"The authors report (read off their curves, their settings) only {at}: not comparable.", ""]
        wide = (
            task_seeds.pivot(index="seed", columns="variant", values="final")
            .reindex(columns=variants)
            .dropna(how="all", axis=1)
        )
        lines += ["Final return per seed:", "", wide.round(0).to_markdown(), ""]
    if results:
        lines += ["", f"![learning curves]({figure.name})", ""]
    if missing:
        per_run_hours = (seeds.minutes.median() / 60) if results else float("nan")
        counts = pd.Series([f"{run.task.env_id} {run.variant.name}" for run in missing]).value_counts(sort=False)
        lines += [
            "## Missing runs",
            "",
            f"{len(missing)} runs, about {len(missing) * per_run_hours:.1f} core-hours at the median measured "
            f"{per_run_hours * 60:.0f} min of wall time per run (one single-threaded worker per run, on cores shared "
            "with other work: an upper bound):",
            "",
            *(f"- {name}: {count}" for name, count in counts.items()),
            "",
        ]
    text = "\n".join(lines)
    (docs / f"{campaign.name}.md").write_text(text)
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
