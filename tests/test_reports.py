"""Report writer, figures and the ``alsim report`` command on fabricated results."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from results_factory import synthetic_results, write_cells

from alsim.cli import main
from alsim.reports import Document, figures, write_report
from alsim.stats import average_ranks, nemenyi_groups

EXPECTED_TABLES = {
    "learning_curves_labels",
    "learning_curves_cost",
    "aulc_per_run",
    "aulc_summary",
    "labels_to_target",
    "savings",
    "deficiency",
    "paired_tests",
    "win_tie_loss",
    "dataset_ranks",
    "average_ranks",
    "friedman",
    "seed_stability",
}


@pytest.fixture(scope="module")
def results() -> pl.DataFrame:
    return synthetic_results(datasets=("iris", "wine", "vote"), seeds=(0, 1, 2), noise=0.03)


def _images(html: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', html)


def test_report_writes_every_file(tmp_path, results):
    path = write_report(results, tmp_path / "report", source="synthetic")
    out = path.parent
    assert path == out / "report.md"
    html = (out / "report.html").read_text()
    markdown = path.read_text()
    assert {p.stem for p in (out / "tables").glob("*.csv")} == EXPECTED_TABLES
    figures_written = {p.name for p in (out / "figures").glob("*.png")}
    assert figures_written == {
        "curves_labels_logreg_10.png",
        "curves_cost_logreg_10.png",
        "ranks_logreg_10.png",
        "critical_difference_logreg_10.png",
        "seed_stability_logreg_10.png",
    }
    # Images are referenced relatively and exist; the HTML carries its own style and no external assets.
    assert sorted(Path(p).name for p in _images(html)) == sorted(figures_written)
    assert all(not p.startswith(("/", "http")) and (out / p).is_file() for p in _images(html))
    assert "<style>" in html and "<script" not in html and "<link" not in html
    for heading in (
        "Learning curves",
        "Area under the learning curve",
        "Savings against random",
        "Labels to target, seed by seed",
        "Deficiency",
        "Win / tie / loss against random",
        "Ranks across datasets",
        "How many seeds",
    ):
        assert f"## {heading}" in markdown
    assert "nan" not in markdown.lower().replace("nemenyi", "")
    assert "None: every section was computed" in markdown
    summary = markdown.split("## Summary")[1].split("## Learning curves")[0]
    assert "Best average rank: `margin`" in summary and "Friedman test: p =" in summary
    aulc = pl.read_csv(out / "tables" / "aulc_summary.csv")
    assert aulc.height == 3 * 4 and aulc.get_column("mean").is_between(0, 1).all()


def test_report_without_baseline_or_enough_seeds_explains_what_is_missing(tmp_path, results):
    frame = results.filter(pl.col("strategy").is_in(["margin", "entropy"]), pl.col("seed") == 0)
    out = write_report(frame, tmp_path / "report").parent
    markdown = (out / "report.md").read_text()
    notes = markdown.split("## Notes and skipped sections")[1].split("## Definitions")[0]
    assert "Savings: not computed" in notes and "baseline strategy 'random'" in notes
    assert "Friedman test and critical-difference diagram: not computed" in notes and "at least 3 strategies" in notes
    assert "single seed" in notes
    assert "## Savings against random" not in markdown
    assert not (out / "tables" / "savings.csv").exists()
    assert (out / "figures" / "curves_labels_logreg_10.png").is_file()
    assert "nan" not in markdown.lower().replace("nemenyi", "")


def test_document_renders_markdown_and_escaped_html():
    doc = Document("T <1>")
    doc.heading("A | B")
    doc.paragraph("uses `code` and **bold** & more")
    doc.table(["x", "y"], [["a|b", "1"]])
    doc.image("figures/f.png", "caption")
    markdown, html = doc.to_markdown(), doc.to_html()
    assert "| a\\|b | 1 |" in markdown and "![caption](figures/f.png)" in markdown
    assert "<title>T &lt;1&gt;</title>" in html
    assert "<code>code</code> and <strong>bold</strong> &amp; more" in html
    assert '<img src="figures/f.png" alt="caption">' in html


def test_critical_difference_diagram_draws_one_bar_per_group(results):
    average = average_ranks(results)
    cd = 1.5
    fig = figures.plot_critical_difference(average, cd)
    ranks = average.sort("average_rank").get_column("average_rank").to_list()
    thick = [line for line in fig.axes[0].get_lines() if line.get_linewidth() == 4]
    assert len(thick) == len(nemenyi_groups(ranks, cd))
    labels = {t.get_text().split(" (")[0] for t in fig.axes[0].texts}
    assert set(average.get_column("strategy").to_list()) <= labels


def test_strategy_colors_are_distinct_and_baseline_black():
    names = [f"s{i}" for i in range(12)] + ["random"]
    colors = figures.strategy_colors(names)
    assert colors["random"] == "#000000"
    assert len(set(colors.values())) == len(names)


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_report_end_to_end(tmp_path, results, capsys):
    grid = tmp_path / "grid"
    write_cells(grid, results)
    assert main(["report", str(grid)]) == 0
    assert "report.md" in capsys.readouterr().out
    report = grid / "report"
    assert (report / "report.md").is_file() and (report / "report.html").is_file()
    assert len(list((report / "figures").glob("*.png"))) == 5
    markdown = (report / "report.md").read_text()
    assert "36 finished simulation cells" in markdown and "`iris`" in markdown


def test_cli_report_on_a_directory_without_cells(tmp_path, capsys):
    (tmp_path / "cells").mkdir()
    assert main(["report", str(tmp_path)]) == 2
    assert "no finished cells" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "written by 'alsim run'" in capsys.readouterr().err


def test_report_on_a_real_grid_run(tmp_path):
    """A tiny real grid through the runner (simulate + cell store), then the report command."""
    from alsim.experiments import load_config, load_results, run_experiment

    config_path = tmp_path / "tiny.toml"
    config_path.write_text(
        'name = "tiny"\n'
        'datasets = ["openml:61", "openml:187"]\n'
        'strategies = ["random", "margin", "entropy"]\n'
        'learners = ["logreg"]\nbatch_sizes = [5]\nn_seeds = 2\n'
        '[budget]\nlabels = 30\n[initial]\nmethod = "random"\nsize = 6\n'
    )
    out = tmp_path / "grid"
    run_experiment(load_config(config_path), out, jobs=1, progress=False)
    results = load_results(out)
    assert results.select("cell_id").n_unique() == 12
    assert main(["report", str(out)]) == 0
    markdown = (out / "report" / "report.md").read_text()
    assert markdown.startswith("# Active-learning benchmark report: tiny")
    assert "`iris`" in markdown and "`wine`" in markdown
    ranks = pl.read_csv(out / "report" / "tables" / "average_ranks.csv")
    assert sorted(ranks.get_column("strategy").to_list()) == ["entropy", "margin", "random"]
    assert ranks.get_column("average_rank").sum() == pytest.approx(6.0)  # 1 + 2 + 3


def test_macro_f1_report_skips_the_accuracy_only_deficiency(tmp_path, results):
    # Deficiency and the full-pool line compare against reference_accuracy: not drawn on macro-F1 curves.
    path = write_report(results, tmp_path / "report", metric="macro_f1", n_subsamples=5)
    markdown = path.read_text()
    for section in ("Deficiency", "Savings", "Labels to target"):
        assert f"{section}: not computed." in markdown
    assert "dotted grey line" not in markdown
    assert not (path.parent / "tables" / "deficiency.csv").exists()
    assert (path.parent / "tables" / "aulc_summary.csv").exists()


def test_report_names_the_target_fractions_it_was_given(tmp_path, results):
    markdown = write_report(results, tmp_path / "report", fractions=(0.9, 0.995), n_subsamples=5).read_text()
    assert "reach 90% / 99.5% of the full-pool accuracy" in markdown
    assert "first reached 90% / 99.5% of its full-pool accuracy" in markdown
    assert "95% / 99%" not in markdown
