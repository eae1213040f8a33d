"""Cells whose records must not change when the labeling loop is refactored, and a stable fingerprint.

``python -m tests.golden_runs`` (from the repository root) rewrites ``tests/data/golden_runs.json`` from the
current code; ``tests/test_session_golden.py`` re-runs every cell and compares. Regenerate only when a change
of the records is intended, and say so in the commit.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import polars as pl

from alsim.records import TIMING_COLUMNS, SimulationResult

GOLDEN_PATH = Path(__file__).parent / "data" / "golden_runs.json"

#: (cell id, mode, keyword arguments). Pool cells follow experiments/quickstart.toml (batch 10, 20 random
#: initial labels, logistic regression) with fewer labels; the others vary initial method, oracle options
#: (noise, per-class and difficulty costs, several annotators), budgets and the stream engine's options.
CELLS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "pool-15-margin",
        "pool",
        {
            "dataset": "openml:15",
            "strategy": "margin",
            "batch_size": 10,
            "initial_size": 20,
            "label_budget": 120,
            "random_state": 0,
        },
    ),
    (
        "pool-37-qbc",
        "pool",
        {
            "dataset": "openml:37",
            "strategy": "qbc_vote_entropy",
            "batch_size": 10,
            "initial_size": 20,
            "label_budget": 80,
            "random_state": 1,
        },
    ),
    (
        "pool-54-coreset-kmeanspp",
        "pool",
        {
            "dataset": "openml:54",
            "strategy": "coreset",
            "batch_size": 10,
            "initial": "kmeans_pp",
            "initial_size": 20,
            "label_budget": 90,
            "random_state": 2,
        },
    ),
    (
        "pool-15-entropy-noisy-cost",
        "pool",
        {
            "dataset": "openml:15",
            "strategy": "entropy",
            "batch_size": 7,
            "initial_size": 12,
            "oracle": {"noise_rate": 0.2, "cost": {"benign": 1.0, "malignant": 3.0}, "n_annotators": 2},
            "cost_budget": 150.0,
            "record_cv": True,
            "random_state": 3,
        },
    ),
    (
        "pool-37-random-difficulty",
        "pool",
        {
            "dataset": "openml:37",
            "strategy": "cost_margin",
            "batch_size": 15,
            "initial": "per_class",
            "initial_size": 10,
            "oracle": {"cost": "difficulty", "noise_rate": 0.1},
            "label_budget": 70,
            "stop_set_size": 50,
            "random_state": 4,
        },
    ),
    ("stream-15-vu", "stream", {"dataset": "openml:15", "random_state": 0, "block_size": 50}),
    (
        "stream-37-buffer-refit-adwin",
        "stream",
        {
            "dataset": "openml:37",
            "strategy": "buffer_margin",
            "learner": "logreg",
            "update": 20,
            "order": "abrupt_class",
            "drift_detector": "adwin",
            "budget_fraction": 0.2,
            "block_size": 60,
            "random_state": 5,
        },
    ),
    (
        "stream-54-split-noisy",
        "stream",
        {
            "dataset": "openml:54",
            "strategy": "split",
            "oracle": {"noise_rate": 0.1, "cost": "difficulty"},
            "order": "gradual_feature",
            "block_size": 80,
            "random_state": 6,
        },
    ),
]


def _canonical(value: Any) -> Any:
    """JSON-ready value in which every float is written exactly (hex), so the hash sees every bit."""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else value.hex()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def fingerprint(result: SimulationResult) -> dict[str, Any]:
    """Hashes of the records (timing columns aside), the config and the metadata (timings, versions, machine aside)."""
    records = result.records.drop(TIMING_COLUMNS)
    columns = {name: _canonical(records[name].to_list()) for name in records.columns}
    metadata = {k: v for k, v in result.metadata.items() if k not in ("total_seconds", "versions", "environment")}

    def digest(obj: Any) -> str:
        return hashlib.sha256(json.dumps(_canonical(obj), sort_keys=True).encode()).hexdigest()

    return {
        "records": digest(columns),
        "config": digest(result.config),
        "metadata": digest(metadata),
        "rounds": records.height,
        "final": _canonical(records.select(pl.col("n_labeled", "cost", "accuracy")).row(-1)),
    }


def run_cell(mode: str, kwargs: dict[str, Any]) -> SimulationResult:
    if mode == "pool":
        from alsim import simulate

        return simulate(**kwargs)
    from alsim.stream import simulate_stream

    return simulate_stream(**kwargs)


def main() -> None:
    golden = {cell: fingerprint(run_cell(mode, kwargs)) for cell, mode, kwargs in CELLS}
    GOLDEN_PATH.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN_PATH} ({len(golden)} cells)")


if __name__ == "__main__":
    main()
