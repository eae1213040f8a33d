"""``alsim datasets``: list the OpenML datasets available offline."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``alsim datasets`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "datasets",
        help="list the OpenML datasets bundled for offline use",
        description=(
            "List the OpenML datasets bundled with alsim. Use them as --dataset openml:<id> without the "
            "network; other ids are fetched through the openml client and its cache."
        ),
    )
    parser.add_argument(
        "--cc18", action="store_true", help="only the datasets that belong to the OpenML-CC18 benchmark suite"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array of records instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``alsim datasets`` with the parsed ``args``; return the process exit code."""
    import polars as pl

    from alsim._messages import counted
    from alsim.datasets import offline_datasets

    table = offline_datasets()
    if args.cc18:
        table = table.filter(pl.col("in_openml_cc18"))
    if args.json:
        print(json.dumps(table.to_dicts(), indent=2))
        return 0
    shown = table.select(
        pl.format("openml:{}", pl.col("openml_id")).alias("spec"),
        "name",
        pl.col("instances").alias("rows"),
        "features",
        "classes",
        pl.col("missing_values").alias("missing"),
        pl.when(pl.col("in_openml_cc18")).then(pl.lit("yes")).otherwise(pl.lit("")).alias("CC18"),
    )
    with pl.Config(
        tbl_rows=-1,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_formatting="ASCII_MARKDOWN",
        tbl_cell_alignment="LEFT",
        tbl_cell_numeric_alignment="RIGHT",
    ):
        print(shown)
    n_cc18 = int(table["in_openml_cc18"].sum())
    print(f"\n{counted(table.height, 'dataset')} available offline ({n_cc18} in OpenML-CC18).")
    return 0
