"""The drift recovery report runs end to end and writes its files."""

from __future__ import annotations

import numpy as np
import polars as pl
from stream_splits import flipped_concept_split

from alsim.cli import main
from alsim.reports import drift_recovery_report
from alsim.stream.report import main as stream_report_main


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


def test_alsim_drift_runs_the_study_from_the_command_line(tmp_path, capsys):
    split = flipped_concept_split(n_per_region=500)
    X = np.vstack([split.X_pool, split.X_test])
    y = np.concatenate([split.y_pool, split.y_test])
    csv = tmp_path / "flip.csv"
    pl.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "label": [f"c{v}" for v in y]}).write_csv(csv)
    out = tmp_path / "drift"
    argv = [
        "--out",
        str(out),
        "--dataset",
        str(csv),
        "--label",
        "label",
        "--strategy",
        "random",
        "--seeds",
        "2",
        "--no-progress",
    ]
    assert main(["drift", *argv]) == 0
    assert f"wrote {out / 'report.md'}" in capsys.readouterr().out
    text = (out / "report.md").read_text()
    assert "| random | prequential_0_500 |" in text and "## Verdict" in text
    assert "![Prequential accuracy and labels bought against examples seen.](drift_recovery.png)" in text
    assert (out / "report.html").stat().st_size > 0 and (out / "drift_recovery.png").stat().st_size > 0
    assert pl.read_csv(out / "runs.csv").height == 4
    # The old entry point says it is deprecated in one line, then runs the same command.
    assert stream_report_main(["--seeds", "0", "--out", str(out)]) == 2
    deprecation, error = capsys.readouterr().err.strip().splitlines()
    assert deprecation.startswith("python -m alsim.stream.report is deprecated: run 'alsim drift'")
    assert error == "alsim drift: error: --seeds must be an int >= 1. Got 0 instead."


def test_the_stream_package_does_not_import_the_reports():
    import subprocess
    import sys

    code = "import sys, alsim.stream; print(sorted(m for m in sys.modules if m.startswith('alsim.reports')))"
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"
