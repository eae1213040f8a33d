"""``alsim backtest RESULTS [RESULTS ...]``: how well the budget extrapolation predicts, and its calibration."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Add the ``alsim backtest`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "backtest",
        help="backtest and calibrate the budget extrapolation on finished grid runs",
        description=(
            "For every dataset, learner, batch size and strategy of finished grid runs (alsim run), predict "
            "labels-to-target from the first part of the mean curve and compare with the full curve. Intervals "
            "and out-of-reach probabilities are calibrated leave-dataset-out. Prints the bars per learner and "
            "batch size and writes backtest.md, backtest.csv and backtest.png into --out; --json writes one row "
            "per case, --calibration-out the calibration table fitted on every case (what alsim budget ships)."
        ),
    )
    parser.add_argument("results", metavar="RESULTS", nargs="+", help="output directories of 'alsim run'")
    parser.add_argument(
        "--out", default=None, metavar="DIR", help="report directory (default: the first RESULTS/backtest)"
    )
    parser.add_argument("--json", default=None, metavar="FILE", help="also write one JSON row per case to FILE")
    parser.add_argument(
        "--calibration-out",
        default=None,
        metavar="FILE",
        help="write the calibration table fitted on every case to FILE (alsim/budget/calibration.json ships it)",
    )
    parser.add_argument(
        "--fit-share", type=float, default=0.4, help="share of each curve's label range the fit sees (default: 0.4)"
    )
    parser.add_argument(
        "--metric",
        default="accuracy",
        choices=("accuracy", "macro_f1"),
        help="test metric whose labels-to-target is predicted (default: accuracy)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an earlier report, --json or --calibration-out file"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def _refuse_existing(path: Any, flag: str) -> None:
    from alsim.exceptions import OutputPathError

    if path.exists():
        raise OutputPathError(
            f"{flag} ({str(path)!r}) already exists; pass --overwrite to replace it, or choose another file."
        )


def run(args: argparse.Namespace) -> int:
    """Run ``alsim backtest`` with the parsed ``args``; return the process exit code."""
    import json
    import shlex
    import sys
    from pathlib import Path

    import polars as pl

    from alsim._output import check_new_outputs, check_output_dir, check_output_file
    from alsim.budget.backtest import (
        REPORT_FILES,
        backtest_cases,
        calibrate,
        score_cases,
        summarize_by_setting,
        write_backtest_report,
    )
    from alsim.experiments import load_results

    # Every output is checked (writable, not an earlier answer) before the minutes of work.
    out = Path(args.out) if args.out is not None else Path(args.results[0]) / "backtest"
    if not args.overwrite:
        check_new_outputs(out, REPORT_FILES, who="--out", allow="--overwrite")
    out = check_output_dir(out, who="--out")
    extra_files = [(args.json, "--json"), (args.calibration_out, "--calibration-out")]
    for path, flag in extra_files:
        if path is not None:
            if not args.overwrite:
                _refuse_existing(Path(path), flag)
            check_output_file(path, who=flag)
    results = pl.concat([load_results(directory) for directory in args.results], how="diagonal_relaxed")
    cases = backtest_cases(results, fit_share=args.fit_share, metric=args.metric, progress=not args.no_progress)
    table = score_cases(cases)
    command = "alsim backtest " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else None
    report = write_backtest_report(table, out, fit_share=args.fit_share, command=command)
    if args.json is not None:
        Path(args.json).write_text(json.dumps(table.to_dicts(), indent=1) + "\n")
    if args.calibration_out is not None:
        calibrate(cases, source=command or "alsim backtest").save(args.calibration_out)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, float_precision=3, tbl_hide_dataframe_shape=True):
        print(summarize_by_setting(table))
    print(f"\nReport: {report}")
    for path, flag in extra_files:
        if path is not None:
            print(f"{flag}: {path}")
    return 0
