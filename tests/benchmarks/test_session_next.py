"""``next`` on a pool of 1,000,000 rows x 384 float32 embedding dimensions with a linear model, against the
learner's own ``predict_proba`` over the pool (issue 16's bar: within 1.5x). A timing run, skipped unless
benchmarks are enabled::

    python -m pytest tests/benchmarks/test_session_next.py --benchmark-enable -s

``next`` here is everything a labeling round does after the fit: the model's probabilities on the whole
pool, the uncertainty table, the strategy's pick over the unlabeled rows, the scores and reasons of the
batch. The ratio of the two means is printed and kept in the benchmark's extra_info, not asserted.
Needs about 5 GB of memory (the pool, and the float64 copy scikit-learn's ``predict_proba`` makes of it).
"""

from __future__ import annotations

import numpy as np
import pytest

from alsim.session import LabelingSession

N_ROWS, N_DIMS, N_CLASSES, N_LABELED, BATCH = 1_000_000, 384, 4, 400, 50
MEANS: dict[str, float] = {}


@pytest.fixture(scope="module")
def pool(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    options = request.config.option
    if options.benchmark_disable and not options.benchmark_enable:
        pytest.skip("timing run on a 1,000,000 x 384 pool: pass --benchmark-enable")
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(N_CLASSES, N_DIMS)).astype(np.float32)
    y = rng.integers(0, N_CLASSES, N_ROWS)
    X = rng.standard_normal((N_ROWS, N_DIMS), dtype=np.float32)
    X += 0.15 * centers[y]
    return X, y


@pytest.fixture(scope="module")
def session(pool: tuple[np.ndarray, np.ndarray]) -> LabelingSession:
    X, y = pool
    session = LabelingSession(X, classes=[f"c{k}" for k in range(N_CLASSES)], strategy="margin", random_state=0)
    labeled = np.random.default_rng(1).choice(N_ROWS, N_LABELED, replace=False)
    session.teach_codes(labeled, y[labeled])
    session.fit()
    return session


def _ratio(benchmark: object) -> None:
    if {"predict_proba", "next"} <= MEANS.keys():
        ratio = MEANS["next"] / MEANS["predict_proba"]
        print(f"\nnext / predict_proba on {N_ROWS:,} x {N_DIMS} float32: {ratio:.2f}x")
        benchmark.extra_info["next_over_predict_proba"] = ratio  # type: ignore[attr-defined]


def test_learner_predict_proba_over_the_pool(benchmark, pool, session) -> None:  # type: ignore[no-untyped-def]
    X, _ = pool
    model = session.model
    proba = benchmark.pedantic(model.predict_proba, args=(X,), rounds=3, warmup_rounds=1)
    assert proba.shape == (N_ROWS, N_CLASSES)
    MEANS["predict_proba"] = benchmark.stats.stats.mean
    _ratio(benchmark)


def test_session_next_batch(benchmark, session) -> None:  # type: ignore[no-untyped-def]
    def fresh_round() -> tuple[tuple[int], dict[str, object]]:
        session._view = None  # as after a fit: the next batch scores the whole pool again
        return (BATCH,), {}

    batch = benchmark.pedantic(session.next_batch, setup=fresh_round, rounds=3, warmup_rounds=1)
    assert len(batch) == BATCH and batch.scores is not None
    MEANS["next"] = benchmark.stats.stats.mean
    _ratio(benchmark)


def test_user_loop_reference(benchmark, pool, session) -> None:  # type: ignore[no-untyped-def]
    """What a user would otherwise write: predict_proba, margin, argpartition over the unlabeled rows."""
    X, _ = pool
    model = session.model
    unlabeled = session.unlabeled

    def by_hand() -> np.ndarray:
        proba = model.predict_proba(X)
        top2 = np.partition(proba, -2, axis=1)[:, -2:]
        margin = 1.0 - (top2[:, 1] - top2[:, 0])
        scores = margin[unlabeled]
        return unlabeled[np.argpartition(-scores, BATCH)[:BATCH]]

    picked = benchmark.pedantic(by_hand, rounds=3, warmup_rounds=1)
    assert picked.size == BATCH
