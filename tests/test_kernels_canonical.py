"""Committee scores from votes are canonical in the classes: examples with the same vote counts on other
classes get bit-identical scores, so that "ties go to the lower index" decides between them.

Summing per-class terms in class order does not give that: floating-point addition is not associative, so
a permutation of the terms can move the sum by one unit in the last place. Each test first shows that a
class-order sum of these very terms does differ between the permutations, then that the kernel's value
does not.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from alsim import kernels

COUNTS = (1, 2, 3, 5, 7)  # 18 members over 5 classes (and a 6th class nobody votes for)
M = sum(COUNTS)
N_CLASSES = 6


def permuted_counts() -> np.ndarray:
    """Every arrangement of COUNTS over the first five classes, one row each (120 rows)."""
    rows = [[*p, 0] for p in itertools.permutations(COUNTS)]
    return np.array(rows)


def class_order_sums(rows: np.ndarray) -> set[float]:
    """-sum_c q ln q with q = count / M, added in class order: what an order-dependent kernel computes."""
    values = set()
    for row in rows:
        total = 0.0
        for count in row:
            q = count / M
            total += -q * np.log(q) if count else 0.0
        values.add(total)
    return values


def votes_for(rows: np.ndarray) -> np.ndarray:
    """Member votes (M x n) with the given counts per example (column)."""
    columns = [np.repeat(np.arange(N_CLASSES), row) for row in rows]
    return np.stack(columns, axis=1)


def test_class_order_sums_of_these_rows_differ() -> None:
    # The premise of the tests below: without a canonical order, these rows would not tie.
    assert len(class_order_sums(permuted_counts())) > 1


def test_vote_entropy_is_canonical_and_ties_go_to_the_lower_index() -> None:
    rows = permuted_counts()
    scores = kernels.vote_entropy(votes_for(rows), N_CLASSES)
    assert len({s.tobytes() for s in scores}) == 1, sorted(set(scores.tolist()))
    assert scores[0] == pytest.approx(min(class_order_sums(rows)), rel=1e-15)
    assert kernels.top_k(scores, 3).tolist() == [0, 1, 2]
    # Both counting paths (count tables, and sorting for very many classes) give the same bits.
    many = kernels.vote_entropy(votes_for(rows), 1 << 15)
    assert many.tobytes() == scores.tobytes()
    # int32 votes too.
    assert kernels.vote_entropy(votes_for(rows).astype(np.int32), N_CLASSES).tobytes() == scores.tobytes()


def test_pairwise_disagreement_is_canonical() -> None:
    # Counted as an exact integer of agreeing pairs: no summation order to speak of.
    scores = kernels.pairwise_disagreement(votes_for(permuted_counts()))
    assert len({s.tobytes() for s in scores}) == 1
    agreeing = sum(c * (c - 1) // 2 for c in COUNTS)
    assert scores[0] == 1 - agreeing / (M * (M - 1) / 2)
