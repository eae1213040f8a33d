"""How far off is the progress bar's ETA after 10% of a study's cells? A replay of measured cell times.

``python experiments/eta_replay.py CONFIG MEASURED [--workers 2] [--at 0.1] [--replicate-seeds]``

``MEASURED`` is either the ``--cells-out`` CSV of ``experiments/study_cpu_profile.py`` (CPU seconds of each
cell) or a run directory of ``alsim run`` (each finished cell's ``total_seconds``, wall time on the machine
it ran on, load included). The study is replayed as ``alsim run --jobs N`` runs it: cells in
``schedule_cells`` order, each taken by the first free worker and lasting its measured time. At the first
finished cell that brings the run past ``--at`` of its cells, each way of estimating the ETA is compared
with the replay's end:

- ``alsim run`` (:class:`alsim.experiments.schedule.RunningCostEstimate`): the cost model's estimates,
  corrected per strategy by the cells finished so far, at the rate since the first cell started;
- the cost model alone (the bar before RunningCostEstimate), with the shipped weights and with weights
  fitted to these very measurements (a model no run can have in advance: the best a static model does);
- counting cells.

The replay leaves out what a real run adds (start-up, cells in flight, load that changes): it measures the
estimate, not the machine. Only the cells of the config whose ids were measured take part (a declared
subset).
"""

from __future__ import annotations

import argparse
import heapq
from pathlib import Path

import polars as pl

from alsim.experiments import load_config
from alsim.experiments.grid import Cell, expand_cells
from alsim.experiments.schedule import (
    RunningCostEstimate,
    estimate_cell_cost,
    fit_cost_model,
    schedule_cells,
)


def measured_seconds(source: str) -> pl.DataFrame:
    """(cell_id, dataset, strategy, seconds) from a profile CSV or from an ``alsim run`` directory."""
    path = Path(source)
    if path.is_dir():
        import alsim

        rows = []
        for cell_file in sorted((path / "cells").glob("*.parquet")):
            metadata = alsim.load_result(cell_file).metadata
            cell = metadata["cell"]
            rows.append((metadata["cell_id"], cell["dataset"], cell["strategy"], float(metadata["total_seconds"])))
        return pl.DataFrame(rows, schema=["cell_id", "dataset", "strategy", "seconds"], orient="row")
    return pl.read_csv(path).rename({"cpu_seconds": "seconds"}).select("cell_id", "dataset", "strategy", "seconds")


def finish_times(order: list[Cell], seconds: dict[str, float], workers: int) -> list[tuple[float, Cell]]:
    """When each cell ends if ``workers`` take the cells in ``order``, each as soon as it is free."""
    free = [(0.0, worker) for worker in range(workers)]
    heapq.heapify(free)
    finishes = []
    for cell in order:
        start, worker = heapq.heappop(free)
        end = start + seconds[cell.cell_id]
        finishes.append((end, cell))
        heapq.heappush(free, (end, worker))
    return sorted(finishes, key=lambda pair: pair[0])


def predicted_end(finishes: list[tuple[float, Cell]], seconds: dict[str, float], at: float, method: str, weight):
    """Return the ETA's predicted end at the first finish past ``at`` of the cells, for one method."""
    cells = [cell for _, cell in finishes]
    online = RunningCostEstimate(cells) if method == "online" else None
    total = sum(weight[cell.cell_id] for cell in cells) if method == "static" else len(cells)
    done = 0.0
    for count, (end, cell) in enumerate(finishes, start=1):
        if online is not None:
            online.finish(cell.cell_id, seconds[cell.cell_id], at=end)
        else:
            done += weight[cell.cell_id] if method == "static" else 1.0
        if count >= at * len(cells):
            if online is not None:
                return end + (online.seconds_left(end) or 0.0)
            return end * total / done
    raise ValueError("no cell finished")


def main() -> None:
    """Replay the study and print the ETA error of each estimating method at the chosen point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("measured", help="a study_cpu_profile.py CSV or an alsim run directory")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--at", type=float, default=0.1, help="share of the cells finished")
    parser.add_argument(
        "--replicate-seeds",
        action="store_true",
        help="every cell of the config, timed as the mean of the measured cells of its dataset and strategy",
    )
    args = parser.parse_args()

    measured = measured_seconds(args.measured)
    seconds = dict(zip(measured["cell_id"], measured["seconds"], strict=True))
    cells = [cell for cell in expand_cells(load_config(args.config)) if cell.cell_id in seconds]
    fitted = fit_cost_model(cells, [seconds[cell.cell_id] for cell in cells])
    if args.replicate_seeds:
        means = measured.group_by("dataset", "strategy").agg(pl.col("seconds").mean())
        by_pair = {(row["dataset"], row["strategy"]): row["seconds"] for row in means.iter_rows(named=True)}
        cells = [c for c in expand_cells(load_config(args.config)) if (c.dataset, c.strategy) in by_pair]
        seconds = {cell.cell_id: by_pair[cell.dataset, cell.strategy] for cell in cells}
    print(f"{len(cells)} cells, {sum(seconds.values()):.1f} s measured, {args.workers} workers")
    order = schedule_cells(cells)
    finishes = finish_times(order, seconds, args.workers)
    real = finishes[-1][0]
    shipped = {cell.cell_id: estimate_cell_cost(cell) for cell in cells}
    refitted = {cell.cell_id: estimate_cell_cost(cell, fitted) for cell in cells}
    methods = [
        ("alsim run (corrected as cells finish)", "online", shipped),
        ("cost model alone, shipped", "static", shipped),
        ("cost model alone, fitted to these", "static", refitted),
        ("counting cells", "count", shipped),
    ]
    for label, method, weight in methods:
        predicted = predicted_end(finishes, seconds, args.at, method, weight)
        error = predicted / real - 1
        print(f"{label:<40} ETA at {args.at:.0%} of the cells: {predicted:8.1f} s for {real:8.1f} s ({error:+.0%})")


if __name__ == "__main__":
    main()
