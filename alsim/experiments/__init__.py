"""Experiment grids: TOML configs, resumable parallel runs (local processes or Dask), long-format results.

>>> from alsim.experiments import load_config, run_experiment, load_results
>>> summary = run_experiment(load_config("experiments/quickstart.toml"), "runs/quickstart")  # doctest: +SKIP
>>> frame = load_results("runs/quickstart")  # doctest: +SKIP
"""

from __future__ import annotations

from alsim.experiments.config import (
    Budget,
    DatasetEntry,
    ExperimentConfig,
    InitialSet,
    OracleOptions,
    check_dataset_sizes,
    dump_config,
    load_config,
    parse_config,
)
from alsim.experiments.grid import Cell, expand_cells
from alsim.experiments.results import CELL_COLUMNS, GridCompleteness, grid_completeness, load_results
from alsim.experiments.runner import CellFailure, RunSummary, run_experiment

__all__ = [
    "CELL_COLUMNS",
    "Budget",
    "Cell",
    "CellFailure",
    "DatasetEntry",
    "ExperimentConfig",
    "GridCompleteness",
    "InitialSet",
    "OracleOptions",
    "RunSummary",
    "check_dataset_sizes",
    "dump_config",
    "expand_cells",
    "grid_completeness",
    "load_config",
    "load_results",
    "parse_config",
    "run_experiment",
]
