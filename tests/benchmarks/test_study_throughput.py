"""Study throughput: cells per second of a small fixed grid, with and without the work shared across cells.

"old" runs the grid the way alsim did before cells shared work: every cell splits its dataset, fits the
full-pool reference (and the oracle's difficulty model) again, in grid order. "new" is ``run_experiment``
as shipped (shared split/reference/difficulty per (dataset, seed, learner), costliest group first). Both run
in this process (``jobs=1``) so the comparison is not blurred by process start-up; the records must be
identical (timing columns aside). A timing run, skipped unless benchmarks are enabled::

    python -m pytest tests/benchmarks/test_study_throughput.py --benchmark-enable -s

Cells per second and the new/old ratio are printed and kept in each benchmark's extra_info (reported, not
asserted: the machine is shared).
"""

from __future__ import annotations

import contextlib
import statistics

import polars as pl
import pytest

from alsim.experiments import load_results, parse_config, run_experiment
from alsim.experiments import runner as runner_module

GRID = parse_config(
    {
        "name": "throughput",
        "datasets": ["openml:37", "openml:54", "openml:3"],  # diabetes, vehicle, kr-vs-kp
        "strategies": ["random", "margin", "entropy", "qbc_vote_entropy", "coreset"],
        "n_seeds": 2,
        "budget": {"labels": 120},
        "initial": {"size": 20},
        "oracle": {"cost": "difficulty"},  # the difficulty model is part of the shared work
    }
)
_cells_per_second: dict[str, float] = {}
_records: dict[str, pl.DataFrame] = {}


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    if {"old", "new"} <= set(_cells_per_second):
        old, new = _cells_per_second["old"], _cells_per_second["new"]
        print(f"\ncells/s: old {old:.2f}, new {new:.2f}, new/old = {new / old:.2f}")
    if {"old", "new"} <= set(_records):
        assert _records["old"].equals(_records["new"])


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["old", "new"])
def test_small_grid_cells_per_second(benchmark, request, tmp_path, monkeypatch, mode):
    options = request.config.option
    if options.benchmark_disable and not options.benchmark_enable:
        pytest.skip("timing run of a whole grid: pass --benchmark-enable")
    if mode == "old":
        monkeypatch.setattr(runner_module, "sharing", contextlib.nullcontext)
        monkeypatch.setattr(runner_module, "schedule_cells", list)
    runs = iter(range(100))

    def fresh_directory():
        return (tmp_path / f"run{next(runs)}",), {}

    def run_grid(out_dir):
        summary = run_experiment(GRID, out_dir, jobs=1, progress=False)
        assert summary.ok

    benchmark.pedantic(run_grid, setup=fresh_directory, rounds=1, iterations=1)
    seconds = statistics.median(benchmark.stats.stats.data)
    _cells_per_second[mode] = GRID.n_cells / seconds
    frame = load_results(tmp_path / "run0")
    _records[mode] = frame.drop([c for c in frame.columns if c.endswith("_seconds")]).sort("cell_id", "round")
    benchmark.extra_info.update(cells=GRID.n_cells, seconds=seconds, cells_per_second=_cells_per_second[mode])
