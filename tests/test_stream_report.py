"""The drift recovery report runs end to end and writes its files."""

from __future__ import annotations

import numpy as np
import polars as pl

from alsim.datasets import Split
from alsim.stream.report import drift_recovery_report


def _flipped_concept_split(n_per_region: int = 600) -> Split:
    """Two regions whose class boundaries are opposite: the feature-space drift is a concept change."""
    rng = np.random.default_rng(0)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        region = np.repeat([0, 1], n)
        x0 = np.where(region == 0, -8.0, 8.0) + rng.normal(size=2 * n)
        x1 = 2.0 * rng.normal(size=2 * n)
        return np.column_stack([x0, x1]), ((x1 > 0) ^ (region == 1)).astype(np.int64)

    X_pool, y_pool = draw(n_per_region)
    X_test, y_test = draw(n_per_region // 4)
    return Split(X_pool, y_pool, X_test, y_test, np.array(["a", "b"], dtype=object), ["x0", "x1"], "flip")


def test_report_writes_markdown_plot_and_numbers(tmp_path):
    runs = drift_recovery_report(
        tmp_path,
        dataset=_flipped_concept_split(),
        strategies=("random",),
        budget_fraction=0.2,
        boost_period=100,
        seeds=(0, 1),
        progress=False,
    )
    assert runs.height == 4
    assert sorted(runs["variant"].unique().to_list()) == ["detector", "fixed"]
    assert (runs["drift_position"] == 600).all()
    assert runs.filter(pl.col("variant") == "fixed")["detection_delay"].null_count() == 2
    for name in ("report.md", "drift_recovery.png", "runs.csv", "curves.parquet"):
        assert (tmp_path / name).stat().st_size > 0
    text = (tmp_path / "report.md").read_text()
    assert "| random | prequential_0_500 |" in text and "## Verdict" in text
    assert pl.read_csv(tmp_path / "runs.csv").height == 4
