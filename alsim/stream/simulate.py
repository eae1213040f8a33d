"""The stream-based labelling loop: :func:`simulate_stream`.

The pool's examples arrive one at a time in a seeded order (:mod:`alsim.stream.orders`). The first
``initial_size`` arrivals are a labelled warm-up; after that each arrival is

1. *tested*: the current model predicts it (its prequential correctness is counted, with the true label,
   before anything is revealed);
2. *scored*: the budget manager (:class:`~alsim.stream.budget.BudgetManager`) says whether a label is
   affordable and, if so, the strategy decides whether to buy it (buffered strategies decide once per full
   buffer);
3. *trained on* if bought: the oracle answers, the drift detector sees whether the prediction was wrong,
   and the learner is updated with ``partial_fit`` (``update="partial_fit"``) or refitted on every label so
   far once ``update`` new labels have arrived (``update=<int>``).

After every ``block_size`` arrivals the loop records one row: the pool loop's columns
(:data:`alsim.records.RECORD_SCHEMA`, with ``round`` = block number, ``pool_*`` signals over the most recent
skipped arrivals, ``selected_*`` over the block's bought labels, ``stop_set_predictions`` on a fixed stop
set) plus :data:`STREAM_COLUMNS`. The result is a :class:`~alsim.records.SimulationResult` with
``config["mode"] == "stream"``, saved and loaded like any other.

Randomness: one integer seed. The pool/test split uses it directly (the same split as ``alsim.simulate``
with that seed); the arrival order, stop set, strategy, committee, oracle and learner each get an
independent stream spawned from ``numpy.random.SeedSequence(seed)``. Same seed -> identical records except
the ``*_seconds`` columns.
"""

from __future__ import annotations

import numbers
import time
from collections import deque
from typing import Any, NamedTuple

import numpy as np
import polars as pl
from sklearn.naive_bayes import GaussianNB

from alsim._engine import classification_scores, library_versions, make_oracle
from alsim._validation import check_fraction, check_int, fail
from alsim.exceptions import InvalidInputError, InvalidParameterError
from alsim.learners import Committee, learner_description, make_learner, predict_proba_full
from alsim.loop import RunData, prepare_run_data, reference_scores_and_difficulty, run_metadata
from alsim.records import RECORD_SCHEMA, SimulationResult
from alsim.session import DEFAULT_STOP_SET_SIZE, LabelingSession, run_streams
from alsim.stream.budget import BudgetManager
from alsim.stream.drift import make_drift_detector
from alsim.stream.orders import _ORDERS, make_arrival_order
from alsim.stream.strategies import BufferStrategy, make_stream_strategy

__all__ = ["STREAM_COLUMNS", "STREAM_RECORD_SCHEMA", "simulate_stream"]

#: Stream-only columns, appended after the pool loop's columns.
#:
#: * ``examples_seen``: arrivals so far (warm-up included);
#: * ``prequential_accuracy``: share of the block's arrivals that the model predicted correctly before their
#:   label could be revealed (test-then-train); null in round 0;
#: * ``drift_detected``: whether the drift detector fired during the block;
#: * ``labeling_target``: the budget manager's target share at the end of the block (above
#:   ``budget_fraction`` during a drift boost, below it while the boost is repaid).
STREAM_COLUMNS: dict[str, pl.DataType] = {
    "examples_seen": pl.Int64(),
    "prequential_accuracy": pl.Float64(),
    "drift_detected": pl.Boolean(),
    "labeling_target": pl.Float64(),
}

#: Full records schema of a stream run.
STREAM_RECORD_SCHEMA: dict[str, pl.DataType] = {**RECORD_SCHEMA, **STREAM_COLUMNS}

UPDATE_MODES = ("partial_fit",)

_OWNER = "simulate_stream"


def _check_update(update: Any) -> str | int:
    if isinstance(update, str):
        if update in UPDATE_MODES:
            return update
    elif isinstance(update, numbers.Integral) and not isinstance(update, bool) and int(update) >= 1:
        return int(update)
    expected = "'partial_fit' or an int >= 1 (retrain on all labels every N new labels)"
    raise fail("update", _OWNER, expected, update)


class _Learner:
    """The stream's model, updated with ``partial_fit`` or refitted on the labeled set every ``update`` labels.

    The labeled set is the session's.
    """

    def __init__(self, learner: Any, update: str | int, n_classes: int, seed: int, session: LabelingSession) -> None:
        self.estimator = make_learner(learner, random_state=seed)
        self.session = session
        self.update = update
        self._refit_every = update if isinstance(update, int) else None
        self.n_classes = n_classes
        self.model: Any = None
        self._pending = 0
        self._variance_floor: float | None = None
        if update == "partial_fit" and not hasattr(self.estimator, "partial_fit"):
            name = learner if isinstance(learner, str) else type(learner).__name__
            raise InvalidParameterError(
                f"The learner {name!r} ({type(self.estimator).__name__}) has no partial_fit, so it cannot be "
                "used with update='partial_fit'. Use update=<int> to retrain it every N labels, or a learner "
                "with partial_fit ('gaussian_nb', sklearn.linear_model.SGDClassifier(loss='log_loss'), ...)."
            )

    def start(self, X: np.ndarray, y: np.ndarray) -> None:
        if self.update == "partial_fit":
            self.estimator.partial_fit(X, y, classes=np.arange(self.n_classes))
            self.model = self.estimator
            self._variance_floor = (
                getattr(self.estimator, "epsilon_", None) if isinstance(self.estimator, GaussianNB) else None
            )
        else:
            self._refit()

    def learn(self, X_new: np.ndarray, y_new: np.ndarray) -> bool:
        """Take new labels (already taught to the session); return whether the model changed."""
        if self._refit_every is None:
            self.estimator.partial_fit(X_new, y_new)
            if self._variance_floor is not None:
                # GaussianNB.partial_fit recomputes its variance floor from each batch; a one-example batch
                # makes it 0, and the first example of a class then gets variance 0 (NaN probabilities).
                # Keep the floor of the warm-up batch instead.
                np.maximum(self.estimator.var_, self._variance_floor, out=self.estimator.var_)
                self.estimator.epsilon_ = self._variance_floor
            return True
        self._pending += y_new.size
        if self._pending < self._refit_every:
            return False
        self._refit()
        return True

    def _refit(self) -> None:
        self.model = self.session.fit()
        self._pending = 0

    def proba(self, X: np.ndarray) -> np.ndarray:
        # Classes not seen yet have prior 0 under partial_fit; log(0) = -inf is the intended value there.
        with np.errstate(divide="ignore"):
            return predict_proba_full(self.model, X, self.n_classes)


class _Block:
    """Accumulators of one recorded row."""

    def __init__(self) -> None:
        self.cost = 0.0
        self.fit_seconds = 0.0
        self.select_seconds = 0.0
        self.selected: list[int] = []
        self.uncertainty: list[float] = []
        self.bought_correct: list[bool] = []
        self.correct = 0
        self.arrivals = 0
        self.drift = False


class _StreamRun:
    """State of one stream simulation: budget, detector, buffer, records.

    The labelled set and its provenance live in the labeling session.
    """

    def __init__(
        self,
        *,
        session: LabelingSession,
        X_pool: np.ndarray,
        y_pool: np.ndarray,
        X_test: np.ndarray,
        y_test: np.ndarray,
        n_classes: int,
        model: _Learner,
        oracle: Any,
        difficulty: np.ndarray | None,
        budget: BudgetManager,
        detector: Any,
        strategy: Any,
        pool_strategy: Any,
        learner: Any,
        stop_set: np.ndarray,
        recent_window: int,
        strategy_rng: np.random.Generator,
        committee_rng: np.random.Generator,
    ) -> None:
        self.session = session
        self.X_pool, self.y_pool, self.X_test, self.y_test = X_pool, y_pool, X_test, y_test
        self.n_classes = n_classes
        self.model = model
        self.oracle = oracle
        self.difficulty = difficulty
        self.budget = budget
        self.detector = detector
        self.strategy = strategy
        self.pool_strategy = pool_strategy
        self.learner = learner
        self.stop_set = stop_set
        self.strategy_rng = strategy_rng
        self.committee_rng = committee_rng
        self.columns: dict[str, list[Any]] = {name: [] for name in STREAM_RECORD_SCHEMA}
        self.recent: deque[int] = deque(maxlen=recent_window)
        self.detections: list[int] = []
        self.seen = 0
        self.round = 0
        self.block = _Block()
        self.buffer: list[int] = []
        self.buffer_proba: list[np.ndarray] = []
        # Between two model updates the predictions of upcoming arrivals do not change, so they are
        # computed in look-ahead chunks rather than one row at a time; a model update drops the chunk.
        self.lookahead = int(np.clip(2.0 / budget.budget_fraction, 16, 256))
        self._chunk_start = 0
        self._chunk = np.empty((0, n_classes))

    # -- labels ---------------------------------------------------------------------------------------
    def _buy(self, chosen: np.ndarray, round_index: int) -> tuple[np.ndarray, np.ndarray]:
        difficulty = None if self.difficulty is None else self.difficulty[chosen]
        answer = self.oracle.query(chosen, self.y_pool, difficulty, n_classes=self.n_classes)
        self.session.teach_codes(chosen, answer.labels, annotator="oracle", costs=answer.costs, round=round_index)
        self.block.cost += float(answer.costs.sum())
        self.block.selected.extend(chosen.tolist())
        return answer.labels, answer.costs

    def warm_up(self, warm: np.ndarray) -> None:
        """Round 0: label the first arrivals and fit the first model."""
        labels, _ = self._buy(warm, 0)
        tick = time.perf_counter()
        self.model.start(self.X_pool[warm], labels)
        self.block.fit_seconds = time.perf_counter() - tick
        self.seen = int(warm.size)
        self._record()

    def _learn(self, chosen: np.ndarray, proba: np.ndarray) -> None:
        """Buy the labels of ``chosen`` (predicted with ``proba`` on arrival), feed the detector, update."""
        labels, _ = self._buy(chosen, self.round + 1)  # recorded with the block that ends this round
        self.budget.spend(int(chosen.size))
        from alsim import kernels

        self.block.uncertainty.extend(
            kernels.uncertainty_scores(np.ascontiguousarray(proba), "least_confidence").tolist()
        )
        errors = proba.argmax(axis=1) != labels
        self.block.bought_correct.extend((~errors).tolist())
        if self.detector is not None:
            for error in errors:
                if self.detector.update(float(error)):
                    self.block.drift = True
                    self.detections.append(self.seen)
                    self.budget.boost()
        tick = time.perf_counter()
        changed = self.model.learn(self.X_pool[chosen], labels)
        self.block.fit_seconds += time.perf_counter() - tick
        if changed:
            self._chunk = np.empty((0, self.n_classes))

    # -- arrivals -------------------------------------------------------------------------------------
    def run(
        self, arrivals: np.ndarray, initial_size: int, block_size: int, *, progress: bool, description: str
    ) -> None:
        """Warm up on the first ``initial_size`` arrivals, then process the rest block by block."""
        from tqdm.auto import tqdm

        n_arrivals = arrivals.size
        with tqdm(total=n_arrivals, disable=not progress, unit="example", desc=description) as bar:
            self.warm_up(arrivals[:initial_size])
            bar.update(initial_size)
            for start in range(initial_size, n_arrivals, block_size):
                stop = min(start + block_size, n_arrivals)
                self.process(arrivals, start, stop)
                bar.update(stop - start)

    def process(self, arrivals: np.ndarray, start: int, stop: int) -> None:
        """Handle arrivals ``arrivals[start:stop]`` (one block), then record the block."""
        buffered = self.pool_strategy is not None
        for position in range(start, stop):
            tick = time.perf_counter()
            if position >= self._chunk_start + self._chunk.shape[0]:
                self._chunk_start = position
                upcoming = arrivals[position : min(position + self.lookahead, arrivals.size)]
                self._chunk = self.model.proba(self.X_pool[upcoming])
            proba = self._chunk[position - self._chunk_start]
            index = int(arrivals[position])
            self.seen = position + 1
            self.block.arrivals += 1
            self.block.correct += int(np.argmax(proba) == self.y_pool[index])  # tested before any label
            self.budget.arrive()
            if buffered:
                self.buffer.append(index)
                self.buffer_proba.append(proba)
                self.block.select_seconds += time.perf_counter() - tick
                if len(self.buffer) == self.strategy.buffer_size or position == arrivals.size - 1:
                    self._flush_buffer()
                continue
            wanted = self.budget.allowance() >= 1 and self.strategy.query(proba, self.budget.target, self.strategy_rng)
            self.block.select_seconds += time.perf_counter() - tick
            if wanted:
                self._learn(np.array([index], dtype=np.int64), proba[None, :])
            else:
                self.recent.append(index)
        self.round += 1
        self._record()

    def _flush_buffer(self) -> None:
        """Let the pool strategy pick, among the buffered arrivals, as many as the budget allows.

        The strategy sees a pool made of the labelled examples and the buffer only: a stream learner has no
        access to examples that have not arrived yet (nor to skipped ones it did not keep).
        """
        from alsim.strategies import PoolState

        tick = time.perf_counter()
        candidates = np.asarray(self.buffer, dtype=np.int64)
        proba = np.vstack(self.buffer_proba)
        self.buffer, self.buffer_proba = [], []
        k = min(self.budget.allowance(), candidates.size)
        picked = np.empty(0, dtype=np.int64)
        if k > 0:
            labeled, y_labeled = self.session.labeled_set()
            n_labeled = labeled.size
            local_pool = np.vstack([self.X_pool[labeled], self.X_pool[candidates]])
            round_seed = int(self.committee_rng.integers(2**32))
            state = PoolState(
                local_pool,
                np.arange(n_labeled, dtype=np.int64),
                y_labeled,
                self.n_classes,
                self.model.model,
                unlabeled=np.arange(n_labeled, n_labeled + candidates.size, dtype=np.int64),
                proba_unlabeled=proba,
                committee_factory=lambda: Committee(
                    self.learner, n_members=5, n_classes=self.n_classes, random_state=round_seed
                ),
                cost_model=self.oracle.expected_costs,
            )
            chosen = np.asarray(self.pool_strategy.select(state, k, self.strategy_rng))
            positions = chosen - n_labeled
            valid = (
                chosen.shape == (k,)
                and np.issubdtype(chosen.dtype, np.integer)
                and np.unique(chosen).size == k
                and bool(np.all((positions >= 0) & (positions < candidates.size)))
            )
            if not valid:
                raise InvalidInputError(
                    f"The pool strategy {self.pool_strategy.name!r} must return {k} distinct indices of the "
                    f"unlabeled (buffered) examples {state.unlabeled.tolist()}. Got {chosen.tolist()} instead."
                )
            picked = positions.astype(np.int64)
        self.block.select_seconds += time.perf_counter() - tick
        if picked.size:
            self._learn(candidates[picked], proba[picked])
        skipped = np.ones(candidates.size, dtype=bool)
        skipped[picked] = False
        self.recent.extend(candidates[skipped].tolist())

    # -- records --------------------------------------------------------------------------------------
    def _record(self) -> None:
        from alsim import kernels

        block = self.block
        tick = time.perf_counter()
        test_pred = self.model.proba(self.X_test).argmax(axis=1)
        accuracy, macro_f1, balanced = classification_scores(self.y_test, test_pred, self.n_classes)
        pool_signals: tuple[float | None, ...] = (None, None, None, None)
        if self.recent:
            proba_recent = self.model.proba(self.X_pool[np.fromiter(self.recent, dtype=np.int64)])
            uncertainty = kernels.uncertainty_scores(proba_recent, "least_confidence")
            entropy = kernels.uncertainty_scores(proba_recent, "entropy")
            pool_signals = (
                float(uncertainty.max()),
                float(uncertainty.mean()),
                float(entropy.mean()),
                float(np.var(proba_recent.max(axis=1))),
            )
        if self.stop_set.size:
            stop_pred = self.model.proba(self.X_pool[self.stop_set]).argmax(axis=1)
        else:
            stop_pred = np.empty(0, dtype=np.int64)
        evaluate_seconds = time.perf_counter() - tick
        row = {
            "round": self.round,
            "n_labeled": self.session.n_labeled,
            "cost": self.session.total_cost,
            "batch_cost": block.cost,
            "accuracy": accuracy,
            "macro_f1": macro_f1,
            "balanced_accuracy": balanced,
            "fit_seconds": block.fit_seconds,
            "select_seconds": block.select_seconds,
            "evaluate_seconds": evaluate_seconds,
            "selected": block.selected,
            "n_unlabeled": self.X_pool.shape[0] - self.session.n_labeled,
            "pool_max_uncertainty": pool_signals[0],
            "pool_mean_uncertainty": pool_signals[1],
            "pool_mean_entropy": pool_signals[2],
            "pool_confidence_variance": pool_signals[3],
            "selected_mean_uncertainty": float(np.mean(block.uncertainty)) if block.uncertainty else None,
            "selected_max_uncertainty": float(np.max(block.uncertainty)) if block.uncertainty else None,
            "selected_accuracy": float(np.mean(block.bought_correct)) if block.bought_correct else None,
            "stop_set_predictions": stop_pred.tolist(),
            "labeled_cv_accuracy": None,
            "examples_seen": self.seen,
            "prequential_accuracy": block.correct / block.arrivals if block.arrivals else None,
            "drift_detected": block.drift,
            "labeling_target": self.budget.target,
        }
        for name, value in row.items():
            self.columns[name].append(value)
        self.block = _Block()


def simulate_stream(
    dataset: Any,
    *,
    strategy: str | Any = "variable_uncertainty",
    learner: str | Any = "gaussian_nb",
    order: str = "shuffle",
    budget_fraction: float = 0.1,
    update: str | int = "partial_fit",
    drift_detector: str | None = None,
    oracle: Any = None,
    block_size: int = 100,
    initial_size: int | None = None,
    budget_window: int = 100,
    boost_factor: float = 3.0,
    boost_period: int = 500,
    payback_rate: float = 0.5,
    recent_window: int = 200,
    drift_position: float = 0.5,
    drift_width: float = 0.2,
    test_size: float = 0.3,
    stop_set_size: int | None = None,
    strategy_params: dict[str, Any] | None = None,
    detector_params: dict[str, Any] | None = None,
    random_state: int | np.random.Generator | None = 0,
    progress: bool = False,
) -> SimulationResult:
    """Replay a stream-based active-learning loop (label or skip each arrival) on a labelled dataset.

    Parameters
    ----------
    dataset : str, os.PathLike, Dataset or Split
        As in :func:`alsim.simulate`: ``"openml:<id>"``, a file path, a ``Dataset`` or a ready ``Split``.
    strategy : str, StreamStrategy or BufferStrategy, default="variable_uncertainty"
        A name from :func:`alsim.stream.available_stream_strategies` (``random``, ``fixed_uncertainty``,
        ``variable_uncertainty``, ``randomized_variable_uncertainty``, ``split`` or ``buffer_<pool
        strategy>``) or an instance.
    learner : str or scikit-learn classifier, default="gaussian_nb"
        See :func:`alsim.learners.make_learner`; needs ``partial_fit`` when ``update="partial_fit"``.
    order : {"shuffle", "abrupt_class", "gradual_class", "abrupt_feature", "gradual_feature"}
        Arrival order, see :func:`alsim.stream.make_arrival_order`.
    budget_fraction : float in (0, 1], default=0.1
        Target share of (post-warm-up) arrivals to label. The budget counts labels; with per-label costs
        the ``cost`` column follows what those labels cost.
    update : "partial_fit" or int >= 1, default="partial_fit"
        Incremental updates, or a full refit on all labels every ``update`` new labels.
    drift_detector : {None, "adwin", "page_hinkley"}, default=None
        Detector on the model's errors on bought labels; a detection starts a labelling boost (see
        :class:`~alsim.stream.budget.BudgetManager`).
    oracle : SimulatedOracle, dict or None
        As in :func:`alsim.simulate`.
    block_size : int >= 1, default=100
        Arrivals per recorded row.
    initial_size : int or None, default=None
        Labelled warm-up: the first arrivals; None means ``max(10, n_classes)``.
    budget_window : int >= 1, default=100
        Memory ``w`` of the budget manager's spending estimate.
    boost_factor, boost_period, payback_rate
        Drift response of the budget manager (used only with a ``drift_detector``): label at
        ``boost_factor * budget_fraction`` for ``boost_period`` arrivals after a detection, then at
        ``payback_rate * budget_fraction`` until the extra labels are repaid.
    recent_window : int >= 1, default=200
        Number of most recent skipped arrivals over which the ``pool_*`` signals are computed.
    drift_position, drift_width : float in (0, 1)
        Where the drift of a drifting order happens and over how much of the stream a gradual one mixes.
    test_size : float in (0, 1), default=0.3
        Held-out share of the dataset (not used when ``dataset`` is a ``Split``).
    stop_set_size : int or None, default=None
        Size of the fixed stop set of pool examples; None means ``min(1000, n_pool)``; 0 disables.
    strategy_params, detector_params : dict or None
        Parameters of the strategy and of the river detector.
    random_state : int in [0, 2**32 - 1], Generator or None, default=0
        Seed of the whole run; the seed used is in ``metadata["seed"]``.
    progress : bool, default=False
        Show a progress bar over the arrivals on stderr.

    Returns
    -------
    SimulationResult
        ``records`` (:data:`STREAM_RECORD_SCHEMA`, one row per block, round 0 = warm-up), ``config`` (with
        ``mode="stream"``) and ``metadata`` (with ``drift_position`` and the detections).

    Examples
    --------
    >>> from alsim.stream import simulate_stream
    >>> result = simulate_stream("openml:61", budget_fraction=0.2, block_size=25, random_state=0)
    >>> result.records.select("round", "examples_seen").row(-1)
    (4, 105)
    """
    started = time.perf_counter()
    data = prepare_run_data(dataset, test_size, random_state, "simulate_stream")
    setup = _check_setup(
        data,
        strategy=strategy,
        strategy_params=strategy_params,
        order=order,
        budget_fraction=budget_fraction,
        update=update,
        drift_detector=drift_detector,
        detector_params=detector_params,
        block_size=block_size,
        initial_size=initial_size,
        budget_window=budget_window,
        boost_factor=boost_factor,
        boost_period=boost_period,
        payback_rate=payback_rate,
        recent_window=recent_window,
        stop_set_size=stop_set_size,
        progress=progress,
    )
    # The initial stream of the run seeds the arrival order here (there is no initial set to pick).
    streams = run_streams(data.seed)
    answerer = make_oracle(oracle, streams.oracle_seed, data.split.classes, "simulate_stream")
    # The labelled set and its provenance live in a labeling session whose annotator is the oracle.
    session = LabelingSession(
        data.X_pool,
        classes=[str(c) for c in data.split.classes],
        learner=learner,
        strategy=setup.pool_strategy if setup.pool_strategy is not None else "random",
        cost_model=answerer.expected_costs,
        stop_set_size=setup.stop_set_size,
        random_state=data.seed,
    )
    model = _Learner(learner, setup.update, data.n_classes, streams.learner_seed, session)
    arrival = make_arrival_order(
        data.X_pool,
        data.y_pool,
        order,
        drift_position=drift_position,
        drift_width=drift_width,
        random_state=streams.initial,
    )
    config = _config(data, setup, learner, answerer, order, drift_position, drift_width)
    reference_accuracy, reference_macro_f1, difficulty = reference_scores_and_difficulty(
        data, learner, streams.learner_seed, answerer.needs_difficulty
    )
    run = _StreamRun(
        session=session,
        X_pool=data.X_pool,
        y_pool=data.y_pool,
        X_test=data.X_test,
        y_test=data.y_test,
        n_classes=data.n_classes,
        model=model,
        oracle=answerer,
        difficulty=difficulty,
        budget=setup.budget,
        detector=setup.detector,
        strategy=setup.strategy,
        pool_strategy=setup.pool_strategy,
        learner=learner,
        stop_set=session.stop_set,
        recent_window=setup.recent_window,
        strategy_rng=streams.strategy,
        committee_rng=streams.committee,
    )
    run.run(
        arrival.indices,
        setup.initial_size,
        setup.block_size,
        progress=setup.progress,
        description=f"{data.split.dataset_name or 'stream'} {setup.strategy.name}",
    )

    records = pl.DataFrame(run.columns, schema=STREAM_RECORD_SCHEMA)
    n_stream = data.n_pool - setup.initial_size
    metadata = {
        "mode": "stream",
        **run_metadata(
            data,
            {**library_versions(), "river": _river_version()},
            reference_accuracy,
            reference_macro_f1,
            session.stop_set,
            "stream_end",
        ),
        "drift_position": arrival.drift_position,
        "drift_width": arrival.drift_width,
        "drift_detections": run.detections,
        "stream_labels": session.n_labeled - setup.initial_size,
        "stream_label_share": (session.n_labeled - setup.initial_size) / n_stream,
        "total_seconds": time.perf_counter() - started,
    }
    return SimulationResult(records=records, config=config, metadata=metadata)


class _StreamSetup(NamedTuple):
    """The parameters of :func:`simulate_stream` checked against the run's data, and the run's fresh parts."""

    strategy: Any
    strategy_params: dict[str, Any]
    pool_strategy: Any
    budget_fraction: float
    update: str | int
    drift_detector: str | None
    detector: Any
    budget: BudgetManager
    block_size: int
    initial_size: int
    budget_window: int
    recent_window: int
    stop_set_size: int
    progress: bool


def _check_setup(
    data: RunData,
    *,
    strategy: Any,
    strategy_params: Any,
    order: Any,
    budget_fraction: Any,
    update: Any,
    drift_detector: Any,
    detector_params: Any,
    block_size: Any,
    initial_size: Any,
    budget_window: Any,
    boost_factor: Any,
    boost_period: Any,
    payback_rate: Any,
    recent_window: Any,
    stop_set_size: Any,
    progress: Any,
) -> _StreamSetup:
    """Check :func:`simulate_stream`'s parameters (one clear error for the first bad one), resolve defaults."""
    n_pool, n_classes = data.n_pool, data.n_classes
    budget_fraction = check_fraction(budget_fraction, "budget_fraction", _OWNER, high_open=False)
    _ORDERS.get(order, _OWNER)
    update = _check_update(update)
    block_size = check_int(block_size, "block_size", _OWNER, low=1)
    if initial_size is None:
        initial_size = min(n_pool - 1, max(10, n_classes))
    initial_size = check_int(initial_size, "initial_size", _OWNER, low=1, high=n_pool - 1)
    budget_window = check_int(budget_window, "budget_window", _OWNER, low=1)
    recent_window = check_int(recent_window, "recent_window", _OWNER, low=1)
    stop_set_size = (
        min(DEFAULT_STOP_SET_SIZE, n_pool)
        if stop_set_size is None
        else check_int(stop_set_size, "stop_set_size", _OWNER, low=0, high=n_pool)
    )
    if not isinstance(progress, bool):
        raise fail("progress", _OWNER, "a bool", progress)
    for name, params in (("strategy_params", strategy_params), ("detector_params", detector_params)):
        if params is not None and not isinstance(params, dict):
            raise fail(name, _OWNER, "a dict or None", params)
    stream_strategy = make_stream_strategy(strategy, **(strategy_params or {}))
    detector = make_drift_detector(drift_detector, detector_params)
    budget = BudgetManager(
        budget_fraction,
        window=budget_window,
        boost_factor=boost_factor,
        boost_period=boost_period if detector is not None else 0,
        payback_rate=payback_rate,
    )
    pool_strategy = None
    if isinstance(stream_strategy, BufferStrategy):
        from alsim.strategies import make_strategy

        pool_strategy = make_strategy(stream_strategy.pool_strategy, **stream_strategy.pool_params)
    return _StreamSetup(
        stream_strategy,
        stream_strategy.params(),
        pool_strategy,
        budget_fraction,
        update,
        drift_detector,
        detector,
        budget,
        block_size,
        initial_size,
        budget_window,
        recent_window,
        stop_set_size,
        progress,
    )


def _config(
    data: RunData,
    setup: _StreamSetup,
    learner: Any,
    answerer: Any,
    order: str,
    drift_position: float,
    drift_width: float,
) -> dict[str, Any]:
    """Return the stream run's config: every parameter as used, defaults resolved."""
    budget = setup.budget
    return {
        "mode": "stream",
        "dataset": data.dataset_description,
        "strategy": setup.strategy.name,
        "strategy_params": setup.strategy_params,
        "learner": learner_description(learner),
        "order": order,
        "drift_position": float(drift_position),
        "drift_width": float(drift_width),
        "budget_fraction": setup.budget_fraction,
        "update": setup.update,
        "drift_detector": setup.drift_detector,
        "detector_params": None if setup.detector is None else dict(setup.detector.params),
        "boost_factor": budget.boost_factor,
        "boost_period": budget.boost_period,
        "payback_rate": budget.payback_rate,
        "budget_window": setup.budget_window,
        "block_size": setup.block_size,
        "initial_size": setup.initial_size,
        "recent_window": setup.recent_window,
        "oracle": answerer.get_params(),
        "test_size": data.test_size_used,
        "stop_set_size": setup.stop_set_size,
        "random_state": data.seed,
    }


def _river_version() -> str:
    from importlib.metadata import version

    return version("river")
