"""Train a committed campaign run again and compare its learning curve with the committed one, point by point.

    python -m benchmarks.reproduce benchmarks/results/sac_sized_100k/HalfCheetah-v5/SAC/seed0.json
    python -m benchmarks.reproduce benchmarks/results/sac_sized_100k/HalfCheetah-v5/SAC/seed0.json --steps 15000

The run is trained as the campaign runner trains it (``benchmarks.campaign.train_run``, one torch thread), from the
campaign file named in the result, into a temporary folder; ``--steps`` stops it early (a multiple of the campaign's
evaluation interval), and the curves are compared up to there. Prints, per evaluation, both mean returns and their
difference, then whether the curves are identical, and what differs between the two runs' machines and package
versions: a run is bit-reproducible only on the same kind of CPU with the same library versions (the float kernels
of torch and of the simulator differ between CPU types and versions). Exits 0 if identical, 1 otherwise.
"""

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.campaign import ROOT, Campaign, git_commit, machine, train_run, versions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("result", type=Path, help="a committed result file of a campaign run")
    parser.add_argument("--steps", type=int, help="train this many env steps only (default: the run's budget)")
    args = parser.parse_args(argv)

    committed = json.loads(args.result.read_text())
    campaign = Campaign.load(ROOT / "benchmarks" / "campaigns" / f"{committed['campaign']}.yml")
    steps = args.steps or committed["budget"]
    if steps % campaign.eval_every:
        parser.error(f"--steps must be a multiple of the evaluation interval, {campaign.eval_every}")
    (run,) = (
        run
        for run in campaign.runs()
        if (run.task.env_id, run.variant.name, run.seed) == (committed["task"], committed["variant"], committed["seed"])
    )
    with tempfile.TemporaryDirectory() as folder:
        again = train_run(run, dataclasses.replace(campaign, budget=steps), "cpu", 1, Path(folder), git_commit())

    print(f"{run}: {steps} env steps, committed at {committed['commit'][:9]}, trained again at {again['commit'][:9]}")
    identical = True
    for old, new in zip(committed["curve"], again["curve"], strict=False):
        difference = new["mean_return"] - old["mean_return"]
        identical &= difference == 0.0
        returns = f"committed {old['mean_return']:10.3f}  again {new['mean_return']:10.3f}  ({difference:+.3g})"
        print(f"  step {new['step']:>7}: {returns}")
    print("identical" if identical else "NOT identical")
    for name, before, now in [("cpu", committed["machine"]["cpu"], machine()["cpu"])] + [
        (package, committed["versions"].get(package), version) for package, version in versions().items()
    ]:
        if before != now:
            print(f"  differs: {name} {before} -> {now}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
