"""``alsim stopping`` end to end on records parquet files written in the test."""

from __future__ import annotations

import polars as pl
import pytest

from alsim.cli import main


def write_run(path, accuracy, stop_set):
    n = len(accuracy)
    pl.DataFrame(
        {
            "round": list(range(n)),
            "n_labeled": [10 * (r + 1) for r in range(n)],
            "cost": [10.0 * (r + 1) for r in range(n)],
            "n_unlabeled": [100 - 10 * (r + 1) for r in range(n)],
            "accuracy": accuracy,
            "pool_mean_uncertainty": [0.3, 0.2, 0.1, 0.05, 0.05][:n],
            "selected_accuracy": [None, 0.6, 0.8, 0.9, 0.95][:n],
            "stop_set_predictions": stop_set,
        }
    ).write_parquet(path)


STABLE = [[0, 1, 1, 0], [0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1]]


def test_cli_scores_one_records_file(tmp_path, capsys):
    path = tmp_path / "run.parquet"
    write_run(path, [0.5, 0.75, 0.875, 0.9375, 0.9375], STABLE)
    out = tmp_path / "report"
    code = main(["stopping", str(path), "--predictions", "1000", "--cost-per-label", "2", "--out", str(out)])
    captured = capsys.readouterr()
    printed = captured.out
    assert "stopping rules: 100%" in captured.err  # the progress bar over runs
    assert code == 0
    assert "C = 2 x labeling cost + (1 - accuracy) x 1000 x 1" in printed
    for rule in ("stabilizing_predictions", "selected_accuracy", "oracle_optimal *"):
        assert rule in printed
    assert "marginal_gain" in printed and "record_cv=True" in printed  # not scored, and why
    summary = pl.read_csv(out / "stopping_summary.csv")
    assert summary.filter(pl.col("rule") == "oracle_optimal")["mean_regret"].item() == 0.0
    scores = pl.read_parquet(out / "stopping_scores.parquet")
    # Selected accuracy reaches 0.9 in round 3: C = 2 * 40 + 0.0625 * 1000 = 142.5, the optimum.
    row = scores.filter(pl.col("rule") == "selected_accuracy").row(0, named=True)
    assert (row["stop_round"], row["total_cost"], row["regret"]) == (3, 142.5, 0.0)
    assert (out / "stopping_winner_map.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_scores_a_directory_of_runs_with_chosen_rules(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir()
    write_run(runs / "seed0.parquet", [0.5, 0.75, 0.875, 0.9375, 0.9375], STABLE)
    write_run(runs / "seed1.parquet", [0.5, 0.875, 0.875, 0.875, 0.875], STABLE)
    rules = ["label_budget", "stabilizing_predictions", "oracle_optimal"]
    code = main(["stopping", str(runs), "--rules", *rules, "--no-progress"])
    captured = capsys.readouterr()
    printed = captured.out
    assert "stopping rules:" not in captured.err  # no bar with --no-progress
    assert code == 0 and "on 2 runs;" in printed
    scores = pl.read_parquet(runs / "stopping" / "stopping_scores.parquet")
    assert sorted(scores["cell_id"].unique()) == ["seed0", "seed1"] and scores.height == 6


def test_cli_reports_bad_input_as_an_error(tmp_path, capsys):
    assert main(["stopping", str(tmp_path / "missing.parquet")]) == 2
    assert "No results at" in capsys.readouterr().err
    bogus = tmp_path / "notes.parquet"
    bogus.write_text("not a parquet file")
    assert main(["stopping", str(bogus)]) == 2
    assert "not a readable parquet file" in capsys.readouterr().err
    path = tmp_path / "run.parquet"
    write_run(path, [0.5, 0.75], STABLE[:2])
    assert main(["stopping", str(path), "--rules", "kappa"]) == 2
    assert "must be one of" in capsys.readouterr().err
    assert main(["stopping", str(path), "--predictions", "-5"]) == 2
    assert "'predictions' parameter" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["stopping", "--help"]])
def test_cli_help_lists_the_cost_options(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert "--cost-per-label" in capsys.readouterr().out


def test_cli_compares_rules_on_the_same_runs_and_lists_where_a_rule_does_not_apply(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir()
    write_run(runs / "binary.parquet", [0.5, 0.75, 0.875, 0.9375, 0.9375], STABLE)
    three_classes = [[0, 1, 2, 0], [0, 1, 2, 1], [0, 1, 2, 1], [0, 1, 2, 1], [0, 1, 2, 1]]
    write_run(runs / "three_classes.parquet", [0.5, 0.875, 0.875, 0.875, 0.875], three_classes)
    rules = ["label_budget", "predicted_change_of_f", "stabilizing_predictions", "marginal_gain"]
    assert main(["stopping", str(runs), "--rules", *rules]) == 0
    printed = capsys.readouterr().out
    assert "Stopping rules on 1 run of 2, those every compared rule can read" in printed
    assert "1 run left out of the comparison because predicted_change_of_f cannot read them" in printed
    assert "predicted_change_of_f does not apply to 1 of 2 runs: " in printed and "binary tasks only" in printed
    assert "marginal_gain does not apply to 2 of 2 runs and is left out of the comparison: " in printed
    summary = pl.read_csv(runs / "stopping" / "stopping_summary.csv")
    compared = summary.filter(pl.col("compared"))
    assert sorted(compared["rule"]) == ["label_budget", "predicted_change_of_f", "stabilizing_predictions"]
    assert set(compared["n_runs"]) == {1}
    assert pl.read_csv(runs / "stopping" / "stopping_winner_map.csv")["n_runs"].unique().to_list() == [1]
    # Leaving the binary-only rule out compares the others on both runs.
    assert main(["stopping", str(runs), "--rules", "label_budget", "stabilizing_predictions"]) == 0
    assert "Stopping rules on 2 runs;" in capsys.readouterr().out
