"""Where a study's CPU goes, and the floor that identical records impose: the scikit-learn work of every cell.

``python experiments/study_cpu_profile.py experiments/cc18.toml --seeds 0 [--out profile.csv]`` runs the
cells of the chosen seeds with ``run_experiment(jobs=1)`` (one process, one BLAS thread, shared work on,
writing included, exactly as ``alsim run --jobs 1`` does) and counts process CPU time (user+sys) in
exclusive buckets:

- ``sklearn:model``  the learner's fits and its predictions over the pool and the test set, every round;
- ``sklearn:committee``  the committee's fits and predictions (``qbc_*`` strategies);
- ``sklearn:reference``  the full-pool reference fit and its test predictions (once per dataset and seed
  when shared work is on);
- ``split``  loading, preprocessing and splitting a dataset (scikit-learn transformers included);
- ``select``  the strategy's own work outside scikit-learn (Rust kernels, numpy);
- ``write``  storing the cell's parquet file in the parent;
- ``other``  everything else in a cell: alsim's per-round bookkeeping, records, the oracle, uncertainty
  tables, metadata.

The three ``sklearn:*`` buckets are work the records need: the records hold the learner's test accuracy and
the pool uncertainty every round, and the picks of the ``qbc_*`` strategies depend on the committee's
predictions. Their sum over the whole study divided by the cores is the floor on the study's wall time
with identical records (the script prints it for 2 cores, scaled from the seeds run to the config's seeds).
A wrapped call costs about a microsecond; the buckets are measured with ``time.process_time``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from sklearn.linear_model import LogisticRegression

from alsim import learners, loop, session
from alsim.experiments import load_config, run_experiment
from alsim.experiments import runner as runner_module

_SKLEARN_METHODS = ("fit", "predict_proba", "predict", "decision_function")


class CpuBuckets:
    """Exclusive process-CPU seconds per bucket; a bucket entered inside another pauses the outer one."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.per_cell: list[dict[str, Any]] = []  # one row per cell: its id, dataset, strategy, seed, CPU
        self._stack: list[list[Any]] = []  # [bucket, start]

    @contextlib.contextmanager
    def bucket(self, name: str) -> Iterator[None]:
        """Count the CPU time spent inside the block in ``name`` (not in the enclosing bucket)."""
        now = time.process_time()
        if self._stack:
            outer = self._stack[-1]
            self.seconds[outer[0]] += now - outer[1]
        self._stack.append([name, now])
        try:
            yield
        finally:
            now = time.process_time()
            inner = self._stack.pop()
            self.seconds[inner[0]] += now - inner[1]
            if self._stack:
                self._stack[-1][1] = now

    def current(self) -> str | None:
        """Return the innermost open bucket, or None."""
        return self._stack[-1][0] if self._stack else None


def _wrap(owner: Any, attribute: str, make_name: Callable[[], str | None], buckets: CpuBuckets) -> None:
    original = getattr(owner, attribute)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        name = make_name()
        if name is None:
            return original(*args, **kwargs)
        with buckets.bucket(name):
            return original(*args, **kwargs)

    setattr(owner, attribute, wrapped)


def instrument(buckets: CpuBuckets) -> None:
    """Wrap the scikit-learn calls and the alsim phases of a cell with CPU buckets (this process only)."""

    def phase(label: str) -> Callable[[], str]:
        return lambda: label

    def sklearn_name() -> str | None:
        current = buckets.current()
        if current is not None and current.startswith("sklearn:"):
            return None  # a scikit-learn call inside another (predict_proba -> decision_function)
        if current in ("committee", "reference"):
            return f"sklearn:{current}"
        if current == "split":
            return "split"
        return "sklearn:model"

    for method in _SKLEARN_METHODS:
        _wrap(LogisticRegression, method, sklearn_name, buckets)
    _wrap(learners.Committee, "fit", phase("committee"), buckets)
    _wrap(learners.Committee, "member_proba", phase("committee"), buckets)
    _wrap(loop, "reference_scores_and_difficulty", phase("reference"), buckets)
    _wrap(loop, "prepare_run_data", phase("split"), buckets)
    _wrap(runner_module, "_load_dataset", phase("split"), buckets)
    _wrap(session.LabelingSession, "next_batch", phase("select"), buckets)
    _wrap(runner_module, "_execute", phase("other"), buckets)
    execute = runner_module._execute

    def timed_execute(task: Any) -> Any:
        start = time.process_time()
        outcome = execute(task)
        cell = task.cell
        buckets.per_cell.append(
            {
                "cell_id": cell.cell_id,
                "dataset": cell.dataset,
                "strategy": cell.strategy,
                "seed": cell.seed,
                "cpu_seconds": time.process_time() - start,
            }
        )
        return outcome

    runner_module._execute = timed_execute
    _wrap(runner_module, "_store_outcome", phase("write"), buckets)


def main() -> None:
    """Profile the chosen seeds of a config and print the buckets and the scikit-learn floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of the config to run")
    parser.add_argument("--out", help="CSV of the buckets (seconds, share)")
    parser.add_argument("--cells-out", help="CSV of each cell's CPU seconds (dataset, strategy, seed)")
    args = parser.parse_args()

    config = load_config(args.config)
    all_seeds = list(config.seeds) if config.seeds is not None else list(range(config.n_seeds))
    subset = config.model_copy(update={"seeds": list(args.seeds), "n_seeds": None})
    buckets = CpuBuckets()
    instrument(buckets)
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory() as out_dir:
        summary = run_experiment(subset, out_dir, jobs=1, progress=True)
    total_cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
    if not summary.ok:
        raise SystemExit(f"{summary.n_failed} cells failed; the profile would be incomplete")
    seconds = dict(buckets.seconds)
    seconds["outside cells (start-up, scheduling, bar)"] = total_cpu - sum(seconds.values())
    n_cells = summary.n_completed
    print(f"{n_cells} cells, seeds {args.seeds}: CPU {total_cpu:.1f} s, wall {wall:.1f} s")
    rows = sorted(seconds.items(), key=lambda item: -item[1])
    for name, value in rows:
        print(f"  {name:<44} {value:8.1f} s  {100 * value / total_cpu:5.1f}%  {1000 * value / n_cells:7.1f} ms/cell")
    sklearn = sum(value for name, value in seconds.items() if name.startswith("sklearn:"))
    scale = len(all_seeds) / len(args.seeds)
    print(
        f"scikit-learn work: {sklearn:.1f} s of {total_cpu:.1f} s ({100 * sklearn / total_cpu:.0f}%); "
        f"x{scale:g} for the config's {len(all_seeds)} seeds = {sklearn * scale:.0f} CPU-s; "
        f"floor on 2 cores = {sklearn * scale / 2:.0f} s (whole study as measured here: {total_cpu * scale / 2:.0f} s)"
    )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write("bucket,seconds,share\n")
            handle.writelines(f"{name},{value:.3f},{value / total_cpu:.4f}\n" for name, value in rows)
    if args.cells_out:
        import polars as pl

        pl.DataFrame(buckets.per_cell).write_csv(args.cells_out)


if __name__ == "__main__":
    main()
