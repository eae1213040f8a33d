"""A study sends each (dataset, seed, learner) group of cells to one worker as a batch, results unchanged."""

from __future__ import annotations

import polars as pl
import pytest

from alsim.experiments import expand_cells, load_results, parse_config, run_experiment, runner
from alsim.experiments.schedule import schedule_cells

GRID = {
    "name": "batches",
    "datasets": ["openml:61", "openml:37"],
    "strategies": ["random", "margin", "entropy", "qbc_kl"],
    "n_seeds": 4,
    "budget": {"labels": 30},
    "initial": {"size": 10},
}


def _tasks(cells):
    return iter([runner._Task(cell, simulate=print) for cell in cells])


def test_batches_are_whole_groups_in_schedule_order_and_capped():
    ordered = schedule_cells(expand_cells(parse_config(GRID)))
    batches = list(runner._batches(_tasks(ordered), max_size=16))
    assert [task.cell for batch in batches for task in batch] == ordered
    assert len(batches) == 8  # two datasets x four seeds
    for batch in batches:
        assert len({(t.cell.dataset, t.cell.seed) for t in batch}) == 1
    capped = list(runner._batches(_tasks(ordered), max_size=3))
    assert [len(batch) for batch in capped] == [3, 1] * 8


def test_batch_size_keeps_several_batches_per_worker():
    assert runner._batch_size(1700, 2) == 16  # the CC18 grid: whole groups of ten
    assert runner._batch_size(32, 2) == 4
    assert runner._batch_size(5, 2) == 1  # a small grid still spreads over the workers
    assert runner._batch_size(0, 4) == 1


@pytest.mark.slow
def test_two_workers_with_batches_store_the_records_of_one_process(tmp_path):
    config = parse_config(GRID)
    frames = {}
    for jobs in (1, 2):
        summary = run_experiment(config, tmp_path / f"jobs{jobs}", jobs=jobs, progress=False)
        assert summary.ok and summary.n_completed == config.n_cells
        frame = load_results(tmp_path / f"jobs{jobs}")
        frames[jobs] = frame.drop([c for c in frame.columns if c.endswith("_seconds")]).sort("cell_id", "round")
    assert frames[1].equals(frames[2])
    assert frames[2].select(pl.col("cell_id").n_unique()).item() == config.n_cells
