"""Stream-based active learning: examples arrive one at a time and are labelled or skipped on the spot.

:func:`simulate_stream` replays the loop on a real dataset and returns the same
:class:`~alsim.records.SimulationResult` as the pool loop (``config["mode"] == "stream"``). Arrival orders
(with abrupt or gradual drift built from the real dataset) live in :mod:`.orders`, the budget manager in
:mod:`.budget`, the query strategies in :mod:`.strategies`, drift detection in :mod:`.drift` and the drift
recovery report in :mod:`.report`.
"""

from __future__ import annotations

from alsim.stream.budget import BudgetManager
from alsim.stream.drift import DETECTORS, DriftDetector, make_drift_detector
from alsim.stream.orders import ORDERS, ArrivalOrder, make_arrival_order
from alsim.stream.simulate import STREAM_COLUMNS, simulate_stream
from alsim.stream.strategies import (
    BufferStrategy,
    StreamStrategy,
    available_stream_strategies,
    make_stream_strategy,
)

__all__ = [
    "DETECTORS",
    "ORDERS",
    "STREAM_COLUMNS",
    "ArrivalOrder",
    "BudgetManager",
    "BufferStrategy",
    "DriftDetector",
    "StreamStrategy",
    "available_stream_strategies",
    "make_arrival_order",
    "make_drift_detector",
    "make_stream_strategy",
    "simulate_stream",
]
