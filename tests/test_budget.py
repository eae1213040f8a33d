"""`alsim budget`: estimates on a team's own table, bad input, and the extrapolation backtest."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

from alsim.budget import estimate_budget, write_budget_report
from alsim.budget.backtest import backtest, summarize_backtest, write_backtest_report
from alsim.cli import main
from alsim.datasets import load_dataset, split_dataset
from alsim.exceptions import DatasetError, InvalidParameterError, OutputPathError
from alsim.experiments import load_results


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


def _budget_args(path, out, *extra):
    """``alsim budget`` on the team's table with a small grid (3 seeds, 20 bootstrap replicates, no progress)."""
    return [
        "budget",
        str(path),
        "--label",
        "label",
        "--seeds",
        "3",
        "--bootstrap",
        "20",
        "--jobs",
        "1",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


@pytest.fixture(scope="module")
def cost_run(team_csv, tmp_path_factory):
    """One ``alsim budget --cost-column`` run (JSON answer and its output directory), shared by the tests."""
    path, _, _ = team_csv
    out = tmp_path_factory.mktemp("answer") / "budget"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(
            _budget_args(
                path, out, "--target", "0.8", "--cost-column", "cost", "--strategies", "margin,cost_margin", "--json"
            )
        )
    assert code == 0
    return json.loads(stdout.getvalue()), out


def test_cli_answers_with_intervals_savings_and_files(team_csv, cost_run):
    _, n_labeled, _ = team_csv
    answer, out = cost_run
    assert answer["labeled_rows_available"] == n_labeled  # unlabeled rows are not used
    assert {s["strategy"] for s in answer["strategies"]} == {"random", "margin", "cost_margin"}
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
            assert item["cost_80"][0] <= item["cost_median"]
            assert item["cost_80"][1] is None or item["cost_median"] <= item["cost_80"][1]
        assert 0.0 <= item["p_unreachable"] <= 1.0
        assert sum(item["curve_families"].values()) == pytest.approx(1.0)
    assert answer["cost_column"] == "cost"
    assert (out / "budget.md").read_text().startswith("# Labeling budget")
    assert (out / "budget.png").stat().st_size > 10_000
    assert json.loads((out / "budget.json").read_text()) == answer


def test_money_is_the_recorded_cost_of_the_chosen_rows(team_csv, cost_run):
    """With a cost column every pool row is charged its own cost; the money follows the recorded cost."""
    path, _, mean_cost = team_csv
    answer, out = cost_run
    results = load_results(out / "runs")
    costs = pd.read_csv(path).dropna(subset=["label"])["cost"].to_numpy()
    assert set(np.round(results["batch_cost"].to_numpy(), 6)) != {round(mean_cost, 6)}
    # The cost column is never a feature: the prepared file the grid reads does not hold it.
    prepared = list(out.glob("labeled_rows-*.parquet"))
    assert len(prepared) == 1 and "cost" not in pl.read_parquet(prepared[0]).columns
    # Every run labels its whole pool, so it paid the sum of its pool rows' costs, whatever the strategy.
    dataset = load_dataset(str(prepared[0]), label="label")
    for (seed,), runs in results.group_by(["seed"]):
        pool_rows = split_dataset(dataset, test_size=0.3, random_state=seed).pool_rows
        final = runs.group_by("cell_id").agg(pl.col("cost").max())["cost"].to_numpy()
        assert final == pytest.approx(np.full(final.size, costs[pool_rows].sum()))
    for item in answer["strategies"]:
        median = item["labels_median"]
        if median is None or median > results["n_labeled"].max():
            continue
        runs = results.filter(pl.col("strategy") == item["strategy"])
        curve = runs.group_by("n_labeled").agg(pl.col("cost").mean()).sort("n_labeled")
        expected = np.interp(median, curve["n_labeled"].to_numpy(), curve["cost"].to_numpy())
        assert item["cost_median"] == pytest.approx(expected)


def test_a_cost_aware_candidate_selects_cheaper_rows_when_costs_vary(tmp_path):
    from alsim.budget import simulate_with_row_costs

    dataset = load_dataset("openml:61")
    costs = np.where(np.arange(dataset.n_samples) % 2 == 0, 1.0, 20.0)
    kwargs = {"test_size": 0.3, "random_state": 0, "batch_size": 10, "label_budget": 40, "oracle": {"cost": 1.0}}
    plain = simulate_with_row_costs(dataset, row_costs=costs, strategy="margin", **kwargs).records
    aware = simulate_with_row_costs(dataset, row_costs=costs, strategy="cost_margin", **kwargs).records
    # Both start from the same initial set (same seed); after it, the cost-aware one buys the cheap rows.
    assert plain["cost"][0] == aware["cost"][0]
    assert aware["cost"][-1] < plain["cost"][-1]
    assert aware["batch_cost"][1:].to_list() == [10.0] * (aware.height - 1)


def test_trivial_target_is_warned_in_the_answer_and_the_json(team_csv, cost_run, tmp_path):
    path, _, _ = team_csv
    answer, _ = cost_run
    # 0.8 on a balanced two-class table is not trivial (unless the initial set reaches it already).
    assert answer["majority_class_rate"] < 0.6
    assert answer["trivial_target"] == (answer["initial_set_score"] >= answer["target"])
    estimate = estimate_budget(
        path,
        label="label",
        ignore=["cost"],
        target=0.5,
        relative=True,
        strategies=["margin", "cost_margin"],
        n_seeds=2,
        n_boot=10,
        jobs=1,
        progress=False,
        out_dir=tmp_path,
    )
    assert estimate.warnings
    assert "most frequent class" in estimate.warnings[0] and "'target'" not in estimate.warnings[0]
    assert estimate.answer().splitlines()[1].startswith("Warning: ")
    as_json = estimate.to_dict()
    assert as_json["trivial_target"] and as_json["notes"][: len(as_json["warnings"])] == as_json["warnings"]
    # Without per-row costs cost_margin ranks exactly like margin: the report says the curves coincide.
    report = write_budget_report(estimate, tmp_path / "report").read_text()
    assert "Warning: The target" in report
    assert "same learning curve on these runs" in report and "cost_margin = margin" in report


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


def test_an_earlier_answer_is_not_replaced_without_overwrite(team_csv, cost_run, capsys):
    path, _, _ = team_csv
    answer, out = cost_run
    before = (out / "budget.md").read_text()
    # Refused at once, before any simulation, in one line naming the flags.
    assert main(_budget_args(path, out, "--target", "0.85", "--cost-column", "cost")) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--out" in error and "--overwrite" in error and "budget.md" in error
    assert (out / "budget.md").read_text() == before
    # With --overwrite the report is replaced; the simulations in --out/runs are resumed, not rerun.
    cells = sorted(p.name for p in (out / "runs" / "cells").iterdir())
    args = _budget_args(path, out, "--target", "0.85", "--cost-column", "cost", "--strategies", "margin,cost_margin")
    assert main([*args, "--overwrite"]) == 0
    assert sorted(p.name for p in (out / "runs" / "cells").iterdir()) == cells
    assert "0.850" in (out / "budget.md").read_text()
    # In Python the same check names the parameters.
    from alsim.budget.report import check_report_location

    with pytest.raises(OutputPathError, match=r"'out_dir' parameter of write_budget_report.*overwrite=True"):
        check_report_location(out, caller="write_budget_report")
    assert answer["target"] == 0.8


@pytest.mark.parametrize(
    ("argv", "kwargs", "flag", "parameter"),
    [
        (["--target", "0.8", "--seeds", "1"], {"target": 0.8, "n_seeds": 1}, "--seeds", "'n_seeds'"),
        (["--target", "0.8", "--bootstrap", "0"], {"target": 0.8, "n_boot": 0}, "--bootstrap", "'n_boot'"),
        (["--target", "0.8", "--max-labels", "5"], {"target": 0.8, "max_labels": 5}, "--max-labels", "'max_labels'"),
        (["--target", "0.8", "--test-size", "1.5"], {"target": 0.8, "test_size": 1.5}, "--test-size", "'test_size'"),
        (
            ["--target", "0.8", "--predictions", "0"],
            {"target": 0.8, "predictions": 0},
            "--predictions",
            "'predictions'",
        ),
        (
            ["--target", "0.8", "--cost-per-error", "-1"],
            {"target": 0.8, "cost_per_error": -1.0},
            "--cost-per-error",
            "'cost_per_error'",
        ),
        (
            ["--target", "0.8", "--strategies", "nope"],
            {"target": 0.8, "strategies": ["nope"]},
            "--strategies",
            "'strategies'",
        ),
        (["--target", "1.5"], {"target": 1.5}, "--target", "'target'"),
        (
            ["--target", "0.9", "--relative", "--metric", "macro_f1"],
            {"target": 0.9, "relative": True, "metric": "macro_f1"},
            "--metric macro_f1",
            "metric='macro_f1'",
        ),
    ],
)
def test_messages_name_flags_on_the_cli_and_parameters_in_python(
    team_csv, tmp_path, capsys, argv, kwargs, flag, parameter
):
    path, _, _ = team_csv
    assert main(_budget_args(path, tmp_path / "cli", "--ignore", "cost", *argv)) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and flag in error and parameter not in error
    with pytest.raises(InvalidParameterError) as raised:
        estimate_budget(path, label="label", ignore=["cost"], progress=False, out_dir=tmp_path / "py", **kwargs)
    assert parameter in str(raised.value) and flag not in str(raised.value)


def test_cost_column_on_openml_and_missing_label_name_the_flags(team_csv, tmp_path, capsys):
    path, _, _ = team_csv
    assert main(["budget", "openml:61", "--target", "0.9", "--cost-column", "c", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "--cost-column" in error and "--cost-per-label" in error and "'cost_per_label'" not in error
    assert main(["budget", str(path), "--target", "0.9", "--out", str(tmp_path)]) == 2
    assert "--label is required" in capsys.readouterr().err


def test_every_phase_shows_progress_unless_silenced(team_csv, cost_run, capsys):
    path, _, _ = team_csv
    _, out = cost_run
    args = [a for a in _budget_args(path, out, "--target", "0.8", "--cost-column", "cost") if a != "--no-progress"]
    assert main([*args, "--strategies", "margin,cost_margin", "--overwrite"]) == 0
    err = capsys.readouterr().err
    # the grid (resumed: already done), the extrapolation per strategy, the stopping-rule scoring
    assert "budget: 100%" in err and "extrapolating learning curves" in err and "stopping rules" in err
    assert main([*args, "--strategies", "margin,cost_margin", "--overwrite", "--no-progress"]) == 0
    assert capsys.readouterr().err == ""
