"""Grid cells: one simulation each, identified by a hash of everything that determines its result."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass
from typing import Any

from alsim.experiments.config import ExperimentConfig
from alsim.results import CELL_ID_LENGTH  # the cell files' names are the reader's contract

__all__ = ["CELL_ID_LENGTH", "Cell", "expand_cells"]

# Bump only if the meaning of a cell's parameters changes; the package version is deliberately not part of
# the id so that upgrading alsim does not orphan finished results.
_CELL_SCHEMA = "alsim-cell/1"


@dataclass(frozen=True)
class Cell:
    """One simulation of a grid: the exact ``alsim.simulate`` parameters plus the dataset to load.

    ``cell_id`` is a stable hash of these fields only: the experiment's name, description, the order of
    the grid axes or the other cells never change it, so a cell computed for one config is reused by any
    other config containing the same simulation.
    """

    dataset: str
    dataset_label: str | None
    strategy: str
    strategy_params: dict[str, Any]
    learner: str
    batch_size: int
    seed: int
    initial: str
    initial_size: int | None
    label_budget: int | None
    cost_budget: float | None
    oracle: dict[str, Any]
    test_size: float
    record_cv: bool
    committee_size: int
    stop_set_size: int | None
    mode: str = "pool"
    stream: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the cell's parameters as a JSON-able dict (what its id hashes).

        Pool cells leave out ``mode`` and ``stream``, so their ids are the same as before stream cells existed.
        """
        data = asdict(self)
        if self.mode == "pool":
            del data["mode"], data["stream"]
        return data

    @property
    def cell_id(self) -> str:
        """Stable hex id: sha256 of the canonical JSON of :meth:`to_dict`, truncated."""
        canonical = json.dumps(
            {"schema": _CELL_SCHEMA, **self.to_dict()}, sort_keys=True, separators=(",", ":"), allow_nan=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:CELL_ID_LENGTH]

    def simulate_kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments of ``alsim.simulate`` for the cell, all but the dataset.

        For a stream cell they are those of ``alsim.stream.simulate_stream``. None means the engine's default.
        """
        kwargs: dict[str, Any] = {
            "strategy": self.strategy,
            "strategy_params": dict(self.strategy_params),
            "learner": self.learner,
            "oracle": dict(self.oracle),
            "test_size": self.test_size,
            "random_state": self.seed,
        }
        if self.mode == "stream":
            kwargs.update(self.stream or {})
        else:
            kwargs.update(
                batch_size=self.batch_size,
                initial=self.initial,
                label_budget=self.label_budget,
                cost_budget=self.cost_budget,
                committee_size=self.committee_size,
                record_cv=self.record_cv,
            )
        if self.initial_size is not None:
            kwargs["initial_size"] = self.initial_size
        if self.stop_set_size is not None:
            kwargs["stop_set_size"] = self.stop_set_size
        return kwargs

    def describe(self) -> str:
        """Short human-readable label, e.g. ``openml:61 margin logreg b=10 seed=3``."""
        return f"{self.dataset} {self.strategy} {self.learner} b={self.batch_size} seed={self.seed}"


def expand_cells(config: ExperimentConfig) -> list[Cell]:
    """All cells of an experiment, in grid order (datasets, strategies, learners, batch sizes, seeds).

    Parameters
    ----------
    config : ExperimentConfig

    Returns
    -------
    list of Cell

    Examples
    --------
    >>> from alsim.experiments import expand_cells, parse_config
    >>> config = parse_config({"name": "x", "datasets": ["openml:61", "openml:187"],
    ...                        "strategies": ["random", "margin"], "n_seeds": 2})
    >>> cells = expand_cells(config)
    >>> len(cells), cells[0].describe()
    (8, 'openml:61 random logreg b=10 seed=0')
    """
    oracle = config.oracle.model_dump(mode="json", exclude_none=True)
    cells = []
    stream = config.mode == "stream"
    # A stream decides on one arrival at a time: its cells have batch size 1 (the pool axis does not apply).
    batch_sizes = [1] if stream else config.batch_sizes
    for dataset, strategy, learner, batch_size, seed in itertools.product(
        config.datasets, config.strategies, config.learners, batch_sizes, config.seed_values()
    ):
        cells.append(
            Cell(
                dataset=dataset.spec,
                dataset_label=dataset.label,
                strategy=strategy,
                strategy_params=dict(config.strategy_params.get(strategy, {})),
                learner=learner,
                batch_size=batch_size,
                seed=seed,
                initial=config.initial.method,
                initial_size=config.initial.size,
                label_budget=config.budget.labels,
                cost_budget=config.budget.cost,
                oracle=oracle,
                test_size=config.test_size,
                record_cv=config.record_cv,
                committee_size=config.committee_size,
                stop_set_size=config.stop_set_size,
                mode=config.mode,
                stream=config.stream.model_dump(mode="json") if stream else None,
            )
        )
    return cells
