"""Does ACE's causal step reach training by anything but the causal weights? Three runs of a campaign task, side by side,
as the campaign runner trains them (the same seed, evaluations and settings):

- the campaign's baseline (SAC);
- the campaign's ``ACE-no-reset`` (the causal step, no reset), its weights put back to 1 right after every fit;
- ``ACE-no-reset`` as it is.

    python -m benchmarks.placebo benchmarks/campaigns/sac_sized_100k.yml dm_control/cheetah-run-v0 --seed 0 --steps 15000

If the second run's curve equals the first's, evaluation for evaluation and bit for bit, the causal step (the recent
transitions, the fit, its logs) changes nothing but the weights; the third run shows what the weights change. Prints the
three curves and the verdict; exits 0 if the placebo equals the baseline, 1 otherwise.
"""

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from benchmarks.campaign import Campaign, git_commit, train


def curve(campaign: Campaign, task: str, variant: str, seed: int, unit_weights: bool = False) -> list[dict[str, Any]]:
    """The evaluation curve of one run trained as the runner trains it; ``unit_weights``: weights 1 after every fit."""
    from sb3_ace.common.causal_weights import CausalWeightCallback

    (run,) = (run for run in campaign.runs() if (run.task.env_id, run.variant.name, run.seed) == (task, variant, seed))
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
    parser.add_argument("campaign", type=Path, help="a campaign file with an ACE-no-reset variant")
    parser.add_argument("task", help="one of the campaign's tasks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=15_000, help="env steps (a multiple of the evaluation interval)")
    args = parser.parse_args(argv)
    campaign = dataclasses.replace(Campaign.load(args.campaign), budget=args.steps)
    runs = {
        campaign.baseline: curve(campaign, args.task, campaign.baseline, args.seed),
        "ACE-no-reset, weights 1 after every fit": curve(campaign, args.task, "ACE-no-reset", args.seed, unit_weights=True),
        "ACE-no-reset": curve(campaign, args.task, "ACE-no-reset", args.seed),
    }
    print(f"{args.task}, seed {args.seed}, {args.steps} env steps: evaluation returns (and causal fits so far)")
    for name, points in runs.items():
        print(f"  {name:>40}: " + "  ".join(f"{p['mean_return']:.6g} ({p['causal_fits']})" for p in points))
    baseline, placebo, ace = runs.values()
    same = [p["mean_return"] for p in placebo] == [p["mean_return"] for p in baseline]
    print(
        "the placebo equals the baseline bit for bit: the causal step reaches training only through the weights"
        if same
        else "the placebo differs from the baseline: the causal step changes more than the weights"
    )
    differs = [p["step"] for p, q in zip(ace, baseline, strict=True) if p["mean_return"] != q["mean_return"]]
    print(f"ACE-no-reset first differs from the baseline at the evaluation of step {differs[0] if differs else 'none'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
