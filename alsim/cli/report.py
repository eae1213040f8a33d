"""``alsim report DIR``: Markdown/HTML report with figures and tables for a finished (or partial) grid run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

_METRICS = ("accuracy", "macro_f1", "balanced_accuracy")


def add_parser(subparsers: Any) -> None:
    """Add the ``alsim report`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "report",
        help="write a Markdown/HTML report with figures for a grid run's results",
        description=(
            "Read the finished cells of an 'alsim run' output directory and write DIR/report/: report.md, "
            "report.html (self-contained, figures by relative path), figures/*.png (learning curves against "
            "labels and cost per dataset, ranks, critical-difference diagram, seed stability) and "
            "tables/*.csv (AULC, savings, deficiency, paired tests, win/tie/loss, ranks, Friedman). "
            "Sections that the results cannot support (no baseline strategy, fewer than 3 strategies, one "
            "seed) are listed in the report with the reason."
        ),
    )
    parser.add_argument("directory", metavar="DIR", help="output directory of 'alsim run'")
    parser.add_argument("--out", default=None, metavar="PATH", help="where to write the report (default: DIR/report)")
    parser.add_argument("--baseline", default="random", help="strategy to compare against (default: random)")
    parser.add_argument("--metric", choices=_METRICS, default="accuracy", help="test metric (default: accuracy)")
    parser.add_argument(
        "--alpha", type=float, default=0.05, help="significance level of the tests and the CD (default: 0.05)"
    )
    parser.add_argument("--title", default=None, help="report title (default: from the experiment name)")
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``alsim report`` with the parsed ``args``; return the process exit code."""
    import warnings

    from alsim._environment import mixed_environment_note
    from alsim._output import check_output_dir
    from alsim.exceptions import InvalidInputError
    from alsim.experiments import grid_completeness
    from alsim.experiments.store import CellStore
    from alsim.reports import write_report

    directory = Path(args.directory)
    out = check_output_dir(args.out if args.out else directory / "report", who="--out")
    results, skipped = load_results_noting_skips(directory)
    if results.height == 0:
        raise InvalidInputError(
            f"{str(directory)!r} has no finished cells yet (nothing in {str(directory / 'cells')!r}); run "
            f"'alsim run CONFIG --out {args.directory}' first."
        )
    title = args.title or f"Active-learning benchmark report: {_experiment_name(directory)}"
    completeness = grid_completeness(results, directory, n_unreadable=len(skipped))
    for note in completeness.notes():
        warnings.warn(note, stacklevel=1)
    environments = mixed_environment_note(CellStore(directory).result_files())
    if environments is not None:
        warnings.warn(environments, stacklevel=1)
        skipped = [*skipped, environments]
    path = write_report(
        results,
        out,
        baseline=args.baseline,
        metric=args.metric,
        alpha=args.alpha,
        title=title,
        source=str(args.directory),
        progress=not args.no_progress,
        completeness=completeness,
        notes=skipped,
    )
    print(f"wrote {path} and {path.with_suffix('.html')}")
    return 0


def load_results_noting_skips(directory: Path) -> tuple[Any, list[str]]:
    """Load the results of a run directory, and the warnings about the cell files it had to skip.

    Each warning is also shown on stderr as it happens.
    """
    import warnings

    from alsim.exceptions import ResultsWarning
    from alsim.experiments import load_results

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResultsWarning)
        results = load_results(directory)
    skipped = []
    for warning in caught:
        if issubclass(warning.category, ResultsWarning):
            skipped.append(str(warning.message))
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return results, skipped


def _experiment_name(directory: Path) -> str:
    """Return the experiment's name from the config copy the runner keeps, else the directory's name.

    The copy is only parsed, not validated: validating would import the modules its ``imports`` names, and
    reading results must never run code that came with them.
    """
    from alsim.exceptions import ConfigError
    from alsim.experiments.config import read_config_table

    config = directory / "experiment.toml"
    if config.is_file():
        try:
            name = read_config_table(config).get("name")
        except ConfigError:
            name = None  # an unreadable copy only costs the title; the results are still reported
        if isinstance(name, str) and name.strip():
            return name
    return directory.resolve().name
