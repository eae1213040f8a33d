"""Selection kernels: uncertainty scores, top-k, k-center greedy, committee disagreement, k-means++.

This module is the public, validated face of the Rust extension ``alsim._core``. Every function accepts
array-likes; numpy arrays of dtype float32 or float64 (int32 or int64 for votes) are handed to Rust
without a copy whatever their memory layout (C-ordered, F-ordered or strided). Other real dtypes are
converted: integer and float16 arrays to float64, other integer votes to int64. Scores come back as
float64 arrays and indices as int64 arrays.

Bad input raises an exception of :mod:`alsim.exceptions` (each also a ``ValueError`` or ``TypeError``)
whose message names the function, the parameter, what was expected and what was given. Checks that need
a pass over the data (NaN, negative or non-normalised probabilities, vote ranges, repeated labelled
indices) run inside the kernels, fused with the computation. Integer parameters out of range, however
large, raise :class:`~alsim.exceptions.InvalidParameterError` (never ``OverflowError``). A kernel that cannot
allocate its output or scratch space raises :class:`~alsim.exceptions.KernelMemoryError`, a ``MemoryError``
naming the kernel and the bytes, as numpy does; it never aborts the interpreter.

Vote entropy and pairwise disagreement are canonical in the classes (vote entropy adds its terms in order
of the vote counts; pairwise disagreement counts agreeing pairs exactly): examples with the same counts on
other classes get bit-identical scores, and selections among them go to the lower index. Entropy and
consensus KL add their per-class terms in class order, so rows whose columns are permuted can differ in the
last place when there are three or more classes.

Probability rows must sum to 1 within :data:`PROBA_SUM_TOLERANCE` (absolute); the error names the first
row that does not.

Large inputs are processed in parallel by rayon's global thread pool, sized by the environment variable
``RAYON_NUM_THREADS`` (default: one thread per core) when the first kernel runs. Work is split into
fixed-size chunks combined in index order, so results are bit-identical for any number of threads.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from alsim import _core
from alsim._validation import check_choice, check_int, fail
from alsim.exceptions import InvalidDtypeError, InvalidInputError, InvalidParameterError

__all__ = [
    "MEASURES",
    "PROBA_SUM_TOLERANCE",
    "consensus_kl",
    "k_center_greedy",
    "kmeans_pp",
    "pairwise_disagreement",
    "select_most_uncertain",
    "top_k",
    "uncertainty_scores",
    "uncertainty_table",
    "vote_entropy",
]

#: Names of the uncertainty measures; for all of them higher means more uncertain.
MEASURES: tuple[str, ...] = tuple(_core.MEASURES)

#: Largest accepted absolute deviation of a probability row's sum from 1.
PROBA_SUM_TOLERANCE: float = _core.PROBA_SUM_TOLERANCE

_SEED_BOUND = 2**64
#: Largest count parameter (n_classes) the kernels accept: what indexes memory on a 64-bit machine.
_COUNT_MAX = np.iinfo(np.intp).max

SeedLike = int | np.integer | np.random.Generator | None


def _describe(value: object) -> str:
    return repr(value) if isinstance(value, (str, numbers.Number)) else f"an object of type {type(value).__name__}"


def _as_array(value: object, function: str, parameter: str) -> np.ndarray:
    try:
        return np.asarray(value)
    except ValueError as exc:  # ragged nested sequences
        raise InvalidInputError(
            f"The '{parameter}' parameter of {function} must be an array-like of consistent shape. "
            f"Got a ragged sequence ({exc}) instead."
        ) from exc


def _check_ndim(array: np.ndarray, ndim: int, layout: str, function: str, parameter: str) -> None:
    if array.ndim != ndim:
        raise InvalidInputError(
            f"The '{parameter}' parameter of {function} must be a {ndim}-D array of shape {layout}. "
            f"Got an array of shape {array.shape} instead."
        )


def _float_array(value: object, ndim: int, layout: str, function: str, parameter: str) -> np.ndarray:
    """Return a float32/float64 array of `ndim` dimensions, without copying when it already is one."""
    array = _as_array(value, function, parameter)
    _check_ndim(array, ndim, layout, function, parameter)
    kind = array.dtype.kind
    if kind == "f" and array.dtype.itemsize in (4, 8):
        return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))
    if kind in "iu" or (kind == "f" and array.dtype.itemsize == 2):
        return array.astype(np.float64)
    raise InvalidDtypeError(
        f"The '{parameter}' parameter of {function} must be an array of real numbers (float32 or float64 are "
        f"used without a copy). Got dtype {array.dtype} instead."
    )


def _int_array(value: object, ndim: int, layout: str, function: str, parameter: str) -> np.ndarray:
    """Return an int32/int64 array of `ndim` dimensions, without copying when it already is one."""
    array = _as_array(value, function, parameter)
    _check_ndim(array, ndim, layout, function, parameter)
    if array.size == 0 and array.dtype.kind == "f":
        return array.astype(np.int64)  # np.asarray([]) is float64
    kind = array.dtype.kind
    if kind == "i" and array.dtype.itemsize in (4, 8) and array.dtype.isnative:
        return array
    if kind in "iu":
        if kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
            raise InvalidInputError(
                f"The '{parameter}' parameter of {function} must hold values that fit in int64. "
                f"Got {int(array.max())} instead."
            )
        return array.astype(np.int64)
    raise InvalidDtypeError(
        f"The '{parameter}' parameter of {function} must be an array of integers. Got dtype {array.dtype} instead."
    )


def _check_not_empty(array: np.ndarray, layout: str, function: str, parameter: str) -> None:
    if array.size == 0:
        raise InvalidInputError(
            f"The '{parameter}' parameter of {function} must be a non-empty array of shape {layout}. "
            f"Got an array of shape {array.shape} instead."
        )


def _seed_to_u64(seed: object, function: str, parameter: str = "seed") -> int:
    """Turn an int, a numpy Generator or None (fresh OS entropy) into the kernels' 64-bit seed."""
    if seed is None:
        return int(np.random.default_rng().integers(_SEED_BOUND, dtype=np.uint64))
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(_SEED_BOUND, dtype=np.uint64))
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)) and 0 <= int(seed) < _SEED_BOUND:
        return int(seed)
    raise fail(parameter, function, "an int in [0, 2**64), a numpy.random.Generator or None", seed)


def uncertainty_scores(proba: npt.ArrayLike, measure: str) -> npt.NDArray[np.float64]:
    """Uncertainty of each row of a class-probability matrix; higher means more uncertain.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Class probabilities, float32 or float64. Each row must be finite, non-negative and sum to 1
        within :data:`PROBA_SUM_TOLERANCE`.
    measure : {"least_confidence", "margin", "entropy"}
        ``"least_confidence"``: ``1 - max p``; ``"margin"``: ``1 - (p1 - p2)`` with ``p1 >= p2`` the two
        largest probabilities (a single column counts as ``p2 = 0``); ``"entropy"``: ``-sum p ln p`` in
        nats with ``0 ln 0 = 0``.

    Returns
    -------
    scores : ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> from alsim.kernels import uncertainty_scores
    >>> uncertainty_scores([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2]], "margin")
    array([0.5, 1. ])
    """
    function = "uncertainty_scores"
    measure = check_choice(measure, "measure", function, MEASURES)
    proba = _float_array(proba, 2, "(n_samples, n_classes)", function, "proba")
    _check_not_empty(proba, "(n_samples, n_classes)", function, "proba")
    return _core.uncertainty_scores(proba, measure)


def uncertainty_table(proba: npt.ArrayLike, measures: Sequence[str] = MEASURES) -> npt.NDArray[np.float64]:
    """Several uncertainty scores of each row from one validation pass over ``proba``.

    Column ``j`` equals ``uncertainty_scores(proba, measures[j])`` bit for bit; reading and validating
    the probabilities once is what makes it cheaper than one call per measure.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Class probabilities, validated as in :func:`uncertainty_scores`.
    measures : sequence of str, default=MEASURES
        Non-empty sequence of names from :data:`MEASURES` (repeats allowed).

    Returns
    -------
    table : ndarray of shape (n_samples, len(measures)), float64

    Examples
    --------
    >>> from alsim.kernels import uncertainty_table
    >>> uncertainty_table([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2]], ["least_confidence", "margin"])
    array([[0.3, 0.5],
           [0.6, 1. ]])
    """
    function = "uncertainty_table"
    is_sequence = isinstance(measures, Sequence) and not isinstance(measures, str)
    unknown = [m for m in measures if not (isinstance(m, str) and m in MEASURES)] if is_sequence else []
    if not is_sequence or len(measures) == 0 or unknown:
        choices = ", ".join(repr(m) for m in MEASURES)
        given = (
            f"{_describe(unknown[0])} among them"
            if unknown
            else ("an empty sequence" if is_sequence else _describe(measures))
        )
        raise InvalidParameterError(
            f"The 'measures' parameter of {function} must be a non-empty sequence of str among {{{choices}}}. "
            f"Got {given} instead."
        )
    proba = _float_array(proba, 2, "(n_samples, n_classes)", function, "proba")
    _check_not_empty(proba, "(n_samples, n_classes)", function, "proba")
    return _core.uncertainty_table(proba, list(measures))


def top_k(scores: npt.ArrayLike, k: int) -> npt.NDArray[np.int64]:
    """Return the indices of the ``k`` highest scores, highest first, ties broken towards the lower index.

    Runs in expected O(n) time plus O(k log k) to order the selected entries (no full sort).

    Parameters
    ----------
    scores : array-like of shape (n,)
        Real scores without NaN (infinities are allowed).
    k : int
        Number of indices to return, in ``[1, n]``.

    Returns
    -------
    indices : ndarray of shape (k,), int64

    Examples
    --------
    >>> from alsim.kernels import top_k
    >>> top_k([0.1, 0.9, 0.5, 0.9], 3)
    array([1, 3, 2])
    """
    function = "top_k"
    scores = _float_array(scores, 1, "(n,)", function, "scores")
    _check_not_empty(scores, "(n,)", function, "scores")
    k = check_int(k, "k", function, low=1, high=scores.shape[0], note="the number of scores")
    return _core.top_k(scores, k)


def select_most_uncertain(proba: npt.ArrayLike, k: int, measure: str) -> npt.NDArray[np.int64]:
    """Return the indices of the ``k`` most uncertain rows of ``proba``, most uncertain first.

    Equal to ``top_k(uncertainty_scores(proba, measure), k)``, computed in one fused pass that never
    materialises the n-length score vector.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Class probabilities, validated as in :func:`uncertainty_scores`.
    k : int
        Number of rows to select, in ``[1, n_samples]``.
    measure : {"least_confidence", "margin", "entropy"}
        Uncertainty measure, see :func:`uncertainty_scores`.

    Returns
    -------
    indices : ndarray of shape (k,), int64
        Ties go to the lower index.

    Examples
    --------
    >>> from alsim.kernels import select_most_uncertain
    >>> select_most_uncertain([[0.9, 0.1], [0.5, 0.5], [0.6, 0.4]], 2, "least_confidence")
    array([1, 2])
    """
    function = "select_most_uncertain"
    measure = check_choice(measure, "measure", function, MEASURES)
    proba = _float_array(proba, 2, "(n_samples, n_classes)", function, "proba")
    _check_not_empty(proba, "(n_samples, n_classes)", function, "proba")
    k = check_int(k, "k", function, low=1, high=proba.shape[0], note="the number of rows of proba")
    return _core.select_most_uncertain(proba, k, measure)


def k_center_greedy(
    X: npt.ArrayLike,
    labeled: npt.ArrayLike | Sequence[int] | None,
    k: int,
    seed: SeedLike = None,
) -> npt.NDArray[np.int64]:
    """Greedy k-center (core-set) selection, exact, returned in pick order.

    Picks ``k`` points one at a time, each the point farthest (Euclidean) from its nearest labelled or
    already-picked point, ties to the lowest index; labelled points and earlier picks are never picked.
    The result is the textbook farthest-first sequence; triangle-inequality bounds (with a safety margin
    covering rounding) only skip distance computations that cannot change it, and so do bounds from a
    one-byte-per-value copy of ``X`` (made on data without cluster structure, where every pick has to
    look at every point, for inputs of 65,536 values or more with 128 or more picks left to make; skipped
    when memory for it is lacking). Extra memory is O(n) plus that copy, ``n_samples * (n_features + 24)`` bytes.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite features. float32 input is processed in float32: the picks then equal those of a float64
        computation except at near-ties within float32 rounding.
    labeled : array-like of int of shape (n_labeled,) or None
        Distinct indices in ``[0, n_samples)`` of the points already labelled (may be empty).
    k : int
        Number of points to pick, in ``[1, n_samples - n_labeled]``.
    seed : int, numpy.random.Generator or None, default=None
        Used only when nothing is labelled: the first pick is a uniform draw from ``range(n_samples)``
        by a PCG-64 generator seeded with this 64-bit integer (a Generator supplies such an integer;
        None draws one from fresh OS entropy).

    Returns
    -------
    indices : ndarray of shape (k,), int64

    Examples
    --------
    >>> import numpy as np
    >>> from alsim.kernels import k_center_greedy
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0], [10.0, 0.0]])
    >>> k_center_greedy(X, labeled=[0], k=2)
    array([3, 2])
    """
    function = "k_center_greedy"
    X = _float_array(X, 2, "(n_samples, n_features)", function, "X")
    _check_not_empty(X, "(n_samples, n_features)", function, "X")
    labeled_array = _int_array([] if labeled is None else labeled, 1, "(n_labeled,)", function, "labeled")
    labeled_array = labeled_array.astype(np.int64, copy=False)
    available = X.shape[0] - labeled_array.shape[0]
    if available < 1:
        raise InvalidInputError(
            f"The 'labeled' parameter of {function} must leave at least one of the {X.shape[0]} points "
            f"unlabelled. Got {labeled_array.shape[0]} labelled indices instead."
        )
    k = check_int(k, "k", function, low=1, high=available, note="the number of unlabelled points")
    return _core.k_center_greedy(X, labeled_array, k, _seed_to_u64(seed, function))


def vote_entropy(votes: npt.ArrayLike, n_classes: int) -> npt.NDArray[np.float64]:
    """Vote entropy of a committee per example: ``-sum_c (V_c / M) ln (V_c / M)`` in nats.

    ``V_c`` is the number of the ``M`` members voting for class ``c``. The value is not normalised by
    ``ln(n_classes)``: it ranges from 0 (unanimous) to ``ln(min(M, n_classes))``.

    Parameters
    ----------
    votes : array-like of int of shape (n_members, n_samples)
        Class labels voted by each member, each in ``[0, n_classes)``.
    n_classes : int
        Number of classes, >= 1.

    Returns
    -------
    entropy : ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> from alsim.kernels import vote_entropy
    >>> vote_entropy([[0, 1], [0, 0]], n_classes=2).round(4)
    array([0.    , 0.6931])
    """
    function = "vote_entropy"
    n_classes = check_int(n_classes, "n_classes", function, low=1, high=_COUNT_MAX)
    votes = _int_array(votes, 2, "(n_members, n_samples)", function, "votes")
    _check_not_empty(votes, "(n_members, n_samples)", function, "votes")
    return _core.vote_entropy(votes, n_classes)


def consensus_kl(member_proba: npt.ArrayLike | Sequence[npt.ArrayLike]) -> npt.NDArray[np.float64]:
    """Mean KL divergence of each committee member to the consensus, per example.

    ``mean_m KL(p_m || p_bar)`` with ``p_bar`` the members' average distribution, in nats with
    ``0 ln 0 = 0``. Values that rounding pushes a hair below 0 are clipped to 0.

    Parameters
    ----------
    member_proba : array-like of shape (n_members, n_samples, n_classes)
        Class probabilities of each member (or a sequence of per-member arrays of equal shape), each
        row validated as in :func:`uncertainty_scores`.

    Returns
    -------
    kl : ndarray of shape (n_samples,), float64

    Examples
    --------
    >>> from alsim.kernels import consensus_kl
    >>> consensus_kl([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]]]).round(4)
    array([0.6931, 0.    ])
    """
    function = "consensus_kl"
    if isinstance(member_proba, (list, tuple)) and member_proba:
        members = [np.asarray(m) for m in member_proba]
        for position, member in enumerate(members):
            if member.shape != members[0].shape:
                raise InvalidInputError(
                    f"The 'member_proba' parameter of {function} must hold members of one shape. "
                    f"Got member {position} of shape {member.shape} and member 0 of shape "
                    f"{members[0].shape} instead."
                )
        member_proba = np.stack(members)
    array = _float_array(member_proba, 3, "(n_members, n_samples, n_classes)", function, "member_proba")
    _check_not_empty(array, "(n_members, n_samples, n_classes)", function, "member_proba")
    return _core.consensus_kl(array)


def pairwise_disagreement(votes: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Fraction of committee member pairs ``(i < j)`` whose votes differ, per example.

    Computed from the vote counts, ``1 - sum_c C(V_c, 2) / C(M, 2)``, not by comparing all pairs.

    Parameters
    ----------
    votes : array-like of int of shape (n_members, n_samples)
        Class labels voted by each member; at least two members.

    Returns
    -------
    disagreement : ndarray of shape (n_samples,), float64
        In ``[0, 1]``.

    Examples
    --------
    >>> from alsim.kernels import pairwise_disagreement
    >>> pairwise_disagreement([[0, 1], [0, 1], [1, 1]]).round(4)
    array([0.6667, 0.    ])
    """
    function = "pairwise_disagreement"
    votes = _int_array(votes, 2, "(n_members, n_samples)", function, "votes")
    _check_not_empty(votes, "(n_members, n_samples)", function, "votes")
    if votes.shape[0] < 2:
        raise InvalidInputError(
            f"The 'votes' parameter of {function} must have at least 2 committee members (rows). "
            f"Got {votes.shape[0]} instead."
        )
    return _core.pairwise_disagreement(votes)


def kmeans_pp(X: npt.ArrayLike, k: int, seed: SeedLike) -> npt.NDArray[np.int64]:
    """k-means++ seeding: ``k`` distinct row indices chosen by D-squared sampling.

    The first index is a uniform draw; each next one is drawn with probability proportional to the
    squared distance to the nearest index chosen so far (one candidate per step). Draws come from a
    PCG-64 generator seeded with ``seed`` and weights are summed in a fixed order, so the same seed gives
    the same indices on every platform and thread count. If every remaining point coincides with a
    chosen one, the next index is drawn uniformly among the points not chosen yet.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite features.
    k : int
        Number of indices, in ``[1, n_samples]``.
    seed : int, numpy.random.Generator or None
        A 64-bit integer seed, a Generator that supplies one, or None for fresh OS entropy.

    Returns
    -------
    indices : ndarray of shape (k,), int64
        In the order they were drawn.

    Examples
    --------
    >>> import numpy as np
    >>> from alsim.kernels import kmeans_pp
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [9.0, 9.0]])
    >>> sorted(kmeans_pp(X, 2, seed=0).tolist()) in ([0, 2], [1, 2])
    True
    """
    function = "kmeans_pp"
    X = _float_array(X, 2, "(n_samples, n_features)", function, "X")
    _check_not_empty(X, "(n_samples, n_features)", function, "X")
    k = check_int(k, "k", function, low=1, high=X.shape[0], note="the number of rows of X")
    return _core.kmeans_pp(X, k, _seed_to_u64(seed, function))
