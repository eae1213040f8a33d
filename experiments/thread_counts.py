"""Does the BLAS/OpenMP thread count change a run? Every cell of a config simulated with 1 and with 2 threads.

``python experiments/thread_counts.py experiments/quickstart.toml [N_SEEDS]`` runs each cell (of the first
N_SEEDS seeds, default all) twice in this process,
once under ``threadpool_limits(1)`` and once under ``threadpool_limits(2)`` (OpenBLAS/OpenMP, as
``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` would set them), and prints how many runs differ, by how much
in per-round accuracy and in AULC (the curve's mean height over the run's labels), and how many runs picked
different examples. ``alsim run`` itself always runs cells on one BLAS thread, so its results do not depend
on these variables; this measures what they change for a direct ``alsim.simulate`` call.
The numbers are quoted in docs/guides/study.md ("Reproducibility").
"""

from __future__ import annotations

import sys

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
from tqdm import tqdm

import alsim
from alsim.datasets import load_dataset
from alsim.experiments import load_config
from alsim.experiments.grid import expand_cells

TIMINGS = ["fit_seconds", "select_seconds", "evaluate_seconds"]


def _aulc(records) -> float:
    x = records["n_labeled"].to_numpy().astype(float)
    y = records["accuracy"].to_numpy()
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def main(config_path: str, n_seeds: int | None) -> None:
    """Simulate every cell with 1 and 2 BLAS threads and print how the runs differ."""
    cells = expand_cells(load_config(config_path))
    if n_seeds is not None:
        seeds = sorted({cell.seed for cell in cells})[:n_seeds]
        cells = [cell for cell in cells if cell.seed in seeds]
    datasets: dict[str, object] = {}
    n_differ = n_selection_differs = 0
    max_accuracy_gap = max_aulc_gap = 0.0
    for cell in tqdm(cells, desc="cells x {1, 2} threads", unit="cell"):
        if cell.dataset not in datasets:
            datasets[cell.dataset] = load_dataset(cell.dataset, label=cell.dataset_label)
        runs = []
        for threads in (1, 2):
            with threadpool_limits(limits=threads):
                records = alsim.simulate(datasets[cell.dataset], **cell.simulate_kwargs()).records
            runs.append(records.drop(TIMINGS))  # wall-clock columns differ between any two runs
        one, two = runs
        if not one.equals(two):
            n_differ += 1
            gap = np.abs(one["accuracy"].to_numpy() - two["accuracy"].to_numpy())
            max_accuracy_gap = max(max_accuracy_gap, float(gap.max()))
            max_aulc_gap = max(max_aulc_gap, abs(_aulc(one) - _aulc(two)))
            n_selection_differs += int(not one["selected"].equals(two["selected"]))
    libraries = threadpool_info()
    blas = ", ".join(
        f"{i['internal_api']} {i['version']} ({i.get('threading_layer', i['user_api'])})" for i in libraries
    )
    print(f"BLAS: {blas}")
    print(f"{n_differ} of {len(cells)} runs differ between 1 and 2 BLAS threads")
    print(f"{n_selection_differs} of them picked different examples")
    print(f"largest per-round accuracy gap {max_accuracy_gap:.4g}, largest AULC gap {max_aulc_gap:.4g}")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "experiments/quickstart.toml",
        int(sys.argv[2]) if len(sys.argv) > 2 else None,
    )
