"""Drift detection on the labelled stream.

Each bought label tells whether the model's prediction for that example (made before the label was revealed)
was wrong. A detector watches that 0/1 error sequence and reports a drift when the error rate rises. The
detectors are river's (``river.drift``):

- ``adwin``: ADWIN, adaptive windowing (Bifet & Gavalda 2007, "Learning from Time-Changing Data with Adaptive
  Windowing", SIAM SDM). It reports changes in both directions; we keep only those where the error rate of the
  window it keeps is above the rate before the cut (a model getting *better* is no reason to buy more labels).
- ``page_hinkley``: the Page-Hinkley test (Page 1954, "Continuous Inspection Schemes", Biometrika 41) in its
  one-sided ``mode="up"`` form.

A stream labelled at 10% yields about one label per ten arrivals, so a detector that waits for 150 labels
reacts 1,500 arrivals late. river's defaults (ADWIN ``delta=0.002``; Page-Hinkley ``threshold=50``, made for
continuous signals) are that slow on 0/1 errors, so alsim uses more sensitive settings, measured on 40 seeded
Bernoulli error streams per case (median delay in labels after the change; false alarms in 1,000 stationary
labels at error rates 0.05 / 0.2 / 0.45), for changes 0.05 -> 0.3 / 0.2 -> 0.5:

- ADWIN ``delta=0.002`` (river's default): delay 83 / 79 labels, false alarms 0 / 0 / 0;
- ADWIN ``delta=0.05, clock=4`` (alsim's default): delay 43 / 45, false alarms 0 / 0 / 0;
- Page-Hinkley ``delta=0.1, threshold=15``: delay 114 / 72, false alarms 0 / 0 / 0;
- Page-Hinkley ``delta=0.1, threshold=10`` (alsim's default): delay 75 / 39, false alarms 0 / 0 / 0.

Over 2,000 stationary labels both alsim defaults raised a false alarm in up to 2 of 40 streams at error
rates 0.3 and 0.45 (none at 0.05 and 0.2); a false alarm costs a boost that is repaid later, not budget.

Pass ``detector_params`` to :func:`alsim.stream.simulate_stream` to trade delay for false alarms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alsim._registry import Registry
from alsim.exceptions import InvalidParameterError

__all__ = ["DETECTORS", "DriftDetector", "make_drift_detector"]

_DEFAULTS: dict[str, dict[str, Any]] = {
    "adwin": {"delta": 0.05, "clock": 4},
    "page_hinkley": {"min_instances": 30, "delta": 0.1, "threshold": 10.0, "mode": "up"},
}


def _river_detector(name: str, class_name: str) -> Callable[..., Any]:
    """Return a factory of river's ``river.drift.<class_name>`` (river is imported when a detector is built)."""

    def build(**params: Any) -> Any:
        from alsim._extras import import_extra

        drift = import_extra("river.drift", needed_for=f"The drift detector {name!r}")
        return getattr(drift, class_name)(**params)

    build.__qualname__ = f"river.drift.{class_name}"
    return build


# The river detector of each name; the parameter users pass the name as is simulate_stream's.
_DETECTORS: Registry[Callable[..., Any]] = Registry("drift detector", "drift_detector")
_DETECTORS.register("adwin", _river_detector("adwin", "ADWIN"))
_DETECTORS.register("page_hinkley", _river_detector("page_hinkley", "PageHinkley"))

#: Names of the drift detectors, sorted (the ``drift_detector`` parameter of :func:`alsim.stream.simulate_stream`).
DETECTORS: tuple[str, ...] = tuple(_DETECTORS.names())


class DriftDetector:
    """A river drift detector fed with the model's 0/1 errors on the labelled stream.

    Parameters
    ----------
    name : {"adwin", "page_hinkley"}
    **params
        Parameters of the river detector, overriding alsim's defaults for 0/1 errors.

    Attributes
    ----------
    n_detections : int
        Drifts reported so far.

    Examples
    --------
    >>> detector = DriftDetector("page_hinkley")
    >>> fired = [detector.update(float(i >= 200 and i % 2 == 0)) for i in range(400)]
    >>> any(fired[:200]), any(fired[200:])
    (False, True)
    """

    def __init__(self, name: str, **params: Any) -> None:
        factory = _DETECTORS.get(name, "simulate_stream", also="or None")
        self.name = name
        self.params = {**_DEFAULTS[name], **params}
        try:
            self._detector = factory(**self.params)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                f"Invalid 'detector_params' {sorted(params)} for drift detector {name!r}: {exc}"
            ) from exc
        self.n_detections = 0

    def update(self, error: float) -> bool:
        """Feed one error indicator (1.0 = the prediction was wrong); return whether an upward drift fired."""
        before = getattr(self._detector, "estimation", None)
        self._detector.update(float(error))
        if not self._detector.drift_detected:
            return False
        if self.name == "adwin" and before is not None and self._detector.estimation <= before:
            return False
        self.n_detections += 1
        return True


def make_drift_detector(name: str | None, params: dict[str, Any] | None = None) -> DriftDetector | None:
    """Build a detector by name, or return ``None`` for no detection.

    Examples
    --------
    >>> make_drift_detector(None) is None
    True
    >>> make_drift_detector("adwin").name
    'adwin'
    """
    if name is None:
        if params:
            raise InvalidParameterError(
                f"The 'detector_params' parameter needs a 'drift_detector'. Got {sorted(params)} with none."
            )
        return None
    return DriftDetector(name, **(params or {}))
