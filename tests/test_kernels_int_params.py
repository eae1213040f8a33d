"""Integer parameters out of range, however large or negative, raise alsim's InvalidParameterError (a
ValueError) with a scikit-learn style message, in alsim.kernels and in the raw alsim._core alike; never
OverflowError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alsim import _core, kernels
from alsim.exceptions import InvalidParameterError

P = np.array([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2], [0.1, 0.1, 0.8]])
X = np.arange(12, dtype=np.float64).reshape(6, 2)
VOTES = np.array([[0, 1, 2], [0, 0, 1]])
SCORES = np.array([0.1, 0.9, 0.5])
LABELED = np.array([0], dtype=np.int64)
INT64_MAX = 2**63 - 1


def out_of(low: int, high: int) -> st.SearchStrategy[int]:
    """Ints below `low` or above `high`, reaching far beyond 64 bits either way."""
    return st.one_of(
        st.integers(max_value=low - 1),
        st.integers(min_value=high + 1),
        st.sampled_from([low - 1, high + 1, -(2**63) - 1, 2**63, 2**64, 2**64 + 1, -(2**200), 2**200]).filter(
            lambda v: v < low or v > high
        ),
    )


def check(call: Callable[[int], Any], value: int, parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        call(value)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert f"The '{parameter}' parameter of " in message, message
    assert message.endswith(f"Got {value} instead."), message


# (call, parameter, low, high): the valid range of the parameter for the inputs above.
PUBLIC: dict[str, tuple[Callable[[int], Any], str, int, int]] = {
    "top_k.k": (lambda v: kernels.top_k(SCORES, v), "k", 1, 3),
    "select_most_uncertain.k": (lambda v: kernels.select_most_uncertain(P, v, "entropy"), "k", 1, 3),
    "k_center_greedy.k": (lambda v: kernels.k_center_greedy(X, [0], v, seed=0), "k", 1, 5),
    "k_center_greedy.seed": (lambda v: kernels.k_center_greedy(X, None, 1, seed=v), "seed", 0, 2**64 - 1),
    "kmeans_pp.k": (lambda v: kernels.kmeans_pp(X, v, 0), "k", 1, 6),
    "kmeans_pp.seed": (lambda v: kernels.kmeans_pp(X, 1, v), "seed", 0, 2**64 - 1),
    "vote_entropy.n_classes": (lambda v: kernels.vote_entropy(VOTES, v), "n_classes", 1, INT64_MAX),
}

RAW: dict[str, tuple[Callable[[int], Any], str, int, int]] = {
    "top_k.k": (lambda v: _core.top_k(SCORES, v), "k", 1, INT64_MAX),
    "select_most_uncertain.k": (lambda v: _core.select_most_uncertain(P, v, "margin"), "k", 1, INT64_MAX),
    "k_center_greedy.k": (lambda v: _core.k_center_greedy(X, LABELED, v, 0), "k", 1, INT64_MAX),
    "k_center_greedy.seed": (lambda v: _core.k_center_greedy(X, LABELED, 1, v), "seed", 0, 2**64 - 1),
    "kmeans_pp.k": (lambda v: _core.kmeans_pp(X, v, 0), "k", 1, INT64_MAX),
    "kmeans_pp.seed": (lambda v: _core.kmeans_pp(X, 1, v), "seed", 0, 2**64 - 1),
    "vote_entropy.n_classes": (lambda v: _core.vote_entropy(VOTES, v), "n_classes", 1, INT64_MAX),
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_public_kernels_refuse_out_of_range_ints(name: str, data: st.DataObject) -> None:
    call, parameter, low, high = PUBLIC[name]
    check(call, data.draw(out_of(low, high)), parameter)


@pytest.mark.parametrize("name", sorted(RAW))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_raw_extension_refuses_out_of_range_ints(name: str, data: st.DataObject) -> None:
    call, parameter, low, high = RAW[name]
    value = data.draw(out_of(low, high))
    check(call, value, parameter)
    # numpy integer scalars take the same path as Python ints
    if np.iinfo(np.int64).min <= value <= np.iinfo(np.int64).max:
        check(lambda v: call(np.int64(v)), value, parameter)


@pytest.mark.parametrize("name", sorted(RAW))
def test_raw_extension_refuses_non_ints(name: str) -> None:
    call, parameter, _, _ = RAW[name]
    for value in (True, 1.0, "1", None):
        with pytest.raises(InvalidParameterError, match=f"'{parameter}' parameter"):
            call(value)  # type: ignore[arg-type]


def test_largest_valid_values_are_accepted() -> None:
    assert kernels.vote_entropy(VOTES, INT64_MAX).shape == (3,)
    assert kernels.kmeans_pp(X, 6, 2**64 - 1).shape == (6,)
    assert _core.k_center_greedy(X, LABELED, 1, 2**64 - 1).shape == (1,)
    assert _core.vote_entropy(VOTES, np.uint64(INT64_MAX)).shape == (3,)
