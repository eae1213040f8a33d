"""Every stopping rule scored on real simulated runs (tiny budgets on bundled datasets)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

import alsim
from alsim.cli import main
from alsim.stopping import (
    PredictedChangeOfF,
    StabilizingPredictions,
    available_rules,
    load_runs,
    make_rule,
    predicted_change_of_f,
    score_rules,
    successive_kappa,
    summarize_scores,
)


@pytest.fixture(scope="module")
def iris_result():
    return alsim.simulate("openml:61", strategy="margin", batch_size=5, label_budget=40, record_cv=True, random_state=0)


def test_every_rule_scores_a_simulated_run(iris_result, tmp_path):
    path = tmp_path / "iris.parquet"
    iris_result.save(path)
    runs = load_runs(path)
    assert runs["dataset"][0] == "iris" and runs["seed"][0] == 0
    assert runs["reference_accuracy"][0] == pytest.approx(iris_result.metadata["reference_accuracy"])

    scores = score_rules(runs)
    assert sorted(scores["rule"]) == available_rules()
    by_rule = {row["rule"]: row for row in scores.iter_rows(named=True)}
    # Iris has three classes: predicted change of F says it is for binary tasks; every other rule reads the run.
    assert not by_rule["predicted_change_of_f"]["applicable"]
    assert "binary tasks only" in by_rule["predicted_change_of_f"]["note"]
    applicable = scores.filter(pl.col("applicable"))
    assert applicable.height == len(available_rules()) - 1
    assert (applicable["regret"] >= -1e-9).all()
    assert by_rule["oracle_optimal"]["regret"] == 0.0
    last_round = iris_result.records["round"].max()
    assert applicable["charged_round"].is_between(0, last_round).all()
    for name in available_rules():
        if name != "predicted_change_of_f":
            assert by_rule[name]["stop_round"] == make_rule(name).stop_round(runs)
    summary = summarize_scores(scores)
    assert summary.filter(~pl.col("uses_test_labels"))["mean_rank"].drop_nulls().len() == len(available_rules()) - 3


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_kappa_on_recorded_stop_set_matches_scikit_learn(iris_result):
    predictions = np.asarray(iris_result.records["stop_set_predictions"].to_list())
    kappa = successive_kappa(predictions)
    for t in range(1, predictions.shape[0]):
        expected = cohen_kappa_score(predictions[t - 1], predictions[t], replace_undefined_by=1.0)
        assert kappa[t] == pytest.approx(expected, abs=1e-12)
    assert StabilizingPredictions(window=1, threshold=-1.0).stop_round(iris_result.records) == 1


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_predicted_change_of_f_on_a_binary_run():
    result = alsim.simulate("openml:15", strategy="margin", batch_size=10, label_budget=80, random_state=1)
    predictions = np.asarray(result.records["stop_set_predictions"].to_list())
    delta = predicted_change_of_f(predictions)
    for t in range(1, predictions.shape[0]):
        assert delta[t] == pytest.approx(1 - f1_score(predictions[t - 1], predictions[t], zero_division=1.0))
    stop = PredictedChangeOfF().stop_round(result.records)
    assert stop is None or 3 <= stop <= result.records["round"].max()


def test_cli_on_a_saved_simulation(iris_result, tmp_path, capsys):
    path = tmp_path / "iris.parquet"
    iris_result.save(path)
    assert main(["stopping", str(path), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "stabilizing_predictions" in printed and "target_accuracy *" in printed
    assert (tmp_path / "out" / "stopping_winner_map.png").exists()


def test_cli_on_a_grid_output_directory(tmp_path, capsys):
    from alsim.experiments import run_experiment

    config = tmp_path / "tiny.toml"
    config.write_text(
        'name = "tiny"\ndatasets = ["openml:61"]\nstrategies = ["random", "margin"]\nlearners = ["logreg"]\n'
        'batch_sizes = [10]\nn_seeds = 2\n\n[budget]\nlabels = 40\n\n[initial]\nmethod = "random"\nsize = 10\n'
    )
    out = tmp_path / "grid"
    run_experiment(config, out, jobs=1, progress=False)
    capsys.readouterr()
    assert main(["stopping", str(out), "--cost-per-label", "0.5"]) == 0
    assert "on 4 runs;" in capsys.readouterr().out
    scores = pl.read_parquet(out / "stopping" / "stopping_scores.parquet")
    assert scores.select("strategy", "seed").unique().height == 4
    # Without record_cv the practical marginal-gain rule is reported as not scored, with the remedy.
    marginal = scores.filter(pl.col("rule") == "marginal_gain")
    assert not marginal["applicable"].any() and "record_cv=True" in marginal["note"][0]
