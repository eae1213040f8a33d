"""How far off is the progress bar's ETA after 10% of a study? A replay of measured per-cell CPU times.

``python experiments/eta_replay.py experiments/cc18.toml cells.csv [--workers 2] [--at 0.1]`` reads the CPU
seconds of each cell (the ``--cells-out`` CSV of ``experiments/study_cpu_profile.py``), fits a
:class:`alsim.experiments.schedule.CostModel` to them, and replays the study as ``alsim run --jobs N`` would
run it: cells in ``schedule_cells`` order, each taken by the first free worker and lasting its measured
time. The bar counts estimated cost; at the first finished cell that brings it past ``--at`` of the total,
its ETA (elapsed x total / done, tqdm's estimate with ``smoothing=0``) is compared with the replay's end.
This is done for the shipped ``DEFAULT_COST_MODEL``, for the fitted model, and for counting cells.

The replay leaves out what a real run adds (start-up, cells in flight, load), so it measures the cost
model, not the machine; it runs the cells of the config whose ids are in the CSV (a declared subset).
"""

from __future__ import annotations

import argparse
import heapq

import polars as pl

from alsim.experiments import load_config
from alsim.experiments.grid import Cell, expand_cells
from alsim.experiments.schedule import DEFAULT_COST_MODEL, CostModel, estimate_cell_cost, fit_cost_model, schedule_cells


def replay(cells: list[Cell], seconds: dict[str, float], weight: dict[str, float], workers: int, at: float):
    """Return (predicted total, real total) seconds at the first finish past ``at`` of the weight."""
    free = [(0.0, worker) for worker in range(workers)]
    heapq.heapify(free)
    finishes = []
    for cell in cells:
        start, worker = heapq.heappop(free)
        end = start + seconds[cell.cell_id]
        finishes.append((end, cell.cell_id))
        heapq.heappush(free, (end, worker))
    finishes.sort()
    total_weight = sum(weight[cell.cell_id] for cell in cells)
    done = 0.0
    predicted = None
    for end, cell_id in finishes:
        done += weight[cell_id]
        if predicted is None and done >= at * total_weight:
            predicted = end * total_weight / done
    return predicted, finishes[-1][0]


def main() -> None:
    """Fit the cost model to the CSV and print the ETA error of each weighting at the chosen point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("cells_csv")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--at", type=float, default=0.1, help="share of the estimated cost done")
    parser.add_argument(
        "--replicate-seeds",
        action="store_true",
        help="every cell of the config, timed as the mean of the measured cells of its dataset and strategy",
    )
    args = parser.parse_args()

    measured = pl.read_csv(args.cells_csv)
    seconds = dict(zip(measured["cell_id"], measured["cpu_seconds"], strict=True))
    cells = [cell for cell in expand_cells(load_config(args.config)) if cell.cell_id in seconds]
    fitted = fit_cost_model(cells, [seconds[cell.cell_id] for cell in cells])
    if args.replicate_seeds:
        means = measured.group_by("dataset", "strategy").agg(pl.col("cpu_seconds").mean())
        by_pair = {(row["dataset"], row["strategy"]): row["cpu_seconds"] for row in means.iter_rows(named=True)}
        cells = [c for c in expand_cells(load_config(args.config)) if (c.dataset, c.strategy) in by_pair]
        seconds = {cell.cell_id: by_pair[cell.dataset, cell.strategy] for cell in cells}
    print(f"{len(cells)} cells, {sum(seconds.values()):.1f} CPU-s measured")
    print(
        f"fitted: cell={fitted.cell:.4g}, round={fitted.round:.4g}, pool_value={fitted.pool_value:.4g}, "
        f"committee_member={fitted.committee_member:.3g}"
    )
    print("fitted factors: " + ", ".join(f"{name}={value:.2f}" for name, value in sorted(fitted.factors.items())))
    models: dict[str, CostModel | None] = {"shipped DEFAULT_COST_MODEL": DEFAULT_COST_MODEL, "fitted": fitted}
    for label, model in [*models.items(), ("counting cells", None)]:
        if model is None:
            weight = {cell.cell_id: 1.0 for cell in cells}
            order = schedule_cells(cells)
        else:
            weight = {cell.cell_id: estimate_cell_cost(cell, model) for cell in cells}
            order = schedule_cells(cells, model)
        predicted, real = replay(order, seconds, weight, args.workers, args.at)
        by_dataset = (
            pl.DataFrame(
                {
                    "dataset": [c.dataset for c in cells],
                    "w": [weight[c.cell_id] for c in cells],
                    "s": [seconds[c.cell_id] for c in cells],
                }
            )
            .group_by("dataset")
            .agg(pl.col("w").sum(), pl.col("s").sum())
            .with_columns(ratio=(pl.col("w") / pl.col("w").sum()) / (pl.col("s") / pl.col("s").sum()))
        )
        worst = by_dataset.sort((pl.col("ratio").log()).abs(), descending=True).row(0, named=True)
        print(
            f"{label:<28} ETA at {args.at:.0%}: {predicted:7.1f} s for {real:7.1f} s ({predicted / real - 1:+.0%}); "
            f"worst dataset share {worst['dataset']} x{worst['ratio']:.2f}"
        )


if __name__ == "__main__":
    main()
