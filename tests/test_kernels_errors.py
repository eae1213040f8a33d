"""Every kind of bad input to alsim.kernels (and to the raw alsim._core) raises alsim's own exceptions,
with a message naming the parameter, what was expected and what was given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from alsim import _core, kernels
from alsim.exceptions import AlsimError, InvalidDtypeError, InvalidInputError, InvalidParameterError

P = np.array([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2], [0.1, 0.1, 0.8]])
X = np.arange(12, dtype=np.float64).reshape(6, 2)
VOTES = np.array([[0, 1, 2], [0, 0, 1]])
MEMBERS = np.stack([P, P[::-1]])


def raises(error: type[AlsimError], parameter: str, call: Callable[..., Any], *args: Any, match: str = "") -> str:
    with pytest.raises(error) as info:
        call(*args)
    message = str(info.value)
    assert f"'{parameter}' parameter" in message, message
    assert "Got " in message and " instead." in message, message
    if match:
        assert match in message, message
    return message


def with_value(a: np.ndarray, index: tuple[int, int], value: float) -> np.ndarray:
    b = a.copy()
    b[index] = value
    return b


@pytest.mark.parametrize(
    "function", [kernels.uncertainty_scores, kernels.uncertainty_table, kernels.select_most_uncertain]
)
@pytest.mark.parametrize(
    ("proba", "match"),
    [
        (with_value(P, (1, 2), np.nan), "row 1"),
        (with_value(P, (2, 0), np.inf), "row 2"),
        (with_value(P, (2, 0), -np.inf), "row 2"),
        (np.array([[0.5, 0.5], [1.2, -0.2]]), "non-negative"),
        (np.array([[0.5, 0.5], [0.5, 0.5], [0.6, 0.6]]), "row 2 summing to 1.2"),
        (np.array([[0.3, 0.3]]), "row 0"),
    ],
)
def test_bad_probabilities(function: Callable[..., Any], proba: np.ndarray, match: str) -> None:
    args = {
        kernels.uncertainty_scores: (proba, "margin"),
        kernels.uncertainty_table: (proba, ["entropy", "margin"]),
        kernels.select_most_uncertain: (proba, 1, "margin"),
    }[function]
    raises(InvalidInputError, "proba", function, *args, match=match)
    raises(InvalidInputError, "proba", function, *((proba.astype(np.float32), *args[1:])), match=match)


@pytest.mark.parametrize(
    ("call", "error", "parameter"),
    [
        # wrong dimensionality
        (lambda: kernels.uncertainty_scores(P[0], "margin"), InvalidInputError, "proba"),
        (lambda: kernels.select_most_uncertain(P[None], 1, "margin"), InvalidInputError, "proba"),
        (lambda: kernels.uncertainty_table(P[0]), InvalidInputError, "proba"),
        (lambda: kernels.uncertainty_table(P, "margin"), InvalidParameterError, "measures"),
        (lambda: kernels.uncertainty_table(P, []), InvalidParameterError, "measures"),
        (lambda: kernels.uncertainty_table(P, ["margin", None]), InvalidParameterError, "measures"),
        (lambda: kernels.top_k(P, 1), InvalidInputError, "scores"),
        (lambda: kernels.k_center_greedy(X[:, 0], None, 1), InvalidInputError, "X"),
        (lambda: kernels.k_center_greedy(X, [[0]], 1), InvalidInputError, "labeled"),
        (lambda: kernels.vote_entropy(VOTES[0], 3), InvalidInputError, "votes"),
        (lambda: kernels.pairwise_disagreement(VOTES[None]), InvalidInputError, "votes"),
        (lambda: kernels.consensus_kl(P), InvalidInputError, "member_proba"),
        (lambda: kernels.kmeans_pp(X[None], 1, 0), InvalidInputError, "X"),
        # empty input
        (lambda: kernels.uncertainty_scores(np.zeros((0, 3)), "margin"), InvalidInputError, "proba"),
        (lambda: kernels.select_most_uncertain(np.zeros((3, 0)), 1, "margin"), InvalidInputError, "proba"),
        (lambda: kernels.top_k([], 1), InvalidInputError, "scores"),
        (lambda: kernels.k_center_greedy(np.zeros((0, 2)), None, 1), InvalidInputError, "X"),
        (lambda: kernels.kmeans_pp(np.zeros((4, 0)), 1, 0), InvalidInputError, "X"),
        (lambda: kernels.vote_entropy(np.zeros((0, 3), dtype=int), 2), InvalidInputError, "votes"),
        (lambda: kernels.pairwise_disagreement(np.zeros((2, 0), dtype=int)), InvalidInputError, "votes"),
        (lambda: kernels.consensus_kl(np.zeros((2, 0, 3))), InvalidInputError, "member_proba"),
        (lambda: kernels.consensus_kl([]), InvalidInputError, "member_proba"),
        # k out of range or not an int
        (lambda: kernels.top_k([1.0, 2.0], 0), InvalidParameterError, "k"),
        (lambda: kernels.top_k([1.0, 2.0], 3), InvalidParameterError, "k"),
        (lambda: kernels.top_k([1.0, 2.0], 1.5), InvalidParameterError, "k"),
        (lambda: kernels.top_k([1.0, 2.0], True), InvalidParameterError, "k"),
        (lambda: kernels.select_most_uncertain(P, 4, "margin"), InvalidParameterError, "k"),
        (lambda: kernels.select_most_uncertain(P, -1, "entropy"), InvalidParameterError, "k"),
        (lambda: kernels.select_most_uncertain(P, "2", "entropy"), InvalidParameterError, "k"),
        (lambda: kernels.k_center_greedy(X, [0, 1], 5), InvalidParameterError, "k"),
        (lambda: kernels.k_center_greedy(X, None, 0), InvalidParameterError, "k"),
        (lambda: kernels.kmeans_pp(X, 7, 0), InvalidParameterError, "k"),
        (lambda: kernels.kmeans_pp(X, None, 0), InvalidParameterError, "k"),
        # other scalar parameters
        (lambda: kernels.uncertainty_scores(P, "confidence"), InvalidParameterError, "measure"),
        (lambda: kernels.select_most_uncertain(P, 1, None), InvalidParameterError, "measure"),
        (lambda: kernels.vote_entropy(VOTES, 0), InvalidParameterError, "n_classes"),
        (lambda: kernels.vote_entropy(VOTES, 2.0), InvalidParameterError, "n_classes"),
        (lambda: kernels.k_center_greedy(X, None, 1, seed=-1), InvalidParameterError, "seed"),
        (lambda: kernels.kmeans_pp(X, 1, 2**64), InvalidParameterError, "seed"),
        (lambda: kernels.kmeans_pp(X, 1, "0"), InvalidParameterError, "seed"),
        # non-finite features
        (lambda: kernels.k_center_greedy(with_value(X, (4, 1), np.nan), None, 1), InvalidInputError, "X"),
        (lambda: kernels.kmeans_pp(with_value(X, (2, 0), np.inf), 1, 0), InvalidInputError, "X"),
        (lambda: kernels.top_k([1.0, np.nan], 1), InvalidInputError, "scores"),
        # labelled indices
        (lambda: kernels.k_center_greedy(X, [6], 1), InvalidInputError, "labeled"),
        (lambda: kernels.k_center_greedy(X, [-1], 1), InvalidInputError, "labeled"),
        (lambda: kernels.k_center_greedy(X, [1, 3, 1], 1), InvalidInputError, "labeled"),
        (lambda: kernels.k_center_greedy(X, range(6), 1), InvalidInputError, "labeled"),
        (lambda: kernels.k_center_greedy(X, [0.0, 1.0], 1), InvalidDtypeError, "labeled"),
        (lambda: kernels.k_center_greedy(X, np.array([True, False]), 1), InvalidDtypeError, "labeled"),
        # committee shapes and votes
        (
            lambda: kernels.consensus_kl([P, P[:, :2] / P[:, :2].sum(1, keepdims=True)]),
            InvalidInputError,
            "member_proba",
        ),
        (lambda: kernels.consensus_kl([P, P[:2]]), InvalidInputError, "member_proba"),
        (lambda: kernels.consensus_kl(np.stack([P, with_value(P, (1, 1), -0.1)])), InvalidInputError, "member_proba"),
        (lambda: kernels.vote_entropy(VOTES, 2), InvalidInputError, "votes"),
        (lambda: kernels.vote_entropy(-VOTES, 3), InvalidInputError, "votes"),
        (lambda: kernels.pairwise_disagreement(VOTES[:1]), InvalidInputError, "votes"),
        (lambda: kernels.vote_entropy(np.array([[2**64 - 1]], dtype=np.uint64), 3), InvalidInputError, "votes"),
        # unsupported dtypes
        (lambda: kernels.uncertainty_scores(P.astype(complex), "margin"), InvalidDtypeError, "proba"),
        (lambda: kernels.uncertainty_scores(P.astype(object), "margin"), InvalidDtypeError, "proba"),
        (lambda: kernels.select_most_uncertain(np.array([["a", "b"]]), 1, "margin"), InvalidDtypeError, "proba"),
        (lambda: kernels.uncertainty_scores(P > 0.3, "margin"), InvalidDtypeError, "proba"),
        (lambda: kernels.top_k(np.array(["x"]), 1), InvalidDtypeError, "scores"),
        (lambda: kernels.k_center_greedy(X.astype(complex), None, 1), InvalidDtypeError, "X"),
        (lambda: kernels.vote_entropy(VOTES.astype(float), 3), InvalidDtypeError, "votes"),
        (lambda: kernels.pairwise_disagreement(VOTES > 0), InvalidDtypeError, "votes"),
        (lambda: kernels.consensus_kl(MEMBERS.astype(complex)), InvalidDtypeError, "member_proba"),
        # ragged input
        (lambda: kernels.uncertainty_scores([[0.5, 0.5], [1.0]], "margin"), InvalidInputError, "proba"),
    ],
)
def test_bad_input(call: Callable[[], Any], error: type[AlsimError], parameter: str) -> None:
    raises(error, parameter, call)


def test_exceptions_are_builtin_subclasses() -> None:
    with pytest.raises(ValueError):
        kernels.top_k([1.0], 2)
    with pytest.raises(TypeError):
        kernels.vote_entropy([[0.5]], 2)


def test_messages_are_specific() -> None:
    message = raises(InvalidParameterError, "k", kernels.top_k, [1.0, 2.0], 0)
    assert message == "The 'k' parameter of top_k must be an int in [1, 2] (the number of scores). Got 0 instead."
    message = raises(InvalidParameterError, "measure", kernels.uncertainty_scores, P, "confidence")
    assert "['least_confidence', 'margin', 'entropy']" in message
    message = raises(InvalidInputError, "labeled", kernels.k_center_greedy, X, [1, 3, 1], 1)
    assert "index 1 repeated at position 2" in message
    message = raises(InvalidInputError, "votes", kernels.vote_entropy, VOTES, 2)
    assert "[0, 2)" in message and "member 0, sample 2" in message
    message = raises(InvalidInputError, "member_proba", kernels.consensus_kl, [P, P[:2]])
    assert "(2, 3)" in message and "(3, 3)" in message


@pytest.mark.parametrize(
    ("call", "error", "parameter"),
    [
        (lambda: _core.uncertainty_scores(P.tolist(), "margin"), InvalidDtypeError, "proba"),
        (lambda: _core.uncertainty_scores(P.astype(np.int64), "margin"), InvalidDtypeError, "proba"),
        (lambda: _core.uncertainty_scores(P[0], "margin"), InvalidInputError, "proba"),
        (lambda: _core.uncertainty_scores(P, "nope"), InvalidParameterError, "measure"),
        (lambda: _core.uncertainty_table(P, []), InvalidParameterError, "measures"),
        (lambda: _core.uncertainty_table(P, ["margin", "nope"]), InvalidParameterError, "measures"),
        (lambda: _core.uncertainty_table(P.astype(np.int64), ["margin"]), InvalidDtypeError, "proba"),
        (lambda: _core.uncertainty_scores(np.zeros((0, 2)), "margin"), InvalidInputError, "proba"),
        (lambda: _core.top_k(np.ones(3), -1), InvalidParameterError, "k"),
        (lambda: _core.top_k(np.ones(3), 4), InvalidParameterError, "k"),
        (lambda: _core.select_most_uncertain(P, 0, "margin"), InvalidParameterError, "k"),
        (lambda: _core.k_center_greedy(X, np.array([0], dtype=np.int32), 1, 0), InvalidDtypeError, "labeled"),
        (lambda: _core.k_center_greedy(X, np.array([7]), 1, 0), InvalidInputError, "labeled"),
        (lambda: _core.k_center_greedy(X, np.arange(6), 1, 0), InvalidParameterError, "k"),
        (lambda: _core.vote_entropy(VOTES.astype(np.int16), 3), InvalidDtypeError, "votes"),
        (lambda: _core.vote_entropy(VOTES, -2), InvalidParameterError, "n_classes"),
        (lambda: _core.pairwise_disagreement(VOTES[:1]), InvalidInputError, "votes"),
        (lambda: _core.consensus_kl(np.zeros((1, 2, 2))), InvalidInputError, "member_proba"),
        (lambda: _core.kmeans_pp(X, 0, 0), InvalidParameterError, "k"),
        (lambda: _core.kmeans_pp(np.zeros((0, 3)), 1, 0), InvalidInputError, "X"),
    ],
)
def test_raw_extension_never_panics(call: Callable[[], Any], error: type[AlsimError], parameter: str) -> None:
    raises(error, parameter, call)


@pytest.mark.parametrize("bad_row", range(10))
@pytest.mark.parametrize("measure", ["least_confidence", "margin", "entropy"])
def test_first_bad_row_is_named_anywhere(bad_row: int, measure: str) -> None:
    proba = np.full((10, 2), 0.5)
    proba[bad_row] = [0.9, 0.3]
    if bad_row + 3 < len(proba):
        proba[bad_row + 3, 0] = np.nan  # a later bad row must not be the one reported
    for call, args in [
        (kernels.uncertainty_scores, (measure,)),
        (kernels.uncertainty_table, ([measure],)),
        (kernels.select_most_uncertain, (2, measure)),
    ]:
        raises(InvalidInputError, "proba", call, proba, *args, match=f"row {bad_row} summing to 1.2")
