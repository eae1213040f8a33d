"""alsim: an active-learning simulation and benchmarking lab.

Replay the labeling loop on datasets whose labels are known, with a simulated oracle, and measure which
query strategy reaches a target quality with the fewest and cheapest labels.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from alsim import exceptions
from alsim.exceptions import AlsimError

try:
    __version__ = version("alsim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["AlsimError", "SimulationResult", "__version__", "exceptions", "load_result", "simulate"]

# The simulation engine pulls in scikit-learn and polars: import it on first use so ``import alsim`` and
# ``alsim --help`` stay fast.
_LAZY_EXPORTS = {"simulate": "alsim.loop", "load_result": "alsim.records", "SimulationResult": "alsim.records"}
# Sub-packages reachable as attributes after a plain ``import alsim`` (``alsim.strategies.register_strategy``),
# imported on first access for the same reason.
_LAZY_SUBMODULES = (
    "budget",
    "datasets",
    "experiments",
    "kernels",
    "learners",
    "metrics",
    "oracle",
    "reports",
    "results",
    "stats",
    "stopping",
    "strategies",
    "stream",
)


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"alsim.{name}")
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'alsim' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_EXPORTS, *_LAZY_SUBMODULES})
