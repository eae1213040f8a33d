"""CPU seconds per cell of an experiment config, by dataset and strategy: the sizing of a study before running it.

``python experiments/cell_cpu.py CONFIG [--datasets SPEC ...] [--seeds N] [--out FILE.csv]`` simulates the
cells of the first N seeds (default 1) of the listed datasets (default all) one after another in this
process, on one BLAS thread as ``alsim run`` does, and prints each cell's CPU time (``time.process_time``:
unlike wall time it does not grow with the load the other jobs put on the machine) and wall time, then the
grid's total CPU extrapolated to all its seeds on the measured datasets. Used for the sizing comments of
experiments/cc18_strategies_forest*.toml.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time

from threadpoolctl import threadpool_limits

import alsim
from alsim._shared_work import sharing
from alsim.datasets import load_dataset
from alsim.experiments import load_config
from alsim.experiments.grid import expand_cells


def main(argv: list[str] | None = None) -> None:
    """Time every selected cell and print CPU and wall seconds per cell."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="experiment TOML file")
    parser.add_argument("--datasets", nargs="+", help="dataset specs to measure (default: all of the config)")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds to measure (default: 1)")
    parser.add_argument("--out", help="also write the per-cell rows to this CSV file")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    cells = expand_cells(config)
    seeds = sorted({cell.seed for cell in cells})[: args.seeds]
    wanted = set(args.datasets) if args.datasets else {cell.dataset for cell in cells}
    chosen = [cell for cell in cells if cell.seed in seeds and cell.dataset in wanted]
    rows = []
    # As in 'alsim run': one BLAS thread, and the split and full-pool reference fit shared by the cells of
    # a dataset and seed (so the first cell of each pays for them).
    with threadpool_limits(limits=1), sharing():
        for cell in chosen:
            dataset = load_dataset(cell.dataset, label=cell.dataset_label)
            cpu, wall = time.process_time(), time.perf_counter()
            alsim.simulate(dataset, **cell.simulate_kwargs())
            row = {
                "dataset": cell.dataset,
                "strategy": cell.strategy,
                "learner": cell.learner,
                "batch_size": cell.batch_size,
                "seed": cell.seed,
                "cpu_seconds": round(time.process_time() - cpu, 2),
                "wall_seconds": round(time.perf_counter() - wall, 2),
            }
            rows.append(row)
            print(",".join(str(value) for value in row.values()), flush=True)
            if args.out:
                with open(args.out, "w", newline="", encoding="utf-8") as handle:
                    writer = csv.DictWriter(handle, fieldnames=list(row))
                    writer.writeheader()
                    writer.writerows(rows)
    measured = sum(row["cpu_seconds"] for row in rows)
    per_seed = measured / max(1, len(seeds))
    print(
        f"{len(rows)} cells, {measured:.0f} CPU s; all {len(config.seed_values())} seeds of these datasets: "
        f"{per_seed * len(config.seed_values()) / 3600:.2f} CPU h",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
