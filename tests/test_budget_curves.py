"""Learning-curve families, extrapolation weighting and the labels-to-target bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from alsim.budget.curves import (
    CURVE_FAMILIES,
    bootstrap_labels_to_target,
    fit_family,
    fit_learning_curve,
)
from alsim.exceptions import InvalidInputError, InvalidParameterError

N = np.arange(20.0, 520.0, 20.0)


def _pow3(n: np.ndarray) -> np.ndarray:
    return 0.92 - 0.6 * n**-0.45


@pytest.mark.parametrize(
    ("family", "truth", "asymptote"),
    [
        ("pow3", _pow3, 0.92),
        ("pow4", lambda n: 0.9 - 0.8 * (n / 500 + 0.05) ** -0.5 * 0.1, 0.9),
        ("mmf4", lambda n: (0.2 * 0.5 + 0.9 * (n / 500) ** 1.2) / (0.5 + (n / 500) ** 1.2), 0.9),
        ("wbl4", lambda n: 0.88 - (0.88 - 0.3) * np.exp(-((n / 150) ** 0.8)), 0.88),
    ],
)
def test_each_family_recovers_its_own_noiseless_curve(family, truth, asymptote):
    fitted = fit_family(family, N, truth(N))
    assert fitted is not None
    assert fitted.rmse < 1e-3
    assert fitted.asymptote == pytest.approx(asymptote, abs=0.02)
    np.testing.assert_allclose(fitted.predict(N), truth(N), atol=2e-3)


def test_weights_follow_extrapolation_error_and_sum_to_one():
    model = fit_learning_curve(N, _pow3(N))
    assert set(model.families) <= set(CURVE_FAMILIES)
    assert sum(model.weights) == pytest.approx(1.0)
    best_family = min(model.extrapolation_rmse, key=model.extrapolation_rmse.get)
    heaviest = model.families[int(np.argmax(model.weights))]
    assert heaviest == best_family
    only_best = fit_learning_curve(N, _pow3(N), combine="best")
    assert only_best.families == (best_family,)


def test_labels_to_reach_inverts_the_curve():
    model = fit_learning_curve(N, _pow3(N), families=["pow3"])
    n_star = model.labels_to_reach(0.89, n_max=1e6)
    true_n = ((0.92 - 0.89) / 0.6) ** (-1 / 0.45)
    assert n_star == pytest.approx(true_n, rel=0.1)
    assert model.predict(n_star) >= 0.89 > model.predict(n_star - 2)
    assert model.labels_to_reach(0.999, n_max=1e6) == float("inf")


def test_bootstrap_inside_observed_range_reads_the_curve():
    rng = np.random.default_rng(1)
    scores = _pow3(N) + rng.normal(0, 0.005, (8, N.size))
    result = bootstrap_labels_to_target(N, scores, 0.85, n_max=1e5, n_boot=50, random_state=0)
    assert not result.extrapolated
    assert result.p_extrapolated == 0.0
    assert result.p_unreachable == 0.0
    assert result.interval_95[0] <= result.interval_80[0] <= result.median
    assert result.median <= result.interval_80[1] <= result.interval_95[1]
    true_n = ((0.92 - 0.85) / 0.6) ** (-1 / 0.45)
    assert abs(result.median - true_n) < 40


def test_bootstrap_beyond_observed_range_extrapolates_and_flags_unreachable():
    rng = np.random.default_rng(2)
    early = N[:10]
    scores = _pow3(early) + rng.normal(0, 0.003, (6, early.size))
    reachable = bootstrap_labels_to_target(early, scores, 0.88, n_max=1e5, n_boot=40, random_state=0)
    assert reachable.extrapolated and reachable.p_extrapolated == 1.0
    assert reachable.median > early.max()
    out_of_reach = bootstrap_labels_to_target(early, scores, 0.99, n_max=1e5, n_boot=40, random_state=0)
    assert out_of_reach.p_unreachable > 0.9
    assert out_of_reach.median == float("inf")


def test_bootstrap_is_reproducible_with_a_seed():
    rng = np.random.default_rng(3)
    scores = _pow3(N) + rng.normal(0, 0.01, (5, N.size))
    a = bootstrap_labels_to_target(N, scores, 0.9, n_max=1e5, n_boot=30, random_state=7)
    b = bootstrap_labels_to_target(N, scores, 0.9, n_max=1e5, n_boot=30, random_state=7)
    np.testing.assert_array_equal(a.samples, b.samples)


def test_bootstrap_replicates_resample_the_same_seeds_whatever_else_they_draw():
    # estimate_budget compares strategies replicate by replicate: the seeds resampled in replicate b must
    # not depend on how many family draws earlier replicates made (a band forces one in every replicate).
    rng = np.random.default_rng(4)
    scores = _pow3(N) + rng.normal(0, 0.01, (6, N.size))
    plain = bootstrap_labels_to_target(N, scores, 0.85, n_max=1e5, n_boot=30, random_state=5)
    banded = bootstrap_labels_to_target(
        N, scores, 0.85, n_max=1e5, n_boot=30, band_grid=np.geomspace(10, 1e4, 5), random_state=5
    )
    assert plain.p_extrapolated == 0.0
    np.testing.assert_array_equal(plain.samples, banded.samples)


@pytest.mark.parametrize(
    ("n_labels", "scores", "match"),
    [
        ([1, 2], [0.5, 0.6], "at least 3 points"),
        ([1, 2, 3], [0.5, np.nan, 0.7], "NaN"),
        ([3, 2, 1], [0.5, 0.6, 0.7], "strictly increasing"),
        ([1, 2, 3], [0.5, 0.6], "same length"),
    ],
)
def test_bad_curves_are_rejected(n_labels, scores, match):
    with pytest.raises(InvalidInputError, match=match):
        fit_learning_curve(n_labels, scores)


def test_bad_parameters_name_themselves():
    with pytest.raises(InvalidParameterError, match="'families'"):
        fit_learning_curve(N, _pow3(N), families=["cubic"])
    with pytest.raises(InvalidParameterError, match="'holdout'"):
        fit_learning_curve(N, _pow3(N), holdout=1.5)
    with pytest.raises(InvalidParameterError, match="'n_max'"):
        bootstrap_labels_to_target(N, _pow3(N)[None, :], 0.9, n_max=10)
    with pytest.raises(InvalidParameterError, match="'n_boot'"):
        bootstrap_labels_to_target(N, _pow3(N)[None, :], 0.9, n_max=1e5, n_boot=0)
