"""Learners: names and estimator objects, full-class probabilities, single-class fallback, committees."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from alsim.exceptions import InvalidInputError, InvalidParameterError
from alsim.learners import LEARNER_NAMES, Committee, fit_learner, make_learner, predict_proba_full


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=0)
    return X, y.astype(np.int64)


@pytest.mark.parametrize("name", LEARNER_NAMES)
def test_every_named_learner_fits_and_gives_full_probabilities(name, data):
    X, y = data
    model = fit_learner(make_learner(name, random_state=0), X, y)
    proba = predict_proba_full(model, X[:7], 3)
    assert proba.shape == (7, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_estimator_object_is_cloned_and_seeded():
    original = LogisticRegression(C=0.5)
    estimator = make_learner(original, random_state=3)
    assert estimator is not original
    assert estimator.C == 0.5 and estimator.random_state == 3
    assert original.random_state is None
    assert make_learner(LogisticRegression(random_state=9), random_state=3).random_state == 9


def test_unknown_learner_name_lists_the_valid_ones():
    with pytest.raises(InvalidParameterError, match=r"'learner'.*logreg.*Got 'boosted_magic'"):
        make_learner("boosted_magic")


def test_estimator_without_predict_proba_is_rejected():
    with pytest.raises(InvalidParameterError, match="predict_proba"):
        make_learner(SVC())


def test_missing_classes_get_zero_probability(data):
    X, y = data
    keep = y != 1
    model = fit_learner(make_learner("logreg", random_state=0), X[keep], y[keep])
    proba = predict_proba_full(model, X, 3)
    assert np.all(proba[:, 1] == 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_class_codes_outside_the_class_set_are_an_error(data):
    X, y = data
    model = fit_learner(make_learner("gaussian_nb"), X, y)
    with pytest.raises(InvalidInputError, match="classes_"):
        predict_proba_full(model, X, 2)


def test_single_class_labels_fall_back_to_a_constant_model(data):
    X, _ = data
    model = fit_learner(make_learner("logreg", random_state=0), X[:4], np.full(4, 2))
    proba = predict_proba_full(model, X[:5], 3)
    np.testing.assert_array_equal(proba, np.tile([0.0, 0.0, 1.0], (5, 1)))


def test_warm_start_learner_survives_a_new_class(data):
    X, y = data
    first = fit_learner(make_learner("logreg", random_state=0), X[y < 2], y[y < 2])
    second = fit_learner(first, X, y)
    np.testing.assert_array_equal(second.classes_, [0, 1, 2])


def test_bagged_committee_shapes_and_determinism(data):
    X, y = data
    a = Committee("logreg", n_members=4, n_classes=3, random_state=1).fit(X, y)
    b = Committee("logreg", n_members=4, n_classes=3, random_state=1).fit(X, y)
    proba = a.member_proba(X[:10])
    assert proba.shape == (4, 10, 3)
    votes = a.member_votes(X[:10])
    assert votes.shape == (4, 10) and votes.dtype == np.int64
    np.testing.assert_array_equal(proba, b.member_proba(X[:10]))
    # bootstrap samples differ between members
    assert not np.allclose(proba[0], proba[1])


def test_committee_from_a_list_of_learners(data):
    X, y = data
    committee = Committee(["logreg", "gaussian_nb", LogisticRegression(C=0.1)], random_state=0).fit(X, y)
    assert len(committee.members_) == 3
    assert committee.member_votes(X).shape == (3, X.shape[0])


def test_committee_handles_bootstraps_missing_classes():
    X = np.arange(12, dtype=float).reshape(-1, 1)
    y = np.array([0] * 10 + [1, 2])
    committee = Committee("gaussian_nb", n_members=6, n_classes=3, random_state=0).fit(X, y)
    proba = committee.member_proba(X)
    assert proba.shape == (6, 12, 3)
    np.testing.assert_allclose(proba.sum(axis=2), 1.0)


def test_refitting_a_committee_starts_from_fresh_members():
    # Every bootstrap of two rows from classes {0, 1} has one class with probability 1/2, so some members of
    # the first fit fall back to a constant model; a refit on plenty of data must not keep those.
    X = np.array([[0.0], [1.0]])
    committee = Committee("logreg", n_members=8, n_classes=2, random_state=0).fit(X, np.array([0, 1]))
    assert any(type(member).__name__ == "DummyClassifier" for member in committee.members_)
    X_big = np.linspace(-1.0, 2.0, 60)[:, None]
    committee.fit(X_big, (X_big[:, 0] > 0.5).astype(np.int64))
    assert all(isinstance(member, LogisticRegression) for member in committee.members_)


def test_committee_stores_its_parameters_and_validates_them_at_fit(data):
    X, _ = data
    committee = Committee("logreg", n_members=4, random_state=1)
    assert (committee.learners, committee.n_members, committee.random_state) == ("logreg", 4, 1)
    assert not hasattr(committee, "members_")
    with pytest.raises(InvalidInputError, match="call fit first"):
        committee.member_proba(X)


@pytest.mark.parametrize("bad", [1, 0, True, 2.5])
def test_committee_size_is_validated(bad, data):
    X, y = data
    with pytest.raises(InvalidParameterError, match="'n_members'"):
        Committee("logreg", n_members=bad).fit(X, y)


def test_committee_of_one_learner_in_a_list_is_rejected(data):
    X, y = data
    with pytest.raises(InvalidParameterError, match=r"'learners'.*at least 2"):
        Committee(["logreg"]).fit(X, y)
