"""The long results frame: its columns, the :class:`Results` type validated once, and reading it from disk.

One row per recorded round of every finished run: the cell columns :data:`CELL_COLUMNS` that say which run
a row belongs to, followed by the record columns :data:`alsim.records.RECORD_SCHEMA`. This module is the one
owner of that contract; :mod:`alsim.metrics`, :mod:`alsim.stats`, :mod:`alsim.stopping` and
:mod:`alsim.reports` take a :class:`Results` (or a plain polars frame, which they validate once).

Vocabulary:

* a *run* is one cell (one seed of one configuration), identified by :data:`RUN_COLUMNS`;
* a *configuration* is :data:`CONFIG_COLUMNS` ``(dataset, learner, batch_size, strategy)``;
* a *context* is :data:`CONTEXT_COLUMNS` ``(dataset, learner, batch_size)``: strategies are only ever
  compared within one.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import polars as pl

from alsim._messages import describe_type
from alsim.exceptions import InvalidDtypeError, InvalidInputError, MissingSignalError, ResultsWarning
from alsim.records import RECORD_SCHEMA, load_result

__all__ = [
    "CELL_COLUMNS",
    "CELL_FILE_NAME",
    "CELL_ID_LENGTH",
    "CELL_SCHEMA",
    "CONFIG_COLUMNS",
    "CONTEXT_COLUMNS",
    "REQUIRED_CELL_COLUMNS",
    "RUN_COLUMNS",
    "Results",
    "as_results",
    "cell_files",
    "check_results",
    "load_results",
]

#: Cell columns :func:`load_results` puts in front of every record row, in this order, with their dtypes.
CELL_SCHEMA: dict[str, pl.DataType] = {
    "cell_id": pl.String(),
    "dataset": pl.String(),
    "dataset_spec": pl.String(),
    "strategy": pl.String(),
    "learner": pl.String(),
    "batch_size": pl.Int64(),
    "seed": pl.Int64(),
    "reference_accuracy": pl.Float64(),
}
CELL_COLUMNS: tuple[str, ...] = tuple(CELL_SCHEMA)
#: Columns that identify one run.
RUN_COLUMNS: tuple[str, ...] = ("cell_id", "dataset", "strategy", "learner", "batch_size", "seed")
#: Cell columns every results frame must have (``dataset_spec`` only exists for grid runs).
REQUIRED_CELL_COLUMNS: tuple[str, ...] = (*RUN_COLUMNS, "reference_accuracy")
CONTEXT_COLUMNS: tuple[str, ...] = ("dataset", "learner", "batch_size")
CONFIG_COLUMNS: tuple[str, ...] = (*CONTEXT_COLUMNS, "strategy")

#: Hex digits kept from the sha256 of a cell's canonical JSON (64 bits: collisions are negligible even for
#: millions of cells, and file names stay short). A run directory keeps one ``cells/<cell_id>.parquet`` per
#: finished cell (written by :mod:`alsim.experiments.store`).
CELL_ID_LENGTH = 16
CELL_FILE_NAME = re.compile(rf"^([0-9a-f]{{{CELL_ID_LENGTH}}})\.parquet$")
_CELL_KEYS = {"dataset", "strategy", "learner", "batch_size", "seed"}


class Results(pl.DataFrame):
    """A long results frame whose layout was validated once: every consumer takes it without checking again.

    It is a :class:`polars.DataFrame` (one row per round of every run, sorted by ``cell_id`` then
    ``round``), so everything polars does works on it; what polars derives from it (a filter, a join, new
    columns) is a plain frame again, validated again where it is passed back. Build one with
    :func:`as_results` or :func:`load_results`, and treat it as immutable.
    """

    _clash: dict[str, Any] | None
    _clash_count: int

    def require(self, func: str, signals: Sequence[str] = ()) -> None:
        """Check what one computation needs: the record columns ``signals``, rows, and no null or NaN values.

        Raises
        ------
        MissingSignalError
            A column of ``signals`` was not recorded.
        InvalidInputError
            The frame is empty, ``reference_accuracy`` or a signal has nulls or NaNs, or several cells claim
            the same configuration and seed.
        """
        missing = [c for c in dict.fromkeys(signals) if c not in self.columns]
        if missing:
            raise MissingSignalError(
                f"{func} needs the record columns {missing}, which the 'results' frame does not have. "
                f"Available columns: {self.columns}."
            )
        if self.height == 0:
            raise InvalidInputError(f"The 'results' frame given to {func} is empty: no finished cell to measure.")
        for column in dict.fromkeys(["reference_accuracy", *signals]):
            series = self.get_column(column)
            n_bad = series.null_count()
            if series.dtype.is_float():
                n_bad += int(series.is_nan().sum() or 0)
            if n_bad:
                raise InvalidInputError(
                    f"The '{column}' column of the 'results' frame given to {func} has {n_bad} null or NaN "
                    f"values; every recorded round needs a value."
                )
        if self._clash is not None:
            raise InvalidInputError(
                f"{self._clash_count} (dataset, learner, batch_size, strategy, seed) combinations in the 'results' "
                f"frame given to {func} have several cells, e.g. {self._clash}: the grid varies a parameter the "
                f"metrics do not compare. Filter the frame to one value of that parameter first (for "
                f"`alsim report`, use an output directory that holds a single experiment)."
            )


def as_results(results: object, func: str) -> Results:
    """Validate a long results frame once and return it as :class:`Results` (a :class:`Results` as is).

    Checks the cell columns :data:`REQUIRED_CELL_COLUMNS` and ``round``, sorts by cell and round, and notes
    whether several cells claim one configuration and seed (reported by :meth:`Results.require`).

    Raises
    ------
    InvalidDtypeError
        ``results`` is not a polars DataFrame.
    InvalidInputError
        A cell column is missing.
    MissingSignalError
        There is no ``round`` column.
    """
    if isinstance(results, Results):
        return results
    if not isinstance(results, pl.DataFrame):
        raise InvalidDtypeError(
            f"The 'results' argument of {func} must be a polars.DataFrame (the long frame of "
            f"alsim.experiments.load_results). Got {describe_type(results)} instead."
        )
    missing_cells = [c for c in REQUIRED_CELL_COLUMNS if c not in results.columns]
    if missing_cells:
        raise InvalidInputError(
            f"The 'results' frame given to {func} lacks the cell columns {missing_cells}. It must have "
            f"{list(REQUIRED_CELL_COLUMNS)}: load it with alsim.experiments.load_results, or add them to the "
            f"records of a single SimulationResult."
        )
    if "round" not in results.columns:
        raise MissingSignalError(
            f"{func} needs the record columns ['round'], which the 'results' frame does not have. "
            f"Available columns: {results.columns}."
        )
    clashes = (
        results.group_by([*CONFIG_COLUMNS, "seed"])
        .agg(pl.col("cell_id").n_unique().alias("n_cells"))
        .filter(pl.col("n_cells") > 1)
    )
    # _from_pydf wraps the sorted frame's data in the class it is called on, without a copy.
    validated = cast(Results, Results._from_pydf(results.sort(["cell_id", "round"])._df))
    validated._clash = clashes.row(0, named=True) if clashes.height else None
    validated._clash_count = clashes.height
    return validated


def check_results(results: object, func: str, *, signals: Sequence[str] = ()) -> Results:
    """:func:`as_results` then :meth:`Results.require`: the one check a function taking results runs."""
    validated = as_results(results, func)
    validated.require(func, signals)
    return validated


# ------------------------------------------------------------------------------------------- reading


def _dataset_name(metadata: dict[str, Any], spec: str) -> str:
    dataset = metadata.get("dataset")
    if isinstance(dataset, dict):
        dataset = dataset.get("name")
    return str(dataset) if dataset else spec


def _cell_frame(path: Path) -> pl.DataFrame:
    result = load_result(path)
    metadata = result.metadata
    cell = metadata.get("cell")
    if not isinstance(cell, dict) or not set(cell) >= _CELL_KEYS:
        raise InvalidInputError(
            f"The cell file {str(path)!r} has no cell parameters in its metadata: it was not written by run_experiment."
        )
    reference = metadata.get("reference_accuracy")
    values = {
        "cell_id": str(metadata.get("cell_id", path.stem)),
        "dataset": _dataset_name(metadata, cell["dataset"]),
        "dataset_spec": cell["dataset"],
        "strategy": cell["strategy"],
        "learner": cell["learner"],
        "batch_size": cell["batch_size"],
        "seed": cell["seed"],
        "reference_accuracy": None if reference is None else float(reference),
    }
    try:
        cell_columns = [pl.lit(values[name], dtype=dtype).alias(name) for name, dtype in CELL_SCHEMA.items()]
        return result.records.select([*cell_columns, pl.all()])
    except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        raise InvalidInputError(f"The cell file {str(path)!r} has malformed cell parameters ({exc}).") from None


def _read_or_reason(path: Path) -> pl.DataFrame | str:
    """Read the cell's rows, or return why the file cannot be used (never raises for a bad file)."""
    try:
        return _cell_frame(path)
    except InvalidInputError as exc:
        return str(exc)


def cell_files(cells_dir: Path) -> list[Path]:
    """Finished cell files of a run directory's ``cells/``, sorted by cell id (never temporary files)."""
    if not cells_dir.is_dir():
        return []
    return sorted(p for p in cells_dir.iterdir() if CELL_FILE_NAME.match(p.name))


def load_results(out_dir: str | os.PathLike[str], *, skip_unreadable: bool = True) -> Results:
    """All record rows of all finished cells of a grid run, in long format.

    Parameters
    ----------
    out_dir : path
        A directory written by :func:`~alsim.experiments.run_experiment` / ``alsim run``.
    skip_unreadable : bool, default=True
        A cell file that cannot be read (corrupt or truncated, not parquet, or a parquet file that
        ``run_experiment`` did not write) is left out with a :class:`~alsim.exceptions.ResultsWarning`
        naming the file and the reason; False raises :class:`InvalidInputError` instead.

    Returns
    -------
    Results
        A polars DataFrame: the cell columns :data:`CELL_COLUMNS` (``cell_id, dataset, dataset_spec,
        strategy, learner, batch_size, seed, reference_accuracy``) followed by every column of the cells'
        records (``round``, ``n_labeled``, ``cost``, ``accuracy``, ...). ``dataset`` is the dataset's name
        (e.g. ``"iris"``), ``dataset_spec`` what the config named (``"openml:61"`` or a file path). Rows are
        sorted by ``cell_id`` then ``round``, so the frame is the same however the run was executed. Failed
        or unfinished cells contribute no rows. It is validated here, once: metrics, statistics, stopping
        rules and reports take it without checking its layout again.

    Raises
    ------
    InvalidInputError
        If ``out_dir`` is not a grid output directory, or a cell file is unreadable and
        ``skip_unreadable=False``.

    Examples
    --------
    >>> from alsim.experiments import load_results
    >>> frame = load_results("runs/quickstart")  # doctest: +SKIP
    >>> frame.group_by("strategy").agg(pl.col("accuracy").last())  # doctest: +SKIP
    """
    cells_dir = Path(out_dir) / "cells"
    if not cells_dir.is_dir():
        raise InvalidInputError(
            f"The 'out_dir' parameter of load_results must be a directory written by 'alsim run' (with a "
            f"cells/ sub-directory). Got {str(out_dir)!r} instead."
        )
    paths = cell_files(cells_dir)
    # Parquet reads release the GIL, so a few threads overlap file I/O and decoding on large grids.
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(paths)))) as pool:
        outcomes = list(pool.map(_read_or_reason, paths))
    frames = [outcome for outcome in outcomes if isinstance(outcome, pl.DataFrame)]
    for outcome in outcomes:
        if isinstance(outcome, str):
            if not skip_unreadable:
                raise InvalidInputError(outcome)
            warnings.warn(
                f"Skipped an unreadable cell file: {outcome} Delete it and rerun 'alsim run' to recompute the cell.",
                ResultsWarning,
                stacklevel=2,
            )
    if not frames:
        frame = pl.DataFrame(schema={**CELL_SCHEMA, **RECORD_SCHEMA})
    else:
        frame = pl.concat(frames, how="diagonal_relaxed")
    return as_results(frame, "load_results")
