"""alsim's own work, against the learner's fit and predict: per round on letter, per cell on CC18 cells.

Issue 3's bar: everything but the learner's ``fit`` and ``predict_proba`` stays under 10% of a round at
default settings. Issue 20's bar: alsim's own work (everything but the learner's round fits and
predictions and the selection: loading, split, full-pool reference, stop-set predictions, bookkeeping,
records) stays under 5% of a CC18 cell. Timing runs, skipped unless benchmarks are enabled::

    python -m pytest tests/benchmarks/test_loop_overhead.py --benchmark-enable -s

The learner is ``logreg``'s own estimator with its two methods timed; the shares are printed and stored in
the benchmark's extra_info, not asserted (timings on a shared machine are noisy). Setup and teardown of
each run (the records table, the metadata) count as alsim's work too, so the shares are upper bounds.
"""

from __future__ import annotations

import time

import pytest
from sklearn.linear_model import LogisticRegression

import alsim
from alsim.datasets import load_dataset, split_dataset
from alsim.learners import make_learner

LEARNER_SECONDS: list[float] = []
#: (method, rows, seconds) of every call of the timed learner in a CC18 cell.
LEARNER_CALLS: list[tuple[str, int, float]] = []


class TimedLogisticRegression(LogisticRegression):
    """``make_learner("logreg")``'s estimator, recording the seconds spent in fit and predict_proba."""

    def fit(self, X, y, sample_weight=None):
        start = time.perf_counter()
        fitted = super().fit(X, y, sample_weight)
        LEARNER_SECONDS.append(time.perf_counter() - start)
        LEARNER_CALLS.append(("fit", X.shape[0], LEARNER_SECONDS[-1]))
        return fitted

    def predict_proba(self, X):
        start = time.perf_counter()
        proba = super().predict_proba(X)
        LEARNER_SECONDS.append(time.perf_counter() - start)
        LEARNER_CALLS.append(("predict_proba", X.shape[0], LEARNER_SECONDS[-1]))
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
        rounds_time = time.perf_counter() - start
        # The whole-pool reference is fitted when the result's metadata is first read, after the clock.
        learner_time = sum(LEARNER_SECONDS)
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


#: A CC18-like cell set: datasets of experiments/cc18.toml from small to letter, strategies that select
#: with the uncertainty, the core-set and no kernel, one seed, as ``alsim run`` runs them.
CC18_DATASETS = ("openml:11", "openml:23", "openml:54", "openml:3", "openml:28", "openml:6")
CC18_STRATEGIES = ("random", "margin", "entropy", "coreset")
#: Cells of experiments/cc18.toml that share a dataset and a seed, and that share a loaded dataset in a worker.
GRID_STRATEGIES, GRID_SEEDS = 10, 10


@pytest.mark.slow
def test_alsim_own_work_share_of_cc18_cells(benchmark, request, monkeypatch):
    """Cells as a study's worker runs them: one BLAS thread, repeated work shared, each dataset loaded once.

    The first cell of a dataset pays the loading, the split and the full-pool reference, which the later
    cells reuse; the cell set is smaller than the grid, so the share is also projected onto the grid's
    sharing (the one-off work of a dataset and seed spread over its 10 strategies, the loading over its
    100 cells in a worker).
    """
    options = request.config.option
    if options.benchmark_disable and not options.benchmark_enable:
        pytest.skip("timing run on CC18 cells: pass --benchmark-enable")
    from threadpoolctl import threadpool_limits

    from alsim._shared_work import clear_shared_work, sharing
    from alsim.experiments import load_config
    from alsim.experiments.grid import expand_cells

    cells = [
        cell
        for cell in expand_cells(load_config("experiments/cc18.toml"))
        if cell.dataset in CC18_DATASETS and cell.strategy in CC18_STRATEGIES and cell.seed == 0
    ]
    learner = TimedLogisticRegression(**make_learner("logreg").get_params())
    summary: dict[str, float] = {}
    # The uncertainty table over the pool (every round: the uncertainty strategies rank by it and the
    # records take the pool signals from it) is a selection kernel; its seconds are shown apart.
    from alsim import kernels

    table_seconds: list[float] = []
    uncertainty_table = kernels.uncertainty_table

    def timed_table(proba):
        start = time.perf_counter()
        table = uncertainty_table(proba)
        table_seconds.append(time.perf_counter() - start)
        return table

    monkeypatch.setattr(kernels, "uncertainty_table", timed_table)

    def all_cells():
        table_seconds.clear()
        clear_shared_work()
        own_total = cell_total = projected_own = 0.0
        with threadpool_limits(limits=1), sharing():
            for dataset in CC18_DATASETS:
                start = time.perf_counter()
                loaded = load_dataset(dataset)
                load_seconds = time.perf_counter() - start
                own_seconds, seconds_of_cells = [], []
                for cell in (c for c in cells if c.dataset == dataset):
                    LEARNER_CALLS.clear()
                    kwargs = {**cell.simulate_kwargs(), "learner": learner}
                    start = time.perf_counter()
                    result = alsim.simulate(loaded, **kwargs)
                    seconds = time.perf_counter() - start
                    n_pool = result.metadata["n_pool"]
                    # The full-pool reference (a fit on n_pool rows and its test predictions) is alsim's own
                    # work; the round fits (at most the label budget's rows) and predictions are the learner's.
                    calls = LEARNER_CALLS
                    reference = [i for i, (method, rows, _) in enumerate(calls) if method == "fit" and rows == n_pool]
                    skip = {j for i in reference for j in (i, i + 1)}
                    learner_seconds = sum(t for i, (_, _, t) in enumerate(calls) if i not in skip)
                    select_seconds = float(result.records["select_seconds"].sum())
                    own_seconds.append(seconds - learner_seconds - select_seconds)
                    seconds_of_cells.append(seconds)
                own_total += sum(own_seconds) + load_seconds
                cell_total += sum(seconds_of_cells) + load_seconds
                # Later cells reuse the split and the reference: what the first one paid on top is one-off work.
                per_cell = sum(own_seconds[1:]) / len(own_seconds[1:])
                one_off = own_seconds[0] - per_cell
                mean_cell = sum(seconds_of_cells[1:]) / len(seconds_of_cells[1:])
                projected_own += (
                    per_cell + one_off / GRID_STRATEGIES + load_seconds / (GRID_STRATEGIES * GRID_SEEDS)
                ) / (mean_cell + one_off / GRID_STRATEGIES + load_seconds / (GRID_STRATEGIES * GRID_SEEDS))
                summary[f"{dataset} per cell"] = per_cell / mean_cell
                summary[f"{dataset} one-off seconds"] = one_off + load_seconds
        summary["share"] = own_total / cell_total
        summary["share without the uncertainty table"] = (own_total - sum(table_seconds)) / cell_total
        summary["share projected onto the grid"] = projected_own / len(CC18_DATASETS)
        summary["seconds"] = cell_total

    benchmark.pedantic(all_cells, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(summary)
    per_cell = ", ".join(
        f"{key.split()[0]} {100 * value:.1f}%" for key, value in summary.items() if key.endswith("per cell")
    )
    print(
        f"\nalsim own work on {len(cells)} CC18 cells (last round, {summary['seconds']:.1f} s): "
        f"{100 * summary['share']:.1f}% of the time ("
        f"{100 * summary['share without the uncertainty table']:.1f}% without the pool's uncertainty table); "
        "projected onto the grid's sharing "
        f"{100 * summary['share projected onto the grid']:.1f}% (mean over datasets); per cell that reuses the "
        f"shared work: {per_cell}"
    )
