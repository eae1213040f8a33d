"""One ``alsim.simulate`` run side by side with the loop a researcher would write by hand.

Issue 20's bar: a run within 1.15x of a plain scikit-learn loop doing the same fits and predictions
(LogisticRegression, margin sampling, batch 10, 30 rounds from 20 random labels, test accuracy every
round). A timing run, skipped unless benchmarks are enabled::

    python -m pytest tests/benchmarks/test_simulate_vs_plain_loop.py --benchmark-enable \
        --benchmark-group-by=param:data

Both sides get the same preprocessed split; compare the medians of each group (and state the load).
``alsim`` is the run alone (it limits BLAS to one thread for the run); ``alsim+reference`` also reads
``reference_accuracy`` from its metadata, which fits the learner on the whole pool (the ceiling a plain
loop does not compute; a lone run defers it until the metadata is first read). ``plain`` is the loop with
the process's BLAS threads, as a researcher would run it; ``plain-1-blas-thread`` the same loop with BLAS
limited to one thread, as alsim runs it (the side by side of the work itself).

``test_simulate_vs_plain_loop_loaded`` runs them on a loaded machine: it starts five busy processes per
core for each test and stops them afterwards, and runs alsim and the two plain loops in turn within each
round, so all three see the same load (a load that comes and goes between groups that run one after the
other makes their ratio meaningless); ``-s`` prints each side's median and the ratios::

    python -m pytest tests/benchmarks/test_simulate_vs_plain_loop.py --benchmark-enable -s -k loaded
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

import alsim
from alsim.datasets import Dataset, load_dataset, split_dataset

INITIAL, BATCH, ROUNDS = 20, 10, 30


def _split(data: str):
    if data == "letter":
        return split_dataset(load_dataset("openml:6"), random_state=0)
    if data == "digits":
        X, y = load_digits(return_X_y=True)
    else:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((71_429, 50))
        y = (X[:, :5] @ rng.standard_normal(5) + 0.5 * rng.standard_normal(len(X)) > 0).astype(int)
    features = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    dataset = Dataset(name=data, spec=data, features=features, target=y.astype(str).astype(object), label="y")
    return split_dataset(dataset, random_state=0)


def plain_loop(split, seed: int = 0) -> list[float]:
    """Margin sampling written the obvious way with scikit-learn and numpy."""
    rng = np.random.default_rng(seed)
    labelled = rng.choice(len(split.y_pool), INITIAL, replace=False)
    unlabelled = np.setdiff1d(np.arange(len(split.y_pool)), labelled)
    accuracies = []
    # The estimator of alsim's "logreg", warm-started from the previous round's fit (a fresh one when a new
    # class has appeared, since the coefficients' shape changes), so the fits match.
    model, n_seen = None, 0
    for _ in range(ROUNDS + 1):
        y_labelled = split.y_pool[labelled]
        if model is None or len(np.unique(y_labelled)) != n_seen:
            model = LogisticRegression(max_iter=1000, warm_start=True, random_state=seed)
            n_seen = len(np.unique(y_labelled))
        model.fit(split.X_pool[labelled], y_labelled)
        accuracies.append(float((model.predict(split.X_test) == split.y_test).mean()))
        proba = model.predict_proba(split.X_pool[unlabelled])
        top_two = np.partition(proba, -2, axis=1)[:, -2:]
        chosen = np.argsort(top_two[:, 1] - top_two[:, 0], kind="stable")[:BATCH]
        labelled = np.concatenate([labelled, unlabelled[chosen]])
        unlabelled = np.delete(unlabelled, chosen)
    return accuracies


def _skip_unless_timing(request) -> None:
    options = request.config.option
    if options.benchmark_disable and not options.benchmark_enable:
        pytest.skip("timing run: pass --benchmark-enable")


def _measure(benchmark, data: str, impl: str) -> None:
    split = _split(data)
    budget = INITIAL + BATCH * ROUNDS
    if impl.startswith("alsim"):
        read_reference = impl == "alsim+reference"

        def run() -> alsim.SimulationResult:
            result = alsim.simulate(
                split, strategy="margin", batch_size=BATCH, initial_size=INITIAL, label_budget=budget
            )
            if read_reference:
                assert 0 < result.metadata["reference_accuracy"] <= 1
            return result

        benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    elif impl == "plain-1-blas-thread":

        def run_pinned() -> list[float]:
            with threadpool_limits(limits=1, user_api="blas"):
                return plain_loop(split)

        benchmark.pedantic(run_pinned, rounds=3, iterations=1, warmup_rounds=1)
    else:
        benchmark.pedantic(plain_loop, args=(split,), rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.slow
@pytest.mark.parametrize("impl", ["alsim", "alsim+reference", "plain", "plain-1-blas-thread"])
@pytest.mark.parametrize("data", ["digits", "letter", "synthetic50k"])
def test_simulate_vs_plain_loop(benchmark, request, data: str, impl: str) -> None:
    _skip_unless_timing(request)
    _measure(benchmark, data, impl)


@pytest.fixture
def busy_machine(request) -> Iterator[int]:
    """Five busy processes per core (a load of about 5 x cores) for the duration of one test."""
    _skip_unless_timing(request)
    n_busy = 5 * (os.cpu_count() or 1)
    busy = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL) for _ in range(n_busy)
    ]
    try:
        yield n_busy
    finally:
        for process in busy:
            process.kill()
        for process in busy:
            process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("data", ["digits", "letter"])
def test_simulate_vs_plain_loop_loaded(benchmark, busy_machine: int, data: str) -> None:
    """One round runs alsim, the plain loop on one BLAS thread and the plain loop as is, one after the other.

    Interleaved, so the three see the same load; the benchmark's time is the round's, and each side's
    times and the ratios of their medians are in ``extra_info`` (printed with ``-s``).
    """
    split = _split(data)
    budget = INITIAL + BATCH * ROUNDS
    sides: dict[str, list[float]] = {"alsim": [], "plain-1-blas-thread": [], "plain": []}

    def run_alsim() -> None:
        alsim.simulate(split, strategy="margin", batch_size=BATCH, initial_size=INITIAL, label_budget=budget)

    def run_plain_pinned() -> None:
        with threadpool_limits(limits=1, user_api="blas"):
            plain_loop(split)

    def one_round() -> None:
        for name, run in (
            ("alsim", run_alsim),
            ("plain-1-blas-thread", run_plain_pinned),
            ("plain", lambda: plain_loop(split)),
        ):
            start = time.perf_counter()
            run()
            sides[name].append(time.perf_counter() - start)

    benchmark.pedantic(one_round, rounds=3, iterations=1, warmup_rounds=1)
    medians = {name: statistics.median(times[1:]) for name, times in sides.items()}  # the warm-up round aside
    benchmark.extra_info.update(busy_processes=busy_machine, seconds={k: v[1:] for k, v in sides.items()})
    benchmark.extra_info["alsim / plain-1-blas-thread"] = medians["alsim"] / medians["plain-1-blas-thread"]
    benchmark.extra_info["alsim / plain"] = medians["alsim"] / medians["plain"]
    print(f"\n{data}, {busy_machine} busy processes, median s: {medians}; ratios {benchmark.extra_info}")
