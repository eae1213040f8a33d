"""Simulated oracle: noise rates, confusion, costs, majority vote, seeding, validation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from alsim.exceptions import InvalidInputError, InvalidParameterError
from alsim.oracle import SimulatedOracle

N = 20_000


def _binomial_ok(count: int, n: int, p: float) -> bool:
    """Two-sided exact binomial test at 1e-4: a correct implementation fails it once in 10,000 seeds."""
    return stats.binomtest(count, n, p).pvalue > 1e-4


def test_noise_free_oracle_returns_true_labels_at_unit_cost():
    y = np.array([2, 0, 1, 1])
    answer = SimulatedOracle(random_state=0).query(np.array([3, 0]), y)
    np.testing.assert_array_equal(answer.labels, [1, 2])
    np.testing.assert_array_equal(answer.costs, [1.0, 1.0])
    assert answer.labels.dtype == np.int64 and answer.costs.dtype == np.float64


def test_uniform_noise_rate_and_flips_to_other_classes():
    y = np.arange(N) % 4
    answer = SimulatedOracle(noise_rate=0.2, random_state=0).query(np.arange(N), y)
    wrong = answer.labels != y
    assert _binomial_ok(int(wrong.sum()), N, 0.2)
    # flips are spread uniformly over the three other classes
    offsets = (answer.labels[wrong] - y[wrong]) % 4
    counts = np.bincount(offsets, minlength=4)[1:]
    assert stats.chisquare(counts).pvalue > 1e-4


def test_confusion_matrix_rates_per_class():
    confusion = np.array([[0.9, 0.1, 0.0], [0.0, 0.7, 0.3], [0.25, 0.25, 0.5]])
    y = np.arange(N) % 3
    labels = SimulatedOracle(confusion=confusion, random_state=1).query(np.arange(N), y).labels
    for true_class in range(3):
        given = labels[y == true_class]
        for label in range(3):
            p = confusion[true_class, label]
            count = int((given == label).sum())
            if p == 0:
                assert count == 0
            else:
                assert _binomial_ok(count, given.size, p)


def test_majority_vote_of_three_reduces_noise_to_the_expected_rate():
    # two classes, three annotators each wrong w.p. 0.2: the majority is wrong w.p. 3 p^2 (1-p) + p^3
    y = np.arange(N) % 2
    oracle = SimulatedOracle(noise_rate=0.2, n_annotators=3, random_state=2)
    answer = oracle.query(np.arange(N), y)
    expected = 3 * 0.2**2 * 0.8 + 0.2**3
    assert _binomial_ok(int((answer.labels != y).sum()), N, expected)
    np.testing.assert_array_equal(answer.costs, 3.0)


def test_ties_are_broken_by_the_seeded_rng():
    # two annotators, always disagreeing is impossible to force, so use a confusion that makes ties common
    confusion = np.array([[0.5, 0.5], [0.5, 0.5]])
    y = np.zeros(N, dtype=np.int64)
    labels = SimulatedOracle(confusion=confusion, n_annotators=2, random_state=3).query(np.arange(N), y).labels
    # by symmetry both labels are equally likely overall
    assert _binomial_ok(int(labels.sum()), N, 0.5)
    again = SimulatedOracle(confusion=confusion, n_annotators=2, random_state=3).query(np.arange(N), y).labels
    np.testing.assert_array_equal(labels, again)


def test_same_seed_same_answers_different_seed_different_answers():
    y = np.arange(1000) % 5
    a = SimulatedOracle(noise_rate=0.3, random_state=7).query(np.arange(1000), y).labels
    b = SimulatedOracle(noise_rate=0.3, random_state=7).query(np.arange(1000), y).labels
    c = SimulatedOracle(noise_rate=0.3, random_state=8).query(np.arange(1000), y).labels
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_per_class_costs_from_mapping_and_array():
    y = np.array([0, 1, 2, 1])
    mapping = SimulatedOracle(cost={0: 1.0, 1: 2.5, 2: 4.0}, random_state=0)
    np.testing.assert_array_equal(mapping.query(np.arange(4), y).costs, [1.0, 2.5, 4.0, 2.5])
    array = SimulatedOracle(cost=[1.0, 2.5, 4.0], n_annotators=2, annotator_cost_factor=0.5, random_state=0)
    np.testing.assert_array_equal(array.label_costs(np.arange(4), y), [1.0, 2.5, 4.0, 2.5])


def test_per_class_cost_mapping_missing_a_class_is_an_error():
    with pytest.raises(InvalidInputError, match=r"no entry for class\(es\) \[1\]"):
        SimulatedOracle(cost={0: 1.0, 2: 3.0}).query(np.array([0, 1]), np.array([0, 1, 2]))


def test_difficulty_cost_grows_with_difficulty():
    oracle = SimulatedOracle(cost="difficulty", difficulty_scale=2.0, random_state=0)
    costs = oracle.query(np.arange(3), np.zeros(3, dtype=np.int64), difficulty=np.array([0.0, 0.25, 0.5])).costs
    np.testing.assert_allclose(costs, [1.0, 1.5, 2.0])
    with pytest.raises(InvalidInputError, match="difficulty"):
        oracle.query(np.arange(3), np.zeros(3, dtype=np.int64))


def test_expected_costs_average_per_class_costs_under_the_model():
    oracle = SimulatedOracle(cost=[1.0, 3.0], n_annotators=2)
    proba = np.array([[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(oracle.expected_costs(proba), [2.0, 4.0])
    difficulty_oracle = SimulatedOracle(cost="difficulty", difficulty_scale=1.0)
    np.testing.assert_allclose(difficulty_oracle.expected_costs(proba), [1.0, 1.5])
    np.testing.assert_allclose(SimulatedOracle(cost=2.0).expected_costs(proba), [2.0, 2.0])


def test_label_costs_do_not_consume_randomness():
    y = np.arange(100) % 3
    a = SimulatedOracle(noise_rate=0.3, random_state=0)
    b = SimulatedOracle(noise_rate=0.3, random_state=0)
    a.label_costs(np.arange(50), y)
    np.testing.assert_array_equal(a.query(np.arange(100), y).labels, b.query(np.arange(100), y).labels)


def test_get_params_round_trips():
    oracle = SimulatedOracle(noise_rate=0.1, cost={0: 1.0, 1: 2.0}, n_annotators=3, random_state=4)
    clone = SimulatedOracle(**oracle.get_params())
    y = np.arange(200) % 2
    np.testing.assert_array_equal(oracle.query(np.arange(200), y).labels, clone.query(np.arange(200), y).labels)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"noise_rate": 1.5}, "noise_rate"),
        ({"noise_rate": -0.1}, "noise_rate"),
        ({"confusion": [[0.5, 0.4], [0.0, 1.0]]}, "confusion"),
        ({"confusion": [[1.0, 0.0], [0.0, 1.0]], "noise_rate": 0.1}, "noise_rate"),
        ({"cost": 0.0}, "cost"),
        ({"cost": "time"}, "cost"),
        ({"cost": {0: -1.0}}, "cost"),
        ({"n_annotators": 0}, "n_annotators"),
        ({"annotator_cost_factor": 0.0}, "annotator_cost_factor"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_bad_parameters_name_the_parameter(params, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}'"):
        SimulatedOracle(**params)


def test_indices_outside_the_pool_are_an_error():
    with pytest.raises(InvalidInputError, match="indices"):
        SimulatedOracle().query(np.array([5]), np.array([0, 1]))


def test_row_costs_charge_each_pool_example_its_own_cost_and_cost_models_see_them():
    from alsim.oracle import SimulatedOracle

    oracle = SimulatedOracle(row_costs=[1.0, 2.0, 5.0, 0.5], n_annotators=2, random_state=0)
    y_true = np.array([0, 1, 0, 1])
    np.testing.assert_allclose(oracle.query(np.array([2, 3]), y_true).costs, [10.0, 1.0])
    proba = np.full((2, 2), 0.5)
    np.testing.assert_allclose(oracle.expected_costs(proba, indices=np.array([0, 2])), [2.0, 10.0])
    with pytest.raises(InvalidInputError, match="indices"):
        oracle.expected_costs(proba)
    with pytest.raises(InvalidInputError, match="row_costs"):
        oracle.label_costs(np.array([4]), np.array([0, 1, 0, 1, 0]))
    with pytest.raises(InvalidParameterError, match="exclusive"):
        SimulatedOracle(cost=2.0, row_costs=[1.0])
    with pytest.raises(InvalidParameterError, match="row_costs"):
        SimulatedOracle(row_costs=[1.0, -1.0])
    assert SimulatedOracle(**oracle.get_params()).row_costs.tolist() == [1.0, 2.0, 5.0, 0.5]
