"""How often the 95% bootstrap CI of PGR covers the true PGR, per number of training seeds.

A positive control of the statistics every table uses (``eval.stats.bootstrap_pgr``), on the gap
simulator's ``view`` setting whose true PGR is known (``eval.simulate_coverage``):

    .venv/bin/python scripts/simulate_coverage.py --seeds 2 3 5 10 --runs 200

prints one row per seed count: coverage, and how many intervals lay wholly below / above the truth.
"""

from __future__ import annotations

import argparse
import time

from eval.simulate import SimTask
from eval.simulate_coverage import ci_coverage, true_pgr


def main() -> None:
    """Parse the flags, compute the true PGR once, then the coverage per seed count."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[2, 3, 5, 10], help="training seeds per experiment")
    parser.add_argument("--runs", type=int, default=200, help="experiments per seed count")
    parser.add_argument("--n-test", type=int, default=400, help="test items shared by the seeds of one experiment")
    parser.add_argument("--draws", type=int, default=1500, help="trainings averaged for the true PGR")
    args = parser.parse_args()
    start = time.perf_counter()
    task = SimTask(dim=10)
    truth = true_pgr(task, n_train=200, accuracy=0.7, draws=args.draws)
    print(f"view weak supervisor at 0.7, 200 training items, {args.n_test} test items; true PGR {truth:.3f}\n")
    print("| training seeds | coverage of the 95% CI | CI below the truth | CI above the truth | experiments |")
    print("|---:|---:|---:|---:|---:|")
    for seeds in args.seeds:
        cov = ci_coverage(task, truth=truth, seeds=seeds, runs=args.runs, n_test=args.n_test)
        print(f"| {seeds} | {cov.rate:.3f} | {cov.below} | {cov.above} | {cov.runs} |", flush=True)
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
