"""Fabricated long results frames for the metrics, statistics and report tests.

They have the columns of ``alsim.experiments.load_results`` that the metrics read, with values chosen by
the test (hand-written curves) or drawn from a seeded saturating-curve model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from alsim.records import RECORD_SCHEMA, SimulationResult


def frame_from_curves(
    curves: Mapping[tuple[str, str, int], Sequence[float]],
    *,
    labels: Sequence[int] | Mapping[tuple[str, str, int], Sequence[int]] = (10, 20, 30, 40),
    costs: Mapping[tuple[str, str, int], Sequence[float]] | None = None,
    reference: float | Mapping[str, float] = 0.9,
    learner: str = "logreg",
    batch_size: int = 10,
) -> pl.DataFrame:
    """A long frame from hand-written accuracy curves keyed by ``(dataset, strategy, seed)``.

    ``labels`` is one label grid for all runs or one per run; the cost defaults to one unit per label.
    """
    rows = []
    for (dataset, strategy, seed), accuracy in curves.items():
        grid = labels[(dataset, strategy, seed)] if isinstance(labels, Mapping) else labels
        cost = costs[(dataset, strategy, seed)] if costs is not None else [float(n) for n in grid]
        ref = reference[dataset] if isinstance(reference, Mapping) else reference
        for round_, (n, c, acc) in enumerate(zip(grid, cost, accuracy, strict=True)):
            rows.append(
                {
                    "cell_id": f"{dataset}-{strategy}-{learner}-{batch_size}-{seed}",
                    "dataset": dataset,
                    "strategy": strategy,
                    "learner": learner,
                    "batch_size": batch_size,
                    "seed": seed,
                    "reference_accuracy": float(ref),
                    "round": round_,
                    "n_labeled": int(n),
                    "cost": float(c),
                    "accuracy": float(acc),
                    "macro_f1": float(acc) - 0.05,
                    "balanced_accuracy": float(acc) - 0.02,
                }
            )
    return pl.DataFrame(rows)


def synthetic_results(
    *,
    datasets: Sequence[str] = ("iris", "wine", "vote", "sonar"),
    speeds: Mapping[str, float] | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    n_rounds: int = 12,
    batch_size: int = 10,
    initial_size: int = 10,
    noise: float = 0.01,
    random_state: int = 0,
) -> pl.DataFrame:
    """Saturating learning curves ``ref - (ref - 0.4) * exp(-speed * n / 60)`` plus seeded noise.

    A larger ``speed`` learns faster; costs per label vary per run (uniform in [0.5, 1.5]) so that cost
    grids differ between seeds.
    """
    speeds = dict(speeds or {"random": 1.0, "margin": 1.6, "entropy": 1.5, "coreset": 1.2})
    rng = np.random.default_rng(random_state)
    rows = []
    for d_index, dataset in enumerate(datasets):
        reference = 0.8 + 0.05 * (d_index % 4)
        for strategy, speed in speeds.items():
            for seed in seeds:
                n_labeled = initial_size + batch_size * np.arange(n_rounds)
                per_label = rng.uniform(0.5, 1.5, size=n_labeled[-1])
                cost = np.cumsum(per_label)[n_labeled - 1]
                accuracy = reference - (reference - 0.4) * np.exp(-speed * n_labeled / 60.0)
                accuracy = np.clip(accuracy + rng.normal(0.0, noise, size=n_rounds), 0.0, 1.0)
                rows.extend(
                    {
                        "cell_id": f"{dataset}-{strategy}-{seed}",
                        "dataset": dataset,
                        "strategy": strategy,
                        "learner": "logreg",
                        "batch_size": batch_size,
                        "seed": seed,
                        "reference_accuracy": reference,
                        "round": round_,
                        "n_labeled": int(n_labeled[round_]),
                        "cost": float(cost[round_]),
                        "accuracy": float(accuracy[round_]),
                        "macro_f1": float(accuracy[round_]) - 0.03,
                        "balanced_accuracy": float(accuracy[round_]) - 0.01,
                    }
                    for round_ in range(n_rounds)
                )
    return pl.DataFrame(rows)


def write_cells(directory: Path, frame: pl.DataFrame) -> list[Path]:
    """Store each run of ``frame`` as a cell file the way the grid runner does."""
    cells = directory / "cells"
    cells.mkdir(parents=True, exist_ok=True)
    paths = []
    for (cell_name,), run in frame.group_by(["cell_id"], maintain_order=True):
        first = run.row(0, named=True)
        records = pl.DataFrame(
            {
                name: run.get_column(name) if name in run.columns else pl.Series(name, [None] * run.height)
                for name in RECORD_SCHEMA
            }
        ).cast(RECORD_SCHEMA)
        cell_id = hashlib.sha256(str(cell_name).encode()).hexdigest()[:16]
        cell = {k: first[k] for k in ("strategy", "learner", "batch_size", "seed")}
        cell["dataset"] = f"file:{first['dataset']}.csv"
        path = cells / f"{cell_id}.parquet"
        SimulationResult(
            records=records,
            config={"strategy": first["strategy"]},
            metadata={
                "cell": cell,
                "cell_id": cell_id,
                "dataset": first["dataset"],
                "reference_accuracy": first["reference_accuracy"],
                "seed": first["seed"],
            },
        ).save(path)
        paths.append(path)
    return paths
