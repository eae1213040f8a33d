"""Read the runs to score: a grid output directory, one run's records file, or a directory of them."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import polars as pl

from alsim.exceptions import InvalidInputError, ResultsWarning
from alsim.results import CELL_SCHEMA

__all__ = ["load_runs"]


def load_runs(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Load simulated runs as one long frame that :func:`alsim.stopping.score_rules` splits into runs.

    Parameters
    ----------
    path : path-like
        A grid output directory written by ``alsim run`` (read with :func:`alsim.results.load_results`), one
        run's parquet file (``SimulationResult.save`` or a plain records table), or a directory of such files.

    Returns
    -------
    polars.DataFrame
        Record rows with the cell columns that identify each run (``cell_id`` is the file name for single
        files; ``dataset``, ``strategy``, ``learner``, ``batch_size``, ``seed`` and ``reference_accuracy`` come
        from the result's metadata when the file has it).

    Examples
    --------
    >>> from alsim.stopping import load_runs
    >>> runs = load_runs("runs/quickstart")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(
            f"No results at {str(path)!r}: give a grid output directory, a run's parquet file "
            "or a directory of run parquet files."
        )
    if path.is_dir() and (path / "cells").is_dir():
        from alsim.results import load_results

        frame = load_results(path)
        if frame.height == 0:
            raise InvalidInputError(f"The grid output directory {str(path)!r} has no finished cell yet.")
        return frame
    if path.is_dir():
        files = sorted(path.glob("*.parquet"))
        if not files:
            raise InvalidInputError(f"The directory {str(path)!r} holds no .parquet run files and no cells/ directory.")
        frames = []
        for file in files:
            try:
                frames.append(_read_run(file))
            except InvalidInputError as exc:
                # One bad file among many must not hide the others; it is named so it can be removed.
                warnings.warn(f"Skipped a run file: {exc}", ResultsWarning, stacklevel=2)
        if not frames:
            raise InvalidInputError(f"None of the {len(files)} .parquet files in {str(path)!r} is a readable run file.")
        return pl.concat(frames, how="diagonal_relaxed")
    return _read_run(path)


def _read_run(path: Path) -> pl.DataFrame:
    from alsim.records import load_result

    try:
        result = load_result(path)
    except InvalidInputError:
        # Not a SimulationResult file: accept a plain records table (e.g. exported or hand-made).
        return _read_plain(path)
    metadata, config = result.metadata, result.config
    cell: dict[str, Any] = metadata.get("cell") if isinstance(metadata.get("cell"), dict) else {}  # type: ignore[assignment]
    dataset = metadata.get("dataset")
    if isinstance(dataset, dict):
        dataset = dataset.get("name")
    columns = {
        "cell_id": str(metadata.get("cell_id", path.stem)),
        "dataset": str(dataset if dataset else cell.get("dataset", config.get("dataset", path.stem))),
        "strategy": _as_str(cell.get("strategy", config.get("strategy"))),
        "learner": _as_str(cell.get("learner", config.get("learner"))),
        "batch_size": cell.get("batch_size", config.get("batch_size")),
        "seed": cell.get("seed", metadata.get("seed")),
        "reference_accuracy": metadata.get("reference_accuracy"),
    }
    return result.records.select(
        [pl.lit(value, dtype=CELL_SCHEMA[name]).alias(name) for name, value in columns.items()] + [pl.all()]
    )


def _as_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _read_plain(path: Path) -> pl.DataFrame:
    try:
        records = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInputError(f"{str(path)!r} is not a readable parquet file of run records ({reason}).") from None
    if "round" not in records.columns:
        raise InvalidInputError(f"{str(path)!r} has no 'round' column: it is not a table of per-round records.")
    if "cell_id" not in records.columns:
        records = records.with_columns(cell_id=pl.lit(path.stem))
    return records
