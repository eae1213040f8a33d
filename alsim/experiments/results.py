"""Read a grid's finished cells back as one long polars frame."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from alsim.exceptions import InvalidInputError
from alsim.experiments.store import CellStore

__all__ = ["CELL_COLUMNS", "load_results"]

_CELL_SCHEMA: dict[str, pl.DataType] = {
    "cell_id": pl.String(),
    "dataset": pl.String(),
    "dataset_spec": pl.String(),
    "strategy": pl.String(),
    "learner": pl.String(),
    "batch_size": pl.Int64(),
    "seed": pl.Int64(),
    "reference_accuracy": pl.Float64(),
}

#: Columns ``load_results`` adds in front of every record row, in this order.
CELL_COLUMNS: tuple[str, ...] = tuple(_CELL_SCHEMA)


def _dataset_name(metadata: dict[str, Any], spec: str) -> str:
    dataset = metadata.get("dataset")
    if isinstance(dataset, dict):
        dataset = dataset.get("name")
    return str(dataset) if dataset else spec


def _cell_frame(path: Path) -> pl.DataFrame:
    from alsim.records import load_result

    result = load_result(path)
    metadata = result.metadata
    cell = metadata.get("cell")
    if not isinstance(cell, dict):
        raise InvalidInputError(
            f"The cell file {str(path)!r} has no cell parameters in its metadata: it was not written by "
            "run_experiment. Remove it or use a fresh output directory."
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
    cell_columns = [pl.lit(values[name], dtype=dtype).alias(name) for name, dtype in _CELL_SCHEMA.items()]
    return result.records.select([*cell_columns, pl.all()])


def load_results(out_dir: str | os.PathLike[str]) -> pl.DataFrame:
    """All record rows of all finished cells of a grid run, in long format.

    Parameters
    ----------
    out_dir : path
        A directory written by :func:`run_experiment` / ``alsim run``.

    Returns
    -------
    polars.DataFrame
        The cell columns :data:`CELL_COLUMNS` (``cell_id, dataset, dataset_spec, strategy, learner,
        batch_size, seed, reference_accuracy``) followed by every column of the cells' records (``round``,
        ``n_labeled``, ``cost``, ``accuracy``, ...). ``dataset`` is the dataset's name (e.g. ``"iris"``),
        ``dataset_spec`` what the config named (``"openml:61"`` or a file path). Rows are sorted by
        ``cell_id`` then ``round``, so the frame is the same however the run was executed. Failed or
        unfinished cells contribute no rows.

    Raises
    ------
    InvalidInputError
        If ``out_dir`` is not a grid output directory.

    Examples
    --------
    >>> from alsim.experiments import load_results
    >>> frame = load_results("runs/quickstart")  # doctest: +SKIP
    >>> frame.group_by("strategy").agg(pl.col("accuracy").last())  # doctest: +SKIP
    """
    store = CellStore(out_dir)
    if not store.cells_dir.is_dir():
        raise InvalidInputError(
            f"The 'out_dir' parameter of load_results must be a directory written by 'alsim run' (with a "
            f"cells/ sub-directory). Got {str(out_dir)!r} instead."
        )
    paths = store.result_files()
    if not paths:
        from alsim.records import RECORD_SCHEMA

        return pl.DataFrame(schema={**_CELL_SCHEMA, **RECORD_SCHEMA})
    # Parquet reads release the GIL, so a few threads overlap file I/O and decoding on large grids.
    with ThreadPoolExecutor(max_workers=min(8, len(paths))) as pool:
        frames = list(pool.map(_cell_frame, paths))
    return pl.concat(frames, how="diagonal_relaxed").sort(["cell_id", "round"])
