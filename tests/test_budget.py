"""`alsim budget`: estimates on a team's own table, bad input, and the extrapolation backtest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

from alsim.budget import estimate_budget
from alsim.budget.backtest import backtest, summarize_backtest, write_backtest_report
from alsim.cli import main
from alsim.exceptions import DatasetError, InvalidParameterError


@pytest.fixture(scope="module")
def team_csv(tmp_path_factory):
    """A team's table: features, a nominal column, labels with gaps (unlabeled rows) and per-row costs."""
    rng = np.random.default_rng(0)
    n = 360
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.6, n) > 0).astype(int)
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"])
    frame["colour"] = np.where(X[:, 2] > 0, "red", "blue")
    frame["label"] = pd.Series(np.where(y == 1, "spam", "ham"), dtype=object)
    frame.loc[::6, "label"] = None
    frame["cost"] = np.round(1.0 + np.abs(X[:, 3]), 2)
    path = tmp_path_factory.mktemp("team") / "team.csv"
    frame.to_csv(path, index=False)
    labeled = frame["label"].notna()
    return path, int(labeled.sum()), float(frame.loc[labeled, "cost"].mean())


def test_cli_answers_with_intervals_savings_and_files(team_csv, tmp_path, capsys):
    path, n_labeled, mean_cost = team_csv
    out = tmp_path / "budget"
    code = main(
        [
            "budget",
            str(path),
            "--label",
            "label",
            "--target",
            "0.8",
            "--cost-column",
            "cost",
            "--strategies",
            "margin",
            "--seeds",
            "3",
            "--bootstrap",
            "20",
            "--jobs",
            "1",
            "--out",
            str(out),
            "--json",
            "--no-progress",
        ]
    )
    assert code == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["labeled_rows_available"] == n_labeled  # unlabeled rows are not used
    assert {s["strategy"] for s in answer["strategies"]} == {"random", "margin"}
    # The interval checks below are per reached estimate: make sure there is one to check.
    assert any(item["labels_median"] is not None for item in answer["strategies"])
    for item in answer["strategies"]:
        if item["labels_median"] is not None:
            low80, high80 = item["labels_80"]
            low95, high95 = item["labels_95"]
            assert low95 <= low80 <= item["labels_median"]
            assert high80 is None or item["labels_median"] <= high80
            # the 95% interval contains the 80% one (None: unbounded above)
            assert high95 is None or (high80 is not None and high80 <= high95)
            assert item["cost_median"] == pytest.approx(item["labels_median"] * mean_cost)
        assert 0.0 <= item["p_unreachable"] <= 1.0
        assert sum(item["curve_families"].values()) == pytest.approx(1.0)
    assert "mean per-row cost" in answer["cost_note"]
    assert (out / "budget.md").read_text().startswith("# Labeling budget")
    assert (out / "budget.png").stat().st_size > 10_000
    assert json.loads((out / "budget.json").read_text()) == answer


def test_unreachable_target_is_said_with_its_probability(tmp_path):
    estimate = estimate_budget(
        "openml:61",
        target=1.0,
        strategies=["margin"],
        n_seeds=2,
        n_boot=20,
        jobs=1,
        progress=False,
        batch_size=10,
        max_labels=400,
        out_dir=tmp_path,
    )
    answer = estimate.answer()
    iris_margin = estimate.estimate("margin").labels
    if estimate.recommended is None:
        assert "probably out of reach" in answer
    else:  # iris can be perfectly separable on some splits; then the estimate must be a finite count
        assert np.isfinite(iris_margin.median)
    assert 0.0 <= iris_margin.p_unreachable <= 1.0


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "match"),
    [
        ("team", {"target": 1.5}, InvalidParameterError, "'target'"),
        ("team", {"target": 0.0}, InvalidParameterError, "'target'"),
        ("team", {"target": 0.8, "label": "nope"}, DatasetError, "'nope' does not exist"),
        ("team", {"target": 0.8, "label": None}, InvalidParameterError, "'label'"),
        ("team", {"target": 0.8, "cost_column": "nope"}, DatasetError, "nope"),
        ("team", {"target": 0.9, "relative": True, "metric": "macro_f1"}, InvalidParameterError, "'relative'"),
        ("team", {"target": 0.8, "n_seeds": 1}, InvalidParameterError, "'n_seeds'"),
        ("team", {"target": 0.8, "test_size": 1.0}, InvalidParameterError, "'test_size'.*float in \\(0, 1\\)"),
        ("team", {"target": 0.8, "max_labels": 0}, InvalidParameterError, "'max_labels'.*int >= 1"),
        ("nolabels", {"target": 0.8}, DatasetError, "no labelled rows"),
        ("oneclass", {"target": 0.8}, DatasetError, "only the class"),
    ],
)
def test_bad_input_gets_a_clear_error_before_simulating(team_csv, tmp_path, data, kwargs, error, match):
    path, _, _ = team_csv
    frame = pd.read_csv(path)
    if data == "nolabels":
        frame["label"] = None
    elif data == "oneclass":
        frame.loc[frame["label"].notna(), "label"] = "spam"
    file = tmp_path / f"{data}.csv"
    frame.to_csv(file, index=False)
    kwargs = {"label": "label", **kwargs}
    with pytest.raises(error, match=match):
        estimate_budget(file, progress=False, jobs=1, out_dir=tmp_path / "runs", **kwargs)


def _synthetic_results(n_seeds: int = 6) -> pl.DataFrame:
    """Grid-shaped results whose curves follow a known power law, with seed noise."""
    rng = np.random.default_rng(5)
    labels = np.arange(20, 420, 20)
    frames = []
    for strategy, scale in (("random", 0.6), ("margin", 0.45)):
        for seed in range(n_seeds):
            accuracy = 0.93 - scale * labels**-0.4 + rng.normal(0, 0.004, labels.size)
            frames.append(
                pl.DataFrame(
                    {
                        "dataset": "synthetic",
                        "strategy": strategy,
                        "seed": seed,
                        "round": np.arange(labels.size),
                        "n_labeled": labels,
                        "accuracy": accuracy,
                    }
                )
            )
    return pl.concat(frames)


def test_backtest_predicts_later_crossings_of_a_power_law(tmp_path):
    # Datasets differ in their scale, so each is calibrated on curves of another shape (leave-dataset-out).
    results = pl.concat(
        [
            _synthetic_results().with_columns(pl.lit(f"d{k}").alias("dataset"), pl.col("accuracy") - 0.02 * k)
            for k in range(8)
        ]
    )
    table = backtest(results, fit_share=0.4, gains=(0.05, 0.1, 0.2))
    reached = table.filter(pl.col("observed_labels").is_not_null())
    assert reached.height > 0
    assert (reached["observed_labels"] > reached["fit_labels"]).all()
    summary = summarize_backtest(table)
    assert summary["median_abs_log2_error"] < 0.5  # within a factor of ~1.4 on a clean power law
    report = write_backtest_report(table, tmp_path, fit_share=0.4)
    assert "80% interval holds the observed labels" in report.read_text()
    assert (tmp_path / "backtest.png").exists()


def test_backtest_keeps_the_settings_of_a_grid_apart():
    # Two batch sizes: the same seeds hold two different curves, which must not be mixed into one.
    one = pl.concat([_synthetic_results(4).with_columns(pl.lit(f"d{k}").alias("dataset")) for k in range(8)])
    slow = one.with_columns(pl.col("accuracy") - 0.05)
    grid = pl.concat([one.with_columns(batch_size=pl.lit(20)), slow.with_columns(batch_size=pl.lit(40))])
    table = backtest(grid, fit_share=0.4, gains=(0.05, 0.1, 0.2))
    assert set(table["batch_size"].to_list()) == {20, 40}
    fast, slower = (table.filter(pl.col("batch_size") == b) for b in (20, 40))
    assert fast.height == slower.height
    assert (fast["target"] > slower["target"]).all()


def test_backtest_rejects_bad_shares():
    with pytest.raises(InvalidParameterError, match="'fit_share'"):
        backtest(_synthetic_results(2), fit_share=1.0)
    with pytest.raises(InvalidParameterError, match="'gains'"):
        backtest(_synthetic_results(2), gains=[1.5])
