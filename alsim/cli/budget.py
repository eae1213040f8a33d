"""``alsim budget DATA --label COLUMN --target 0.9 --cost-per-label 2``: labels and money to reach a target."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Add the ``alsim budget`` subcommand to ``subparsers``."""
    from alsim.budget.estimate import DEFAULT_STRATEGIES

    parser = subparsers.add_parser(
        "budget",
        help="estimate labels and cost to reach a target quality on your own data",
        description=(
            "Simulate candidate strategies on the labeled rows of DATA, extrapolate their learning curves and "
            "bootstrap over seeds: labels and cost to reach the target per strategy (median, 80% and 95% "
            "intervals), savings over random, the recommended strategy and stopping rule. Writes "
            "budget.md, budget.json and budget.png into --out, and refuses to replace an earlier answer "
            "there unless --overwrite is given (the simulations in --out/runs are reused either way)."
        ),
    )
    parser.add_argument("data", metavar="DATA", help="CSV, parquet or ARFF file, or 'openml:<id>' as a proxy")
    parser.add_argument("--label", default=None, help="label column; rows where it is empty are unlabeled")
    parser.add_argument("--target", type=float, required=True, help="quality to reach, in (0, 1]")
    parser.add_argument(
        "--relative",
        action="store_true",
        help="read --target as a share of the accuracy reached with every labeled row",
    )
    parser.add_argument(
        "--metric",
        default="accuracy",
        choices=("accuracy", "macro_f1"),
        help="test metric the target refers to (default: accuracy)",
    )
    parser.add_argument(
        "--cost-per-label",
        type=float,
        default=1.0,
        help="money per label, or with --cost-column the price of one unit of that column (default: 1)",
    )
    parser.add_argument(
        "--cost-column",
        default=None,
        help="column of per-row labeling costs: each simulated label is charged its row's cost, cost_<strategy> "
        "candidates select with it, and the money is the real sum; never used as a feature",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=None,
        metavar="COLUMN",
        help="column that is not a feature (an identifier, notes...); repeat for more",
    )
    parser.add_argument("--predictions", type=float, default=None, help="predictions the model makes in deployment")
    parser.add_argument("--cost-per-error", type=float, default=None, help="cost of one wrong prediction")
    parser.add_argument(
        "--strategies",
        default=",".join(DEFAULT_STRATEGIES),
        help="comma-separated candidate strategies, e.g. margin,cost_margin (random is always added)",
    )
    parser.add_argument("--learner", default="logreg", help="learner name (default: logreg)")
    parser.add_argument("--seeds", type=int, default=10, help="simulated runs per strategy (default: 10)")
    parser.add_argument("--batch-size", type=int, default=None, help="labels per round (default: ~25 rounds)")
    parser.add_argument(
        "--test-size", type=float, default=0.3, help="share of the labeled rows held out to measure quality"
    )
    parser.add_argument("--max-labels", type=int, default=None, help="largest label count to extrapolate to")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates (default: 200)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel simulations (default: all cores)")
    parser.add_argument(
        "--out",
        default="budget",
        metavar="DIR",
        help="directory for the report and the resumable runs (default: ./budget)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the budget.md, budget.json and budget.png of an earlier answer in --out",
    )
    parser.add_argument("--json", action="store_true", help="print the estimate as JSON instead of prose")
    parser.add_argument("--no-progress", action="store_true", help="show no progress on stderr")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``alsim budget`` with the parsed ``args``; return the process exit code."""
    from alsim.budget import estimate_budget, write_budget_report
    from alsim.budget.report import check_report_location

    # Before the simulations: a location that cannot take the report, or holds an earlier one, fails now.
    out = check_report_location(args.out, overwrite=args.overwrite, caller="alsim budget")
    estimate = estimate_budget(
        args.data,
        label=args.label,
        target=args.target,
        relative=args.relative,
        metric=args.metric,
        cost_per_label=args.cost_per_label,
        cost_column=args.cost_column,
        ignore=args.ignore or (),
        predictions=args.predictions,
        cost_per_error=args.cost_per_error,
        strategies=[s.strip() for s in args.strategies.split(",") if s.strip()],
        learner=args.learner,
        n_seeds=args.seeds,
        batch_size=args.batch_size,
        test_size=args.test_size,
        max_labels=args.max_labels,
        n_boot=args.bootstrap,
        out_dir=out,
        jobs=args.jobs,
        progress=not args.no_progress,
    )
    report = write_budget_report(estimate, out, overwrite=args.overwrite)
    if args.json:
        print(json.dumps(estimate.to_dict(), indent=2))
    else:
        print(estimate.answer())
        print(f"\nReport: {report}  (plot: {out / 'budget.png'})")
    return 0
