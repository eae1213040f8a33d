"""Speed of stopping-rule scoring on a grid-sized long frame (240 runs x 47 rounds, stop set of 400).

The size is that of ``experiments/stopping_study.toml`` (8 datasets x 3 strategies x 10 seeds, 480 labels in
batches of 10). The records are synthetic (seeded learning curves and stop-set predictions), since only the
scoring is timed. Skipped unless benchmarks are enabled::

    python -m pytest tests/benchmarks/test_stopping_benchmarks.py --benchmark-enable
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from alsim.stopping import score_rules, winner_map


@pytest.fixture(scope="module")
def study_sized_results() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    n_rounds, stop_set = 47, 400
    labels = 20 + 10 * np.arange(n_rounds)
    frames = []
    for cell in range(240):
        accuracy = np.clip(0.9 - 0.4 * np.exp(-labels / 150) + rng.normal(0, 0.005, n_rounds), 0, 1)
        uncertainty = 0.4 * np.exp(-labels / 200)
        settled = rng.integers(0, 3, stop_set)
        predictions = [
            np.where(rng.random(stop_set) < 0.3 * np.exp(-t / 10), rng.integers(0, 3, stop_set), settled).tolist()
            for t in range(n_rounds)
        ]
        frames.append(
            pl.DataFrame(
                {
                    "cell_id": f"cell{cell:03d}",
                    "dataset": f"d{cell % 8}",
                    "seed": cell % 10,
                    "round": np.arange(n_rounds),
                    "n_labeled": labels,
                    "cost": labels.astype(float),
                    "n_unlabeled": 2000 - labels,
                    "accuracy": accuracy,
                    "pool_mean_uncertainty": uncertainty,
                    "pool_mean_entropy": 1.5 * uncertainty,
                    "pool_confidence_variance": 0.05 + 0.05 * np.sin(np.arange(n_rounds) / 20),
                    "selected_max_uncertainty": [None, *(1.5 * uncertainty[1:])],
                    "selected_accuracy": [None, *np.clip(accuracy[1:] - 0.2, 0, 1)],
                    "labeled_cv_accuracy": accuracy - 0.02,
                    "reference_accuracy": 0.9,
                    "stop_set_predictions": predictions,
                }
            )
        )
    return pl.concat(frames)


def test_score_every_rule_on_a_study_sized_grid(benchmark, study_sized_results):
    scores = benchmark.pedantic(score_rules, args=(study_sized_results,), rounds=3, iterations=1)
    assert scores.height == 240 * 16


def test_winner_map_on_a_study_sized_grid(benchmark, study_sized_results):
    grid = benchmark.pedantic(winner_map, args=(study_sized_results,), rounds=3, iterations=1)
    assert grid.height == 41 * 51
