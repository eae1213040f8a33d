"""Parameter checks shared by every public function and class, so that every message reads the same.

``The 'batch_size' parameter of KCenterGreedy must be an int >= 1. Got 0 instead.``: the parameter, its
owner (the function or class the user called), what it must be, and what it got (:func:`describe_value`).
Each check returns the value converted to the plain Python type it promises.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from alsim._messages import describe_value
from alsim.exceptions import InvalidParameterError

__all__ = ["check_choice", "check_int", "check_real", "fail", "interval"]


def fail(name: str, owner: str, expected: str, value: object) -> InvalidParameterError:
    """The error for a parameter ``name`` of ``owner`` that is not ``expected`` (to raise).

    An empty ``owner`` leaves "of ..." out, for a parameter that several functions pass on unchanged.
    """
    of = f" of {owner}" if owner else ""
    return InvalidParameterError(f"The '{name}' parameter{of} must be {expected}. Got {describe_value(value)} instead.")


def _bound(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:g}"


def interval(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> str:
    """``"[0, 1)"``, ``"(0, inf)"``: an interval the way the messages write it (an infinite end is open)."""
    left = "(" if low_open or math.isinf(low) else "["
    right = ")" if high_open or math.isinf(high) else "]"
    return f"{left}{_bound(low)}, {_bound(high)}{right}"


def check_choice(value: Any, name: str, owner: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else "must be one of [...]"."""
    if not isinstance(value, str) or value not in choices:
        raise fail(name, owner, f"one of {list(choices)}", value)
    return value


def check_int(
    value: Any, name: str, owner: str, *, low: int | None = None, high: float | None = None, allow_none: bool = False
) -> Any:
    """``value`` as an int in ``[low, high]`` (a bool is not an int), or None when ``allow_none``.

    The message says "an int >= low" when there is no upper bound, "an int in [low, high]" otherwise.
    """
    if value is None and allow_none:
        return None
    if high is None or math.isinf(high):
        expected = "an int" if low is None else f"an int >= {low}"
    else:
        expected = f"an int in [{'-inf' if low is None else low}, {int(high)}]"
    if allow_none:
        expected += " or None"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise fail(name, owner, expected, value)
    if (low is not None and int(value) < low) or (high is not None and int(value) > high):
        raise fail(name, owner, expected, value)
    return int(value)


def check_real(
    value: Any,
    name: str,
    owner: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float in the interval from ``low`` to ``high`` (a bool is not a number)."""
    expected = f"a float in {interval(low, high, low_open=low_open, high_open=high_open)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise fail(name, owner, expected, value)
    number = float(value)
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if too_low or too_high:
        raise fail(name, owner, expected, value)
    return number
