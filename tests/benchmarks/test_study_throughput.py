"""Study throughput: cells per second of a small fixed grid, with and without the work shared across cells.

"old" runs the grid the way alsim did before cells shared work: every cell splits its dataset, fits the
full-pool reference (and the oracle's difficulty model) again, in grid order. "new" is ``run_experiment``
as shipped (shared split/reference/difficulty per (dataset, seed, learner), costliest group first). Both run
in this process (``jobs=1``) so the comparison is not blurred by process start-up. "unbatched-2" and
"batched-2" run the grid in 2 worker processes, sending cells one at a time (each worker computes the
shared work of every group it meets) or a group of cells per batch (once per group), as shipped. All four
must store identical records (timing columns aside). A timing run, skipped unless benchmarks are enabled::

    python -m pytest tests/benchmarks/test_study_throughput.py --benchmark-enable -s

Cells per second and the new/old ratio are printed and kept in each benchmark's extra_info (reported, not
asserted: the machine is shared).
"""

from __future__ import annotations

import contextlib
import resource
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
MODES = {"old": 1, "new": 1, "unbatched-2": 2, "batched-2": 2}
_cells_per_second: dict[str, float] = {}
_cpu: dict[str, float] = {}
_records: dict[str, pl.DataFrame] = {}


def _cpu_seconds() -> float:
    """User+sys seconds of this process and of its finished children (the pool's workers, once shut down)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    rates = _cells_per_second
    if rates:
        print("\ncells/s: " + ", ".join(f"{mode} {rate:.2f}" for mode, rate in rates.items()))
    if {"old", "new"} <= set(rates):
        print(f"new/old = {rates['new'] / rates['old']:.2f}")
    if {"unbatched-2", "batched-2"} <= set(rates):
        print(f"batched-2/unbatched-2 = {rates['batched-2'] / rates['unbatched-2']:.2f}")
    if _cpu:
        print("CPU s (user+sys, workers included): " + ", ".join(f"{m} {v:.1f}" for m, v in _cpu.items()))
    frames = list(_records.values())
    assert all(frame.equals(frames[0]) for frame in frames[1:])


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
def test_small_grid_cells_per_second(benchmark, request, tmp_path, monkeypatch, mode):
    options = request.config.option
    if options.benchmark_disable and not options.benchmark_enable:
        pytest.skip("timing run of a whole grid: pass --benchmark-enable")
    if mode == "old":
        monkeypatch.setattr(runner_module, "sharing", contextlib.nullcontext)
        monkeypatch.setattr(runner_module, "schedule_cells", list)
    if mode == "unbatched-2":
        monkeypatch.setattr(runner_module, "_batch_size", lambda n_pending, slots: 1)
    runs = iter(range(100))

    def fresh_directory():
        return (tmp_path / f"run{next(runs)}",), {}

    def run_grid(out_dir):
        before = _cpu_seconds()
        summary = run_experiment(GRID, out_dir, jobs=MODES[mode], progress=False)
        assert summary.ok
        _cpu[mode] = _cpu_seconds() - before

    benchmark.pedantic(run_grid, setup=fresh_directory, rounds=1, iterations=1)
    seconds = statistics.median(benchmark.stats.stats.data)
    _cells_per_second[mode] = GRID.n_cells / seconds
    frame = load_results(tmp_path / "run0")
    _records[mode] = frame.drop([c for c in frame.columns if c.endswith("_seconds")]).sort("cell_id", "round")
    benchmark.extra_info.update(
        cells=GRID.n_cells, seconds=seconds, cells_per_second=_cells_per_second[mode], cpu_seconds=_cpu[mode]
    )
