"""Per-round records of a simulation, the :class:`SimulationResult` and its parquet file format.

A result file is a parquet file of the records table whose key-value metadata holds two JSON documents:
``alsim.config`` (every parameter of the run) and ``alsim.metadata`` (seed, package versions, reference
accuracy, dataset sizes, ...). :func:`load_result` restores an identical :class:`SimulationResult`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import polars as pl

from alsim._output import check_output_file, parameter, writing_to
from alsim.exceptions import InvalidInputError, InvalidParameterError

__all__ = ["RECORD_SCHEMA", "SimulationResult", "load_result"]

#: Columns of the records table, in order, with their polars dtypes.
RECORD_SCHEMA: dict[str, pl.DataType] = {
    "round": pl.Int64(),
    "n_labeled": pl.Int64(),
    "cost": pl.Float64(),
    "batch_cost": pl.Float64(),
    "accuracy": pl.Float64(),
    "macro_f1": pl.Float64(),
    "balanced_accuracy": pl.Float64(),
    "fit_seconds": pl.Float64(),
    "select_seconds": pl.Float64(),
    "evaluate_seconds": pl.Float64(),
    "selected": pl.List(pl.Int64()),
    "n_unlabeled": pl.Int64(),
    "pool_max_uncertainty": pl.Float64(),
    "pool_mean_uncertainty": pl.Float64(),
    "pool_mean_entropy": pl.Float64(),
    "pool_confidence_variance": pl.Float64(),
    "selected_mean_uncertainty": pl.Float64(),
    "selected_max_uncertainty": pl.Float64(),
    "selected_accuracy": pl.Float64(),
    "stop_set_predictions": pl.List(pl.Int64()),
    "labeled_cv_accuracy": pl.Float64(),
}

#: Columns that measure wall-clock time: the only ones that differ between two runs with the same seed.
TIMING_COLUMNS: tuple[str, ...] = ("fit_seconds", "select_seconds", "evaluate_seconds")

_CONFIG_KEY = b"alsim.config"
_METADATA_KEY = b"alsim.metadata"


class SimulationResult:
    """The outcome of :func:`alsim.simulate`.

    Attributes
    ----------
    records : polars.DataFrame
        One row per round (round 0 = the initial set), columns :data:`RECORD_SCHEMA`.
    config : dict
        Every parameter of the run, JSON-able (enough to run it again).
    metadata : dict
        ``seed``, ``versions``, ``reference_accuracy`` (learner trained on the whole pool with true labels),
        ``n_pool``, ``n_test``, ``n_classes``, ``dataset``, and more; JSON-able.

    A run made outside a study defers the full-pool reference fit behind ``reference_accuracy`` and
    ``reference_macro_f1`` (for large pools, the costliest single fit of the run) until ``metadata`` is first
    read: by you, :meth:`summary`, :meth:`plot`, :meth:`save` or pickling. The values are the same as if they
    had been computed during the run (same learner, seed and data); reading them the first time takes as long
    as that fit.

    Examples
    --------
    >>> import alsim
    >>> result = alsim.simulate("openml:61", label_budget=30, random_state=0)  # doctest: +SKIP
    >>> result.save("iris.parquet")  # doctest: +SKIP
    >>> alsim.load_result("iris.parquet").records.equals(result.records)  # doctest: +SKIP
    True
    """

    def __init__(
        self,
        records: pl.DataFrame,
        config: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        deferred_metadata: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.records = records
        self.config: dict[str, Any] = {} if config is None else config
        self._metadata: dict[str, Any] = {} if metadata is None else metadata
        # Called once, on the first read of ``metadata``; its keys update the metadata in place (so keys
        # already there as placeholders keep their position).
        self._deferred_metadata = deferred_metadata

    @property
    def metadata(self) -> dict[str, Any]:
        """The run's metadata (the deferred entries computed on first read)."""
        deferred = self._deferred_metadata
        if deferred is not None:
            self._metadata.update(deferred())
            self._deferred_metadata = None
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._metadata = value
        self._deferred_metadata = None

    def __repr__(self) -> str:
        """Show the records, config and metadata (reading the metadata computes its deferred entries)."""
        return f"SimulationResult(records={self.records!r}, config={self.config!r}, metadata={self.metadata!r})"

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the records, config and complete metadata (not the pool a deferred entry needs)."""
        return {"records": self.records, "config": self.config, "_metadata": self.metadata}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled result (its metadata complete)."""
        self.records = state["records"]
        self.config = state["config"]
        self._metadata = state["_metadata"]
        self._deferred_metadata = None

    @property
    def final(self) -> dict[str, Any]:
        """The last round's record as a dict."""
        return self.records.row(-1, named=True)

    def summary(self) -> str:
        """Return a short human-readable summary of the run."""
        last = self.final
        reference = self.metadata.get("reference_accuracy")
        reference_text = "n/a" if reference is None else f"{reference:.4f}"
        return (
            f"dataset {self.metadata.get('dataset')}, strategy {self.config.get('strategy')}, "
            f"learner {self.config.get('learner')}, seed {self.metadata.get('seed')}\n"
            f"rounds {last['round']}, labels {last['n_labeled']}, cost {last['cost']:.2f}\n"
            f"final accuracy {last['accuracy']:.4f} (macro-F1 {last['macro_f1']:.4f}), "
            f"reference accuracy (whole pool) {reference_text}"
        )

    def plot(self, path: str | os.PathLike[str] | None = None, *, x: str = "n_labeled") -> Any:
        """Plot the learning curve of the run: test accuracy and macro-F1 against labels (or cost).

        The reference accuracy of the learner trained on the whole pool is drawn as a dashed line.

        Parameters
        ----------
        path : path or None
            Write the figure there (PNG, SVG, PDF by extension); None only returns it.
        x : {"n_labeled", "cost"}, default="n_labeled"

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> result.plot("learning_curve.png")  # doctest: +SKIP
        """
        if x not in ("n_labeled", "cost"):
            raise InvalidParameterError(
                f"The 'x' parameter of plot must be one of ['n_labeled', 'cost']. Got {x!r} instead."
            )
        from alsim.reports.figures import plot_run

        figure = plot_run(self, x)
        if path is not None:
            who = parameter("path", "SimulationResult.plot")
            check_output_file(path, who=who)
            with writing_to(path, who=who):
                figure.savefig(os.fspath(path), dpi=120)
        return figure

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the records as parquet, with ``config`` and ``metadata`` in the file's key-value metadata.

        Examples
        --------
        >>> result.save("run.parquet")  # doctest: +SKIP
        """
        import pyarrow.parquet as pq

        who = parameter("path", "SimulationResult.save")
        check_output_file(path, who=who)
        table = self.records.to_arrow()
        existing = dict(table.schema.metadata or {})
        existing[_CONFIG_KEY] = json.dumps(self.config, sort_keys=True).encode()
        existing[_METADATA_KEY] = json.dumps(self.metadata, sort_keys=True).encode()
        with writing_to(path, who=who):
            pq.write_table(table.replace_schema_metadata(existing), os.fspath(path))


def load_result(path: str | os.PathLike[str]) -> SimulationResult:
    """Read a :class:`SimulationResult` written by :meth:`SimulationResult.save`.

    Raises
    ------
    InvalidInputError
        If ``path`` does not exist, is not a readable parquet file (corrupt, truncated, another format), or
        is a parquet file that :meth:`SimulationResult.save` did not write.

    Examples
    --------
    >>> import alsim
    >>> result = alsim.load_result("run.parquet")  # doctest: +SKIP
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = os.fspath(path)
    if not os.path.exists(path):
        raise InvalidInputError(f"No simulation result at {path!r}.")
    if os.path.isdir(path):
        raise InvalidInputError(f"{path!r} is a directory, not a simulation result file (.parquet).")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        # ArrowInvalid for a file that is not parquet or is truncated, OSError for an unreadable one.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInputError(
            f"{path!r} is not a readable parquet file, so not a simulation result ({reason})."
        ) from None
    metadata = table.schema.metadata or {}
    if _CONFIG_KEY not in metadata or _METADATA_KEY not in metadata:
        raise InvalidInputError(
            f"{path!r} is a parquet file but not an alsim simulation result (no alsim.config/alsim.metadata)."
        )
    try:
        config = json.loads(metadata[_CONFIG_KEY])
        run_metadata = json.loads(metadata[_METADATA_KEY])
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInputError(f"{path!r} has damaged alsim metadata (not JSON): it is not a usable result.") from None
    records = pl.from_arrow(table.replace_schema_metadata(None))
    if not isinstance(records, pl.DataFrame):
        raise InvalidInputError(f"{path!r} does not hold a table.")
    if not isinstance(config, dict) or not isinstance(run_metadata, dict) or "round" not in records.columns:
        raise InvalidInputError(f"{path!r} has alsim metadata but not the records of a simulation (no 'round').")
    try:
        records = records.cast(pl.Schema({k: v for k, v in RECORD_SCHEMA.items() if k in records.columns}))
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        reason = str(exc).splitlines()[0]
        raise InvalidInputError(f"{path!r} has record columns of the wrong type ({reason}).") from None
    return SimulationResult(records=records, config=config, metadata=run_metadata)
