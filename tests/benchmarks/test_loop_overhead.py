"""alsim's own work per round on letter (20,000 rows), against the learner's fit and predict.

Issue 3's bar: everything but the learner's ``fit`` and ``predict_proba`` stays under 10% of a round at
default settings. A timing run, skipped unless benchmarks are enabled::

    python -m pytest tests/benchmarks/test_loop_overhead.py --benchmark-enable -s

The learner is ``logreg``'s own estimator with its two methods timed; the share is printed and stored in
the benchmark's extra_info, not asserted (timings on a shared machine are noisy). Setup and teardown of
each run (the records table, the metadata) count as alsim's work too, so the share is an upper bound.
"""

from __future__ import annotations

import time

import pytest
from sklearn.linear_model import LogisticRegression

import alsim
from alsim.datasets import load_dataset, split_dataset
from alsim.learners import make_learner

LEARNER_SECONDS: list[float] = []


class TimedLogisticRegression(LogisticRegression):
    """``make_learner("logreg")``'s estimator, recording the seconds spent in fit and predict_proba."""

    def fit(self, X, y, sample_weight=None):
        start = time.perf_counter()
        fitted = super().fit(X, y, sample_weight)
        LEARNER_SECONDS.append(time.perf_counter() - start)
        return fitted

    def predict_proba(self, X):
        start = time.perf_counter()
        proba = super().predict_proba(X)
        LEARNER_SECONDS.append(time.perf_counter() - start)
        return proba


@pytest.mark.slow
def test_alsim_overhead_share_of_a_round_on_letter(benchmark, request):
    options = request.config.option
    if options.benchmark_disable and not options.benchmark_enable:
        pytest.skip("timing run on letter: pass --benchmark-enable")
    split = split_dataset(load_dataset("openml:6"), random_state=0)
    learner = TimedLogisticRegression(**make_learner("logreg").get_params())
    shares = []

    def one_run():
        LEARNER_SECONDS.clear()
        start = time.perf_counter()
        result = alsim.simulate(split, strategy="margin", learner=learner, label_budget=600, random_state=0)
        total = time.perf_counter() - start
        # The whole-pool reference fit and its predictions are one-off work, not part of a round.
        reference = sum(LEARNER_SECONDS[:2])
        rounds_time = total - reference
        learner_time = sum(LEARNER_SECONDS[2:])
        shares.append((rounds_time - learner_time) / rounds_time)
        return result

    # The warm-up run pays one-time costs (lazy imports, first-call caches of numpy, scikit-learn and
    # polars) that are not per-round work; its share is dropped.
    benchmark.pedantic(one_run, rounds=5, iterations=1, warmup_rounds=1)
    shares = shares[1:]
    shares.sort()
    median_share = shares[len(shares) // 2]
    benchmark.extra_info["overhead_share"] = median_share
    print(
        f"\nalsim overhead: median {100 * median_share:.1f}% of the round time (runs: "
        + ", ".join(f"{100 * s:.1f}%" for s in shares)
        + ")"
    )
