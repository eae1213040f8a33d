"""Scoring stopping rules under the total-cost model: hand-computed costs, regrets, ranks, winner map, plot."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from alsim.exceptions import InvalidParameterError, MissingSignalError
from alsim.stopping import (
    CostBudget,
    LabelBudget,
    MarginalGainPerLabel,
    MaxConfidence,
    MinExpectedError,
    OracleOptimalStop,
    SelectedAccuracy,
    inapplicable_rules,
    plot_winner_map,
    score_rules,
    summarize_scores,
    total_cost,
    winner_map,
)


def test_total_cost_charges_recorded_cost_when_labels_cost_different_amounts():
    records = pl.DataFrame(
        {
            "round": [0, 1, 2, 3],
            "n_labeled": [10, 20, 30, 40],
            "cost": [10.0, 25.0, 40.0, 55.0],
            "accuracy": [0.5, 0.75, 0.875, 0.9375],
        }
    )
    # 2 * cost + (1 - accuracy) * 1000 * 0.5
    np.testing.assert_allclose(total_cost(records, 2.0, 1000, 0.5), [270.0, 175.0, 142.5, 141.25])
    # Without a cost column the labels are counted.
    np.testing.assert_allclose(total_cost(records.drop("cost"), 2.0, 1000, 0.5), [270.0, 165.0, 122.5, 111.25])


def test_score_of_one_run_by_hand():
    records = pl.DataFrame(
        {
            "round": [0, 1, 2, 3],
            "n_labeled": [10, 20, 30, 40],
            "cost": [10.0, 25.0, 40.0, 55.0],
            "accuracy": [0.5, 0.75, 0.875, 0.9375],
        }
    )
    # C = 2 * cost + (1 - accuracy) * 500 = 270, 175, 142.5, 141.25; optimum round 3.
    rules = [
        LabelBudget(max_labels=30),
        CostBudget(max_cost=1000.0),
        MaxConfidence(),
        OracleOptimalStop(cost_per_label=2.0, predictions=1000, cost_per_error=0.5),
    ]
    scores = score_rules(records, rules, cost_per_label=2.0, predictions=1000, cost_per_error=0.5)
    by_rule = {row["rule"]: row for row in scores.iter_rows(named=True)}

    budget = by_rule["label_budget"]
    assert budget["stop_round"] == 2 and budget["charged_round"] == 2 and not budget["failed_to_stop"]
    assert (budget["n_labeled_at_stop"], budget["cost_at_stop"], budget["accuracy_at_stop"]) == (30, 40.0, 0.875)
    assert (budget["best_accuracy"], budget["final_accuracy"]) == (0.9375, 0.9375)
    assert budget["total_cost"] == pytest.approx(142.5)
    assert (budget["optimal_round"], budget["optimal_total_cost"]) == (3, pytest.approx(141.25))
    assert budget["regret"] == pytest.approx(1.25)
    assert budget["relative_regret"] == pytest.approx(1.25 / 141.25)

    never = by_rule["cost_budget"]  # never binds: charged the final round and flagged
    assert never["stop_round"] is None and never["failed_to_stop"] and never["charged_round"] == 3
    assert never["regret"] == pytest.approx(0.0)

    assert by_rule["oracle_optimal"]["stop_round"] == 3 and by_rule["oracle_optimal"]["regret"] == 0.0

    unreadable = by_rule["max_confidence"]
    assert not unreadable["applicable"] and "selected_max_uncertainty" in unreadable["note"]
    assert unreadable["regret"] is None


def two_runs() -> pl.DataFrame:
    rounds, labels = [0, 1, 2, 3], [10, 20, 30, 40]
    run_a = pl.DataFrame(
        {
            "cell_id": "a",
            "dataset": "d1",
            "seed": 0,
            "round": rounds,
            "n_labeled": labels,
            "accuracy": [0.5, 0.75, 0.875, 0.9375],
            "pool_mean_uncertainty": [0.5] * 4,
        }
    )
    run_b = pl.DataFrame(
        {
            "cell_id": "b",
            "dataset": "d2",
            "seed": 1,
            "round": rounds,
            "n_labeled": labels,
            "accuracy": [0.5, 0.875, 0.875, 0.875],
            "pool_mean_uncertainty": [0.5, 0.005, 0.005, 0.005],
        }
    )
    # Interleave rows: runs are told apart by their cell columns, not by row order.
    # Every label costs one unit, so the recorded cost equals the labels.
    return pl.concat([run_a, run_b]).sort("round").with_columns(cost=pl.col("n_labeled").cast(pl.Float64))


RULES = [LabelBudget(max_labels=20), CostBudget(max_cost=30.0), MinExpectedError(), OracleOptimalStop(predictions=1000)]


def test_aggregation_over_runs_by_hand():
    # With cost = labels and 1000 predictions at 1 per error:
    #   run a: C = 510, 270, 155, 102.5 (optimum round 3); run b: C = 510, 145, 155, 165 (optimum round 1).
    #   label_budget stops at 1 (regrets 167.5, 0), cost_budget at 2 (52.5, 10),
    #   min_expected_error never in a (charged round 3, regret 0) and at 1 in b (regret 0).
    scores = score_rules(two_runs(), RULES, predictions=1000)
    assert scores.height == 8 and set(scores["cell_id"]) == {"a", "b"}
    regrets = {(r["cell_id"], r["rule"]): r["regret"] for r in scores.iter_rows(named=True)}
    assert regrets[("a", "label_budget")] == pytest.approx(167.5)
    assert regrets[("b", "cost_budget")] == pytest.approx(10.0)

    summary = summarize_scores(scores)
    assert summary["rule"].to_list() == ["min_expected_error", "label_budget", "cost_budget", "oracle_optimal"]
    row = {r["rule"]: r for r in summary.iter_rows(named=True)}
    # Ranks by total cost per run: a -> mee 1, cost 2, label 3; b -> label and mee tie at 1.5, cost 3.
    assert row["min_expected_error"]["mean_rank"] == pytest.approx(1.25)
    assert row["label_budget"]["mean_rank"] == pytest.approx(2.25)
    assert row["cost_budget"]["mean_rank"] == pytest.approx(2.5)
    assert row["oracle_optimal"]["mean_rank"] is None and row["oracle_optimal"]["uses_test_labels"]
    assert row["label_budget"]["mean_regret"] == pytest.approx(83.75)
    assert row["cost_budget"]["mean_regret"] == pytest.approx(31.25)
    assert row["min_expected_error"]["failed_to_stop_share"] == pytest.approx(0.5)
    assert row["label_budget"]["mean_labels_at_stop"] == pytest.approx(20.0)
    assert row["cost_budget"]["mean_accuracy_below_best"] == pytest.approx((0.0625 + 0.0) / 2)
    assert row["label_budget"]["n_runs"] == 2 and row["label_budget"]["n_not_applicable"] == 0


def test_winner_map_follows_the_cost_ratio():
    practical = RULES[:3]
    grid = winner_map(two_runs(), practical, label_costs=[0.01, 100.0], lifetime_error_costs=[10.0, 1e6])
    winners = {(r["cost_per_label"], r["lifetime_error_cost"]): r["winner"] for r in grid.iter_rows(named=True)}
    # Labels dear, errors cheap: stopping first is best (label_budget stops at round 1 in both runs).
    assert winners[(100.0, 10.0)] == "label_budget"
    # Labels cheap, errors dear: min_expected_error waits until the end of run a, where accuracy peaks.
    assert winners[(0.01, 1e6)] == "min_expected_error"
    by_rank = winner_map(two_runs(), practical, label_costs=[100.0], lifetime_error_costs=[10.0], criterion="mean_rank")
    assert by_rank["winner"].to_list() == ["label_budget"] and by_rank["score"][0] == pytest.approx(1.25)


def test_winner_map_refuses_reference_rules_and_bad_grids():
    with pytest.raises(InvalidParameterError, match="read test labels"):
        winner_map(two_runs(), RULES)
    with pytest.raises(InvalidParameterError, match=r"'label_costs'.*> 0"):
        winner_map(two_runs(), RULES[:2], label_costs=[0.0, 1.0])
    with pytest.raises(InvalidParameterError, match=r"'criterion'.*'mean_regret', 'mean_rank'"):
        winner_map(two_runs(), RULES[:2], criterion="best")


def test_bad_cost_parameters():
    with pytest.raises(
        InvalidParameterError, match=r"'predictions' parameter of score_rules must be a float in \[0, inf\). Got -1"
    ):
        score_rules(two_runs(), RULES, predictions=-1)
    with pytest.raises(InvalidParameterError, match=r"'cost_per_label'.*Got nan"):
        total_cost(two_runs().filter(pl.col("cell_id") == "a"), cost_per_label=float("nan"))


def test_plot_winner_map_writes_a_png(tmp_path):
    grid = winner_map(two_runs(), RULES[:3])
    path = tmp_path / "winners.png"
    plot_winner_map(grid, path, highlight=(1.0, 1000.0))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_winner_map_names_every_rule_in_a_tie():
    # With cost = labels, a 20-label cap and a 20-unit cost cap stop at the same rounds.
    grid = winner_map(
        two_runs(),
        [LabelBudget(max_labels=20), CostBudget(max_cost=20.0)],
        label_costs=[1.0],
        lifetime_error_costs=[10.0],
    )
    assert grid["winner"].to_list() == ["label_budget = cost_budget"]


def test_ex_post_optimum_by_name_uses_the_scoring_costs():
    # Run a with 1000 predictions: C = 510, 270, 155, 102.5, optimum round 3; with the rule's default of
    # 10000 predictions it would also pick round 3, so use dear labels where the two optima differ:
    # cost_per_label 10 -> C = 600, 450, 425, 462.5, optimum round 2 (default costs would pick round 3).
    run_a = two_runs().filter(pl.col("cell_id") == "a")
    scores = score_rules(run_a, ["oracle_optimal"], cost_per_label=10.0, predictions=1000)
    row = scores.row(0, named=True)
    assert (row["stop_round"], row["optimal_round"], row["regret"]) == (2, 2, 0.0)


def three_runs() -> pl.DataFrame:
    """two_runs plus a run c that records selected_accuracy but not pool_mean_uncertainty.

    On c, label_budget (stop at round 1, C = 20 + 500 = 520 against the optimum 40 + 50 = 90) would regret
    430: were c averaged in, its mean regret would change, so the tests below see which runs are compared.
    """
    run_c = pl.DataFrame(
        {
            "cell_id": "c",
            "dataset": "d3",
            "seed": 2,
            "round": [0, 1, 2, 3],
            "n_labeled": [10, 20, 30, 40],
            "accuracy": [0.5, 0.5, 0.9, 0.95],
            "selected_accuracy": [None, 0.6, 0.95, 0.95],
            "cost": [10.0, 20.0, 30.0, 40.0],
        }
    )
    return pl.concat([two_runs(), run_c], how="diagonal_relaxed")


def test_rules_are_compared_on_the_runs_all_of_them_read():
    rules = [*RULES[:3], SelectedAccuracy(), MarginalGainPerLabel(), RULES[3]]
    scores = score_rules(three_runs(), rules, predictions=1000)
    summary = summarize_scores(scores)
    row = {r["rule"]: r for r in summary.iter_rows(named=True)}
    # min_expected_error reads a and b, selected_accuracy only c: they share no run, so the rule reading the
    # fewest runs (selected_accuracy) is left out, and the others are compared on a and b only: the same
    # numbers as test_aggregation_over_runs_by_hand, although label_budget also scored run c.
    assert summary["rule"].to_list()[:4] == ["min_expected_error", "label_budget", "cost_budget", "oracle_optimal"]
    for name in ("min_expected_error", "label_budget", "cost_budget", "oracle_optimal"):
        assert row[name]["compared"] and row[name]["n_runs"] == 2
    assert row["label_budget"]["n_readable"] == 3 and row["label_budget"]["mean_regret"] == pytest.approx(83.75)
    assert row["min_expected_error"]["mean_rank"] == pytest.approx(1.25)
    assert row["cost_budget"]["mean_regret"] == pytest.approx(31.25)
    for name, readable in (("selected_accuracy", 1), ("marginal_gain", 0)):
        assert not row[name]["compared"] and row[name]["n_runs"] == 0 and row[name]["n_readable"] == readable
        assert row[name]["mean_regret"] is None and row[name]["mean_rank"] is None

    where = {r["rule"]: r for r in inapplicable_rules(scores).iter_rows(named=True)}
    assert set(where) == {"min_expected_error", "selected_accuracy", "marginal_gain"}
    assert (where["min_expected_error"]["n_runs"], where["min_expected_error"]["of_runs"]) == (1, 3)
    assert where["min_expected_error"]["compared"] and where["min_expected_error"]["datasets"] == "d3"
    assert "pool_mean_uncertainty" in where["min_expected_error"]["reason"]
    assert where["selected_accuracy"]["datasets"] == "d1, d2" and not where["selected_accuracy"]["compared"]
    assert where["marginal_gain"]["n_runs"] == 3 and "labeled_cv_accuracy" in where["marginal_gain"]["reason"]

    # Without the rules that cannot read c, all three runs are compared and c moves label_budget's mean.
    wide = summarize_scores(score_rules(three_runs(), RULES[:2], predictions=1000))
    assert wide["n_runs"].to_list() == [3, 3]
    assert wide.filter(pl.col("rule") == "label_budget")["mean_regret"].item() == pytest.approx((167.5 + 430) / 3)


def test_winner_map_compares_candidates_on_common_runs():
    grid = winner_map(
        three_runs(), [*RULES[:3], SelectedAccuracy()], label_costs=[0.01, 100.0], lifetime_error_costs=[10.0, 1e6]
    )
    assert set(grid["n_runs"]) == {2}
    winners = {(r["cost_per_label"], r["lifetime_error_cost"]): r["winner"] for r in grid.iter_rows(named=True)}
    assert winners[(100.0, 10.0)] == "label_budget" and winners[(0.01, 1e6)] == "min_expected_error"
    with pytest.raises(MissingSignalError, match="No candidate stopping rule could read any run"):
        winner_map(two_runs(), [MarginalGainPerLabel()])


def test_a_reference_rule_never_narrows_the_comparison_of_practical_rules():
    # target_accuracy needs reference_accuracy, which only run c has: it reads 1 of the 3 runs.
    runs = three_runs().with_columns(
        reference_accuracy=pl.when(pl.col("cell_id") == "c").then(0.95).otherwise(None).cast(pl.Float64)
    )
    summary = summarize_scores(score_rules(runs, [*RULES[:2], "target_accuracy"], predictions=1000))
    row = {r["rule"]: r for r in summary.iter_rows(named=True)}
    assert row["label_budget"]["n_runs"] == 3 and row["cost_budget"]["n_runs"] == 3
    assert not row["target_accuracy"]["compared"] and row["target_accuracy"]["n_readable"] == 1
