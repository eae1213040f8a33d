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

__all__ = ["AlsimError", "__version__", "exceptions"]
