"""``alsim stopping RESULTS``: score stopping rules on simulated runs under a cost model."""

from __future__ import annotations

import argparse
from pathlib import Path

_DESCRIPTION = """\
Score the stopping rules on simulated runs. For each rule and run: where it stops, the labels and cost
spent, the test accuracy there, and the total cost C = cost_per_label x labeling cost + (1 - accuracy) x
predictions x cost_per_error (Pullar-Strecker et al. 2023), with its regret against the ex-post optimal
stop. Prints the mean regret and rank per rule, every rule over the same runs (those all compared rules
can read; where a rule does not apply is listed separately), and writes the table (CSV, per-run parquet)
and a map of which rule wins across label and error costs (PNG).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``alsim stopping`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "stopping",
        help="score stopping rules on simulated runs under a cost model",
        description=_DESCRIPTION,
    )
    parser.add_argument(
        "results",
        metavar="RESULTS",
        help="a grid output directory ('alsim run'), one run's parquet file, or a directory of run files",
    )
    parser.add_argument(
        "--cost-per-label",
        type=float,
        default=1.0,
        metavar="X",
        help="price of one label (of one unit of recorded labeling cost); default 1",
    )
    parser.add_argument(
        "--predictions",
        type=float,
        default=10_000,
        metavar="N",
        help="predictions the deployed model makes over its lifetime; default 10000",
    )
    parser.add_argument(
        "--cost-per-error", type=float, default=1.0, metavar="Y", help="price of one wrong prediction; default 1"
    )
    parser.add_argument(
        "--rules",
        nargs="+",
        metavar="RULE",
        default=None,
        help="rules to score (registry names); default: every rule with its paper's defaults",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="where to write the table and the plot; default RESULTS/stopping for a directory, "
        "<file>_stopping next to a file",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``alsim stopping`` with the parsed ``args``; return the process exit code."""
    import polars as pl

    from alsim._messages import counted
    from alsim._output import check_output_dir
    from alsim.stopping import (
        inapplicable_rules,
        load_runs,
        plot_winner_map,
        resolve_rules,
        score_rules,
        summarize_scores,
        winner_map,
    )

    source = Path(args.results)
    results = load_runs(source)
    out = check_output_dir(
        args.out
        if args.out
        else (source / "stopping" if source.is_dir() else source.with_name(f"{source.stem}_stopping")),
        who="--out",
    )
    if (source / "cells").is_dir():  # a grid: say when it is incomplete or unbalanced before comparing rules
        import warnings

        from alsim.experiments import grid_completeness

        for note in grid_completeness(results, source).notes():
            warnings.warn(note, stacklevel=1)
    costs = {
        "cost_per_label": args.cost_per_label,
        "predictions": args.predictions,
        "cost_per_error": args.cost_per_error,
    }
    rules = resolve_rules(args.rules, **costs)
    scores = score_rules(results, rules, **costs, progress=not args.no_progress)
    summary = summarize_scores(scores)

    scores.write_parquet(out / "stopping_scores.parquet")
    summary.write_csv(out / "stopping_summary.csv")

    n_all = scores.height // len(rules)
    n_compared = int(summary["n_runs"].max())  # type: ignore[arg-type]
    practical = [rule for rule in rules if not rule.uses_test_labels]
    lifetime = args.predictions * args.cost_per_error
    plot_path: Path | None = out / "stopping_winner_map.png"
    if practical and args.cost_per_label > 0 and lifetime > 0:
        grid = winner_map(results, practical, progress=not args.no_progress)
        grid.write_csv(out / "stopping_winner_map.csv")
        plot_winner_map(
            grid,
            out / "stopping_winner_map.png",
            highlight=(args.cost_per_label, lifetime),
            title=f"Stopping rule with the lowest mean regret ({counted(int(grid['n_runs'][0]), 'run')})",
        )
    else:
        plot_path = None

    shown = summary.select(
        pl.when(pl.col("uses_test_labels")).then(pl.col("rule") + pl.lit(" *")).otherwise(pl.col("rule")).alias("rule"),
        pl.col("n_runs").alias("runs"),
        pl.col("mean_regret").alias("regret"),
        pl.col("mean_relative_regret").alias("rel. regret"),
        pl.col("mean_rank").alias("rank"),
        pl.col("failed_to_stop_share").alias("never stopped"),
        pl.col("mean_labels_at_stop").alias("labels"),
        pl.col("mean_accuracy_at_stop").alias("accuracy"),
        pl.col("mean_accuracy_below_best").alias("below best"),
    )
    print(
        f"Stopping rules on {counted(n_compared, 'run')}"
        + (f" of {n_all}, those every compared rule can read" if n_compared < n_all else "")
        + f"; C = {args.cost_per_label:g} x labeling cost + (1 - accuracy) x {args.predictions:g} x "
        f"{args.cost_per_error:g}"
    )
    print("means over runs; rank 1 = cheapest practical rule on a run; * = reference rule that reads test labels")
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=160,
        float_precision=3,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    ):
        print(shown.filter(summary["compared"]))
    not_applicable = inapplicable_rules(scores)
    narrowing = not_applicable.filter(pl.col("compared"))["rule"].to_list()
    if narrowing:
        print(
            f"{counted(n_all - n_compared, 'run')} left out of the comparison because {', '.join(narrowing)} "
            f"cannot read them; pass --rules without {'it' if len(narrowing) == 1 else 'them'} to compare the "
            "others on more runs"
        )
    for row in not_applicable.iter_rows(named=True):
        names = (row["datasets"] or "").split(", ")
        where = f" ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})" if row["datasets"] else ""
        left_out = " and is left out of the comparison" if not row["compared"] else ""
        print(
            f"{row['rule']} does not apply to {row['n_runs']} of {counted(row['of_runs'], 'run')}{where}{left_out}: "
            f"{row['reason']}"
        )
    print(f"wrote {out / 'stopping_summary.csv'} and {out / 'stopping_scores.parquet'}")
    if plot_path is not None:
        print(f"wrote {plot_path}")
    return 0
