"""Stream cells in experiment grids (mode = "stream") and the report's examples-seen axis."""

from __future__ import annotations

import tomllib

import pytest

from alsim.exceptions import ConfigError
from alsim.experiments import dump_config, expand_cells, load_results, parse_config, run_experiment
from alsim.metrics import learning_curves
from alsim.reports import write_report

STREAM_GRID = {
    "name": "stream-grid",
    "datasets": ["openml:61"],
    "mode": "stream",
    "strategies": ["random", "variable_uncertainty"],
    "learners": ["gaussian_nb"],
    "n_seeds": 2,
    "stream": {"order": "abrupt_class", "budget_fraction": 0.2, "block_size": 25, "drift_detector": "adwin"},
}


def test_stream_grid_runs_and_reports(tmp_path):
    config = parse_config(STREAM_GRID)
    cells = expand_cells(config)
    assert config.n_cells == len(cells) == 4
    assert all(cell.batch_size == 1 and cell.simulate_kwargs()["order"] == "abrupt_class" for cell in cells)
    summary = run_experiment(config, tmp_path / "run", jobs=1, progress=False)
    assert summary.ok
    results = load_results(tmp_path / "run")
    assert {"examples_seen", "prequential_accuracy", "drift_detected"} <= set(results.columns)
    curves = learning_curves(results, x="examples_seen")
    assert set(curves["strategy"].unique()) == {"random", "variable_uncertainty"}
    report = write_report(results, tmp_path / "report")
    assert (tmp_path / "report" / "tables" / "learning_curves_examples.csv").exists()
    assert "examples seen" in report.read_text()


def test_stream_config_round_trips_and_keeps_pool_cell_ids():
    config = parse_config(STREAM_GRID)
    assert parse_config(tomllib.loads(dump_config(config))) == config
    pool = parse_config({"name": "p", "datasets": ["openml:61"], "strategies": ["random"], "n_seeds": 1})
    assert "mode" not in expand_cells(pool)[0].to_dict()  # pool cell ids do not change with stream support


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"strategies": ["margin"]}, "stream strategy name"),
        ({"batch_sizes": [5]}, "'batch_sizes' apply to mode = 'pool' only"),
        ({"stream": {"order": "sideways"}}, "stream.order"),
        ({"mode": "pool", "strategies": ["random"]}, "the \\[stream\\] table needs mode = 'stream'"),
        ({"learners": ["logreg"]}, "learners 'logreg' have no partial_fit"),
    ],
)
def test_stream_config_errors(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({**STREAM_GRID, **change})
