"""The report's distance to the lookahead bound: hand-computed gaps and the report section."""

from __future__ import annotations

import polars as pl
import pytest
from results_factory import frame_from_curves, synthetic_results

from alsim import metrics
from alsim.reports import write_report
from alsim.reports.bound import distance_to_bound


def test_gaps_are_paired_by_seed_and_averaged_by_hand():
    # Constant curves: the AULC of a run is its constant accuracy.
    curves = {
        ("d1", "lookahead_oracle", 0): [0.9] * 4,
        ("d1", "lookahead_oracle", 1): [0.8] * 4,
        ("d1", "margin", 0): [0.7] * 4,
        ("d1", "margin", 1): [0.7] * 4,
        ("d1", "random", 0): [0.6] * 4,
        ("d1", "random", 1): [0.5] * 4,
        ("d2", "lookahead_oracle", 0): [0.9] * 4,
        ("d2", "margin", 0): [0.85] * 4,
        ("d2", "margin", 1): [0.1] * 4,  # no bound run on seed 1: not paired, not counted
        ("d2", "random", 0): [0.8] * 4,
    }
    gaps = distance_to_bound(metrics.aulc(frame_from_curves(curves)), "lookahead_oracle")
    assert gaps is not None
    got = {(r["dataset"], r["strategy"]): (round(r["gap"], 6), r["n"]) for r in gaps.iter_rows(named=True)}
    assert got == {
        ("d1", "margin"): (0.15, 2),  # (0.2 + 0.1) / 2
        ("d1", "random"): (0.3, 2),  # (0.3 + 0.3) / 2
        ("d2", "margin"): (0.05, 1),
        ("d2", "random"): (0.1, 1),
        ("mean", "margin"): (0.1, 2),
        ("mean", "random"): (0.2, 2),
    }
    assert gaps.get_column("dataset").to_list()[-2:] == ["mean", "mean"]
    assert distance_to_bound(metrics.aulc(frame_from_curves(curves)), "not_run") is None


@pytest.fixture(scope="module")
def results() -> pl.DataFrame:
    speeds = {"random": 1.0, "margin": 1.6, "coreset": 1.2, "lookahead_oracle": 3.0}
    return synthetic_results(datasets=("iris", "wine", "vote"), seeds=(0, 1, 2), speeds=speeds, noise=0.01)


def test_report_has_the_bound_section_and_table(tmp_path, results):
    markdown = write_report(results, tmp_path / "report").read_text()
    section = markdown.split("## Distance to the lookahead_oracle bound")[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    assert lines[0].split("|")[2:-1] and "lookahead_oracle" not in lines[0]
    assert [line.split("|")[1].strip() for line in lines[2:]] == ["iris", "vote", "wine", "mean"]
    # The oracle learns fastest: every gap is positive, written with its sign.
    assert all(cell.strip().strip("*").startswith("+") for line in lines[2:] for cell in line.split("|")[2:-1])
    assert "![AULC distance of each strategy to the lookahead_oracle bound" in section
    assert (tmp_path / "report" / "figures" / "distance_to_bound_logreg_10.png").stat().st_size > 0
    table = pl.read_csv(tmp_path / "report" / "tables" / "distance_to_bound.csv")
    assert (table.get_column("gap") > 0).all()


def test_no_bound_section_without_the_bound_or_when_turned_off(tmp_path, results):
    without = results.filter(pl.col("strategy") != "lookahead_oracle")
    assert "Distance to the" not in write_report(without, tmp_path / "a").read_text()
    assert "Distance to the" not in write_report(results, tmp_path / "b", bound=None).read_text()
    assert not (tmp_path / "b" / "tables" / "distance_to_bound.csv").exists()


def test_the_bound_is_a_reference_column_not_a_ranked_strategy(tmp_path, results):
    markdown = write_report(results, tmp_path / "report").read_text()
    ranks = pl.read_csv(tmp_path / "report" / "tables" / "average_ranks.csv")
    assert sorted(ranks.get_column("strategy").to_list()) == ["coreset", "margin", "random"]
    assert ranks.get_column("strategy").to_list()[0] == "margin"  # the fastest usable strategy ranks first
    friedman = pl.read_csv(tmp_path / "report" / "tables" / "friedman.csv")
    assert friedman.get_column("n_strategies").to_list() == [3]
    assert "best average rank: `margin`" in markdown.lower()
    assert "the `lookahead_oracle` bound reads the labels and is not ranked" in markdown
    # The AULC table keeps the bound, as its first column; the win/tie/loss table keeps it too.
    aulc = markdown.split("## Area under the learning curve")[1].split("\n## ")[0]
    header = next(line for line in aulc.splitlines() if line.startswith("| dataset"))
    assert [cell.strip() for cell in header.split("|")[1:-1]] == [
        "dataset",
        "lookahead_oracle",
        "margin",
        "coreset",
        "random",
    ]
    assert "lookahead_oracle" in pl.read_csv(tmp_path / "report" / "tables" / "win_tie_loss.csv")["strategy"].to_list()
    # Without a bound argument the oracle is one more ranked strategy.
    write_report(results, tmp_path / "plain", bound=None)
    plain = pl.read_csv(tmp_path / "plain" / "tables" / "average_ranks.csv")
    assert plain.get_column("strategy").to_list()[0] == "lookahead_oracle"
