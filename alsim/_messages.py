"""Messages that name an option the way the user can set it: a CLI flag on the command line, a parameter in
Python.

The ``alsim`` command line runs its sub-commands inside :func:`command_line`; a message that tells the user
to pass an option builds the hint with :func:`pass_option`, so ``alsim simulate`` says ``--ignore notes``
where ``load_dataset(...)`` says ``ignore=['notes']``.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterator, Sequence
from contextvars import ContextVar

__all__ = ["command_line", "on_command_line", "pass_option", "pass_value"]

_ON_COMMAND_LINE: ContextVar[bool] = ContextVar("alsim_on_command_line", default=False)


@contextlib.contextmanager
def command_line() -> Iterator[None]:
    """Within this block, messages name CLI flags instead of Python parameters."""
    token = _ON_COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _ON_COMMAND_LINE.reset(token)


def on_command_line() -> bool:
    """True while an ``alsim`` sub-command runs."""
    return _ON_COMMAND_LINE.get()


def pass_option(parameter: str, flag: str, values: Sequence[str]) -> str:
    """``"--ignore notes --ignore id"`` on the command line, ``"ignore=['notes', 'id']"`` in Python.

    The flag is repeated once per value (the CLI's list options are ``action="append"``).
    """
    if on_command_line():
        return " ".join(f"{flag} {shlex.quote(str(value))}" for value in values)
    return f"{parameter}={[str(value) for value in values]!r}"


def pass_value(parameter: str, flag: str, value: str) -> str:
    """``"--cost-column seconds"`` on the command line, ``"cost_column='seconds'"`` in Python."""
    if on_command_line():
        return f"{flag} {shlex.quote(str(value))}"
    return f"{parameter}={str(value)!r}"
