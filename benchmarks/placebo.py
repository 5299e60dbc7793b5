"""Does ACE's causal step reach training by anything but the causal weights? Three runs of a campaign task, side by side,
as the campaign runner trains them (the same seed, evaluations and settings):

- a reference variant without the causal step (by default the campaign's baseline, SAC);
- a variant that differs from it by the causal step alone (by default ``ACE-no-reset``), its weights put back to 1
  right after every fit: the placebo;
- that variant as it is.

    python -m benchmarks.placebo benchmarks/campaigns/sac_sized_100k.yml dm_control/cheetah-run-v0 --seed 0 --steps 15000
    python -m benchmarks.placebo benchmarks/campaigns/sac_sized_100k.yml dm_control/cheetah-run-v0 \
        --variant ACE --reference ACE-no-causal --steps 30000   # with the soft reset: past the first, at 25,000 updates

If the placebo's curve equals the reference's, evaluation for evaluation and bit for bit, the causal step (the recent
transitions, the fit, its logs, and with the reset, whatever the reset does with them) changes nothing but the weights;
the third run shows what the weights change. Prints the three curves and the verdict; exits 0 if the placebo equals the
reference, 1 otherwise.
"""

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from benchmarks.campaign import Campaign, Run, git_commit, train


def find_run(campaign: Campaign, task: str, variant: str, seed: int) -> Run:
    """The campaign's run of ``variant`` on ``task`` with ``seed``; a ``ValueError`` that names them if there is none."""
    runs = [run for run in campaign.runs() if (run.task.env_id, run.variant.name, run.seed) == (task, variant, seed)]
    if not runs:
        raise ValueError(f"{campaign.name} has no run of {variant!r} on {task!r} with seed {seed}")
    (run,) = runs
    return run


def curve(campaign: Campaign, run: Run, unit_weights: bool = False) -> list[dict[str, Any]]:
    """The evaluation curve of ``run`` trained as the runner trains it; ``unit_weights``: weights 1 after every fit."""
    from sb3_ace.common.causal_weights import CausalWeightCallback

    fit = CausalWeightCallback.update_weights

    def fit_then_unit_weights(self: CausalWeightCallback) -> None:
        fit(self)
        self.model.actor.causal_weights.fill_(1.0)

    if unit_weights:
        CausalWeightCallback.update_weights = fit_then_unit_weights  # type: ignore[method-assign]
    try:
        return train(run, campaign, "cpu", 1, git_commit())["curve"]
    finally:
        CausalWeightCallback.update_weights = fit  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("campaign", type=Path, help="a campaign file")
    parser.add_argument("task", help="one of the campaign's tasks")
    parser.add_argument("--variant", default="ACE-no-reset", help="a variant with the causal step (default ACE-no-reset)")
    parser.add_argument("--reference", help="the variant without its causal step (default: the campaign's baseline)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=15_000, help="env steps (a multiple of the evaluation interval)")
    args = parser.parse_args(argv)
    campaign = dataclasses.replace(Campaign.load(args.campaign), budget=args.steps)
    reference = args.reference or campaign.baseline
    # Both runs looked up before any trains: a name that is not the campaign's fails at once
    reference_run, variant_run = (find_run(campaign, args.task, name, args.seed) for name in (reference, args.variant))
    runs = {
        reference: curve(campaign, reference_run),
        f"{args.variant}, weights 1 after every fit": curve(campaign, variant_run, unit_weights=True),
        args.variant: curve(campaign, variant_run),
    }
    print(f"{args.task}, seed {args.seed}, {args.steps} env steps: evaluation returns (and causal fits so far)")
    for name, points in runs.items():
        print(f"  {name:>40}: " + "  ".join(f"{p['mean_return']:.6g} ({p['causal_fits']})" for p in points))
    reference_curve, placebo, as_it_is = runs.values()
    same = [p["mean_return"] for p in placebo] == [p["mean_return"] for p in reference_curve]
    print(
        f"the placebo equals {reference} bit for bit: the causal step reaches training only through the weights"
        if same
        else f"the placebo differs from {reference}: the causal step changes more than the weights"
    )
    differs = [p["step"] for p, q in zip(as_it_is, reference_curve, strict=True) if p["mean_return"] != q["mean_return"]]
    print(f"{args.variant} first differs from {reference} at the evaluation of step {differs[0] if differs else 'none'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
