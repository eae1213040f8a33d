"""Parameter checks shared by every public function and class, so that every message reads the same.

``The 'batch_size' parameter of KCenterGreedy must be an int >= 1. Got 0 instead.``: the parameter, its
owner (the function or class the user called), what it must be, and what it got (:func:`describe_value`).
Each check returns the value converted to the plain Python type it promises.

A parameter that a CLI sub-command sets through a flag passes ``flag="--max-labels"``: inside
:func:`alsim._messages.command_line` the message then names the flag (``--max-labels must be an int >= 1.
Got 0 instead.``), in Python the parameter.

Domain checks (a curve, a confusion matrix, a records frame) stay next to what they check and raise
through :func:`fail`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from alsim._messages import describe_value, on_command_line
from alsim.exceptions import InvalidParameterError

__all__ = ["check_choice", "check_fraction", "check_int", "check_real", "fail", "interval", "subject"]


def subject(name: str, owner: str, flag: str | None = None) -> str:
    """``"The 'name' parameter of owner"``, or the CLI ``flag`` while a sub-command runs: a message's subject.

    An empty ``owner`` leaves "of ..." out, for a parameter that several functions pass on unchanged.

    Examples
    --------
    >>> subject("max_labels", "estimate_budget", "--max-labels")
    "The 'max_labels' parameter of estimate_budget"
    """
    if flag is not None and on_command_line():
        return flag
    of = f" of {owner}" if owner else ""
    return f"The '{name}' parameter{of}"


def fail(name: str, owner: str, expected: str, value: object, *, flag: str | None = None) -> InvalidParameterError:
    """The error for a parameter ``name`` of ``owner`` that is not ``expected`` (to raise).

    Examples
    --------
    >>> print(fail("alpha", "friedman_test", "a float in (0, 1)", 2.0))
    The 'alpha' parameter of friedman_test must be a float in (0, 1). Got 2.0 instead.
    """
    return InvalidParameterError(
        f"{subject(name, owner, flag)} must be {expected}. Got {describe_value(value)} instead."
    )


def _bound(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:g}"


def interval(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> str:
    """``"[0, 1)"``, ``"(0, inf)"``: an interval the way the messages write it (an infinite end is open)."""
    left = "(" if low_open or math.isinf(low) else "["
    right = ")" if high_open or math.isinf(high) else "]"
    return f"{left}{_bound(low)}, {_bound(high)}{right}"


def check_choice(value: Any, name: str, owner: str, choices: Sequence[str], *, flag: str | None = None) -> str:
    """``value`` if it is one of ``choices``, else "must be one of [...]"."""
    if not isinstance(value, str) or value not in choices:
        raise fail(name, owner, f"one of {list(choices)}", value, flag=flag)
    return value


def check_int(
    value: Any,
    name: str,
    owner: str,
    *,
    low: int | None = None,
    high: float | None = None,
    allow_none: bool = False,
    note: str = "",
    flag: str | None = None,
) -> Any:
    """``value`` as an int in ``[low, high]`` (a bool is not an int), or None when ``allow_none``.

    The message says "an int >= low" when there is no upper bound, "an int in [low, high]" otherwise, then
    ``note`` in parentheses (what a bound stands for: ``"the number of scores"``).

    Examples
    --------
    >>> try:
    ...     check_int(0, "k", "top_k", low=1, high=2, note="the number of scores")
    ... except InvalidParameterError as error:
    ...     print(error)
    The 'k' parameter of top_k must be an int in [1, 2] (the number of scores). Got 0 instead.
    """
    if value is None and allow_none:
        return None
    if high is None or math.isinf(high):
        expected = "an int" if low is None else f"an int >= {low}"
    else:
        expected = f"an int in [{'-inf' if low is None else low}, {int(high)}]"
    if allow_none:
        expected += " or None"
    if note:
        expected += f" ({note})"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise fail(name, owner, expected, value, flag=flag)
    if (low is not None and int(value) < low) or (high is not None and int(value) > high):
        raise fail(name, owner, expected, value, flag=flag)
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
    allow_none: bool = False,
    flag: str | None = None,
) -> Any:
    """``value`` as a finite float in the interval from ``low`` to ``high`` (a bool is not a number).

    None passes through when ``allow_none``.

    Examples
    --------
    >>> try:
    ...     check_real(0, "beta", "HierarchicalSampling", low=1.0, low_open=True)
    ... except InvalidParameterError as error:
    ...     print(error)
    The 'beta' parameter of HierarchicalSampling must be a float in (1, inf). Got 0 instead.
    """
    if value is None and allow_none:
        return None
    expected = f"a float in {interval(low, high, low_open=low_open, high_open=high_open)}"
    if allow_none:
        expected += " or None"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise fail(name, owner, expected, value, flag=flag)
    number = float(value)
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if too_low or too_high:
        raise fail(name, owner, expected, value, flag=flag)
    return number


def check_fraction(
    value: Any,
    name: str,
    owner: str,
    *,
    low_open: bool = True,
    high_open: bool = True,
    flag: str | None = None,
) -> float:
    """``value`` as a float share or probability: in (0, 1) by default, an end closed on request.

    Examples
    --------
    >>> check_fraction(0.25, "test_size", "split_pool")
    0.25
    """
    return float(check_real(value, name, owner, low=0.0, high=1.0, low_open=low_open, high_open=high_open, flag=flag))
