"""Grid throughput: cells per minute of experiments/quickstart.toml, 1 vs 2 local jobs, 1 vs 2 Dask workers.

A timing run, skipped unless benchmarks are enabled (the project's pytest options disable them)::

    python -m pytest tests/benchmarks/test_grid_speed.py --benchmark-enable -s

Each mode runs the whole grid into a fresh directory (``ALSIM_GRID_BENCH_ROUNDS`` times, default 1; the
grid takes minutes); ``ALSIM_GRID_BENCH_CONFIG`` points it at another experiment TOML. The bars of issue 5:
2 jobs at least 1.7x the cells per minute of 1 job, and Dask within 20% of 2 local jobs. The ratios are printed at
the end and stored in each benchmark's extra_info; they are reported, not asserted (timings on a shared machine
are noisy).
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import pytest

from alsim.experiments import load_config, run_experiment

QUICKSTART = Path(__file__).resolve().parents[2] / "experiments" / "quickstart.toml"
MODES = {"local-1": ("local", 1), "local-2": ("local", 2), "dask-1": ("dask", 1), "dask-2": ("dask", 2)}
_cells_per_minute: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_ratios():
    yield
    rates = _cells_per_minute
    if rates:
        print("\ncells/min: " + ", ".join(f"{mode} {rate:.1f}" for mode, rate in rates.items()))
    if {"local-1", "local-2"} <= set(rates):
        print(f"local-2 / local-1 = {rates['local-2'] / rates['local-1']:.2f} (bar >= 1.7)")
    if {"local-2", "dask-2"} <= set(rates):
        print(f"dask-2 / local-2 = {rates['dask-2'] / rates['local-2']:.2f} (bar >= 0.8)")
    if {"dask-1", "dask-2"} <= set(rates):
        print(f"dask-2 / dask-1 = {rates['dask-2'] / rates['dask-1']:.2f} (bar >= 1.7)")


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
def test_quickstart_cells_per_minute(benchmark, request, tmp_path, mode):
    options = request.config.option
    if options.benchmark_disable and not options.benchmark_enable:
        pytest.skip("timing run of a whole grid: pass --benchmark-enable")
    executor, jobs = MODES[mode]
    config = load_config(os.environ.get("ALSIM_GRID_BENCH_CONFIG", QUICKSTART))
    rounds = int(os.environ.get("ALSIM_GRID_BENCH_ROUNDS", "1"))
    runs = iter(range(rounds))

    def fresh_directory():
        return (tmp_path / f"run{next(runs)}",), {}

    def run_grid(out_dir):
        summary = run_experiment(config, out_dir, jobs=jobs, executor=executor, progress=False)
        assert summary.ok and summary.n_completed == config.n_cells

    benchmark.pedantic(run_grid, setup=fresh_directory, rounds=rounds, iterations=1)
    median_seconds = statistics.median(benchmark.stats.stats.data)
    _cells_per_minute[mode] = config.n_cells / (median_seconds / 60.0)
    benchmark.extra_info.update(
        cells=config.n_cells, median_seconds=median_seconds, cells_per_minute=_cells_per_minute[mode]
    )
