"""``alsim run CONFIG --out DIR``: run an experiment grid, resumably, locally or on Dask."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Add the ``alsim run`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "run",
        help="run an experiment grid (resumable; local processes or Dask)",
        description=(
            "Run every cell of an experiment TOML (datasets x strategies x learners x batch sizes x seeds). "
            "Each finished cell is stored atomically as DIR/cells/<cell_id>.parquet; rerunning the same "
            "command skips finished cells and retries failed ones, so it is safe to interrupt. DIR keeps "
            "a copy of the experiment (DIR/experiment.toml); resuming with a config whose grid neither "
            "contains nor is contained in it (e.g. another budget) is refused. "
            "Exit status: 0 when every cell is finished, 1 when some cells failed (listed at the end), "
            "2 for a bad config or option, 130 when interrupted."
        ),
    )
    parser.add_argument("config", metavar="CONFIG", help="experiment TOML file (see experiments/)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory (created or resumed)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="worker processes (default: all cores; 1 runs in this process); with --executor dask and no "
        "--scheduler, the number of LocalCluster workers",
    )
    parser.add_argument(
        "--executor",
        choices=("local", "dask"),
        default=None,
        help="'local' process pool (default) or 'dask' distributed (default with --scheduler)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of a running Dask scheduler to join (e.g. tcp://10.0.0.5:8786); without it "
        "--executor dask starts a LocalCluster on 127.0.0.1",
    )
    parser.add_argument(
        "--allow-imports",
        action="store_true",
        help="import the Python modules the config lists in 'imports' (e.g. your own strategies); this runs "
        "their code, so a config with 'imports' is refused without this flag",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``alsim run`` with the parsed ``args``; return the process exit code."""
    from alsim._output import check_output_dir
    from alsim.experiments import load_config, run_experiment

    executor = args.executor or ("dask" if args.scheduler else "local")
    config = load_config(args.config, allow_imports=args.allow_imports)
    check_output_dir(args.out, who="--out")
    summary = run_experiment(
        config,
        args.out,
        jobs=args.jobs,
        executor=executor,
        scheduler=args.scheduler,
        progress=not args.no_progress,
    )
    print(summary, file=sys.stderr if summary.failures else sys.stdout)
    return 0 if summary.ok else 1
