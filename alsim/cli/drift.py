"""``alsim drift``: the drift recovery study (fixed labelling rate vs drift detector + boost) on a stream."""

from __future__ import annotations

import argparse
from typing import Any

_STRATEGIES = ("random", "variable_uncertainty", "split")


def add_parser(subparsers: Any) -> None:
    """Add the ``alsim drift`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "drift",
        help="run the drift recovery study on a stream and write its report",
        description=(
            "For each seed and stream strategy, run the stream twice on the same arrival order with an abrupt "
            "drift: at a fixed labelling rate, and with a drift detector that raises the rate after a detection "
            "and repays it afterwards. Write --out/report.md, report.html, drift_recovery.png (prequential "
            "accuracy and labels bought against examples seen), runs.csv and curves.parquet. Needs the stream "
            "extra: pip install 'alsim[stream]'."
        ),
    )
    parser.add_argument(
        "--out", default="reports/stream", metavar="DIR", help="report directory (default: reports/stream)"
    )
    parser.add_argument("--dataset", default="openml:32", help="dataset spec (default: openml:32, pendigits)")
    parser.add_argument("--label", default=None, help="label column (required for CSV/parquet files)")
    parser.add_argument(
        "--strategy",
        action="append",
        dest="strategies",
        metavar="NAME",
        help=f"stream strategy to compare, repeatable (default: {' '.join(_STRATEGIES)})",
    )
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds 0..N-1 (default: 10)")
    parser.add_argument("--detector", default="adwin", choices=["adwin", "page_hinkley"], help="drift detector")
    parser.add_argument(
        "--budget-fraction", type=float, default=0.1, help="share of arrivals labelled at the fixed rate (default: 0.1)"
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``alsim drift`` with the parsed ``args``; return the process exit code."""
    from pathlib import Path

    from alsim._output import check_output_dir
    from alsim.datasets import load_dataset
    from alsim.exceptions import InvalidParameterError
    from alsim.reports.drift import drift_recovery_report

    if args.seeds < 1:
        raise InvalidParameterError(f"--seeds must be an int >= 1. Got {args.seeds} instead.")
    check_output_dir(args.out, who="--out")
    dataset: Any = args.dataset if args.label is None else load_dataset(args.dataset, label=args.label)
    drift_recovery_report(
        args.out,
        dataset=dataset,
        strategies=tuple(args.strategies or _STRATEGIES),
        drift_detector=args.detector,
        budget_fraction=args.budget_fraction,
        seeds=tuple(range(args.seeds)),
        progress=not args.no_progress,
    )
    print(f"wrote {Path(args.out) / 'report.md'} and {Path(args.out) / 'report.html'}")
    return 0
