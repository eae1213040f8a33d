"""Learning-curve metrics against values worked out by hand on tiny frames."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from results_factory import frame_from_curves, synthetic_results
from scipy import stats as sps

from alsim import metrics
from alsim.exceptions import InvalidDtypeError, InvalidInputError, InvalidParameterError, MissingSignalError


def _two_seed_frame() -> pl.DataFrame:
    return frame_from_curves(
        {
            ("iris", "random", 0): [0.5, 0.6, 0.7, 0.8],
            ("iris", "random", 1): [0.6, 0.7, 0.8, 0.9],
        }
    )


def test_learning_curve_mean_and_band_match_scipy_t_interval():
    curves = metrics.learning_curves(_two_seed_frame())
    assert curves.get_column("n_labeled").to_list() == [10.0, 20.0, 30.0, 40.0]
    np.testing.assert_allclose(curves.get_column("mean").to_numpy(), [0.55, 0.65, 0.75, 0.85])
    sem = np.std([0.5, 0.6], ddof=1) / math.sqrt(2)
    low, high = sps.t.interval(0.95, 1, loc=0.55, scale=sem)
    assert curves.row(0, named=True)["ci_low"] == pytest.approx(low)
    assert curves.row(0, named=True)["ci_high"] == pytest.approx(high)
    # 12.706 * 0.0707 / sqrt(2): with two seeds the band is wide, as it should be.
    assert high - low == pytest.approx(2 * 12.7062 * 0.05, rel=1e-4)
    assert set(curves.get_column("n_seeds").to_list()) == {2}


def test_learning_curve_confidence_level_changes_width():
    wide = metrics.learning_curves(_two_seed_frame(), confidence=0.99).row(0, named=True)
    narrow = metrics.learning_curves(_two_seed_frame(), confidence=0.5).row(0, named=True)
    assert wide["ci_high"] - wide["ci_low"] > narrow["ci_high"] - narrow["ci_low"]


def test_learning_curves_interpolate_different_label_grids_on_the_common_range():
    frame = frame_from_curves(
        {("iris", "margin", 0): [0.5, 0.7, 0.9, 0.9], ("iris", "margin", 1): [0.5, 0.8, 0.8, 1.0]},
        labels={("iris", "margin", 0): [10, 20, 30, 40], ("iris", "margin", 1): [10, 25, 40, 50]},
    )
    curves = metrics.learning_curves(frame)
    # Union of label counts inside [10, 40], the range both seeds cover (50 only seed 1 reached).
    assert curves.get_column("n_labeled").to_list() == [10.0, 20.0, 25.0, 30.0, 40.0]
    # Seed 1 at 20 labels: 0.5 + (0.8 - 0.5) * 10 / 15 = 0.7; seed 0 at 25 labels: 0.8.
    np.testing.assert_allclose(curves.get_column("mean").to_numpy(), [0.5, 0.7, 0.8, 0.85, 0.85])


def test_cost_curves_use_the_union_of_recorded_costs_in_the_common_range():
    frame = frame_from_curves(
        {("iris", "margin", 0): [0.5, 0.7, 0.9], ("iris", "margin", 1): [0.5, 0.6, 0.8]},
        labels=(10, 20, 30),
        costs={("iris", "margin", 0): [10.0, 20.0, 30.0], ("iris", "margin", 1): [10.0, 30.0, 50.0]},
    )
    curves = metrics.learning_curves(frame, x="cost")
    np.testing.assert_allclose(curves.get_column("cost").to_numpy(), [10, 20, 30])
    # At cost 20: seed 0 is at 0.7, seed 1 halfway between 0.5 and 0.6; at 30 seed 1 is at 0.6.
    np.testing.assert_allclose(curves.get_column("mean").to_numpy(), [0.5, (0.7 + 0.55) / 2, 0.75])


def test_single_seed_gives_null_bands_and_a_warning_never_nan():
    frame = frame_from_curves({("iris", "random", 0): [0.5, 0.6, 0.7, 0.8]})
    with pytest.warns(metrics.FewSeedsWarning, match="single seed"):
        curves = metrics.learning_curves(frame)
    assert curves.get_column("ci_low").null_count() == 4
    assert curves.get_column("std").null_count() == 4
    assert not curves.get_column("mean").is_nan().any()


def test_constant_curves_have_zero_width_bands_not_nan():
    frame = frame_from_curves(
        {("iris", "random", 0): [0.7, 0.7, 0.7, 0.7], ("iris", "random", 1): [0.7, 0.7, 0.7, 0.7]}
    )
    curves = metrics.learning_curves(frame)
    assert curves.get_column("ci_low").to_list() == pytest.approx([0.7] * 4)
    assert curves.get_column("ci_high").to_list() == pytest.approx([0.7] * 4)


def test_aulc_is_trapezoid_area_over_the_label_range():
    frame = frame_from_curves({("iris", "random", 0): [0.5, 0.7, 0.9]}, labels=(10, 20, 30))
    value = metrics.aulc(frame).row(0, named=True)
    # (10 * 0.6 + 10 * 0.8) / (30 - 10)
    assert value["aulc"] == pytest.approx(0.7)
    assert (value["x_low"], value["x_high"]) == (10.0, 30.0)


def test_aulc_uses_the_range_every_strategy_covers():
    frame = frame_from_curves(
        {("iris", "random", 0): [0.5, 0.7, 0.9], ("iris", "margin", 0): [0.5, 0.9]},
        labels={("iris", "random", 0): [10, 20, 30], ("iris", "margin", 0): [10, 20]},
    )
    per_run = metrics.aulc(frame).sort("strategy")
    assert per_run.get_column("aulc").to_list() == pytest.approx([0.7, 0.6])  # margin, random on [10, 20]
    assert set(per_run.get_column("x_high").to_list()) == {20.0}


def test_aulc_relative_to_reference_and_over_cost():
    frame = frame_from_curves(
        {("iris", "random", 0): [0.45, 0.45, 0.9]},
        labels=(10, 20, 30),
        costs={("iris", "random", 0): [0.0, 30.0, 40.0]},
        reference=0.9,
    )
    assert metrics.aulc(frame, relative_to_reference=True).item(0, "aulc") == pytest.approx(0.5625 / 0.9)
    # Over cost: 30 units at 0.45 and 10 units rising to 0.9 -> (13.5 + 6.75) / 40.
    assert metrics.aulc(frame, x="cost").item(0, "aulc") == pytest.approx(20.25 / 40)


def test_aulc_without_a_range_is_an_error():
    frame = frame_from_curves({("iris", "random", 0): [0.5]}, labels=(10,))
    with pytest.raises(InvalidInputError, match="Run more rounds"):
        metrics.aulc(frame)


def test_labels_to_target_reports_first_round_and_null_when_never_reached():
    frame = frame_from_curves(
        {("iris", "margin", 0): [0.5, 0.86, 0.85, 0.9], ("iris", "random", 0): [0.5, 0.6, 0.7, 0.8]},
        costs={("iris", "margin", 0): [5.0, 12.0, 20.0, 31.0], ("iris", "random", 0): [10.0, 20.0, 30.0, 40.0]},
        reference=0.9,
    )
    out = metrics.labels_to_target(frame).sort("strategy", "fraction")
    margin_95, margin_99, random_95, random_99 = out.iter_rows(named=True)
    assert margin_95["target"] == pytest.approx(0.855)
    assert (margin_95["reached"], margin_95["labels_to_target"], margin_95["cost_to_target"]) == (True, 20, 12.0)
    assert (margin_99["labels_to_target"], margin_99["cost_to_target"]) == (40, 31.0)
    for never in (random_95, random_99):
        assert never["reached"] is False
        assert never["labels_to_target"] is None and never["cost_to_target"] is None


def test_savings_in_labels_and_cost_against_random():
    frame = frame_from_curves(
        {
            ("iris", "random", 0): [0.5, 0.6, 0.8, 0.86],
            ("iris", "random", 1): [0.5, 0.6, 0.8, 0.86],
            ("iris", "margin", 0): [0.5, 0.86, 0.87, 0.88],
            ("iris", "margin", 1): [0.5, 0.86, 0.87, 0.88],
        },
        costs={
            ("iris", "random", 0): [10.0, 20.0, 30.0, 40.0],
            ("iris", "random", 1): [10.0, 20.0, 30.0, 40.0],
            ("iris", "margin", 0): [10.0, 14.0, 20.0, 31.0],
            ("iris", "margin", 1): [10.0, 10.0, 24.0, 35.0],
        },
        reference=0.9,
    )
    out = metrics.savings(frame, fractions=[0.95, 0.99]).sort("strategy", "fraction")
    margin_95 = out.row(0, named=True)
    assert (margin_95["labels_to_target"], margin_95["baseline_labels_to_target"]) == (20, 40)
    assert margin_95["label_savings_pct"] == pytest.approx(50.0)
    # Margin's cost grid is the union of its seeds' costs inside [10, 31]: 10, 14, 20, 24, 31 (seed 1's
    # two rounds at cost 10 collapse to the later one, 0.86). At 10 the mean is (0.5 + 0.86) / 2 = 0.68;
    # at 14 it is (0.86 + 0.8629) / 2 >= 0.855, the first cost reaching the target.
    assert margin_95["cost_to_target"] == pytest.approx(14.0)
    assert margin_95["baseline_cost_to_target"] == pytest.approx(40.0)
    assert margin_95["cost_savings_pct"] == pytest.approx(65.0)
    margin_99 = out.row(1, named=True)
    assert margin_99["reached_labels"] is False and margin_99["label_savings_pct"] is None
    random_95 = out.filter(pl.col("strategy") == "random", pl.col("fraction") == 0.95).row(0, named=True)
    assert random_95["label_savings_pct"] == 0.0


def test_deficiency_is_the_ratio_of_summed_gaps_to_full_pool_accuracy():
    frame = frame_from_curves(
        {("iris", "random", 0): [0.5, 0.6, 0.7, 0.8], ("iris", "margin", 0): [0.5, 0.8, 0.85, 0.9]},
        reference=0.9,
    )
    out = metrics.deficiency(frame).sort("strategy")
    # margin gaps 0.4 + 0.1 + 0.05 + 0 = 0.55, random gaps 0.4 + 0.3 + 0.2 + 0.1 = 1.0
    assert out.get_column("deficiency").to_list() == pytest.approx([0.55, 1.0])
    assert out.get_column("n_points").to_list() == [4, 4]


def test_deficiency_is_null_with_a_warning_when_random_has_no_gap():
    frame = frame_from_curves(
        {("iris", "random", 0): [0.9, 0.95], ("iris", "margin", 0): [0.8, 0.95]},
        labels=(10, 20),
        reference=0.9,
    )
    with pytest.warns(UserWarning, match="undefined"):
        out = metrics.deficiency(frame)
    assert out.get_column("deficiency").null_count() == 2


def test_full_pool_reference_is_a_mean_over_cells_not_rounds():
    # Seed 0 ran 4 rounds with reference 0.8, seed 1 ran 2 with reference 1.0: the mean is 0.9 per cell
    # (a mean over record rows would give (4 * 0.8 + 2 * 1.0) / 6 = 0.867).
    curves = {
        ("iris", "random", 0): [0.5, 0.6, 0.7, 0.8],
        ("iris", "random", 1): [0.5, 0.6],
        ("iris", "margin", 0): [0.5, 0.8, 0.85, 0.9],
        ("iris", "margin", 1): [0.5, 0.8],
    }
    labels = {key: (10, 20, 30, 40)[: len(values)] for key, values in curves.items()}
    frame = frame_from_curves(curves, labels=labels).with_columns(
        reference_accuracy=pl.when(pl.col("seed") == 0).then(0.8).otherwise(1.0)
    )
    assert metrics.deficiency(frame).get_column("acc_max").to_list() == pytest.approx([0.9, 0.9])
    assert metrics.savings(frame, fractions=[0.5]).get_column("target").to_list() == pytest.approx([0.45, 0.45])


def test_full_pool_reference_is_only_compared_with_accuracy():
    # reference_accuracy is an accuracy: a macro-F1 gap to it would mix two metrics.
    frame = frame_from_curves(
        {("iris", "random", 0): [0.5, 0.6, 0.7, 0.8], ("iris", "margin", 0): [0.5, 0.8, 0.85, 0.9]},
        reference=0.9,
    )
    with pytest.raises(InvalidParameterError, match="'metric' parameter of deficiency must be 'accuracy'"):
        metrics.deficiency(frame, metric="macro_f1")
    with pytest.raises(InvalidParameterError, match="'metric' parameter of aulc must be 'accuracy' with relative"):
        metrics.aulc(frame, metric="balanced_accuracy", relative_to_reference=True)
    for func in (metrics.labels_to_target, metrics.savings):
        with pytest.raises(InvalidParameterError, match=f"'metric' parameter of {func.__name__} must be 'accuracy'"):
            func(frame, metric="macro_f1")


def test_savings_and_deficiency_name_the_missing_baseline():
    frame = frame_from_curves({("iris", "margin", 0): [0.5, 0.6, 0.7, 0.8]})
    for func in (metrics.savings, metrics.deficiency):
        with pytest.raises(InvalidInputError, match=r"'random'.*Add 'random' to the experiment"):
            func(frame)
    with pytest.raises(InvalidInputError, match="'uniform'"):
        metrics.savings(frame, baseline="uniform")


def test_bad_input_is_named():
    frame = _two_seed_frame()
    with pytest.raises(InvalidInputError, match=r"\['reference_accuracy'\]"):
        metrics.aulc(frame.drop("reference_accuracy"))
    with pytest.raises(MissingSignalError, match=r"\['macro_f1'\]"):
        metrics.learning_curves(frame.drop("macro_f1"), metric="macro_f1")
    with pytest.raises(InvalidDtypeError, match=r"polars.DataFrame"):
        metrics.aulc(frame.to_pandas())
    with pytest.raises(InvalidInputError, match=r"'accuracy' column.*2 null or NaN"):
        metrics.aulc(
            frame.with_columns(
                pl.when(pl.col("round") == 2).then(float("nan")).otherwise(pl.col("accuracy")).alias("accuracy")
            )
        )
    with pytest.raises(InvalidInputError, match="empty"):
        metrics.aulc(frame.clear())
    with pytest.raises(InvalidParameterError, match="'metric' parameter of aulc must be one of"):
        metrics.aulc(frame, metric="f1")
    with pytest.raises(InvalidParameterError, match="'fractions'"):
        metrics.labels_to_target(frame, fractions=[1.5])
    clash = pl.concat([frame, frame.with_columns(pl.col("cell_id") + "-noisy")])
    with pytest.raises(InvalidInputError, match="several cells"):
        metrics.aulc(clash)


def test_summarize_over_seeds_matches_numpy():
    per_run = metrics.aulc(synthetic_results(datasets=("iris",), seeds=(0, 1, 2)))
    summary = metrics.summarize_over_seeds(per_run, "aulc").filter(pl.col("strategy") == "margin")
    values = per_run.filter(pl.col("strategy") == "margin").get_column("aulc").to_numpy()
    row = summary.row(0, named=True)
    assert row["mean"] == pytest.approx(values.mean())
    assert row["std"] == pytest.approx(values.std(ddof=1))
    assert row["n_seeds"] == 3
    low, high = sps.t.interval(0.95, 2, loc=values.mean(), scale=sps.sem(values))
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))


def test_outputs_keep_input_key_dtypes_and_are_deterministic():
    frame = synthetic_results(datasets=("iris", "wine"), seeds=(0, 1))
    first = metrics.learning_curves(frame, x="cost")
    assert first.schema["batch_size"] == pl.Int64
    assert first.equals(metrics.learning_curves(frame.reverse(), x="cost"))


@settings(max_examples=40, deadline=None)
@given(
    accuracy=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=12),
    steps=st.lists(st.integers(1, 20), min_size=11, max_size=11),
)
def test_aulc_is_the_mean_height_of_the_curve(accuracy, steps):
    labels = np.concatenate([[5], 5 + np.cumsum(steps[: len(accuracy) - 1])])
    frame = frame_from_curves({("iris", "random", 0): accuracy}, labels=labels.tolist())
    value = metrics.aulc(frame).item(0, "aulc")
    assert min(accuracy) - 1e-12 <= value <= max(accuracy) + 1e-12
    assert value == pytest.approx(np.trapezoid(accuracy, labels) / (labels[-1] - labels[0]))
