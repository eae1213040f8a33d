"""Each stopping rule follows its definition on small hand-made records, and rejects bad parameters."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

from alsim.exceptions import InvalidDtypeError, InvalidInputError, InvalidParameterError, MissingSignalError
from alsim.stopping import (
    ClassificationChange,
    ConfidenceVariance,
    CostBudget,
    LabelBudget,
    MarginalGainPerLabel,
    MaxConfidence,
    MinExpectedError,
    OracleOptimalStop,
    OverallUncertainty,
    PerformanceConvergence,
    PoolShareBudget,
    PredictedChangeOfF,
    SelectedAccuracy,
    StabilizingPredictions,
    StoppingRule,
    TargetAccuracy,
    UncertaintyConvergence,
    available_rules,
    make_rule,
    predicted_change_of_f,
    successive_kappa,
)


def frame(**columns) -> pl.DataFrame:
    n_rounds = len(next(iter(columns.values())))
    return pl.DataFrame({"round": list(range(n_rounds)), **columns})


# --- budget caps -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("max_labels", "expected"), [(30, 2), (25, 1), (5, 0), (40, 3), (100, None)])
def test_label_budget_stops_at_last_round_within_the_cap(max_labels, expected):
    records = frame(n_labeled=[10, 20, 30, 40])
    assert LabelBudget(max_labels=max_labels).stop_round(records) == expected


@pytest.mark.parametrize(("max_cost", "expected"), [(30.0, 2), (20.0, 1), (1000.0, None)])
def test_cost_budget_reads_cumulative_recorded_cost(max_cost, expected):
    records = frame(cost=[5.0, 12.0, 30.0, 31.0])
    assert CostBudget(max_cost=max_cost).stop_round(records) == expected


@pytest.mark.parametrize(("share", "expected"), [(0.2, 1), (0.3, 2), (1.0, None)])
def test_pool_share_budget_uses_pool_size_of_round_zero(share, expected):
    records = frame(n_labeled=[10, 20, 30], n_unlabeled=[90, 80, 70])
    assert PoolShareBudget(share=share).stop_round(records) == expected


# --- agreement between successive models ------------------------------------------------------------------

STOP_SET = [[0, 0, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1]]


def test_kappa_of_hand_made_rounds():
    # Round 1 vs 0: observed 3/4, chance 0.5*0.25 + 0.5*0.75 = 0.5 -> kappa 0.5; then identical rounds -> 1.
    kappa = successive_kappa(np.array(STOP_SET))
    assert np.isnan(kappa[0])
    np.testing.assert_allclose(kappa[1:], [0.5, 1.0, 1.0, 1.0])


@pytest.mark.parametrize(
    ("threshold", "window", "expected"), [(0.99, 3, 4), (0.8, 3, 3), (0.99, 1, 2), (0.99, 5, None)]
)
def test_stabilizing_predictions_mean_of_last_kappas(threshold, window, expected):
    records = frame(stop_set_predictions=STOP_SET)
    assert StabilizingPredictions(threshold=threshold, window=window).stop_round(records) == expected


def test_stabilizing_predictions_constant_predictions_count_as_agreement():
    records = frame(stop_set_predictions=[[1, 1, 1]] * 4)
    assert StabilizingPredictions().stop_round(records) == 3


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_kappa_agrees_with_scikit_learn_including_degenerate_cases():
    rng = np.random.default_rng(0)
    pairs = [
        (np.zeros(5, int), np.zeros(5, int)),  # one class everywhere: 0/0, both say 1.0
        (np.zeros(5, int), np.ones(5, int)),
        (np.array([0, 1, 0]), np.zeros(3, int)),
        (np.array([2, 2, 2, 2]), np.array([2, 2, 2, 0])),
    ]
    for _ in range(200):
        n_classes, size = rng.integers(1, 6), rng.integers(1, 40)
        first = rng.integers(0, n_classes, size)
        second = np.where(rng.random(size) < 0.7, first, rng.integers(0, n_classes, size))
        pairs.append((first, second))
    for first, second in pairs:
        expected = cohen_kappa_score(first, second, replace_undefined_by=1.0)
        assert successive_kappa(np.stack([first, second]))[1] == pytest.approx(expected, abs=1e-12)


def test_predicted_change_of_f_of_hand_made_rounds():
    # a = 1 (both positive), b = 1, c = 1 -> 1 - 2/4 = 0.5; then no change.
    predictions = np.array([[1, 1, 0, 0], [1, 0, 0, 1], [1, 0, 0, 1], [1, 0, 0, 1]])
    np.testing.assert_allclose(predicted_change_of_f(predictions)[1:], [0.5, 0.0, 0.0])
    records = frame(stop_set_predictions=predictions.tolist())
    assert PredictedChangeOfF(window=2).stop_round(records) == 3
    assert PredictedChangeOfF(window=1).stop_round(records) == 2
    assert PredictedChangeOfF(threshold=0.6, window=1).stop_round(records) == 1


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_predicted_change_of_f_agrees_with_scikit_learn_f1():
    rng = np.random.default_rng(1)
    pairs = [(np.zeros(6, int), np.zeros(6, int)), (np.zeros(4, int), np.ones(4, int))]
    for _ in range(200):
        size = rng.integers(1, 30)
        first = rng.integers(0, 2, size)
        pairs.append((first, np.where(rng.random(size) < 0.8, first, 1 - first)))
    for first, second in pairs:
        for pos_label in (0, 1):
            expected = 1.0 - f1_score(first, second, pos_label=pos_label, zero_division=1.0)
            got = predicted_change_of_f(np.stack([first, second]), pos_label=pos_label)[1]
            assert got == pytest.approx(expected, abs=1e-12)


def test_predicted_change_of_f_rejects_multiclass_runs():
    records = frame(stop_set_predictions=[[0, 1, 2], [0, 1, 2]])
    with pytest.raises(InvalidInputError, match=r"binary tasks only.*\[0, 1, 2\]"):
        PredictedChangeOfF().stop_round(records)


@pytest.mark.parametrize(("max_changed_share", "expected"), [(0.0, 2), (0.34, 1)])
def test_classification_change(max_changed_share, expected):
    records = frame(stop_set_predictions=[[0, 1, 2], [0, 1, 1], [0, 1, 1]])
    assert ClassificationChange(max_changed_share=max_changed_share).stop_round(records) == expected


def test_empty_stop_set_is_a_missing_signal():
    with pytest.raises(MissingSignalError, match="stop_set_size"):
        ClassificationChange().stop_round(frame(stop_set_predictions=[[], []]))


# --- uncertainty and accuracy thresholds ------------------------------------------------------------------


def test_overall_uncertainty_reads_pool_mean_entropy():
    assert OverallUncertainty().stop_round(frame(pool_mean_entropy=[0.5, 0.02, 0.009])) == 2


def test_min_expected_error_reads_pool_mean_uncertainty_strictly_below():
    assert MinExpectedError().stop_round(frame(pool_mean_uncertainty=[0.3, 0.01, 0.0099])) == 2


def test_max_confidence_skips_round_zero():
    records = frame(selected_max_uncertainty=[None, 0.1, 0.0009])
    assert MaxConfidence().stop_round(records) == 2


def test_selected_accuracy_at_or_above_threshold():
    assert SelectedAccuracy().stop_round(frame(selected_accuracy=[None, 0.8, 0.9, 1.0])) == 2


# --- gradient convergence (Laws & Schuetze) -----------------------------------------------------------------


def test_performance_convergence_on_pool_confidence():
    # confidence 0.5 0.7 0.8 0.8 0.8; window-2 means - 0.6 0.75 0.8 0.8; per-label slopes - - 0.015 0.005 0.
    records = frame(n_labeled=[10, 20, 30, 40, 50], pool_mean_uncertainty=[0.5, 0.3, 0.2, 0.2, 0.2])
    assert PerformanceConvergence(window=2).stop_round(records) == 4
    assert PerformanceConvergence(window=2, epsilon=0.01).stop_round(records) == 3


def test_performance_convergence_on_selected_accuracy():
    records = frame(n_labeled=[10, 20, 30, 40], selected_accuracy=[None, 0.6, 0.8, 0.8])
    assert PerformanceConvergence(signal="selected_accuracy", window=1).stop_round(records) == 3


def test_uncertainty_convergence_on_selected_max_uncertainty():
    records = frame(n_labeled=[10, 20, 30, 40], selected_max_uncertainty=[None, 0.5, 0.4, 0.4])
    assert UncertaintyConvergence(window=1).stop_round(records) == 3
    pooled = frame(n_labeled=[10, 20, 30, 40], pool_mean_uncertainty=[0.5, 0.5, 0.4, 0.4])
    assert UncertaintyConvergence(signal="pool_mean_uncertainty", window=1).stop_round(pooled) == 1


# --- confidence variance (Ghayoomi) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variance", "params", "expected"),
    [
        ([0.01, 0.03, 0.05, 0.04, 0.03], {}, 4),
        ([0.01, 0.03, 0.05, 0.04, 0.03], {"n_decreases": 1}, 3),
        ([0.01, 0.03, 0.05, 0.04, 0.03], {"min_decrease": 0.015}, None),
        ([0.01, 0.02, 0.015, 0.03, 0.02, 0.01], {}, 5),
    ],
)
def test_confidence_variance_stops_after_successive_falls(variance, params, expected):
    assert ConfidenceVariance(**params).stop_round(frame(pool_confidence_variance=variance)) == expected


# --- marginal gain from paid labels ------------------------------------------------------------------------------


def test_marginal_gain_per_label():
    records = frame(n_labeled=[10, 20, 30, 40], labeled_cv_accuracy=[0.5, 0.7, 0.75, 0.7502])
    # window 1: gains 0.02, 0.005, 0.00002 per label -> stops at round 3.
    assert MarginalGainPerLabel(window=1).stop_round(records) == 3
    # window 2: (0.75 - 0.5) / 20, (0.7502 - 0.7) / 20 -> never below 1e-4.
    assert MarginalGainPerLabel(window=2).stop_round(records) is None


@pytest.mark.parametrize(
    "records",
    [
        frame(n_labeled=[10, 20], labeled_cv_accuracy=[None, None]),
        frame(n_labeled=[10, 20]),
    ],
)
def test_marginal_gain_without_cross_validation_says_how_to_record_it(records):
    with pytest.raises(MissingSignalError, match=r"'marginal_gain'.*'labeled_cv_accuracy'.*record_cv=True"):
        MarginalGainPerLabel().stop_round(records)


# --- reference rules ------------------------------------------------------------------------------------------------


def test_reference_rules_are_marked_and_read_test_accuracy():
    assert TargetAccuracy.uses_test_labels and OracleOptimalStop.uses_test_labels
    assert not any(
        make_rule(name).uses_test_labels
        for name in available_rules()
        if name not in ("target_accuracy", "oracle_optimal")
    )
    records = frame(accuracy=[0.5, 0.7, 0.85], reference_accuracy=[0.9, 0.9, 0.9])
    assert TargetAccuracy(target=0.8).stop_round(records) == 2
    assert TargetAccuracy(share=0.75).stop_round(records) == 1  # 0.75 * 0.9 = 0.675
    with pytest.raises(MissingSignalError, match="reference_accuracy"):
        TargetAccuracy().stop_round(records.drop("reference_accuracy"))


def test_oracle_optimal_stop_minimises_total_cost():
    # C = labels + (1 - accuracy) * 1000: 310, 220, 229.5.
    records = frame(n_labeled=[10, 20, 30], accuracy=[0.7, 0.8, 0.8005])
    assert OracleOptimalStop(predictions=1000).stop_round(records) == 1
    assert OracleOptimalStop(predictions=1e6).stop_round(records) == 2


# --- interface, registry and errors -----------------------------------------------------------------------------------


def test_registry_holds_every_rule_with_its_signals():
    expected = {
        "label_budget",
        "cost_budget",
        "pool_share_budget",
        "stabilizing_predictions",
        "classification_change",
        "overall_uncertainty",
        "min_expected_error",
        "max_confidence",
        "selected_accuracy",
        "performance_convergence",
        "uncertainty_convergence",
        "confidence_variance",
        "predicted_change_of_f",
        "marginal_gain",
        "target_accuracy",
        "oracle_optimal",
    }
    assert set(available_rules()) == expected
    for name in expected:
        rule = make_rule(name)
        assert isinstance(rule, StoppingRule) and rule.name == name and rule.required_signals
        if not (name.endswith("budget") or rule.uses_test_labels or name == "marginal_gain"):
            assert re.search(r"\(\d{4}\)", type(rule).__doc__ or ""), f"{name} cites no paper"


def test_make_rule_errors_name_the_choices():
    with pytest.raises(InvalidParameterError, match=r"'rule' parameter.*stabilizing_predictions.*Got 'kappa'"):
        make_rule("kappa")
    with pytest.raises(InvalidParameterError, match=r"no parameter 'k'.*threshold, window"):
        make_rule("stabilizing_predictions", k=3)


@pytest.mark.parametrize(
    ("rule", "pattern"),
    [
        (
            StabilizingPredictions(window=0),
            r"'window' parameter of StabilizingPredictions must be an int >= 1. Got 0",
        ),
        (StabilizingPredictions(threshold=1.5), r"'threshold' .* a float in \[-1, 1\]. Got 1.5"),
        (PredictedChangeOfF(threshold=0.0), r"'threshold' .* \(0, 1\]. Got 0.0"),
        (ClassificationChange(max_changed_share=1.0), r"'max_changed_share' .* \[0, 1\). Got 1.0"),
        (MinExpectedError(threshold=1.5), r"'threshold' .* \[0, 1\]"),
        (OverallUncertainty(threshold=-0.1), r"'threshold' .* Got -0.1"),
        (MaxConfidence(threshold=float("nan")), r"'threshold' .* Got nan"),
        (SelectedAccuracy(threshold=2), r"'threshold' .* Got 2"),
        (PerformanceConvergence(window=0), r"'window' .* Got 0"),
        (
            PerformanceConvergence(signal="accuracy"),
            r"'signal' .* \['pool_confidence', 'selected_accuracy'\]. Got 'accuracy'",
        ),
        (UncertaintyConvergence(epsilon=0.0), r"'epsilon' .* Got 0.0"),
        (ConfidenceVariance(n_decreases=0), r"'n_decreases' .* Got 0"),
        (MarginalGainPerLabel(window=0), r"'window' .* Got 0"),
        (MarginalGainPerLabel(threshold=-1e-3), r"'threshold'"),
        (LabelBudget(max_labels=2.5), r"'max_labels' .* an int .* Got 2.5"),
        (LabelBudget(max_labels=True), r"'max_labels' .* Got True"),
        (CostBudget(max_cost=0), r"'max_cost' .* \(0, inf\). Got 0"),
        (PoolShareBudget(share=1.5), r"'share' .* \(0, 1\]. Got 1.5"),
        (TargetAccuracy(target=1.2), r"'target' .* Got 1.2"),
        (OracleOptimalStop(predictions=-1), r"'predictions' .* Got -1"),
    ],
)
def test_bad_parameters_get_clear_errors(rule, pattern):
    records = frame(
        n_labeled=[10, 20],
        n_unlabeled=[5, 4],
        cost=[1.0, 2.0],
        accuracy=[0.5, 0.6],
        stop_set_predictions=[[0, 1], [0, 1]],
    )
    with pytest.raises(InvalidParameterError, match=pattern):
        rule.stop_round(records)


def test_missing_signal_names_rule_column_and_remedy():
    with pytest.raises(MissingSignalError, match=r"'stabilizing_predictions'.*'stop_set_predictions'.*stop_set_size"):
        StabilizingPredictions().stop_round(frame(n_labeled=[10, 20]))


def test_records_must_be_one_run_as_polars():
    with pytest.raises(InvalidInputError, match="several runs"):
        LabelBudget().stop_round(pl.DataFrame({"round": [0, 0], "n_labeled": [1, 2]}))
    with pytest.raises(InvalidDtypeError, match=r"polars.DataFrame"):
        LabelBudget().stop_round({"round": [0], "n_labeled": [1]})
    with pytest.raises(InvalidInputError, match="empty"):
        LabelBudget().stop_round(pl.DataFrame({"round": [], "n_labeled": []}))


def test_rows_in_any_order_give_the_same_stop():
    records = frame(n_labeled=[10, 20, 30, 40, 50], pool_mean_uncertainty=[0.5, 0.3, 0.2, 0.2, 0.2])
    shuffled = records.sample(fraction=1.0, shuffle=True, seed=3)
    assert PerformanceConvergence(window=2).stop_round(shuffled) == 4
    flags = PerformanceConvergence(window=2).stop_flags(shuffled)
    assert flags["round"].to_list() == [0, 1, 2, 3, 4] and flags["stop"].to_list() == [False, False, False, False, True]
