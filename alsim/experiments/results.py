"""What a grid's finished cells cover; reading them back (:func:`load_results`) lives in :mod:`alsim.results`."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from alsim.experiments.store import CellStore
from alsim.results import CELL_COLUMNS, CONFIG_COLUMNS, CONTEXT_COLUMNS, load_results

__all__ = ["CELL_COLUMNS", "GridCompleteness", "grid_completeness", "load_results"]


@dataclass(frozen=True)
class GridCompleteness:
    """What a set of finished cells covers, against the grid it was meant to be.

    Attributes
    ----------
    n_cells : int
        Distinct finished cells in the results.
    n_configured : int or None
        Cells the experiment in ``DIR/experiment.toml`` configures (None: no readable experiment file).
    n_failed : int
        Cells with an error report (``cells/<id>.error.json``) and no result.
    n_unreadable : int
        Cell files that could not be read (skipped by :func:`load_results`).
    seeds : polars.DataFrame
        Seeds finished per configuration: ``dataset, learner, batch_size, strategy, n_seeds``, including
        combinations of the grid's datasets, strategies, learners and batch sizes with no finished cell
        (``n_seeds`` 0).
    """

    n_cells: int
    n_configured: int | None
    n_failed: int
    n_unreadable: int
    seeds: pl.DataFrame

    @property
    def balanced(self) -> bool:
        """True when every configuration has the same number of finished seeds (none missing)."""
        counts = self.seeds.get_column("n_seeds")
        return counts.n_unique() <= 1 and (counts.len() == 0 or int(counts.min()) > 0)  # type: ignore[arg-type]

    @property
    def complete(self) -> bool:
        """True when every configured cell is finished (unknown configuration: when balanced)."""
        if self.n_configured is not None:
            return self.n_cells >= self.n_configured and self.n_unreadable == 0
        return self.balanced and self.n_unreadable == 0

    def notes(self) -> list[str]:
        """One sentence per problem, for reports and command-line warnings (empty when complete and balanced)."""
        notes = []
        if self.n_configured is not None and self.n_cells < self.n_configured:
            missing = self.n_configured - self.n_cells
            parts = [f"{self.n_failed} failed (see cells/*.error.json)"] if self.n_failed else []
            if self.n_unreadable:
                parts.append(f"{self.n_unreadable} unreadable")
            rest = missing - self.n_failed - self.n_unreadable
            if rest > 0:
                parts.append(f"{rest} not run yet")
            notes.append(
                f"Incomplete grid: {self.n_cells} of the {self.n_configured} configured cells are finished "
                f"({', '.join(parts)}). Rerun 'alsim run' with the same config to finish it."
            )
        elif self.n_unreadable:
            notes.append(f"{self.n_unreadable} cell file(s) could not be read and were left out.")
        if not self.balanced:
            notes.append("Unbalanced comparison: " + _seed_imbalance(self.seeds))
        return notes


def _seed_imbalance(seeds: pl.DataFrame) -> str:
    """Where the numbers of finished seeds differ, e.g. 'letter: random 10, margin 6 seeds; ...'."""
    low, high = int(seeds["n_seeds"].min()), int(seeds["n_seeds"].max())  # type: ignore[arg-type]
    keys = list(CONTEXT_COLUMNS)
    several_settings = seeds.select("learner", "batch_size").n_unique() > 1
    parts = []
    for group in seeds.partition_by(keys, maintain_order=True):
        if group["n_seeds"].n_unique() == 1 and int(group["n_seeds"][0]) == high:
            continue
        first = group.row(0, named=True)
        where = f"{first['dataset']}" + (
            f" ({first['learner']}, batch {first['batch_size']})" if several_settings else ""
        )
        counts = ", ".join(
            f"{r['strategy']} {r['n_seeds']}" for r in group.sort("n_seeds", "strategy").iter_rows(named=True)
        )
        parts.append(f"{where}: {counts}")
    shown = "; ".join(parts[:6]) + (f"; and {len(parts) - 6} more datasets" if len(parts) > 6 else "")
    return (
        f"the strategies were compared on {low} to {high} finished seeds per dataset ({shown}). Means of "
        "unequal seed sets are not like for like; statistics that pair seeds use only the shared ones."
    )


def _configured_cells(config_path: Path) -> int | None:
    """Count the cells a stored experiment configures, from its TOML without validating it.

    Validation would import the modules its ``imports`` names, and reading results never runs code.
    """
    from alsim.exceptions import ConfigError
    from alsim.experiments.config import read_config_table

    try:
        table = read_config_table(config_path)
    except ConfigError:
        return None

    def count(key: str, default: int) -> int | None:
        value = table.get(key)
        return default if value is None else len(value) if isinstance(value, list) else None

    seeds = len(table["seeds"]) if isinstance(table.get("seeds"), list) else table.get("n_seeds")
    stream = table.get("mode") == "stream"
    factors = [
        count("datasets", 0),
        count("strategies", 0),
        count("learners", 1),
        1 if stream else count("batch_sizes", 1),
        seeds,
    ]
    if not all(isinstance(f, int) and not isinstance(f, bool) and f > 0 for f in factors):
        return None
    return int(math.prod(factors))  # type: ignore[arg-type]


def grid_completeness(
    results: pl.DataFrame, out_dir: str | os.PathLike[str] | None = None, *, n_unreadable: int = 0
) -> GridCompleteness:
    """How complete and balanced a results frame is (and, given its directory, against its configuration).

    Parameters
    ----------
    results : polars.DataFrame
        :func:`load_results` output (or any frame with the cell columns).
    out_dir : path, optional
        The run's directory: its ``experiment.toml`` gives the configured cell count and its error files
        the failed cells.
    n_unreadable : int, default=0
        Cell files :func:`load_results` skipped.

    Returns
    -------
    GridCompleteness

    Examples
    --------
    >>> from alsim.experiments import grid_completeness, load_results
    >>> grid_completeness(load_results("runs/quickstart"), "runs/quickstart").notes()  # doctest: +SKIP
    []
    """
    keys = list(CONFIG_COLUMNS)
    cells = results.select(["cell_id", *keys, "seed"]).unique("cell_id")
    counts = cells.group_by(keys).agg(pl.col("seed").n_unique().cast(pl.Int64).alias("n_seeds"))
    # Every combination of the axes present, so a strategy missing on a dataset shows as 0 seeds.
    axes = [cells.select(key).unique() for key in keys]
    full = axes[0]
    for axis in axes[1:]:
        full = full.join(axis, how="cross")
    seeds = full.join(counts, on=keys, how="left").with_columns(pl.col("n_seeds").fill_null(0)).sort(keys)
    n_configured = n_failed = None
    if out_dir is not None:
        store = CellStore(out_dir)
        if store.config_path.is_file():
            n_configured = _configured_cells(store.config_path)
        if store.cells_dir.is_dir():
            n_failed = sum(
                1 for p in store.cells_dir.glob("*.error.json") if not p.with_name(p.name[:-11] + ".parquet").exists()
            )
    return GridCompleteness(
        n_cells=cells.height,
        n_configured=n_configured,
        n_failed=n_failed or 0,
        n_unreadable=n_unreadable,
        seeds=seeds,
    )
