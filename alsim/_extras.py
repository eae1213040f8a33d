"""Optional dependencies (the extras of ``pip install 'alsim[...]'``), imported only where a feature needs them.

A missing one raises :class:`~alsim.exceptions.MissingExtraError`: one line naming the feature, the package
and the extra to install, never a bare ``ModuleNotFoundError`` from deep inside a run.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable
from types import ModuleType

from alsim.exceptions import MissingExtraError

# import name -> (distribution to name in the message, extra of alsim that installs it)
_EXTRAS: dict[str, tuple[str, str]] = {
    "distributed": ("dask[distributed]", "dask"),
    "river": ("river", "stream"),
    "pytest": ("pytest", "bench"),
    "pytest_benchmark": ("pytest-benchmark", "bench"),
}


def _error(modules: Iterable[str], needed_for: str) -> MissingExtraError:
    entries = [_EXTRAS[name] for name in modules]
    packages = " and ".join(dict.fromkeys(package for package, _ in entries))
    extras = ",".join(dict.fromkeys(extra for _, extra in entries))
    verb = "is" if len(entries) == 1 else "are"
    return MissingExtraError(
        f"{needed_for} needs {packages}, which {verb} not installed. Install it with: pip install 'alsim[{extras}]'"
    )


def import_extra(module: str, *, needed_for: str) -> ModuleType:
    """Import ``module`` (a module of an optional dependency) or raise MissingExtraError."""
    top = module.partition(".")[0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] != top:
            raise  # the package is there but broken: its own error says more than ours would
        raise _error([top], needed_for) from None


def require_extras(modules: Iterable[str], *, needed_for: str) -> None:
    """Raise MissingExtraError unless every module of ``modules`` can be imported (without importing them)."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise _error(missing, needed_for)
