"""``alsim backtest RESULTS``: how well budget extrapolation predicts labels-to-target on finished grids."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Add the ``alsim backtest`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "backtest",
        help="backtest the budget extrapolation on a finished grid run",
        description=(
            "For every dataset and strategy of a grid run (alsim run), predict labels-to-target from the first "
            "part of the curves and compare with the full curves; print the error and interval coverage and "
            "write backtest.md, backtest.csv and backtest.png into --out."
        ),
    )
    parser.add_argument("results", metavar="RESULTS", help="output directory of 'alsim run'")
    parser.add_argument("--out", default=None, metavar="DIR", help="report directory (default: RESULTS/backtest)")
    parser.add_argument("--fit-share", type=float, default=0.4, help="share of each curve the fit sees (default: 0.4)")
    parser.add_argument(
        "--metric",
        default="accuracy",
        choices=("accuracy", "macro_f1"),
        help="test metric whose labels-to-target is predicted (default: accuracy)",
    )
    parser.add_argument("--bootstrap", type=int, default=100, help="bootstrap replicates (default: 100)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``alsim backtest`` with the parsed ``args``; return the process exit code."""
    from pathlib import Path

    from alsim._output import check_output_dir
    from alsim.budget.backtest import backtest, summarize_backtest, write_backtest_report
    from alsim.experiments import load_results

    out = check_output_dir(args.out if args.out is not None else Path(args.results) / "backtest", who="--out")
    table = backtest(load_results(args.results), fit_share=args.fit_share, metric=args.metric, n_boot=args.bootstrap)
    report = write_backtest_report(table, out, fit_share=args.fit_share)
    for key, value in summarize_backtest(table).items():
        print(f"{key:>24}: {value:.3g}" if isinstance(value, float) else f"{key:>24}: {value}")
    print(f"\nReport: {report}")
    return 0
