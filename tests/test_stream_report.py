"""The drift recovery report runs end to end and writes its files."""

from __future__ import annotations

import polars as pl
from stream_splits import flipped_concept_split

from alsim.stream.report import drift_recovery_report


def test_report_writes_markdown_plot_and_numbers(tmp_path):
    runs = drift_recovery_report(
        tmp_path,
        dataset=flipped_concept_split(n_per_region=600),
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
