"""One labeling loop for simulation and for real labeling: :class:`LabelingSession`.

A session holds the pool, the learner, the query strategy, the labeled set with its provenance (row id,
label, annotator, time, cost, round) and the round history, and offers four verbs:

* :meth:`LabelingSession.next_batch`: the rows the strategy wants labeled next, its scores and, for each
  row, why it was chosen;
* :meth:`LabelingSession.teach`: labels for row ids (from the simulated oracle or from people);
* :meth:`LabelingSession.fit`: retrain the learner on the labeled set;
* :meth:`LabelingSession.status`: labels so far, cost spent, the learning curve from cross-validation on
  the labeled rows and the verdict of the stopping rules that need no test labels.

:func:`alsim.simulate` is a session whose annotator is :class:`alsim.oracle.SimulatedOracle`;
:func:`alsim.stream.simulate_stream` keeps its labeled set in one; a labeling project
(:mod:`alsim.labeling`) is a session persisted in SQLite whose annotators are people.

Randomness: one integer seed, split exactly as :func:`alsim.simulate` splits it (:func:`run_streams`), so a
session and a simulation with the same seed draw the same initial set, stop set and strategy choices.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

import numpy as np
import polars as pl

from alsim._validation import check_choice, check_int, fail
from alsim.exceptions import InvalidInputError, InvalidParameterError
from alsim.learners import Committee, fit_learner, make_learner, predict_proba_full
from alsim.strategies import PoolState, QueryStrategy, make_strategy
from alsim.strategies._base import ScoreStrategy

__all__ = ["RESOLUTION_POLICIES", "Batch", "LabelingSession", "RunStreams", "run_streams"]

#: How a row labeled by several annotators who disagree gets its training label:
#:
#: * ``majority``: the most frequent label; a tie goes to the newest of the tied labels;
#: * ``newest``: the label given last;
#: * ``review``: the row is left out of training (and listed by :meth:`LabelingSession.disagreements`)
#:   until an annotator's new label makes one label the strict majority.
RESOLUTION_POLICIES: tuple[str, ...] = ("majority", "newest", "review")

#: Default number of pool rows in the stop set (the fixed sample whose predictions stopping rules compare).
DEFAULT_STOP_SET_SIZE = 1000


class RunStreams(NamedTuple):
    """Independent random streams of one run, all spawned from one seed (same layout in every engine)."""

    initial: np.random.Generator
    stop_set: np.random.Generator
    strategy: np.random.Generator
    committee: np.random.Generator
    oracle_seed: int
    learner_seed: int


def run_streams(seed: int) -> RunStreams:
    """Return the random streams of a run with integer ``seed`` (``SeedSequence(seed).spawn(6)``, in this order)."""
    streams = np.random.SeedSequence(seed).spawn(6)
    initial, stop_set, strategy, committee = (np.random.default_rng(s) for s in streams[:4])
    return RunStreams(
        initial,
        stop_set,
        strategy,
        committee,
        int(streams[4].generate_state(1)[0]),
        int(streams[5].generate_state(1)[0]),
    )


@dataclass(frozen=True)
class Batch:
    """Rows a strategy wants labeled next.

    Attributes
    ----------
    rows : int64 array
        Pool positions (0-based row numbers of the pool), most wanted first.
    row_ids : list
        The rows' ids (the pool's id column; equal to ``rows`` when the pool has none).
    scores : float64 array or None
        The strategy's score of each row (higher = more wanted) for strategies that rank by a score; None
        for strategies that pick otherwise (random, diversity, mixtures).
    reasons : list of str
        Why each row was chosen, in words.
    round : int
        The round whose labels these rows will be.
    predicted : int64 array
        Class code the current model predicts for each row (-1 before any model).
    confidence : float64 array
        The current model's probability of that class (NaN before any model).
    """

    rows: np.ndarray
    row_ids: list[Any]
    scores: np.ndarray | None
    reasons: list[str]
    round: int
    predicted: np.ndarray
    confidence: np.ndarray

    def __len__(self) -> int:
        """Return the number of rows in the batch."""
        return int(self.rows.size)

    def to_frame(self, classes: Sequence[Any] | None = None) -> pl.DataFrame:
        """Return the batch as a table: ``row_id``, ``rank``, ``score``, ``predicted``, ``confidence``, ``reason``."""
        predicted: list[Any] = self.predicted.tolist()
        if classes is not None:
            predicted = [None if code < 0 else str(classes[code]) for code in predicted]
        return pl.DataFrame(
            {
                "row_id": self.row_ids,
                "rank": np.arange(1, self.rows.size + 1),
                "score": None if self.scores is None else self.scores,
                "predicted": predicted,
                "confidence": self.confidence,
                "reason": self.reasons,
            },
            strict=False,
        )


@dataclass
class PoolView:
    """The current model's pass over the whole pool, shared by the strategy and the records of a round."""

    proba_pool: np.ndarray
    table: np.ndarray
    unlabeled: np.ndarray
    uncertainty: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class TeachResult:
    """What :meth:`LabelingSession.teach` did: rows newly labeled, repeated labels, new classes."""

    new_rows: int
    repeated_rows: int
    new_classes: list[str]
    disagreements: int


class LabelingSession:
    """A pool-based labeling loop: next batch, teach, fit, status.

    Parameters
    ----------
    X_pool : array of shape (n_pool, n_features)
        Features of every pool row (float32 or float64; kept as given, not copied).
    classes : sequence
        The class set (labels as people see them); class codes are positions in it. Labels outside it
        that arrive through :meth:`teach` are appended (a new class), and reported.
    learner : str or scikit-learn classifier, default="logreg"
        See :func:`alsim.learners.make_learner`.
    strategy : str or QueryStrategy, default="margin"
        See :func:`alsim.strategies.make_strategy`.
    strategy_params : dict or None, default=None
        Parameters of a strategy given by name.
    row_ids : sequence or None, default=None
        Id of each pool row (unique); None uses the row numbers.
    committee_size : int >= 2, default=5
        Bagged copies of ``learner`` in the committee of ``qbc_*`` strategies.
    committee : sequence of learners or None, default=None
        A committee of different learners instead of bagging.
    cost_model : callable or None, default=None
        ``cost_model(proba) -> expected cost per row`` for cost-aware strategies; None is unit cost. A
        model with an ``indices`` parameter is also given the pool positions of the rows (per-row costs,
        e.g. :class:`alsim.oracle.SimulatedOracle` with ``row_costs``).
    stop_set_size : int or None, default=None
        Rows in the stop set (a fixed, seeded sample of the pool whose predictions the stopping rules
        compare round to round); None means ``min(1000, n_pool)``.
    resolution : {"majority", "newest", "review"}, default="majority"
        Training label of a row that annotators labeled differently, see :data:`RESOLUTION_POLICIES`.
    initial : {"random", "kmeans_pp", "k_center"}, default="k_center"
        How :meth:`next_batch` picks rows before any label exists (label-free cold start).
    random_state : int, default=0
        Seed of the session (the same layout of streams as :func:`alsim.simulate`).
    pool_labels : int array of shape (n_pool,) or None, default=None
        The true class code of every pool row, known only in a simulation. It is handed to strategies that
        read the labels (reference bounds such as ``lookahead_oracle``, marked as not usable in practice)
        and to no other; a real labeling project has none, and such strategies refuse to run.

    Examples
    --------
    >>> import numpy as np
    >>> from alsim.session import LabelingSession
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = (X[:, 0] > 0).astype(int)
    >>> session = LabelingSession(X, classes=["neg", "pos"], random_state=0)
    >>> first = session.next_batch(10)            # cold start: k-center on the features
    >>> _ = session.teach(first.rows, [["neg", "pos"][c] for c in y[first.rows]], annotator="me")
    >>> _ = session.fit()
    >>> batch = session.next_batch(5)
    >>> first.round, batch.round                   # the first labels are round 0, as in a simulation
    (0, 1)
    >>> len(batch)
    5
    """

    def __init__(
        self,
        X_pool: Any,
        *,
        classes: Sequence[Any],
        learner: Any = "logreg",
        strategy: str | QueryStrategy = "margin",
        strategy_params: dict[str, Any] | None = None,
        row_ids: Sequence[Any] | None = None,
        committee_size: int = 5,
        committee: Sequence[Any] | None = None,
        # Called as cost_model(proba), or cost_model(proba, indices=rows) when it has that parameter.
        cost_model: Callable[..., np.ndarray] | None = None,
        stop_set_size: int | None = None,
        resolution: str = "majority",
        initial: str = "k_center",
        random_state: int = 0,
        pool_labels: np.ndarray | None = None,
    ) -> None:
        X_pool = np.asarray(X_pool)
        if X_pool.ndim != 2 or X_pool.shape[0] == 0 or not np.issubdtype(X_pool.dtype, np.floating):
            raise fail(
                "X_pool",
                "LabelingSession",
                "a non-empty 2-d float array",
                f"array of shape {X_pool.shape} ({X_pool.dtype})",
            )
        self.X_pool = X_pool if X_pool.flags.c_contiguous else np.ascontiguousarray(X_pool)
        self.n_pool = int(X_pool.shape[0])
        self.classes: list[Any] = list(classes)
        if len(self.classes) < 1 or len(set(map(str, self.classes))) != len(self.classes):
            raise fail("classes", "LabelingSession", "a non-empty sequence of distinct labels", classes)
        if row_ids is not None and len(row_ids) != self.n_pool:
            raise fail(
                "row_ids",
                "LabelingSession",
                f"a sequence of {self.n_pool} ids (one per pool row)",
                f"{len(row_ids)} ids",
            )
        self._row_ids = None if row_ids is None else np.asarray(row_ids)
        self._row_index: dict[Any, int] | None = None
        self.learner = learner
        if strategy_params is not None and not isinstance(strategy_params, dict):
            raise fail("strategy_params", "LabelingSession", "a dict or None", strategy_params)
        self.strategy = make_strategy(strategy, **(strategy_params or {}))
        self.committee_size = committee_size
        self.committee = committee
        self.cost_model = cost_model
        self._cost_model_takes_rows = cost_model is not None and "indices" in inspect.signature(cost_model).parameters
        if pool_labels is not None and np.shape(pool_labels) != (self.n_pool,):
            raise fail(
                "pool_labels",
                "LabelingSession",
                f"an array of {self.n_pool} class codes (one per pool row)",
                pool_labels,
            )
        self.pool_labels = None if pool_labels is None else np.asarray(pool_labels, dtype=np.int64)
        self.resolution = check_choice(resolution, "resolution", "LabelingSession", RESOLUTION_POLICIES)
        self.initial = check_choice(initial, "initial", "LabelingSession", ("random", "kmeans_pp", "k_center"))
        self.random_state = check_int(random_state, "random_state", "LabelingSession", low=0, high=2**32 - 1)
        self.streams = run_streams(self.random_state)
        stop_set_size = check_int(
            stop_set_size, "stop_set_size", "LabelingSession", low=0, high=self.n_pool, allow_none=True
        )
        if stop_set_size is None:
            stop_set_size = min(DEFAULT_STOP_SET_SIZE, self.n_pool)
        self.stop_set = np.sort(
            self.streams.stop_set.choice(self.n_pool, size=int(stop_set_size), replace=False)
        ).astype(np.int64)

        self.round = 0
        self.model: Any = None
        self._estimator = make_learner(learner, random_state=self.streams.learner_seed)
        self._view: PoolView | None = None
        self._run_cache: dict[Any, Any] = {}
        self._unlabeled_mask = np.ones(self.n_pool, dtype=bool)
        # Rows in the order they were first labeled, with the label each trains on.
        self._order_parts: list[np.ndarray] = []
        self._code_parts: list[np.ndarray] = []
        self._rank = np.full(self.n_pool, -1, dtype=np.int64)
        self._n_labeled = 0
        self._labeled_cache: tuple[np.ndarray, np.ndarray] | None = None
        # Every label ever given to a row that got more than one, and the resolved label (None: review).
        self._votes: dict[int, list[tuple[int, str, float]]] = {}
        self._resolved: dict[int, int | None] = {}
        self._provenance: list[dict[str, Any]] = []
        self.total_cost = 0.0
        self._history: list[dict[str, Any]] = []
        self._selected_signals: tuple[float | None, float | None, float | None] = (None, None, None)

    # -- rows ---------------------------------------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        """Number of classes known so far (new labels can add classes)."""
        return len(self.classes)

    def row_ids(self, rows: np.ndarray) -> list[Any]:
        """Ids of pool positions ``rows``."""
        if self._row_ids is None:
            return [int(r) for r in rows]
        return self._row_ids[rows].tolist()

    def positions(self, row_ids: Sequence[Any]) -> np.ndarray:
        """Pool positions of ``row_ids``; raise InvalidInputError naming the unknown ones."""
        if self._row_ids is None:
            values = np.asarray(row_ids)
            if values.size and not np.issubdtype(values.dtype, np.integer):
                try:
                    values = values.astype(np.int64)
                except (TypeError, ValueError):
                    raise InvalidInputError(
                        f"Unknown row id(s) {list(row_ids)[:5]}: this pool's ids are row numbers."
                    ) from None
            bad = values[(values < 0) | (values >= self.n_pool)] if values.size else values
            if bad.size:
                raise InvalidInputError(
                    f"Unknown row id(s) {bad[:5].tolist()}: this pool's ids are row numbers 0..{self.n_pool - 1}."
                )
            return values.astype(np.int64)
        if self._row_index is None:
            self._row_index = {key: i for i, key in enumerate(self._row_ids.tolist())}
            if len(self._row_index) != self.n_pool:
                raise InvalidInputError("The pool's row ids are not unique.")
        found = [self._row_index.get(key, -1) for key in row_ids]
        unknown = [key for key, pos in zip(row_ids, found, strict=True) if pos < 0]
        if unknown:
            raise InvalidInputError(f"Unknown row id(s) {unknown[:5]} ({len(unknown)} in all): not in this pool.")
        return np.asarray(found, dtype=np.int64)

    @property
    def n_labeled(self) -> int:
        """Number of pool rows with at least one label."""
        return self._n_labeled

    @property
    def unlabeled(self) -> np.ndarray:
        """Pool positions without a label, ascending."""
        return np.flatnonzero(self._unlabeled_mask)

    def labeled_set(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(rows, codes)``: the rows the learner trains on, in the order first labeled, and their labels.

        The labels are resolved by the ``resolution`` policy where annotators disagreed; rows the policy leaves
        without a label are left out.
        """
        if self._labeled_cache is None:
            if not self._order_parts:
                self._labeled_cache = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
            else:
                rows = np.concatenate(self._order_parts) if len(self._order_parts) > 1 else self._order_parts[0]
                codes = np.concatenate(self._code_parts) if len(self._code_parts) > 1 else self._code_parts[0]
                if self._resolved:
                    codes = codes.copy()
                    keep = np.ones(rows.size, dtype=bool)
                    for row, code in self._resolved.items():
                        if code is None:
                            keep[self._rank[row]] = False
                        else:
                            codes[self._rank[row]] = code
                    rows, codes = rows[keep], codes[keep]
                self._labeled_cache = (rows, codes)
        return self._labeled_cache

    # -- teach ----------------------------------------------------------------------------------------------
    def class_codes(self, labels: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
        """Return the class codes of ``labels`` and the new classes among them.

        Labels are class values, compared as strings; labels of no known class become new classes, returned
        second.
        """
        index = {str(c): i for i, c in enumerate(self.classes)}
        new: list[str] = []
        codes = np.empty(len(labels), dtype=np.int64)
        for i, label in enumerate(labels):
            if label is None or (isinstance(label, float) and np.isnan(label)) or str(label) == "":
                raise InvalidInputError(
                    f"Label {i} (for the {i + 1}-th row) is empty; give a class or leave the row out."
                )
            key = str(label)
            if key not in index:
                index[key] = len(self.classes)
                self.classes.append(key)
                new.append(key)
            codes[i] = index[key]
        return codes, new

    def teach(
        self,
        rows: Any,
        labels: Sequence[Any],
        *,
        annotator: str = "user",
        costs: Any = None,
        round: int | None = None,
        timestamp: float | None = None,
        by: str = "position",
    ) -> TeachResult:
        """Give labels to rows.

        Parameters
        ----------
        rows : sequence
            Pool positions (``by="position"``, as in :attr:`Batch.rows`) or row ids (``by="id"``).
        labels : sequence
            Class values (strings compared with ``classes``); a label outside the class set adds a class.
        annotator : str, default="user"
            Who gave the labels (kept in the provenance).
        costs : float, sequence of float or None, default=None
            Cost of each label (None: 1 per label).
        round : int or None, default=None
            Round the labels belong to; None: the current round (that of the last batch).
        timestamp : float or None, default=None
            When the labels were given (seconds since the epoch); None: now.
        by : {"position", "id"}, default="position"
            How ``rows`` identifies the rows.
        """
        if by not in ("position", "id"):
            raise InvalidParameterError(f"The 'by' parameter of teach must be 'position' or 'id'. Got {by!r} instead.")
        positions = self.positions(list(rows)) if by == "id" else np.asarray(rows, dtype=np.int64)
        if positions.ndim != 1 or len(labels) != positions.size:
            raise InvalidInputError(
                f"teach got {positions.size} rows but {len(labels)} labels; give one label per row."
            )
        if by == "position" and positions.size and (positions.min() < 0 or positions.max() >= self.n_pool):
            raise InvalidInputError(f"teach got row positions outside 0..{self.n_pool - 1}.")
        codes, new_classes = self.class_codes(labels)
        n_before = self.n_labeled
        disagreements = self.teach_codes(
            positions, codes, annotator=annotator, costs=costs, round=round, timestamp=timestamp
        )
        new_rows = self.n_labeled - n_before
        return TeachResult(new_rows, int(positions.size - new_rows), new_classes, disagreements)

    def teach_codes(
        self,
        rows: np.ndarray,
        codes: np.ndarray,
        *,
        annotator: str = "user",
        costs: Any = None,
        round: int | None = None,
        timestamp: float | None = None,
    ) -> int:
        """:meth:`teach` with pool positions and class codes (what the simulation engines call).

        Returns the number of rows whose annotators now disagree.
        """
        rows = np.asarray(rows, dtype=np.int64)
        codes = np.asarray(codes, dtype=np.int64)
        if codes.size and (codes.min() < 0 or codes.max() >= self.n_classes):
            raise InvalidInputError(f"Class codes must be in [0, {self.n_classes - 1}].")
        cost_values = (
            np.ones(rows.size) if costs is None else np.broadcast_to(np.asarray(costs, dtype=np.float64), rows.shape)
        )
        when = time.time() if timestamp is None else float(timestamp)
        round_index = self.round if round is None else int(round)
        if self._view is not None and rows.size:
            # How often the model trained before these labels agreed with them (the 'selected accuracy' signal).
            previous = self._view.proba_pool[rows].argmax(axis=1)
            self._selected_signals = (*self._selected_signals[:2], float(np.mean(previous == codes)))
        fresh = self._unlabeled_mask[rows]
        if np.unique(rows).size != rows.size:
            fresh = fresh.copy()
            _, first = np.unique(rows, return_index=True)
            once = np.zeros(rows.size, dtype=bool)
            once[first] = True
            fresh &= once
        new_rows, new_codes = rows[fresh], codes[fresh]
        if new_rows.size:
            self._unlabeled_mask[new_rows] = False
            self._rank[new_rows] = np.arange(self._n_labeled, self._n_labeled + new_rows.size)
            self._order_parts.append(new_rows)
            self._code_parts.append(new_codes)
            self._n_labeled += int(new_rows.size)
        disagreements = 0
        if not fresh.all():
            for row, code in zip(rows[~fresh].tolist(), codes[~fresh].tolist(), strict=True):
                votes = self._votes.setdefault(row, [])
                if not votes:
                    votes.append(self._first_vote(row, rows, codes, fresh, annotator, when))
                votes.append((code, annotator, when))
                self._resolved[row] = self._resolve(votes)
            disagreements = len(self._disagreeing_rows())
        self._labeled_cache = None
        batch_cost = float(cost_values.sum())
        self.total_cost += batch_cost
        self._provenance.append(
            {
                "row": rows,
                "label": codes,
                "annotator": annotator,
                "time": when,
                "cost": np.array(cost_values),
                "round": round_index,
            }
        )
        return disagreements

    def _first_vote(
        self, row: int, rows: np.ndarray, codes: np.ndarray, fresh: np.ndarray, annotator: str, when: float
    ) -> tuple[int, str, float]:
        """Return the first label ever given to ``row``: in this call (``fresh`` marks first labels) or earlier."""
        here = np.flatnonzero((rows == row) & fresh)
        if here.size:
            return int(codes[here[0]]), annotator, when
        for part in self._provenance:
            hits = np.flatnonzero(part["row"] == row)
            if hits.size:
                return int(part["label"][hits[0]]), part["annotator"], part["time"]
        raise InvalidInputError(f"Row {row} has no label.")

    @staticmethod
    def _current_labels(votes: list[tuple[int, str, float]]) -> list[int]:
        """Each annotator's last label, oldest first (a correction replaces the annotator's earlier label)."""
        latest = {who: (when, i, code) for i, (code, who, when) in enumerate(votes)}
        return [code for _, _, code in sorted(latest.values())]

    def _resolve(self, votes: list[tuple[int, str, float]]) -> int | None:
        labels = self._current_labels(votes)
        if self.resolution == "newest":
            return labels[-1]
        counts = np.bincount(labels)
        top = np.flatnonzero(counts == counts.max())
        if top.size == 1:
            return int(top[0])
        if self.resolution == "review":
            return None
        return next(code for code in reversed(labels) if code in set(top.tolist()))

    def _disagreeing_rows(self) -> list[int]:
        return [row for row, votes in self._votes.items() if len(set(self._current_labels(votes))) > 1]

    def disagreements(self) -> pl.DataFrame:
        """Rows whose annotators gave different labels: ``row_id``, ``labels``, ``annotators``, ``resolved``."""
        rows = self._disagreeing_rows()
        resolved = [self._resolved.get(row) for row in rows]
        return pl.DataFrame(
            {
                "row_id": self.row_ids(np.asarray(rows, dtype=np.int64)),
                "labels": [[str(self.classes[c]) for c, _, _ in self._votes[row]] for row in rows],
                "annotators": [[a for _, a, _ in self._votes[row]] for row in rows],
                "resolved": [None if code is None else str(self.classes[code]) for code in resolved],
            },
            strict=False,
        )

    def provenance(self) -> pl.DataFrame:
        """Every label given, in order: ``row_id``, ``label``, ``annotator``, ``time``, ``cost``, ``round``."""
        if not self._provenance:
            return pl.DataFrame(
                schema={
                    "row_id": pl.Int64,
                    "label": pl.String,
                    "annotator": pl.String,
                    "time": pl.Float64,
                    "cost": pl.Float64,
                    "round": pl.Int64,
                }
            )
        rows = np.concatenate([p["row"] for p in self._provenance])
        codes = np.concatenate([p["label"] for p in self._provenance])
        sizes = [p["row"].size for p in self._provenance]
        return pl.DataFrame(
            {
                "row_id": self.row_ids(rows),
                "label": [str(self.classes[c]) for c in codes.tolist()],
                "annotator": np.repeat([p["annotator"] for p in self._provenance], sizes).tolist(),
                "time": np.repeat([p["time"] for p in self._provenance], sizes),
                "cost": np.concatenate([p["cost"] for p in self._provenance]),
                "round": np.repeat([p["round"] for p in self._provenance], sizes),
            },
            strict=False,
        )

    # -- fit --------------------------------------------------------------------------------------------
    def fit(self) -> Any:
        """Retrain the learner on the labeled set (warm start where the learner supports it); return the model."""
        rows, codes = self.labeled_set()
        if rows.size == 0:
            raise InvalidInputError("fit needs at least one labeled row; teach some labels first.")
        model = fit_learner(self._estimator, self.X_pool[rows], codes)
        if model.__class__ is self._estimator.__class__:
            self._estimator = model  # keep the fitted object for the next round's warm start
        self.model = model
        self._view = None
        return model

    def pool_view(self) -> PoolView:
        """Return the current model's probabilities and uncertainty on the whole pool.

        Computed in one pass and cached until the next :meth:`fit`.
        """
        if self.model is None:
            raise InvalidInputError("The session has no model yet; call fit() after teaching some labels.")
        if self._view is None:
            from alsim import kernels

            proba_pool = predict_proba_full(self.model, self.X_pool, self.n_classes)
            # Every measure from one pass over the whole pool while it is in cache (no copy of the
            # unlabeled rows), shared with the strategies through the PoolState.
            table = kernels.uncertainty_table(proba_pool)
            unlabeled = self.unlabeled
            uncertainty = {measure: table[:, j][unlabeled] for j, measure in enumerate(kernels.MEASURES)}
            self._view = PoolView(proba_pool, table, unlabeled, uncertainty)
        return self._view

    # -- next -----------------------------------------------------------------------------------------
    def _cost_model_for(self, unlabeled: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
        """Return the cost model as strategies call it (``model(proba)``), bound to these rows if it prices rows."""
        if self.cost_model is None or not self._cost_model_takes_rows:
            return self.cost_model
        return functools.partial(self.cost_model, indices=unlabeled)

    def next_batch(self, batch_size: int, *, exclude: Any = None) -> Batch:
        """Return the ``batch_size`` rows the strategy wants labeled next, most wanted first.

        Before any label exists the rows come from the label-free cold start (``initial``). ``exclude``:
        pool positions not to hand out (e.g. rows reserved by another annotator). Starts a new round.
        """
        if self.model is None and self._n_labeled:
            self.fit()
        candidates = self._unlabeled_mask
        if exclude is not None and np.size(exclude):
            candidates = candidates.copy()
            candidates[np.asarray(exclude, dtype=np.int64)] = False
        n_candidates = int(np.count_nonzero(candidates))
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or not (1 <= batch_size <= n_candidates)
        ):
            raise InvalidParameterError(
                f"The 'batch_size' parameter of next_batch must be an int in [1, {n_candidates}] (the unlabeled "
                f"rows not reserved). Got {batch_size!r} instead."
            )
        k = int(batch_size)
        if self.model is None:
            chosen = self._cold_start(k, candidates)
            self.round += 1 if self._provenance else 0
            n = chosen.size
            return Batch(
                chosen,
                self.row_ids(chosen),
                None,
                [f"cold start ({self.initial} on the features)"] * n,
                self.round,
                np.full(n, -1, dtype=np.int64),
                np.full(n, np.nan),
            )
        view = self.pool_view()
        unlabeled, uncertainty = view.unlabeled, view.uncertainty
        if exclude is not None and np.size(exclude):
            keep = candidates[unlabeled]
            unlabeled = unlabeled[keep]
            uncertainty = {m: values[keep] for m, values in uncertainty.items()}
        rows, codes = self.labeled_set()
        # Drawn every round, used or not, so a strategy's use of the committee never shifts later rounds.
        make_committee = functools.partial(
            Committee,
            self.committee if self.committee is not None else self.learner,
            n_members=self.committee_size,
            n_classes=self.n_classes,
            random_state=int(self.streams.committee.integers(2**32)),
        )
        state = PoolState(
            self.X_pool,
            rows,
            codes,
            self.n_classes,
            self.model,
            unlabeled=unlabeled,
            proba_pool=view.proba_pool,
            committee_factory=make_committee,
            cost_model=self._cost_model_for(unlabeled),
            uncertainty=uncertainty,
            cache=self._run_cache,
            pool_labels=self.pool_labels if self.strategy.uses_true_labels else None,
        )
        scores: np.ndarray | None = None
        if self._ranks_by_score(state):
            from alsim import kernels

            strategy = cast(ScoreStrategy, self.strategy)
            all_scores = np.ascontiguousarray(strategy.scores(state, self.streams.strategy), dtype=np.float64)
            positions = kernels.top_k(all_scores, k)
            chosen = state.unlabeled[positions]
            scores = all_scores[positions]
        else:
            chosen = self.strategy.select(state, k, self.streams.strategy)
        chosen = self._check_selection(chosen, k, candidates)
        self.round += 1
        proba = view.proba_pool[chosen]
        predicted = proba.argmax(axis=1)
        confidence = proba[np.arange(chosen.size), predicted]
        return Batch(
            chosen,
            self.row_ids(chosen),
            scores,
            self._reasons(chosen, scores, predicted, confidence),
            self.round,
            predicted.astype(np.int64),
            confidence,
        )

    def _ranks_by_score(self, state: PoolState) -> bool:
        """Whether the strategy's ``select`` is 'top k of ``scores``', so the scores can be reported."""
        from alsim.strategies.builtin import UncertaintySampling

        if not isinstance(self.strategy, ScoreStrategy):
            return False
        select = type(self.strategy).select
        if select is ScoreStrategy.select:
            return True
        return select is UncertaintySampling.select and state.has_uncertainty_scores(
            getattr(self.strategy, "measure", "")
        )

    def _cold_start(self, k: int, candidates: np.ndarray) -> np.ndarray:
        from alsim import kernels

        rng = self.streams.initial
        pool = np.flatnonzero(candidates)
        if self.initial == "random":
            return rng.choice(pool, size=k, replace=False).astype(np.int64)
        seed = int(rng.integers(2**32))
        if self.initial == "kmeans_pp" or pool.size < self.n_pool:
            X = self.X_pool if pool.size == self.n_pool else np.ascontiguousarray(self.X_pool[pool])
            picked = np.asarray(kernels.kmeans_pp(np.asarray(X, dtype=np.float64), k, seed), dtype=np.int64)
            return pool[picked]
        X64 = np.asarray(self.X_pool, dtype=np.float64)
        return np.asarray(kernels.k_center_greedy(X64, np.empty(0, dtype=np.int64), k, seed=seed), dtype=np.int64)

    def _check_selection(self, chosen: Any, k: int, candidates: np.ndarray) -> np.ndarray:
        chosen = np.asarray(chosen)
        valid = (
            chosen.ndim == 1
            and chosen.size == k
            and np.issubdtype(chosen.dtype, np.integer)
            and (k == 0 or (chosen.min() >= 0 and chosen.max() < candidates.size))
        )
        if valid:
            chosen = chosen.astype(np.int64)
            valid = bool(np.all(candidates[chosen])) and np.unique(chosen).size == k
        if not valid:
            raise InvalidInputError(
                f"The strategy {self.strategy.name!r} must return {k} distinct unlabeled pool indices (int array). "
                f"Got {chosen!r} instead."
            )
        return chosen

    def _reasons(
        self, chosen: np.ndarray, scores: np.ndarray | None, predicted: np.ndarray, confidence: np.ndarray
    ) -> list[str]:
        name = self.strategy.name
        reasons = []
        for rank, (code, p) in enumerate(zip(predicted.tolist(), confidence.tolist(), strict=True), start=1):
            why = f"{name} pick {rank} of {chosen.size}"
            if scores is not None:
                why += f", score {scores[rank - 1]:.4g}"
            reasons.append(f"{why}; model says {self.classes[code]} with p={p:.2f}")
        return reasons

    # -- records and status -----------------------------------------------------------------------------
    def record_round(
        self,
        *,
        batch_cost: float,
        selected_signals: tuple[float | None, float | None] = (None, None),
        cv_accuracy: float | None = None,
    ) -> dict[str, Any]:
        """Add this round's label-free signals to the history (after :meth:`fit`); return the row.

        The row holds the columns of :data:`alsim.records.RECORD_SCHEMA` that need no test labels, so the
        stopping rules read the history as they read a simulation's records.
        """
        view = self.pool_view()
        least_confidence = view.uncertainty["least_confidence"]
        if view.unlabeled.size:
            pool_signals: tuple[float | None, ...] = (
                float(least_confidence.max()),
                float(least_confidence.mean()),
                float(view.uncertainty["entropy"].mean()),
                float(np.var(least_confidence)),  # = variance of max p, since least confidence = 1 - max p
            )
        else:
            pool_signals = (None, None, None, None)
        row = {
            "round": self.round,
            "n_labeled": self.n_labeled,
            "cost": self.total_cost,
            "batch_cost": batch_cost,
            "n_unlabeled": int(view.unlabeled.size),
            "pool_max_uncertainty": pool_signals[0],
            "pool_mean_uncertainty": pool_signals[1],
            "pool_mean_entropy": pool_signals[2],
            "pool_confidence_variance": pool_signals[3],
            "selected_mean_uncertainty": selected_signals[0],
            "selected_max_uncertainty": selected_signals[1],
            "selected_accuracy": self._selected_signals[2],
            "stop_set_predictions": view.proba_pool[self.stop_set].argmax(axis=1).tolist(),
            "labeled_cv_accuracy": cv_accuracy,
        }
        self._history.append(row)
        self._selected_signals = (None, None, None)
        return row

    def history(self) -> pl.DataFrame:
        """Return the recorded rounds (see :meth:`record_round`), one row per round."""
        from alsim.records import RECORD_SCHEMA

        schema = {
            name: RECORD_SCHEMA[name]
            for name in (self._history[0] if self._history else {"round": 0, "n_labeled": 0, "cost": 0.0})
        }
        return pl.DataFrame(self._history, schema=schema)

    def cv_accuracy(self) -> float | None:
        """Cross-validated accuracy of the learner on the labeled set (None with too few labels per class)."""
        from alsim._engine import cv_accuracy

        rows, codes = self.labeled_set()
        return cv_accuracy(self.learner, self.X_pool[rows], codes, self.streams.learner_seed)

    def status(self, *, rules: Sequence[Any] | None = None, target: float | None = None) -> dict[str, Any]:
        """Summarise the session: labels, cost, learning curve, stopping verdicts and labels still needed.

        The learning curve is the cross-validated accuracy on the rows labeled up to each round; the verdicts
        are those of every stopping rule that needs no test labels, on the recorded rounds
        (:meth:`record_round`); given a ``target`` accuracy, the labels still needed come from the fitted curve.
        """
        from alsim.labeling.status import session_status

        return session_status(self, rules=rules, target=target)
