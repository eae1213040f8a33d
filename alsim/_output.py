"""Output locations: check that a directory or file can be written *before* the work, in one place.

Every command and function that writes (``alsim run/simulate/report/stopping/budget/backtest``,
``alsim bench --json``, ``SimulationResult.save``/``plot``, ``run_experiment``, ``write_report``...) calls
:func:`check_output_dir` or :func:`check_output_file` first, so a bad location (an existing file where a
directory is wanted, a path under a file, a read-only or full file system) fails in a second with one line
instead of after the whole simulation with a ``NotADirectoryError`` traceback.

Writability is decided by a real write probe (create and remove a small file), not by permission bits:
``root`` ignores the bits, network and read-only file systems do not show them, and a probe also catches a
full disk. Errors while the real output is written (the disk filled up meanwhile) go through
:func:`writing_to`, which turns them into the same kind of one-line :class:`OutputPathError`.

``who`` names the location the way the user gave it: a CLI flag (``"--out"``) on the command line, a
parameter (``"the 'out_dir' parameter of run_experiment"``) in Python.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path

from alsim.exceptions import OutputPathError

__all__ = ["check_new_outputs", "check_output_dir", "check_output_file", "describe_os_error", "writing_to"]

_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def parameter(name: str, caller: str) -> str:
    """How a Python parameter is named in messages: ``"the 'out_dir' parameter of run_experiment"``."""
    return f"the {name!r} parameter of {caller}"


def describe_os_error(exc: OSError) -> str:
    """The reason of an OS error in a few words, with what to do for a full disk."""
    if exc.errno in _DISK_FULL:
        return "the disk is full (no space left on the device or quota exceeded); free some space or write elsewhere"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)


def _fail(who: str, path: Path, reason: str, cause: OSError | None = None) -> OutputPathError:
    text = who[0].upper() + who[1:]
    error = OutputPathError(f"{text} cannot be used as an output location ({str(path)!r}): {reason}.")
    # Callers that react to a full disk (the grid runner stops) read the errno of the cause.
    error.errno = None if cause is None else cause.errno
    return error


def _first_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def check_output_dir(path: str | os.PathLike[str], *, who: str, create: bool = True) -> Path:
    """Make sure ``path`` is a directory this process can write into (created with its parents if missing).

    Parameters
    ----------
    path : path
        The output directory.
    who : str
        How to name it in the message: the CLI flag (``"--out"``) or ``parameter("out_dir", caller)``.
    create : bool, default=True
        Create the directory (and its parents) when missing; False only checks that it could be created.

    Returns
    -------
    Path

    Raises
    ------
    OutputPathError
        ``path`` or one of its parents is a file, or the directory cannot be created or written (read-only,
        permission denied, disk full).
    """
    path = Path(os.fspath(path)).expanduser()
    if path.exists() and not path.is_dir():
        raise _fail(who, path, "it is an existing file, not a directory; name a directory")
    return _writable_dir(path, who, path, create)


def _writable_dir(directory: Path, who: str, path: Path, create: bool) -> Path:
    """Check (and create) ``directory``; messages show ``path``, the location the user named."""
    existing = _first_existing(directory)
    if not existing.is_dir():
        raise _fail(who, path, f"{str(existing)!r} is a file, so nothing can be created under it")
    if not create and not directory.exists():
        _probe(existing, who, path)
        return directory
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(who, path, f"the directory cannot be created: {describe_os_error(exc)}", exc) from None
    _probe(directory, who, path)
    return directory


def _probe(directory: Path, who: str, path: Path) -> None:
    probe = directory / f".alsim-write-probe-{secrets.token_hex(4)}"
    try:
        with probe.open("xb") as handle:
            handle.write(b"alsim")
    except OSError as exc:
        raise _fail(who, path, f"this process cannot write there: {describe_os_error(exc)}", exc) from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def check_output_file(path: str | os.PathLike[str], *, who: str) -> Path:
    """Make sure the file ``path`` can be (over)written; its directory is created if missing.

    An existing file is opened for appending (nothing is changed), a new one is probed in its directory.

    Raises
    ------
    OutputPathError
        ``path`` is a directory or another non-regular file, a parent is a file, or the location is not
        writable.
    """
    path = Path(os.fspath(path)).expanduser()
    if path.is_dir():
        raise _fail(who, path, "it is a directory; name a file")
    if path.exists() and not path.is_file():
        # Files are written beside their target and renamed over it: that would replace a device or a pipe.
        raise _fail(who, path, "it is not a regular file (a device, a pipe or a socket); name a file")
    _writable_dir(path.parent, who, path, create=True)
    if path.exists():
        try:
            with path.open("ab"):
                pass
        except OSError as exc:
            raise _fail(who, path, f"the file cannot be written: {describe_os_error(exc)}", exc) from None
    return path


def check_new_outputs(directory: str | os.PathLike[str], names: Sequence[str], *, who: str, allow: str) -> None:
    """Refuse to replace an earlier answer: raise if ``directory`` already holds one of ``names``.

    Call it before the long work, next to :func:`check_output_dir`. Only the named files are protected;
    anything else in the directory (resumable runs, caches) is left to its owner.

    Parameters
    ----------
    directory : path
        The output directory.
    names : sequence of str
        The files the caller is about to write (e.g. ``["budget.md", "budget.json", "budget.png"]``).
    who : str
        How to name the directory: the CLI flag (``"--out"``) or ``parameter("out_dir", caller)``.
    allow : str
        How to allow the replacement: ``"--overwrite"`` on the command line, ``"overwrite=True"`` in Python.

    Raises
    ------
    OutputPathError
        One of ``names`` exists in ``directory``.
    """
    path = Path(os.fspath(directory)).expanduser()
    existing = [name for name in names if (path / name).exists()]
    if existing:
        text = who[0].upper() + who[1:]
        raise OutputPathError(
            f"{text} ({str(path)!r}) already holds an earlier answer ({', '.join(existing)}); pass {allow} to "
            "replace it, or choose another directory."
        )


@contextlib.contextmanager
def writing_to(path: str | os.PathLike[str], *, who: str) -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``path`` (disk full, removed directory...) into one line."""
    try:
        yield
    except OutputPathError:
        raise
    except OSError as exc:
        raise _fail(who, Path(os.fspath(path)), f"writing failed: {describe_os_error(exc)}", exc) from None
