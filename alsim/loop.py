"""The pool-based, batch-mode labeling loop: :func:`simulate`.

One run: pick an initial set (cold start), buy its labels from the simulated oracle, then repeat *select a
batch -> query the oracle -> retrain -> evaluate* until the label budget or the cost budget is spent or the
pool is empty. Every round is recorded (see :data:`alsim.records.RECORD_SCHEMA`).

Randomness: one integer seed drives everything. The pool/test split uses it directly (so
``split_dataset(dataset, random_state=seed)`` reproduces the run's split); the initial set, stop set,
strategy, oracle, learner and committee each get an independent stream spawned from
``numpy.random.SeedSequence(seed)``. Same seed -> identical records, except the ``*_seconds`` columns.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np
import polars as pl

from alsim._engine import classification_scores, library_versions, make_oracle
from alsim._environment import thread_controller
from alsim._shared_work import array_fingerprint, cached, dataset_fingerprint, learner_fingerprint, shared_cache
from alsim._validation import check_choice, check_int, check_real, fail
from alsim.exceptions import InvalidInputError, InvalidParameterError
from alsim.learners import fit_learner, learner_description, make_learner, predict_proba_full
from alsim.oracle import SimulatedOracle
from alsim.records import RECORD_SCHEMA, SimulationResult
from alsim.session import DEFAULT_STOP_SET_SIZE, LabelingSession, run_streams
from alsim.strategies import QueryStrategy, make_strategy

__all__ = ["INITIAL_METHODS", "simulate"]

#: Cold-start methods for the initial labeled set.
#:
#: * ``random``: uniform sample of the pool;
#: * ``kmeans_pp``: k-means++ seeding on the features (label-free, spread over the data);
#: * ``k_center``: k-center greedy on the features (label-free, covers the pool);
#: * ``per_class``: the same number of examples of every class (``initial_size`` split as evenly as
#:   possible). A benchmark convenience only: it reads the true labels, which a real team cannot do.
INITIAL_METHODS: tuple[str, ...] = ("random", "kmeans_pp", "k_center", "per_class")

_MAX_SEED = 2**32 - 1


def _resolve_seed(random_state: Any, caller: str = "simulate") -> int:
    """Return the run's integer seed: given, drawn from a Generator, or fresh entropy (then recorded)."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1, dtype=np.uint32)[0])
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, _MAX_SEED + 1))
    return check_int(random_state, "random_state", caller, low=0, high=_MAX_SEED)


class RunData(NamedTuple):
    """What the pool loop and the stream loop both start from: the seed, the split and its arrays."""

    seed: int
    split: Any
    dataset_description: str
    test_size_used: float | None
    X_pool: np.ndarray
    y_pool: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_pool: int
    n_classes: int


def prepare_run_data(dataset: Any, test_size: Any, random_state: Any, caller: str = "simulate") -> RunData:
    """Resolve the seed, load and split the dataset, and reject an empty pool or test set.

    ``caller`` names the public function in error messages (``simulate`` or ``simulate_stream``).
    """
    seed = _resolve_seed(random_state, caller)
    split, dataset_description, test_size_used = _resolve_dataset(dataset, test_size, seed, caller)
    X_pool = np.ascontiguousarray(split.X_pool, dtype=np.float64)
    y_pool = np.asarray(split.y_pool, dtype=np.int64)
    X_test = np.ascontiguousarray(split.X_test, dtype=np.float64)
    y_test = np.asarray(split.y_test, dtype=np.int64)
    if X_pool.shape[0] == 0 or y_test.size == 0:
        raise InvalidInputError(f"The dataset {dataset_description!r} has an empty pool or test set.")
    return RunData(
        seed,
        split,
        dataset_description,
        test_size_used,
        X_pool,
        y_pool,
        X_test,
        y_test,
        X_pool.shape[0],
        int(split.n_classes),
    )


def reference_scores_and_difficulty(
    data: RunData, learner: Any, learner_seed: int, needs_difficulty: bool
) -> tuple[float, float, np.ndarray | None]:
    """Return the reference scores of the run and the per-example difficulty.

    The scores are the accuracy and macro-F1 of the learner trained on the whole pool with true labels (the
    ceiling of a run); the difficulty is what the oracle's cost model needs (None when it needs none).
    Inside a study, cells of the same data, learner and seed share both (:mod:`alsim._shared_work`).
    """
    reference_key: tuple[Any, ...] | None = None
    difficulty_key: tuple[Any, ...] | None = None
    if shared_cache() is not None:
        learner_key = learner_fingerprint(learner)
        if learner_key is not None:
            pool_key = array_fingerprint(data.X_pool, data.y_pool)
            test_key = array_fingerprint(data.X_test, data.y_test)
            reference_key = ("reference", pool_key, test_key, data.n_classes, learner_key, learner_seed)
            difficulty_key = ("difficulty", pool_key, data.n_classes, learner_key, learner_seed)

    reference = FullPoolReference(data, make_learner(learner, random_state=learner_seed))
    reference_accuracy, reference_macro_f1 = cached(reference_key, reference.scores)
    difficulty = (
        cached(difficulty_key, lambda: _difficulty(learner, data.X_pool, data.y_pool, data.n_classes, learner_seed))
        if needs_difficulty
        else None
    )
    return reference_accuracy, reference_macro_f1, difficulty


class FullPoolReference:
    """The ceiling of a run: its learner trained on the whole pool with true labels, scored on the test set.

    Holds an unfitted copy of the learner (seeded) and the run's arrays, so the fit can wait until someone
    reads the scores (:class:`alsim.records.SimulationResult` defers it); calling it returns the metadata
    entries ``reference_accuracy`` and ``reference_macro_f1``. ``thread_libraries`` (the run's
    ``metadata["environment"]["thread_libraries"]``) pins the BLAS/OpenMP thread counts of that later fit to
    the run's, since a different count can change a fit in the last bits.
    """

    def __init__(self, data: RunData, estimator: Any, thread_libraries: list[dict[str, Any]] | None = None) -> None:
        self.estimator = estimator
        self.X_pool, self.y_pool = data.X_pool, data.y_pool
        self.X_test, self.y_test = data.X_test, data.y_test
        self.n_classes = data.n_classes
        self.thread_libraries = thread_libraries

    def scores(self) -> tuple[float, float]:
        """Accuracy and macro-F1 on the test set of the learner fitted on the whole pool."""
        model = fit_learner(self.estimator, self.X_pool, self.y_pool)
        predicted = predict_proba_full(model, self.X_test, self.n_classes).argmax(axis=1)
        accuracy, macro_f1, _ = classification_scores(self.y_test, predicted, self.n_classes)
        return accuracy, macro_f1

    def __call__(self) -> dict[str, float]:
        limits: dict[str, int] = {}
        for library in self.thread_libraries or []:
            api = _THREAD_APIS.get(str(library.get("library")))
            if api is not None and isinstance(library.get("num_threads"), int):
                limits[api] = min(limits.get(api, library["num_threads"]), library["num_threads"])
        with thread_controller().limit(limits=limits or None):
            accuracy, macro_f1 = self.scores()
        return {"reference_accuracy": accuracy, "reference_macro_f1": macro_f1}


# threadpoolctl's internal_api of a library (as the run's environment records it) -> its user_api.
_THREAD_APIS = {"openblas": "blas", "mkl": "blas", "blis": "blas", "flexiblas": "blas", "openmp": "openmp"}


def run_metadata(
    data: RunData,
    versions: dict[str, str],
    reference_accuracy: float,
    reference_macro_f1: float,
    stop_set: np.ndarray,
    stop_reason: str,
) -> dict[str, Any]:
    """Return the metadata every run records (the pool loop and the stream loop add their own keys).

    ``environment`` (CPU, BLAS/OpenMP libraries and thread counts, fingerprint) and ``versions`` are what
    decide whether a rerun elsewhere is bit-identical.
    """
    from alsim._environment import runtime_environment

    return {
        "seed": data.seed,
        "versions": versions,
        "environment": runtime_environment(),
        "reference_accuracy": reference_accuracy,
        "reference_macro_f1": reference_macro_f1,
        "n_pool": int(data.n_pool),
        "n_test": int(data.y_test.size),
        "n_classes": data.n_classes,
        "n_features": int(data.X_pool.shape[1]),
        "dataset": data.split.dataset_name or data.dataset_description,
        "classes": [str(c) for c in data.split.classes],
        "stop_set": stop_set.tolist(),
        "stop_reason": stop_reason,
    }


def _resolve_dataset(
    dataset: Any, test_size: Any, seed: int, caller: str = "simulate"
) -> tuple[Any, str, float | None]:
    """Return the run's Split, a description of the dataset for the config, and the test share used.

    The test share is None when ``dataset`` is already a Split.
    """
    from alsim.datasets import Dataset, Split, load_dataset

    if isinstance(dataset, Split):
        return dataset, dataset.dataset_name, None
    test_size = check_real(test_size, "test_size", caller, low=0.0, high=1.0, low_open=True, high_open=True)
    if isinstance(dataset, (str, os.PathLike)):
        loaded = load_dataset(dataset)
        return _shared_split(loaded, test_size, seed), str(os.fspath(dataset)), test_size
    if isinstance(dataset, Dataset):
        return _shared_split(dataset, test_size, seed), dataset.spec, test_size
    raise fail("dataset", caller, "a dataset spec ('openml:<id>' or a file path), a Dataset or a Split", dataset)


def _shared_split(dataset: Any, test_size: float, seed: int) -> Any:
    """Split and preprocess ``dataset``; inside a study, once per dataset content, test share and seed."""
    from alsim.datasets import split_dataset

    key = ("split", dataset_fingerprint(dataset), test_size, seed) if shared_cache() is not None else None
    return cached(key, lambda: split_dataset(dataset, test_size=test_size, random_state=seed))


def _per_class_initial(y_pool: np.ndarray, n_classes: int, initial_size: int, rng: np.random.Generator) -> np.ndarray:
    counts = np.full(n_classes, initial_size // n_classes)
    counts[rng.permutation(n_classes)[: initial_size % n_classes]] += 1
    available = np.bincount(y_pool, minlength=n_classes)
    short = np.flatnonzero(available < counts)
    if short.size:
        raise InvalidParameterError(
            f"The 'initial_size' parameter of simulate asks for {initial_size} examples split over "
            f"{n_classes} classes with initial='per_class', but class(es) {short.tolist()} have only "
            f"{available[short].tolist()} pool examples. Use a smaller initial_size or another initial method."
        )
    chosen = [rng.choice(np.flatnonzero(y_pool == c), size=counts[c], replace=False) for c in range(n_classes)]
    return rng.permutation(np.concatenate(chosen)).astype(np.int64)


def _initial_set(
    method: str, X_pool: np.ndarray, y_pool: np.ndarray, n_classes: int, size: int, rng: np.random.Generator
) -> np.ndarray:
    from alsim import kernels

    if method == "random":
        return rng.choice(X_pool.shape[0], size=size, replace=False).astype(np.int64)
    if method == "per_class":
        return _per_class_initial(y_pool, n_classes, size, rng)
    seed = int(rng.integers(2**32))
    if method == "kmeans_pp":
        return np.asarray(kernels.kmeans_pp(X_pool, size, seed), dtype=np.int64)
    return np.asarray(kernels.k_center_greedy(X_pool, np.empty(0, dtype=np.int64), size, seed=seed), dtype=np.int64)


def _difficulty(learner: Any, X_pool: np.ndarray, y_pool: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    """Intrinsic difficulty ``1 - max p`` from out-of-fold probabilities of a reference learner (true labels)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    n_splits = min(5, int(np.bincount(y_pool, minlength=n_classes).min()))
    estimator = make_learner(learner, random_state=seed)
    if n_splits < 2:
        proba = predict_proba_full(fit_learner(estimator, X_pool, y_pool), X_pool, n_classes)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proba = cross_val_predict(
                estimator,
                X_pool,
                y_pool,
                cv=StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed),
                method="predict_proba",
            )
    return np.clip(1.0 - proba.max(axis=1), 0.0, 1.0)


_Function = TypeVar("_Function", bound=Callable[..., Any])


def _one_blas_thread(function: _Function) -> _Function:
    """Run ``function`` with the BLAS libraries limited to one thread (restored afterwards).

    A run's BLAS calls are small (fits on the labeled rows, predictions of the pool and test set), so a
    second thread has little to gain; on a busy machine, OpenBLAS's threads wait for each other
    spinning: on 2 cores at a load of 12, a letter run with 0.6 CPU-seconds of work took 5 to 35 s with
    two threads (docs/guides/study.md, "One run against a plain scikit-learn loop"). A study's cells
    already run on one thread, so BLAS-wise a lone run now runs as its cell does.
    """

    @functools.wraps(function)
    def pinned(*args: Any, **kwargs: Any) -> Any:
        with thread_controller().limit(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return pinned  # type: ignore[return-value]


@_one_blas_thread
def simulate(
    dataset: Any,
    *,
    strategy: str | QueryStrategy = "margin",
    learner: str | Any = "logreg",
    batch_size: int = 10,
    initial_size: int | None = None,
    initial: str = "random",
    label_budget: int | None = None,
    cost_budget: float | None = None,
    oracle: SimulatedOracle | dict[str, Any] | None = None,
    test_size: float = 0.3,
    stop_set_size: int | None = None,
    committee_size: int = 5,
    committee: Sequence[str | Any] | None = None,
    strategy_params: dict[str, Any] | None = None,
    record_cv: bool = False,
    random_state: int | np.random.Generator | None = 0,
    progress: bool = False,
) -> SimulationResult:
    """Replay a pool-based, batch-mode active-learning loop on a labeled dataset.

    Parameters
    ----------
    dataset : str, os.PathLike, Dataset or Split
        ``"openml:<id>"`` or a file path (loaded with :func:`alsim.datasets.load_dataset` and split with
        :func:`alsim.datasets.split_dataset` using ``test_size`` and the run's seed), a loaded ``Dataset``,
        or a ready ``Split`` (then ``test_size`` is not used).
    strategy : str or QueryStrategy, default="margin"
        A name from :func:`alsim.strategies.available_strategies` (optionally ``epsilon_``/``cost_``
        prefixed) or a strategy instance.
    learner : str or scikit-learn classifier, default="logreg"
        See :func:`alsim.learners.make_learner`. Retrained every round (warm start where supported).
    batch_size : int, default=10
        Labels bought per round (the last batch may be smaller: budget or pool exhausted).
    initial_size : int or None, default=None
        Size of the initial labeled set; None means ``max(batch_size, n_classes)`` (capped at the pool).
        Counts towards the label and cost budgets.
    initial : {"random", "kmeans_pp", "k_center", "per_class"}, default="random"
        Cold-start method, see :data:`INITIAL_METHODS` (``per_class`` reads true labels: benchmark only).
    label_budget : int or None, default=None
        Total labels to buy (initial set included); None: until the pool or the cost budget is exhausted.
    cost_budget : float or None, default=None
        Total labeling cost allowed (initial set included). A batch that would overshoot it is trimmed to
        its longest prefix (the strategy's most wanted picks first) that fits.
    oracle : SimulatedOracle, dict or None, default=None
        The simulated annotator or its parameters (see :class:`alsim.oracle.SimulatedOracle`); None is a
        noise-free oracle with unit cost. It is re-created for the run, seeded by the run's seed unless
        its own ``random_state`` is set. Per-class costs in a dict may be keyed by class code or by class
        label (``{"Iris-setosa": 1.0, ...}``, the values of ``Split.classes``).
    test_size : float in (0, 1), default=0.3
        Share of the dataset held out for evaluation.
    stop_set_size : int or None, default=None
        Size of the stop set: a fixed, seeded sample of pool examples on which each round's model
        predictions are recorded (``stop_set_predictions``). None means ``min(1000, n_pool)``. 0 disables.
    committee_size : int >= 2, default=5
        Bagged copies of ``learner`` in the committee of the ``qbc_*`` strategies.
    committee : sequence of learners or None, default=None
        A committee of different learners (each fitted on the whole labeled set) instead of bagging.
    strategy_params : dict or None, default=None
        Parameters of the strategy (e.g. ``{"epsilon": 0.2}`` for ``epsilon_margin``).
    record_cv : bool, default=False
        Record the cross-validated accuracy of the learner on the labeled set each round (costly).
    random_state : int in [0, 2**32 - 1], Generator or None, default=0
        Seed of the whole run; None draws a fresh seed. The seed used is in ``metadata["seed"]``.
    progress : bool, default=False
        Show a progress bar over the labels to buy (the label budget, at most the pool size) on stderr.

    Returns
    -------
    SimulationResult
        ``records`` (one row per round), ``config`` and ``metadata``; ``.save(path)`` writes parquet.

    Notes
    -----
    The run limits the BLAS libraries to one thread (as ``alsim run`` does for every cell) and restores
    them afterwards: its fits and predictions are too small to gain from more, and on a busy machine BLAS
    threads waiting for each other made runs several times slower. OpenMP and the Rust kernels keep their
    threads (the kernels' results do not depend on them).

    Examples
    --------
    >>> import alsim
    >>> result = alsim.simulate("openml:61", strategy="margin", label_budget=30, random_state=0)
    >>> result.records.select("round", "n_labeled").row(-1)
    (2, 30)
    """
    started = time.perf_counter()
    data = prepare_run_data(dataset, test_size, random_state)
    settings = _check_settings(
        data,
        strategy=strategy,
        strategy_params=strategy_params,
        learner=learner,
        batch_size=batch_size,
        initial_size=initial_size,
        initial=initial,
        label_budget=label_budget,
        cost_budget=cost_budget,
        stop_set_size=stop_set_size,
        committee_size=committee_size,
        committee=committee,
        record_cv=record_cv,
        progress=progress,
    )
    streams = run_streams(data.seed)
    answerer = _checked_oracle(oracle, streams.oracle_seed, data)
    config = _config(data, settings, learner, answerer)
    deferred_reference: FullPoolReference | None = None
    if shared_cache() is None:
        # A lone run fits the full-pool reference only if its metadata is read (SimulationResult defers it);
        # inside a study the runner reads it anyway and cells of one dataset and seed share it.
        deferred_reference = FullPoolReference(data, make_learner(learner, random_state=streams.learner_seed))
        reference_accuracy = reference_macro_f1 = math.nan  # placeholders, replaced on first read
        difficulty = (
            _difficulty(learner, data.X_pool, data.y_pool, data.n_classes, streams.learner_seed)
            if answerer.needs_difficulty
            else None
        )
    else:
        reference_accuracy, reference_macro_f1, difficulty = reference_scores_and_difficulty(
            data, learner, streams.learner_seed, answerer.needs_difficulty
        )
    # The run is a labeling session whose annotator is the simulated oracle.
    session = LabelingSession(
        data.X_pool,
        classes=[str(c) for c in data.split.classes],
        learner=learner,
        strategy=settings.strategy,
        committee_size=settings.committee_size,
        committee=settings.committee,
        cost_model=answerer.expected_costs,
        stop_set_size=settings.stop_set_size,
        random_state=data.seed,
        pool_labels=data.y_pool,
    )
    records, stop_reason = _run_rounds(session, answerer, difficulty, data, settings, streams.initial)
    metadata = {
        **run_metadata(data, library_versions(), reference_accuracy, reference_macro_f1, session.stop_set, stop_reason),
        "total_seconds": time.perf_counter() - started,
    }
    if deferred_reference is not None:
        deferred_reference.thread_libraries = metadata["environment"]["thread_libraries"]
    return SimulationResult(records=records, config=config, metadata=metadata, deferred_metadata=deferred_reference)


class _Settings(NamedTuple):
    """The parameters of :func:`simulate` that shape its rounds, checked against the run's data."""

    strategy: QueryStrategy
    strategy_params: dict[str, Any]
    batch_size: int
    initial_size: int
    initial: str
    label_budget: int | None
    cost_budget: float | None
    stop_set_size: int
    committee_size: int
    committee: Sequence[Any] | None
    record_cv: bool
    progress: bool


def _check_settings(
    data: RunData,
    *,
    strategy: Any,
    strategy_params: Any,
    learner: Any,
    batch_size: Any,
    initial_size: Any,
    initial: Any,
    label_budget: Any,
    cost_budget: Any,
    stop_set_size: Any,
    committee_size: Any,
    committee: Any,
    record_cv: Any,
    progress: Any,
) -> _Settings:
    """Return :func:`simulate`'s parameters checked (one clear error for the first bad one), defaults resolved."""
    n_pool, n_classes = data.n_pool, data.n_classes
    batch_size = check_int(batch_size, "batch_size", "simulate", low=1, high=n_pool)
    check_choice(initial, "initial", "simulate", INITIAL_METHODS)
    if initial_size is None:
        initial_size = min(n_pool, max(batch_size, n_classes))
    initial_size = check_int(
        initial_size, "initial_size", "simulate", low=n_classes if initial == "per_class" else 1, high=n_pool
    )
    if label_budget is not None:
        label_budget = check_int(label_budget, "label_budget", "simulate", low=initial_size)
    if cost_budget is not None and not (
        isinstance(cost_budget, numbers.Real)
        and not isinstance(cost_budget, bool)
        and np.isfinite(float(cost_budget))
        and float(cost_budget) > 0
    ):
        raise fail("cost_budget", "simulate", "a positive float or None", cost_budget)
    stop_set_size = (
        min(DEFAULT_STOP_SET_SIZE, n_pool)
        if stop_set_size is None
        else check_int(stop_set_size, "stop_set_size", "simulate", low=0, high=n_pool)
    )
    committee_size = check_int(committee_size, "committee_size", "simulate", low=2)
    for flag_name, flag in (("record_cv", record_cv), ("progress", progress)):
        if not isinstance(flag, bool):
            raise fail(flag_name, "simulate", "a bool", flag)
    if strategy_params is not None and not isinstance(strategy_params, dict):
        raise fail("strategy_params", "simulate", "a dict or None", strategy_params)
    query_strategy = make_strategy(strategy, **(strategy_params or {}))
    estimator = make_learner(learner)  # validates the learner
    n_neighbors = estimator.get_params(deep=False).get("n_neighbors")
    if isinstance(n_neighbors, numbers.Integral) and initial_size < int(n_neighbors):
        raise fail("initial_size", "simulate", f"at least the learner's n_neighbors ({n_neighbors})", initial_size)
    if committee is not None:
        if isinstance(committee, str) or not isinstance(committee, Sequence) or len(committee) < 2:
            raise fail("committee", "simulate", "None or a sequence of at least 2 learners", committee)
        for member in committee:
            make_learner(member)
    return _Settings(
        query_strategy,
        dict(strategy_params or {}),
        batch_size,
        initial_size,
        initial,
        label_budget,
        None if cost_budget is None else float(cost_budget),
        stop_set_size,
        committee_size,
        committee,
        record_cv,
        progress,
    )


def _checked_oracle(oracle: Any, seed: int, data: RunData) -> SimulatedOracle:
    """Return the run's oracle, rejecting confusion matrices and costs that do not fit the dataset."""
    answerer = make_oracle(oracle, seed, data.split.classes, "simulate")
    n_classes, n_pool = data.n_classes, data.n_pool
    if answerer.confusion is not None and answerer.confusion.shape[0] != n_classes:
        raise InvalidParameterError(
            f"The 'oracle' parameter of simulate has a {answerer.confusion.shape[0]}x{answerer.confusion.shape[0]} "
            f"confusion matrix but the dataset has {n_classes} classes."
        )
    if isinstance(answerer.cost, np.ndarray) and (
        answerer.cost.size < n_classes or np.any(np.isnan(answerer.cost[:n_classes]))
    ):
        raise InvalidParameterError(
            f"The 'oracle' parameter of simulate must give a per-class cost for each of the {n_classes} classes "
            f"(codes 0..{n_classes - 1}). Got {answerer.get_params()['cost']} instead."
        )
    if answerer.row_costs is not None and answerer.row_costs.size != n_pool:
        raise InvalidParameterError(
            f"The 'oracle' parameter of simulate has {answerer.row_costs.size} row costs but the pool has {n_pool} "
            "examples: give one per pool example, in pool order (Split.pool_rows maps them to dataset rows)."
        )
    return answerer


def _config(data: RunData, settings: _Settings, learner: Any, answerer: SimulatedOracle) -> dict[str, Any]:
    """Return the run's config: every parameter as used, defaults resolved."""
    return {
        "dataset": data.dataset_description,
        "strategy": settings.strategy.name,
        "strategy_params": settings.strategy_params,
        "learner": learner_description(learner),
        "batch_size": settings.batch_size,
        "initial_size": settings.initial_size,
        "initial": settings.initial,
        "label_budget": settings.label_budget,
        "cost_budget": settings.cost_budget,
        "oracle": answerer.get_params(),
        "test_size": data.test_size_used,
        "stop_set_size": settings.stop_set_size,
        "committee_size": settings.committee_size,
        "committee": None if settings.committee is None else [learner_description(m) for m in settings.committee],
        "record_cv": settings.record_cv,
        "random_state": data.seed,
    }


def _run_rounds(
    session: LabelingSession,
    answerer: SimulatedOracle,
    difficulty: np.ndarray | None,
    data: RunData,
    settings: _Settings,
    initial_rng: np.random.Generator,
) -> tuple[pl.DataFrame, str]:
    """Buy labels, fit, evaluate and record, round after round, until a budget or the pool is spent.

    Round 0 buys the initial set; every later round the batch the session's strategy picks (trimmed to the
    cost budget). Return the records and why the run stopped.
    """
    from tqdm import tqdm

    X_pool, y_pool, n_classes = data.X_pool, data.y_pool, data.n_classes
    label_budget, cost_budget = settings.label_budget, settings.cost_budget

    def row_difficulty(rows: np.ndarray) -> np.ndarray | None:
        return None if difficulty is None else difficulty[rows]

    columns: dict[str, list[Any]] = {name: [] for name in RECORD_SCHEMA}
    bar = tqdm(
        total=data.n_pool if label_budget is None else min(label_budget, data.n_pool),
        disable=not settings.progress,
        unit="label",
        desc=f"{data.split.dataset_name or 'simulate'} {settings.strategy.name}",
    )
    tick = time.perf_counter()
    chosen = _initial_set(settings.initial, X_pool, y_pool, n_classes, settings.initial_size, initial_rng)
    select_seconds = time.perf_counter() - tick
    if cost_budget is not None:
        initial_cost = answerer.label_costs(chosen, y_pool, row_difficulty(chosen)).sum()
        if initial_cost > cost_budget:
            raise fail(
                "cost_budget", "simulate", f"at least the cost of the initial set ({initial_cost:g})", cost_budget
            )
    selected_uncertainty: tuple[float | None, float | None] = (None, None)

    while True:
        answer = answerer.query(chosen, y_pool, row_difficulty(chosen), n_classes=n_classes)
        session.teach_codes(chosen, answer.labels, annotator="oracle", costs=answer.costs)
        bar.update(chosen.size)
        row = _fit_and_evaluate(session, data, settings.record_cv, float(answer.costs.sum()), selected_uncertainty)
        row.update(select_seconds=select_seconds, selected=chosen.tolist())
        for name in RECORD_SCHEMA:
            columns[name].append(row[name])

        stop_reason = _stop_reason(session, row["n_unlabeled"], settings)
        if stop_reason is not None:
            break
        # Next batch: size limited by the label budget and the pool; trimmed to the cost budget.
        k = min(settings.batch_size, row["n_unlabeled"])
        if label_budget is not None:
            k = min(k, label_budget - session.n_labeled)
        tick = time.perf_counter()
        chosen = session.next_batch(k).rows
        select_seconds = time.perf_counter() - tick
        if cost_budget is not None:
            costs = answerer.label_costs(chosen, y_pool, row_difficulty(chosen))
            affordable = np.cumsum(costs) <= cost_budget - session.total_cost + 1e-9
            chosen = chosen[: int(np.argmin(affordable)) if not affordable.all() else chosen.size]
            if chosen.size == 0:
                stop_reason = "cost_budget"
                break
        view = session.pool_view()
        chosen_uncertainty = view.uncertainty["least_confidence"][np.searchsorted(view.unlabeled, chosen)]
        selected_uncertainty = (float(chosen_uncertainty.mean()), float(chosen_uncertainty.max()))
    bar.close()
    return pl.DataFrame(columns, schema=RECORD_SCHEMA), stop_reason


def _fit_and_evaluate(
    session: LabelingSession,
    data: RunData,
    record_cv: bool,
    batch_cost: float,
    selected_uncertainty: tuple[float | None, float | None],
) -> dict[str, Any]:
    """Retrain on the labeled set and score the model; return the round's record (selection columns aside)."""
    tick = time.perf_counter()
    model = session.fit()
    fit_seconds = time.perf_counter() - tick

    tick = time.perf_counter()
    session.pool_view()
    test_pred = predict_proba_full(model, data.X_test, data.n_classes).argmax(axis=1)
    accuracy, macro_f1, balanced = classification_scores(data.y_test, test_pred, data.n_classes)
    cv_accuracy = session.cv_accuracy() if record_cv else None
    signals = session.record_round(
        batch_cost=batch_cost, selected_signals=selected_uncertainty, cv_accuracy=cv_accuracy
    )
    evaluate_seconds = time.perf_counter() - tick
    return {
        **signals,
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        "balanced_accuracy": balanced,
        "fit_seconds": fit_seconds,
        "evaluate_seconds": evaluate_seconds,
    }


def _stop_reason(session: LabelingSession, n_unlabeled: int, settings: _Settings) -> str | None:
    """Why the run stops after this round (pool, label budget or cost budget spent), or None to go on."""
    if n_unlabeled == 0:
        return "pool_exhausted"
    if settings.label_budget is not None and session.n_labeled >= settings.label_budget:
        return "label_budget"
    if settings.cost_budget is not None and session.total_cost >= settings.cost_budget - 1e-9:
        return "cost_budget"
    return None
