"""Stream building blocks: arrival orders, budget manager, stream strategies, drift detectors."""

from __future__ import annotations

import numpy as np
import pytest

from alsim.exceptions import InvalidInputError, InvalidParameterError
from alsim.stream import (
    BudgetManager,
    DriftDetector,
    make_arrival_order,
    make_drift_detector,
    make_stream_strategy,
)
from alsim.stream.orders import ORDERS
from alsim.stream.strategies import (
    FixedUncertainty,
    RandomizedVariableUncertainty,
    RandomStream,
    SplitStrategy,
    VariableUncertainty,
)


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Four Gaussian blobs (one per class) on a line, 400 examples each."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 400)
    X = np.column_stack([y * 3.0 + rng.normal(size=y.size), rng.normal(size=y.size)])
    return X, y


# -- arrival orders ------------------------------------------------------------------------------------
@pytest.mark.parametrize("order", ORDERS)
def test_order_is_a_seeded_permutation(blobs, order):
    X, y = blobs
    first = make_arrival_order(X, y, order, random_state=3)
    again = make_arrival_order(X, y, order, random_state=3)
    other = make_arrival_order(X, y, order, random_state=4)
    assert np.array_equal(np.sort(first.indices), np.arange(y.size))
    assert np.array_equal(first.indices, again.indices)
    assert not np.array_equal(first.indices, other.indices)
    assert first.indices.dtype == np.int64


def _share_of_majority_group(y_arrived: np.ndarray, group: np.ndarray) -> float:
    return float(np.isin(y_arrived, group).mean())


@pytest.mark.parametrize("order", ["abrupt_class", "gradual_class"])
def test_class_orders_flip_the_class_balance_at_the_drift(blobs, order):
    X, y = blobs
    arrival = make_arrival_order(X, y, order, drift_position=0.5, dominance=0.9, random_state=1)
    y_arrived = y[arrival.indices]
    drift = arrival.drift_position
    assert drift == y.size // 2
    early, late = y_arrived[: drift // 2], y_arrived[drift + drift // 2 :]
    group_a = np.unique(y[arrival.indices[arrival.phase == 0]], return_counts=True)
    majority = group_a[0][np.argsort(group_a[1])[-2:]]  # the two classes that dominate phase 0
    assert _share_of_majority_group(early, majority) == pytest.approx(0.9, abs=0.05)
    assert _share_of_majority_group(late, majority) == pytest.approx(0.1, abs=0.05)


def test_abrupt_class_switches_exactly_at_the_drift(blobs):
    X, y = blobs
    arrival = make_arrival_order(X, y, "abrupt_class", drift_position=0.25, random_state=2)
    assert arrival.drift_position == 400
    assert np.all(arrival.phase[:400] == 0) and np.all(arrival.phase[400:] == 1)


def test_gradual_class_mixes_over_the_window(blobs):
    X, y = blobs
    arrival = make_arrival_order(X, y, "gradual_class", drift_position=0.5, drift_width=0.5, random_state=2)
    width, centre = arrival.drift_width, arrival.drift_position
    assert width == 800
    before = arrival.phase[: centre - width // 2]
    middle = arrival.phase[centre - width // 4 : centre + width // 4]
    after = arrival.phase[centre + width // 2 :]
    assert before.mean() == 0.0 and after.mean() == 1.0
    assert 0.3 < middle.mean() < 0.7


@pytest.mark.parametrize("order", ["abrupt_feature", "gradual_feature"])
def test_feature_orders_move_through_feature_space(blobs, order):
    X, y = blobs
    arrival = make_arrival_order(X, y, order, random_state=5)
    x_arrived = X[arrival.indices, 0]  # the blobs lie along feature 0, the first principal axis
    early, late = x_arrived[:400].mean(), x_arrived[-400:].mean()
    assert abs(early - late) > 5.0  # the two ends of the axis are about 9 apart
    low_classes = [0, 1] if early < late else [2, 3]
    assert np.isin(y[arrival.indices[:400]], low_classes).mean() > 0.95
    assert np.isin(y[arrival.indices[-400:]], low_classes).mean() < 0.05


def test_shuffle_does_not_drift(blobs):
    X, y = blobs
    arrival = make_arrival_order(X, y, "shuffle", random_state=0)
    assert arrival.drift_position is None
    halves = np.split(y[arrival.indices], 2)
    assert np.abs(np.bincount(halves[0]) - np.bincount(halves[1])).max() < 60


def test_order_errors(blobs):
    X, y = blobs
    with pytest.raises(InvalidParameterError, match=r"'order'.*abrupt_class.*shuffle.*Got 'sudden'"):
        make_arrival_order(X, y, "sudden")
    with pytest.raises(InvalidParameterError, match=r"'drift_position'.*Got 1.5"):
        make_arrival_order(X, y, "abrupt_class", drift_position=1.5)
    with pytest.raises(InvalidParameterError, match=r"'dominance'.*\(0.5, 1\]"):
        make_arrival_order(X, y, "abrupt_class", dominance=0.4)
    with pytest.raises(InvalidInputError, match="at least 2 classes"):
        make_arrival_order(X, np.zeros(y.size, dtype=int), "abrupt_class")
    with pytest.raises(InvalidInputError, match="shape"):
        make_arrival_order(X, y[:-1], "shuffle")


# -- budget manager ------------------------------------------------------------------------------------
def _run_budget(manager: BudgetManager, n: int, wants: np.ndarray) -> np.ndarray:
    bought = np.zeros(n, dtype=bool)
    for t in range(n):
        manager.arrive()
        if wants[t] and manager.allowance() >= 1:
            manager.spend(1)
            bought[t] = True
    return bought


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.3])
def test_budget_holds_the_share_near_the_target(fraction):
    n = 20_000
    bought = _run_budget(BudgetManager(fraction, window=100), n, np.ones(n, dtype=bool))
    assert bought.mean() == pytest.approx(fraction, rel=0.03)
    # held over every window of 1000 arrivals, not just on average
    windows = bought.reshape(-1, 1000).mean(axis=1)
    assert np.all(np.abs(windows - fraction) <= 0.1 * fraction + 0.002)


def test_budget_with_a_picky_strategy_spends_less():
    rng = np.random.default_rng(0)
    wants = rng.random(10_000) < 0.03
    bought = _run_budget(BudgetManager(0.1), 10_000, wants)
    assert bought.sum() == pytest.approx(wants.sum(), rel=0.05)  # never the binding constraint here


def test_budget_boost_raises_the_rate_then_repays_it():
    n = 9000
    manager = BudgetManager(0.1, window=100, boost_factor=3.0, boost_period=500, payback_rate=0.5)
    bought = np.zeros(n, dtype=bool)
    for t in range(n):
        if t == 2000:
            manager.boost()
        manager.arrive()
        if manager.allowance() >= 1:
            manager.spend(1)
            bought[t] = True
    # the estimate jumps from B w to 3 B w at once (20 labels), then the rate holds at 3 B
    assert 0.3 <= bought[2000:2500].mean() <= 0.3 + 22 / 500
    assert bought[2600:3000].mean() == pytest.approx(0.05, abs=0.02)
    # about 120 extra labels, repaid at 0.05 per arrival: back to the base rate after ~2,200 arrivals
    assert bought[3000:4500].mean() == pytest.approx(0.05, abs=0.01)
    assert bought[5500:].mean() == pytest.approx(0.1, abs=0.01)
    fixed = _run_budget(BudgetManager(0.1, window=100), n, np.ones(n, dtype=bool))
    assert bought.sum() == fixed.sum()  # repaid to the label, burst back to the base rate included
    assert manager.debt == 0 and not manager.boosting


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget_fraction": 0.0}, "'budget_fraction'.*\\(0, 1\\]. Got 0.0"),
        ({"budget_fraction": 1.2}, "'budget_fraction'.*Got 1.2"),
        ({"budget_fraction": 0.1, "window": 0}, "'window'.*int >= 1"),
        ({"budget_fraction": 0.1, "boost_factor": 0.5}, "'boost_factor'"),
        ({"budget_fraction": 0.1, "payback_rate": 1.0}, "'payback_rate'"),
    ],
)
def test_budget_errors(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        BudgetManager(**kwargs)


@pytest.mark.parametrize("n_labels", [-1, 1.5, True])
def test_budget_spend_takes_a_count_of_labels(n_labels):
    manager = BudgetManager(0.1)
    with pytest.raises(InvalidParameterError, match=r"'n_labels' parameter of BudgetManager.spend must be an int >= 0"):
        manager.spend(n_labels)
    assert manager.n_bought == 0


# -- strategies on a synthetic scored stream -----------------------------------------------------------
def _binary(confidences: np.ndarray) -> np.ndarray:
    return np.column_stack([confidences, 1.0 - confidences])


def test_fixed_uncertainty_labels_exactly_below_the_threshold():
    confidences = np.linspace(0.5, 1.0, 101)
    strategy = FixedUncertainty(threshold=0.8)
    rng = np.random.default_rng(0)
    decisions = np.array([strategy.query(p, 0.1, rng) for p in _binary(confidences)])
    assert np.array_equal(decisions, confidences < 0.8)


def test_variable_uncertainty_moves_its_threshold_by_the_step():
    strategy = VariableUncertainty(step=0.01)
    rng = np.random.default_rng(0)
    assert strategy.query(np.array([0.6, 0.4]), 0.1, rng)  # 0.6 < 1.0: label, threshold shrinks
    assert strategy.threshold == pytest.approx(0.99)
    assert not strategy.query(np.array([0.995, 0.005]), 0.1, rng)  # above: skip, threshold grows
    assert strategy.threshold == pytest.approx(0.99 * 1.01)


def test_variable_uncertainty_settles_on_the_least_confident_share():
    rng = np.random.default_rng(1)
    confidences = rng.uniform(0.5, 1.0, 20_000)
    strategy = VariableUncertainty(step=0.01)
    decisions = np.array([strategy.query(p, 0.1, rng) for p in _binary(confidences)])
    # multiplicative steps of equal size up and down balance where P(label) = 1/2 ... of a random walk;
    # what matters: it labels the less confident examples and keeps labelling in every stretch
    assert confidences[decisions].mean() < confidences[~decisions].mean()
    assert decisions.reshape(20, -1).mean(axis=1).min() > 0.2


def test_randomized_variable_uncertainty_sometimes_labels_confident_examples():
    rng = np.random.default_rng(2)
    confident = _binary(np.full(5000, 0.97))
    plain, randomized = VariableUncertainty(), RandomizedVariableUncertainty(delta=1.0)
    plain.threshold = randomized.threshold = 0.9
    plain_first = [plain.query(p, 0.1, rng) for p in confident[:1]]
    assert plain_first == [False]
    labelled = np.array([randomized.query(p, 0.1, rng) for p in confident])
    assert 0.05 < labelled.mean() < 0.95


def test_random_stream_labels_at_the_target_rate():
    rng = np.random.default_rng(3)
    strategy = RandomStream()
    decisions = np.array([strategy.query(np.array([0.99, 0.01]), 0.2, rng) for _ in range(10_000)])
    assert decisions.mean() == pytest.approx(0.2, abs=0.015)


def test_split_sends_a_share_to_random_labelling():
    def decisions(target: float) -> np.ndarray:
        rng = np.random.default_rng(4)
        strategy = SplitStrategy(random_share=0.2)
        return np.array([strategy.query(np.array([0.9, 0.1]), target, rng) for _ in range(10_000)])

    # The random part labels every arrival it gets at target 1 and none at target 0; the uncertainty part
    # sees the same arrivals and draws in both runs, so the runs differ exactly on the random part's share.
    routed_to_random = decisions(1.0) != decisions(0.0)
    assert routed_to_random.mean() == pytest.approx(0.2, abs=0.015)


def test_make_stream_strategy_names_and_errors():
    assert make_stream_strategy("randomized_variable_uncertainty").delta == 1.0
    assert make_stream_strategy("variable_uncertainty").step == 0.01
    buffered = make_stream_strategy("buffer_margin", buffer_size=8)
    assert (buffered.pool_strategy, buffered.buffer_size) == ("margin", 8)
    with pytest.raises(InvalidParameterError, match=r"'strategy'.*variable_uncertainty.*buffer_margin.*Got 'vu'"):
        make_stream_strategy("vu")
    with pytest.raises(InvalidParameterError, match=r"'strategy'.*Got 'buffer_nope'"):
        make_stream_strategy("buffer_nope")
    with pytest.raises(InvalidParameterError, match=r"'threshold'.*Got 1.5"):
        make_stream_strategy("fixed_uncertainty", threshold=1.5)
    with pytest.raises(InvalidParameterError, match=r"'buffer_size'.*int >= 2"):
        make_stream_strategy("buffer_margin", buffer_size=1)


# -- drift detectors -----------------------------------------------------------------------------------
def _errors(rng: np.random.Generator, rates: list[tuple[float, int]]) -> np.ndarray:
    return np.concatenate([rng.random(n) < p for p, n in rates]).astype(float)


@pytest.mark.parametrize("name", ["adwin", "page_hinkley"])
def test_detector_fires_after_an_abrupt_rise_in_error(name):
    for seed in range(5):
        errors = _errors(np.random.default_rng(seed), [(0.15, 400), (0.6, 400)])
        detector = DriftDetector(name)
        fired = np.array([detector.update(e) for e in errors])
        assert not fired[:400].any()
        first = int(np.argmax(fired[400:]))
        assert fired[400:].any() and first < 200


@pytest.mark.parametrize("name", ["adwin", "page_hinkley"])
@pytest.mark.parametrize("error_rate", [0.05, 0.2, 0.45])
def test_detector_stays_quiet_on_a_stationary_stream(name, error_rate):
    for seed in range(5):
        errors = _errors(np.random.default_rng(100 + seed), [(error_rate, 1000)])
        detector = DriftDetector(name)
        assert not any(detector.update(e) for e in errors)


def test_detector_ignores_a_fall_in_error():
    errors = _errors(np.random.default_rng(7), [(0.6, 400), (0.1, 400)])
    detector = DriftDetector("adwin")
    assert not any(detector.update(e) for e in errors)


def test_detector_errors():
    with pytest.raises(InvalidParameterError, match=r"'drift_detector'.*adwin.*page_hinkley.*Got 'ddm'"):
        make_drift_detector("ddm")
    with pytest.raises(InvalidParameterError, match="detector_params"):
        make_drift_detector("adwin", {"no_such_parameter": 1})
    with pytest.raises(InvalidParameterError, match=r"'detector_params'.*needs a 'drift_detector'"):
        make_drift_detector(None, {"delta": 0.1})
