"""The long results frame has one owner (alsim.results): its columns, one validation, reading it from disk."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest
from results_factory import frame_from_curves, synthetic_results, write_cells

from alsim import metrics, stats
from alsim.exceptions import InvalidDtypeError, InvalidInputError, MissingSignalError
from alsim.experiments import CELL_COLUMNS as EXPERIMENT_CELL_COLUMNS
from alsim.experiments import load_results as experiments_load_results
from alsim.results import (
    CELL_COLUMNS,
    REQUIRED_CELL_COLUMNS,
    RUN_COLUMNS,
    Results,
    as_results,
    check_results,
    load_results,
)
from alsim.stopping import RUN_COLUMNS as STOPPING_RUN_COLUMNS


def test_one_definition_of_the_columns_everywhere():
    assert EXPERIMENT_CELL_COLUMNS is CELL_COLUMNS
    assert metrics.CELL_COLUMNS == REQUIRED_CELL_COLUMNS
    assert set(REQUIRED_CELL_COLUMNS) <= set(CELL_COLUMNS)
    assert STOPPING_RUN_COLUMNS is RUN_COLUMNS
    assert experiments_load_results is load_results


def test_load_results_returns_validated_results_sorted_by_cell_and_round(tmp_path):
    frame = synthetic_results(datasets=("iris",), speeds={"random": 1.0, "margin": 2.0}, seeds=(0, 1))
    write_cells(tmp_path, frame.reverse())
    loaded = load_results(tmp_path)
    assert isinstance(loaded, Results) and isinstance(loaded, pl.DataFrame)
    assert loaded.columns[: len(CELL_COLUMNS)] == list(CELL_COLUMNS)
    assert loaded.equals(loaded.sort(["cell_id", "round"]))
    # Already validated: handed on as it is, not checked (nor copied) again.
    assert as_results(loaded, "aulc") is loaded
    assert check_results(loaded, "aulc", signals=("n_labeled", "accuracy")) is loaded


def test_a_plain_frame_is_validated_once_and_gives_the_same_numbers():
    frame = synthetic_results(datasets=("iris", "wine"), speeds={"random": 1.0, "margin": 2.0}, seeds=(0, 1, 2))
    validated = as_results(frame.reverse(), "test")
    assert isinstance(validated, Results)
    assert metrics.aulc(validated).equals(metrics.aulc(frame))
    assert stats.average_ranks(validated).equals(stats.average_ranks(frame))
    # What polars derives from a Results is a plain frame again (it may no longer hold).
    assert type(validated.filter(pl.col("seed") == 0)) is pl.DataFrame


def test_validation_messages():
    frame = frame_from_curves({("iris", "random", 0): [0.5, 0.6, 0.7, 0.8]})
    with pytest.raises(InvalidDtypeError, match=r"The 'results' argument of aulc must be a polars\.DataFrame"):
        as_results(frame.to_dict(), "aulc")
    with pytest.raises(InvalidInputError, match=r"lacks the cell columns \['seed'\]"):
        as_results(frame.drop("seed"), "aulc")
    with pytest.raises(MissingSignalError, match=r"needs the record columns \['round'\]"):
        as_results(frame.drop("round"), "aulc")
    results = as_results(frame, "aulc")
    with pytest.raises(MissingSignalError, match=r"needs the record columns \['selected_accuracy'\]"):
        results.require("aulc", ("selected_accuracy",))
    with pytest.raises(InvalidInputError, match="is empty"):
        as_results(frame.clear(), "aulc").require("aulc")
    with pytest.raises(InvalidInputError, match=r"'accuracy' column .* has 1 null or NaN"):
        check_results(
            frame.with_columns(accuracy=pl.when(pl.col("round") == 1).then(None).otherwise("accuracy")),
            "aulc",
            signals=("accuracy",),
        )
    twice = pl.concat([frame, frame.with_columns(cell_id=pl.lit("other"))])
    clashing = as_results(twice, "aulc")  # loading does not refuse a grid that varies another parameter
    with pytest.raises(InvalidInputError, match="have several cells"):
        clashing.require("aulc")


def test_stopping_reads_a_grid_without_importing_the_grid_runner(tmp_path):
    write_cells(tmp_path, synthetic_results(datasets=("iris",), speeds={"random": 1.0}, seeds=(0,)))
    code = (
        "import sys; from alsim.stopping import load_runs, score_rules; "
        f"score_rules(load_runs({str(tmp_path)!r}), progress=False); print('alsim.experiments' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
