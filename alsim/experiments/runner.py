"""Run an experiment grid: skip finished cells, compute the rest in parallel, store each one atomically.

Cells run in worker processes (a local process pool, or Dask workers) and send their
``SimulationResult`` back; only this process writes files, so a worker that is killed or lost can never
leave anything behind, and Dask workers need no shared filesystem with the output directory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import importlib
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from alsim._environment import thread_controller
from alsim._output import check_output_dir, describe_os_error, parameter
from alsim._shared_work import clear_shared_work, sharing
from alsim._validation import check_choice, check_int
from alsim.exceptions import InvalidParameterError, OutputPathError
from alsim.experiments.config import ExperimentConfig, check_dataset_sizes, load_config
from alsim.experiments.grid import Cell, expand_cells
from alsim.experiments.schedule import RunningCostEstimate, group_key, schedule_cells
from alsim.experiments.store import CellLock, CellStore

__all__ = ["CellFailure", "RunSummary", "run_experiment"]

#: Environment that keeps BLAS (OpenMP/OpenBLAS/MKL) and the Rust kernels (rayon) on one thread per worker,
#: so that N workers use N cores and every cell runs with the same thread count whatever the executor
#: (a multi-threaded reduction can round differently from a single-threaded one).
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "RAYON_NUM_THREADS": "1",
}
_EXECUTORS = ("local", "dask")
# errno values of a full disk or quota: storing the remaining cells would fail the same way, so the run stops.
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_DASK_FEATURE = "The Dask executor (executor='dask'; --executor dask or --scheduler on the command line)"
# Seconds between checks of cells held by another run into the same directory.
_POLL_SECONDS = 0.5
# Most cells sent to a worker as one batch (a group of cells sharing a dataset, seed and learner).
_MAX_BATCH = 16


# ---------------------------------------------------------------------------------------------------------
# What runs in a worker
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Task:
    cell: Cell
    simulate: Callable[..., Any]
    imports: tuple[str, ...] = ()  # modules a worker imports first (e.g. user strategies registering names)


@dataclass
class _Outcome:
    result: Any = None
    error: dict[str, Any] | None = None
    seconds: float = 0.0


@lru_cache(maxsize=8)
def _load_dataset(spec: str, label: str | None) -> Any:
    # Parsed once per worker process: a grid runs each dataset many times (strategies x seeds).
    from alsim.datasets import load_dataset

    return load_dataset(spec, label=label)


def _single_threaded_env() -> None:
    for name, value in SINGLE_THREAD_ENV.items():
        os.environ.setdefault(name, value)


@contextlib.contextmanager
def _environment_for_workers() -> Iterator[None]:
    """Set SINGLE_THREAD_ENV while worker processes are started, then restore this process's values.

    Spawned workers inherit the environment at start, so BLAS, OpenMP and rayon read one thread before
    they initialise. Limiting them afterwards (threadpoolctl) was measured to leave cells ~3x slower in
    2 workers on 2 cores than with the variables in place from the start.
    """
    saved = {name: os.environ.get(name) for name in SINGLE_THREAD_ENV}
    os.environ.update(SINGLE_THREAD_ENV)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _execute(task: _Task) -> _Outcome:
    """Run one cell; any Exception becomes a failure outcome (interrupts propagate)."""
    _single_threaded_env()
    start = time.perf_counter()
    try:
        for module in task.imports:
            importlib.import_module(module)
        # Inside sharing(), cells of the same dataset, seed and learner reuse the split, the full-pool
        # reference and the difficulty model this process computed for an earlier one (bit-identical).
        with thread_controller().limit(limits=1), sharing():
            dataset = _load_dataset(task.cell.dataset, task.cell.dataset_label)
            result = task.simulate(dataset, **task.cell.simulate_kwargs())
    except Exception as exc:
        return _Outcome(error=_error_info(exc), seconds=time.perf_counter() - start)
    return _Outcome(result=result, seconds=time.perf_counter() - start)


def _execute_batch(tasks: list[_Task]) -> list[_Outcome]:
    """Run the cells of one batch one after the other in this worker (they share its store)."""
    return [_execute(task) for task in tasks]


def _batches(tasks: Iterator[_Task], max_size: int) -> Iterator[list[_Task]]:
    """Consecutive tasks of one (dataset, seed, learner) group, at most ``max_size``, as one batch.

    A batch runs in one worker, so the group's split, reference fit and difficulty model are computed once
    (per batch) instead of once in every worker that happens to receive one of its cells.
    """
    batch: list[_Task] = []
    for task in tasks:
        if batch and (len(batch) >= max_size or group_key(task.cell) != group_key(batch[0].cell)):
            yield batch
            batch = []
        batch.append(task)
    if batch:
        yield batch


def _batch_size(n_pending: int, slots: int) -> int:
    """Cells per batch: whole groups (up to _MAX_BATCH) while there are at least four batches per slot."""
    return max(1, min(_MAX_BATCH, n_pending // (4 * max(1, slots))))


def _error_info(exc: BaseException) -> dict[str, Any]:
    return {
        "error_type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def _init_local_worker(parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what to do; workers just get terminated.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _single_threaded_env()
    # tqdm's default lock includes a named (cross-process) semaphore, made on the first bar even a disabled
    # one. A worker terminated on Ctrl-C never unregisters it, so the run ended with a resource_tracker
    # "leaked semaphore" warning. Workers draw no bars of their own: a thread lock is all they need.
    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())

    # A parent killed with SIGKILL cannot stop its pool; an orphaned worker would keep computing a cell
    # nobody will store. Exit as soon as the parent is gone.
    def watch_parent() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch_parent, name="alsim-parent-watch", daemon=True).start()


# ---------------------------------------------------------------------------------------------------------
# Executors: turn a stream of tasks into a stream of (task, outcome), at most `slots` in flight
# ---------------------------------------------------------------------------------------------------------
class _Backend(Protocol):
    def run(self, tasks: Iterator[_Task]) -> Iterator[tuple[_Task, _Outcome]]: ...

    def close(self, *, cancel: bool) -> None: ...


class _InProcessBackend:
    """jobs=1: run cells one after the other in this process."""

    def run(self, tasks: Iterator[_Task]) -> Iterator[tuple[_Task, _Outcome]]:
        for task in tasks:
            yield task, _execute(task)

    def close(self, *, cancel: bool) -> None:
        return None


class _ProcessPoolBackend:
    """jobs>1: a spawn-started ProcessPoolExecutor (fork is unsafe with polars' and rayon's threads)."""

    def __init__(self, jobs: int, batch_size: int = 1) -> None:
        self.jobs = jobs
        self.batch_size = batch_size
        self._pool: ProcessPoolExecutor | None = None

    def _live_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_local_worker,
                initargs=(os.getpid(),),
            )
        return self._pool

    def run(self, tasks: Iterator[_Task]) -> Iterator[tuple[_Task, _Outcome]]:
        # Each future remembers its pool: when a pool breaks, only that pool is replaced, never a fresh one
        # that later reports of the old breakage would otherwise tear down.
        in_flight: dict[Future[list[_Outcome]], tuple[list[_Task], ProcessPoolExecutor]] = {}
        batches = _batches(tasks, self.batch_size)

        def refill() -> None:
            # Two batches per worker keep workers busy while this process writes results.
            while len(in_flight) < 2 * self.jobs:
                batch = next(batches, None)
                if batch is None:
                    return
                pool = self._live_pool()
                try:
                    future = pool.submit(_execute_batch, batch)
                except BrokenProcessPool:  # broke after our last wait(): its in-flight futures report it
                    self._discard_pool(pool)
                    pool = self._live_pool()
                    future = pool.submit(_execute_batch, batch)
                in_flight[future] = (batch, pool)

        refill()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                batch, pool = in_flight.pop(future)
                try:
                    outcomes = future.result()
                except BrokenProcessPool as exc:
                    # A worker died (segfault, out of memory, killed): every cell in flight on this pool is
                    # reported failed, since the culprit cannot be told apart; a rerun retries them.
                    error = _error_info(exc)
                    error["message"] = (
                        "A worker process died while this cell was in flight (it or a neighbour crashed "
                        "the process, e.g. out of memory). Rerun to retry."
                    )
                    outcomes = [_Outcome(error=dict(error)) for _ in batch]
                    self._discard_pool(pool)
                yield from zip(batch, outcomes, strict=True)
            refill()

    def _discard_pool(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self, *, cancel: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if not cancel:
            pool.shutdown(wait=True)
            return
        # Interrupted: do not wait for running cells to finish (nobody will store them). Stop the workers
        # first, then wait for the pool's manager thread: it sees them gone, closes the pool's queues and
        # exits. Not waiting for it (shutdown(wait=False)) left the queues' semaphores alive at exit, and
        # Ctrl-C ended with a "leaked semaphore" warning and a traceback from the pool's exit hook.
        processes = list(getattr(pool, "_processes", {}).values())
        for process in processes:
            with contextlib.suppress(ProcessLookupError, AttributeError):
                process.terminate()
        for process in processes:
            process.join(timeout=5)
        pool.shutdown(wait=True, cancel_futures=True)


class _DaskBackend:
    """Dask distributed: join ``scheduler`` or start a LocalCluster of ``jobs`` one-thread worker processes."""

    def __init__(self, jobs: int | None, scheduler: str | None, n_pending: int = 1) -> None:
        import logging

        from alsim._extras import import_extra

        distributed = import_extra("distributed", needed_for=_DASK_FEATURE)
        Client, LocalCluster = distributed.Client, distributed.LocalCluster

        self._cluster = None
        if scheduler is None:
            self._cluster = LocalCluster(
                n_workers=jobs or _default_jobs(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
                env=dict(SINGLE_THREAD_ENV),
            )
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(scheduler, timeout="30s")
            except OSError as exc:
                raise InvalidParameterError(
                    f"The 'scheduler' parameter must be the address of a running Dask scheduler "
                    f"(e.g. 'tcp://10.0.0.5:8786'). Could not connect to {scheduler!r}: {exc}"
                ) from None
        total_threads = sum(self._client.nthreads().values()) or 1
        self.slots = min(jobs, total_threads) if jobs is not None and scheduler is not None else total_threads
        self.batch_size = _batch_size(n_pending, self.slots)

    def run(self, tasks: Iterator[_Task]) -> Iterator[tuple[_Task, _Outcome]]:
        from distributed import as_completed

        in_flight: dict[Any, list[_Task]] = {}  # by Dask future key
        completed = as_completed()
        batches = _batches(tasks, self.batch_size)

        def refill() -> None:
            while len(in_flight) < 2 * self.slots:
                batch = next(batches, None)
                if batch is None:
                    return
                future = self._client.submit(_execute_batch, batch, pure=False)
                in_flight[future.key] = batch
                completed.add(future)

        refill()
        for future in completed:
            batch = in_flight.pop(future.key)
            try:
                outcomes = future.result()
            except Exception as exc:  # a lost worker (KilledWorker), a scheduler error...
                outcomes = [_Outcome(error=_error_info(exc)) for _ in batch]
            future.release()
            yield from zip(batch, outcomes, strict=True)
            refill()

    def close(self, *, cancel: bool) -> None:
        with contextlib.suppress(Exception):  # best-effort teardown of network resources
            self._client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


def _default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CellFailure:
    """A cell that failed in this run (its report is at ``error_path``)."""

    cell_id: str
    cell: Cell
    error_type: str
    message: str
    error_path: Path

    def __str__(self) -> str:
        """Return one line: cell id, its parameters, the error type and the first line of the message."""
        first_line = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"{self.cell_id} ({self.cell.describe()}): {self.error_type}: {first_line}"


@dataclass(frozen=True)
class RunSummary:
    """What :func:`run_experiment` did.

    Attributes
    ----------
    out_dir : Path
    n_cells : int
        Cells in the grid.
    n_already_done : int
        Cells found finished when the run started (skipped).
    n_completed : int
        Cells this run computed and stored.
    n_done_elsewhere : int
        Cells another run into the same directory finished while this one waited for them.
    failures : tuple of CellFailure
        Cells that failed in this run.
    elapsed_seconds : float
    """

    out_dir: Path
    n_cells: int
    n_already_done: int
    n_completed: int
    n_done_elsewhere: int
    failures: tuple[CellFailure, ...] = field(default_factory=tuple)
    elapsed_seconds: float = 0.0

    @property
    def n_failed(self) -> int:
        """Cells that failed in this run."""
        return len(self.failures)

    @property
    def n_finished(self) -> int:
        """Cells with a result file at the end of the run."""
        return self.n_already_done + self.n_completed + self.n_done_elsewhere

    @property
    def ok(self) -> bool:
        """True when every cell of the grid is finished."""
        return self.n_finished == self.n_cells

    def __str__(self) -> str:
        """Return the summary ``alsim run`` prints: counts, then one line per failure."""
        lines = [
            f"{self.n_finished}/{self.n_cells} cells finished in {self.out_dir} "
            f"({self.n_completed} computed now, {self.n_already_done} already there, "
            f"{self.n_done_elsewhere} by another run; {self.n_failed} failed) in {self.elapsed_seconds:.1f} s"
        ]
        if self.failures:
            lines.append("Failed cells (rerun the same command to retry them):")
            lines.extend(f"  {failure}  [{failure.error_path}]" for failure in self.failures)
        return "\n".join(lines)


def _check_run_parameters(jobs: Any, executor: Any, scheduler: Any) -> None:
    check_choice(executor, "executor", "run_experiment", _EXECUTORS)
    check_int(jobs, "jobs", "run_experiment", low=1, allow_none=True)
    if scheduler is not None and executor != "dask":
        raise InvalidParameterError(
            f"The 'scheduler' parameter of run_experiment needs executor='dask'. Got executor={executor!r} "
            f"with scheduler={scheduler!r}."
        )
    if executor == "dask":  # before any work: say now, not after the first cells, that Dask is missing
        from alsim._extras import require_extras

        require_extras(["distributed"], needed_for=_DASK_FEATURE)


def _make_backend(jobs: int | None, executor: str, scheduler: str | None, n_pending: int) -> _Backend:
    if executor == "dask":
        if scheduler is None:  # no point starting more local workers than there are cells
            jobs = min(jobs or _default_jobs(), n_pending)
        return _DaskBackend(jobs, scheduler, n_pending)
    n_jobs = min(jobs if jobs is not None else _default_jobs(), n_pending)
    return _InProcessBackend() if n_jobs == 1 else _ProcessPoolBackend(n_jobs, _batch_size(n_pending, n_jobs))


def run_experiment(
    config: ExperimentConfig | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    progress: bool = True,
    simulate: Callable[..., Any] | None = None,
    allow_imports: bool = False,
) -> RunSummary:
    """Run every unfinished cell of an experiment grid and store each result in ``out_dir/cells/``.

    Safe to interrupt and to rerun: finished cells are skipped, failed ones retried, and a cell's file
    is either complete or absent (see :mod:`alsim.experiments.store`). Results do not depend on the
    executor, the number of jobs or the order of completion: each cell is seeded by its own ``seed``
    and runs with single-threaded BLAS and kernels.

    Parameters
    ----------
    config : ExperimentConfig or path
        The experiment, or the path of its TOML file.
    out_dir : path
        Output directory (created if needed). Resuming into a directory of another experiment raises
        ConfigError unless the grids contain one another (see :meth:`CellStore.prepare`).
    jobs : int or None, default=None
        Worker processes (None: all cores; 1: run in this process). With ``executor="dask"`` and no
        scheduler, the number of LocalCluster workers; with a scheduler, an optional cap on cells in flight.
    executor : {"local", "dask"}, default="local"
        ``"local"``: a process pool on this machine. ``"dask"``: Dask distributed.
    scheduler : str, optional
        Address of a running Dask scheduler to join (only with ``executor="dask"``); without it a
        LocalCluster is started on 127.0.0.1 and closed at the end.
    progress : bool, default=True
        Show a progress bar (cells done, failed, ETA) on stderr.
    simulate : callable, optional
        Function run for each cell as ``simulate(dataset, **cell.simulate_kwargs())`` and returning a
        ``SimulationResult``; default :func:`alsim.simulate`. It must be importable by the workers.
    allow_imports : bool, default=False
        When ``config`` is a path: import the modules its ``imports`` names (running their code); a config
        with ``imports`` is refused without it (see :func:`alsim.experiments.load_config`).

    Returns
    -------
    RunSummary

    Examples
    --------
    >>> from alsim.experiments import run_experiment, load_results
    >>> summary = run_experiment("experiments/quickstart.toml", "runs/quickstart", jobs=2)  # doctest: +SKIP
    >>> summary.ok, load_results("runs/quickstart")["cell_id"].n_unique()  # doctest: +SKIP
    (True, 250)
    """
    from tqdm.auto import tqdm

    _check_run_parameters(jobs, executor, scheduler)
    if not isinstance(config, ExperimentConfig):
        config = load_config(config, allow_imports=allow_imports)
    check_output_dir(out_dir, who=parameter("out_dir", "run_experiment"))
    for message in check_dataset_sizes(config):
        warnings.warn(message, UserWarning, stacklevel=2)
    if simulate is None:
        from alsim.loop import simulate as engine_simulate
        from alsim.stream import simulate_stream

        simulate = simulate_stream if config.mode == "stream" else engine_simulate
    cell_function: Callable[..., Any] = simulate  # a name the closure below sees as never None

    started = time.perf_counter()
    store = CellStore(out_dir)
    store.prepare(config)
    store.remove_temp_files()
    store.remove_free_locks()
    cells = expand_cells(config)
    finished_at_start = store.finished_ids()
    # Costliest first, a (dataset, seed, learner) group together: see alsim.experiments.schedule.
    pending = schedule_cells([cell for cell in cells if cell.cell_id not in finished_at_start])
    # The bar counts seconds of work: measured for the finished cells, estimated for the pending ones and
    # corrected by what the finished cells of the same strategy and dataset took (see RunningCostEstimate).
    cost = RunningCostEstimate(pending)
    n_cells_done = len(cells) - len(pending)
    n_already_done = len(cells) - len(pending)
    n_completed = 0
    n_done_elsewhere = 0
    failures: list[CellFailure] = []
    held: dict[str, CellLock] = {}

    bar = tqdm(
        # This run's work; with nothing left to do (a finished directory), the bar starts full.
        total=max(cost.remaining, 1e-9) if pending else 1.0,
        initial=0.0 if pending else 1.0,
        desc=config.name,
        unit="s",
        bar_format="{l_bar}{bar}| [{elapsed}{postfix}]",  # the postfix starts with the time left (`cost`)
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )

    def show(failed: int, **extra: int) -> None:
        left = cost.seconds_left(time.perf_counter())
        eta = "? left" if left is None else f"{tqdm.format_interval(left)} left"
        counts = ", ".join(f"{name}={value}" for name, value in extra.items())
        bar.set_postfix_str(
            f"{eta}, cells={n_cells_done}/{len(cells)}, failed={failed}" + (f", {counts}" if counts else ""),
            refresh=False,
        )

    def advance(cell: Cell, failed: int, seconds: float | None = None) -> None:
        nonlocal n_cells_done
        n_cells_done += 1
        cost.finish(cell.cell_id, seconds, time.perf_counter())
        show(failed)
        bar.total = max(cost.done + cost.remaining, 1e-9)
        bar.update(cost.done - bar.n)  # throttled like any update (mininterval)

    show(0)
    backend: _Backend | None = None
    worker_environment = contextlib.ExitStack()
    worker_environment.enter_context(_environment_for_workers())
    try:
        while pending:
            waiting: list[Cell] = []
            claimed_any = False

            def claim(cells_to_try: list[Cell], waiting: list[Cell] = waiting) -> Iterator[_Task]:
                nonlocal n_done_elsewhere, claimed_any
                for cell in cells_to_try:
                    lock = store.try_lock(cell.cell_id)
                    if lock is None:  # another live run is computing it
                        waiting.append(cell)
                        continue
                    # Held from here on, so a Ctrl-C during the checks below still releases (and removes) it.
                    held[cell.cell_id] = lock
                    claimed_any = True
                    if store.is_finished(cell.cell_id):  # that run finished it since we looked
                        held.pop(cell.cell_id).release()
                        n_done_elsewhere += 1
                        advance(cell, len(failures))
                        continue
                    store.remove_temp_files(cell.cell_id)
                    yield _Task(cell, cell_function, tuple(config.imports))

            tasks = claim(pending)
            first = next(tasks, None)
            if first is not None:
                if backend is None:
                    backend = _make_backend(jobs, executor, scheduler, len(pending))
                for task, outcome in backend.run(_chain(first, tasks)):
                    cell = task.cell
                    try:
                        failure = _store_outcome(store, cell, outcome)
                    finally:
                        held.pop(cell.cell_id).release()
                    if failure is None:
                        n_completed += 1
                    else:
                        failures.append(failure)
                    advance(cell, len(failures), outcome.seconds)
            pending = waiting
            if pending:
                show(len(failures), waiting_for_other_run=len(pending))
                bar.refresh()
                if not claimed_any:
                    time.sleep(_POLL_SECONDS)
        if backend is not None:
            backend.close(cancel=False)
    except BaseException:
        if backend is not None:
            backend.close(cancel=True)
        raise
    finally:
        for lock in held.values():
            lock.release()
        # A Ctrl-C can land while a lock is being taken or handed back, where the run does not track it.
        store.remove_free_locks()
        bar.close()
        worker_environment.close()
        clear_shared_work()  # what jobs=1 kept in this process is of no use after the run

    return RunSummary(
        out_dir=Path(out_dir),
        n_cells=len(cells),
        n_already_done=n_already_done,
        n_completed=n_completed,
        n_done_elsewhere=n_done_elsewhere,
        failures=tuple(failures),
        elapsed_seconds=time.perf_counter() - started,
    )


def _chain(first: _Task, rest: Iterator[_Task]) -> Iterator[_Task]:
    yield first
    yield from rest


def _store_outcome(store: CellStore, cell: Cell, outcome: _Outcome) -> CellFailure | None:
    """Write a finished cell, or its error report; a failure to write is itself a cell failure."""
    error = outcome.error
    if error is None:
        result = outcome.result
        try:
            # The cell's parameters travel inside its file, so load_results needs nothing else.
            result.metadata["cell_id"] = cell.cell_id
            result.metadata["cell"] = cell.to_dict()
            store.write_result(cell.cell_id, lambda path: result.save(path))
            return None
        except OSError as exc:
            if exc.errno not in _DISK_FULL:
                raise
            raise OutputPathError(
                f"Cannot store cell {cell.cell_id} in {str(store.cells_dir)!r}: {describe_os_error(exc)}. "
                "Finished cells are kept; rerun the same command to go on."
            ) from None
        except Exception as exc:
            error = _error_info(exc)
            error["message"] = f"The cell ran but its result could not be stored: {error['message']}"
    payload = {
        "cell_id": cell.cell_id,
        "cell": cell.to_dict(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(outcome.seconds, 3),
        **error,
    }
    path = store.write_error(cell.cell_id, payload)
    return CellFailure(cell.cell_id, cell, error["error_type"], error["message"], path)
