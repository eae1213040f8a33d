"""The on-disk layout of a grid run, made safe against kills and concurrent runs.

Layout of an output directory ``DIR``::

    DIR/experiment.toml            the experiment (normalised: defaults filled in, absolute dataset paths)
    DIR/cells/<cell_id>.parquet    one finished cell (``SimulationResult.save``), cell parameters in metadata
    DIR/cells/<cell_id>.error.json the last failure of a cell that has not succeeded since
    DIR/cells/<cell_id>.lock       exists only while some run holds the cell (a file lock; see below)

Safety rules, each of which the tests exercise:

* A result or error file is first written to a hidden temporary file in the same directory
  (``.<cell_id>.<random>.tmp<suffix>``), flushed to disk, then renamed over the final name with
  ``os.replace`` (atomic on POSIX), and the directory entry is fsync'ed. A reader therefore sees either no
  file or a complete one, whenever the writer is killed.
* A run holds an exclusive OS file lock (``filelock.FileLock``: ``flock`` on POSIX, ``msvcrt.locking`` on
  Windows) on ``<cell_id>.lock`` from the moment it takes a cell until the cell's file is in place. The
  operating system drops the lock when the process dies, however it dies, so a killed run never leaves a
  lock that blocks the next one. A second run that finds a cell locked leaves it to the holder and comes
  back to it later. The holder deletes the lock file before releasing it; a run that opened the file just
  before the deletion then locks an unlinked file, which filelock does not count as held.
* Temporary files are deleted by whoever holds the cell's lock, so a run never removes a file another live
  run is still writing.

The lock is advisory and local to one operating system: two runs on different machines writing into one shared
(e.g. NFS) directory do not exclude each other. Duplicate work is then possible but still harmless, since
the final rename is atomic and both writers produce the same bytes of records.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from alsim.exceptions import ConfigError
from alsim.experiments.config import ExperimentConfig, dump_config, load_config, read_config_table
from alsim.experiments.grid import CELL_ID_LENGTH, expand_cells
from alsim.results import cell_files

__all__ = ["CellLock", "CellStore", "atomic_write"]

_TEMP_NAME = re.compile(rf"^\.([0-9a-f]{{{CELL_ID_LENGTH}}})\.[0-9a-f]+\.tmp")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], object], *, temp_prefix: str | None = None) -> None:
    """Create ``path`` atomically: ``write(temp_path)``, fsync, ``os.replace``, fsync the directory.

    Parameters
    ----------
    path : Path
        Final file name.
    write : callable
        Writes the complete content to the temporary path it is given (same directory and suffix).
    temp_prefix : str, optional
        Hidden temporary name prefix (default ``.<path stem>``); the name is
        ``<prefix>.<random hex>.tmp<suffix>``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from alsim.experiments.store import atomic_write
    >>> target = Path(tempfile.mkdtemp()) / "note.txt"
    >>> atomic_write(target, lambda tmp: tmp.write_text("hello"))
    >>> target.read_text()
    'hello'
    """
    prefix = temp_prefix if temp_prefix is not None else f".{path.stem}"
    suffix = "".join(path.suffixes[-1:])
    temp = path.with_name(f"{prefix}.{secrets.token_hex(6)}.tmp{suffix}")
    try:
        write(temp)
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        # Includes KeyboardInterrupt: never leave our own half-written file behind if we can help it.
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    _fsync_dir(path.parent)


class CellLock:
    """An exclusive, crash-safe claim on one cell (an OS file lock on ``cells/<cell_id>.lock``).

    Release it with :meth:`release` (or use it as a context manager). The lock file is removed on release.
    """

    def __init__(self, path: Path, lock: FileLock) -> None:
        self.path = path
        self._lock: FileLock | None = lock

    def release(self) -> None:
        """Remove the lock file and drop the lock (idempotent)."""
        if self._lock is None:
            return
        # Unlink while still holding the lock: a run that opened the file before the unlink then locks an
        # unlinked file, which filelock (>= 4, on POSIX) refuses to count as held.
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._lock.release(force=True)
        self._lock = None

    def __enter__(self) -> CellLock:
        """Hold the lock for the ``with`` block."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Release the lock, whatever ended the ``with`` block."""
        self.release()


class CellStore:
    """Files of one output directory; see the module docstring for the layout and the safety rules.

    Examples
    --------
    >>> import tempfile
    >>> from alsim.experiments.store import CellStore
    >>> store = CellStore(tempfile.mkdtemp())
    >>> store.finished_ids()
    set()
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.out_dir = Path(out_dir)
        self.cells_dir = self.out_dir / "cells"
        self.config_path = self.out_dir / "experiment.toml"

    # -- paths ----------------------------------------------------------------------------------------
    def result_path(self, cell_id: str) -> Path:
        """Return the path of the cell's result file (which may not exist yet)."""
        return self.cells_dir / f"{cell_id}.parquet"

    def error_path(self, cell_id: str) -> Path:
        """Return the path of the cell's error report (which may not exist)."""
        return self.cells_dir / f"{cell_id}.error.json"

    def lock_path(self, cell_id: str) -> Path:
        """Return the path of the cell's lock file."""
        return self.cells_dir / f"{cell_id}.lock"

    # -- state ----------------------------------------------------------------------------------------
    def result_files(self) -> list[Path]:
        """Finished cell files, sorted by cell id (temporary files are never listed)."""
        return cell_files(self.cells_dir)

    def finished_ids(self) -> set[str]:
        """Ids of the cells whose result file is in place."""
        return {p.name[:CELL_ID_LENGTH] for p in self.result_files()}

    def is_finished(self, cell_id: str) -> bool:
        """Return whether the cell's result file is in place."""
        return self.result_path(cell_id).is_file()

    # -- locking --------------------------------------------------------------------------------------
    def try_lock(self, cell_id: str) -> CellLock | None:
        """Take the cell's lock without waiting; None if another live process holds it."""
        path = self.lock_path(cell_id)
        # Not thread-local: a run may release a cell's lock from another thread than the one that took it.
        lock = FileLock(path, timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            return None
        return CellLock(path, lock)

    # -- writing --------------------------------------------------------------------------------------
    def write_result(self, cell_id: str, save: Callable[[Path], object]) -> Path:
        """Atomically store a finished cell (``save(temp_path)`` writes the parquet) and drop its error file."""
        path = self.result_path(cell_id)
        atomic_write(path, save, temp_prefix=f".{cell_id}")
        with contextlib.suppress(FileNotFoundError):
            self.error_path(cell_id).unlink()
        return path

    def write_error(self, cell_id: str, payload: dict[str, Any]) -> Path:
        """Atomically store a cell's failure report as JSON."""
        path = self.error_path(cell_id)
        text = json.dumps(payload, indent=2, default=str)
        atomic_write(path, lambda temp: temp.write_text(text, encoding="utf-8"), temp_prefix=f".{cell_id}")
        return path

    def remove_free_locks(self) -> int:
        """Delete the lock files that no live run holds; returns how many.

        A run killed between storing a cell and releasing its lock, or interrupted while taking one, leaves
        ``<cell_id>.lock`` behind. Each lock file is taken briefly and released (which removes it); a lock
        that another live run holds is left alone.
        """
        if not self.cells_dir.is_dir():
            return 0
        removed = 0
        for path in sorted(self.cells_dir.glob("*.lock")):
            lock = self.try_lock(path.name[: -len(".lock")])
            if lock is not None:
                lock.release()
                removed += 1
        return removed

    def remove_temp_files(self, cell_id: str | None = None) -> int:
        """Delete leftover temporary files (of one cell, or of every cell whose lock is free).

        The caller must hold the lock of ``cell_id`` when giving one. Without ``cell_id`` each cell's lock is
        taken briefly, and files of cells that another live run holds are left alone. Returns how many
        files were removed.
        """
        if not self.cells_dir.is_dir():
            return 0
        by_cell: dict[str, list[Path]] = {}
        for path in self.cells_dir.iterdir():
            match = _TEMP_NAME.match(path.name)
            if match and (cell_id is None or match.group(1) == cell_id):
                by_cell.setdefault(match.group(1), []).append(path)
        removed = 0
        for owner, paths in by_cell.items():
            lock = None if cell_id is not None else self.try_lock(owner)
            if cell_id is None and lock is None:
                continue
            try:
                for path in paths:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                        removed += 1
            finally:
                if lock is not None:
                    lock.release()
        return removed

    # -- the experiment file --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _directory_lock(self) -> Iterator[None]:
        with FileLock(self.out_dir / ".experiment.lock", thread_local=False):
            yield

    def _stored_imports_known(self, config: ExperimentConfig) -> bool:
        """Tell whether the stored experiment imports only modules that ``config`` imported already.

        The stored copy is validated to compare its cells, and validation imports what it names: a
        directory received from someone else must not get its code run that way. Modules ``config``
        imports were imported by the caller's own choice, so importing them again runs nothing new.
        """
        stored = read_config_table(self.config_path).get("imports") or []
        unknown = sorted({str(name) for name in stored} - set(config.imports)) if isinstance(stored, list) else [stored]
        if unknown:
            raise ConfigError(
                f"The output directory {str(self.out_dir)!r} holds an experiment that imports Python modules "
                f"this config does not ({', '.join(repr(n) for n in unknown)}); alsim does not run code named "
                "by a results directory. Use a new --out directory, or add those imports to your config if you "
                "trust them."
            )
        return bool(stored)

    def prepare(self, config: ExperimentConfig) -> None:
        """Create the directory and record the experiment, refusing to mix unrelated experiments.

        Resuming into a directory is allowed when the cells of ``config`` and of the stored
        ``experiment.toml`` are equal, or one set contains the other:

        * same cells (e.g. only the name or description changed): the stored file is kept;
        * ``config`` is a subset (e.g. fewer seeds, to finish part of a grid first): the stored file is kept,
          since the directory describes the larger experiment;
        * ``config`` is a superset (e.g. seeds or strategies added): the stored file is replaced by
          ``config``, which now describes everything in the directory.

        Anything else (a changed budget, oracle, test size... changes every cell id) raises ConfigError:
        mixing such cells in one directory would make ``load_results`` compare unlike runs. Finished cell
        files with no stored ``experiment.toml`` must likewise all belong to ``config``.
        """
        self.cells_dir.mkdir(parents=True, exist_ok=True)
        new_ids = {cell.cell_id for cell in expand_cells(config)}
        with self._directory_lock():
            # Only the holder of the directory lock writes experiment.toml, so any temporary copy is stale.
            for stale in self.out_dir.glob(".experiment.*.tmp.toml"):
                stale.unlink(missing_ok=True)
            if self.config_path.is_file():
                stored = load_config(self.config_path, allow_imports=self._stored_imports_known(config))
                old_ids = {cell.cell_id for cell in expand_cells(stored)}
                if new_ids <= old_ids:
                    return
                if not old_ids <= new_ids:
                    raise ConfigError(
                        f"The output directory {str(self.out_dir)!r} holds the experiment {stored.name!r} "
                        f"({len(old_ids)} cells), and this config ({config.name!r}, {len(new_ids)} cells) "
                        f"shares only {len(old_ids & new_ids)} of them. Resume only with a config whose "
                        "cells contain, or are contained in, the stored ones (same budget, oracle, test "
                        "size, initial set...); otherwise use a new --out directory."
                    )
            else:
                strangers = self.finished_ids() - new_ids
                if strangers:
                    raise ConfigError(
                        f"The output directory {str(self.out_dir)!r} has no experiment.toml but holds "
                        f"{len(strangers)} finished cells that are not in this config (e.g. "
                        f"{sorted(strangers)[0]}). Use a new --out directory."
                    )
            text = dump_config(config)
            atomic_write(self.config_path, lambda temp: temp.write_text(text, encoding="utf-8"))
