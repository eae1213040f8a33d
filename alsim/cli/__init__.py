"""The ``alsim`` command line.

Each sub-command lives in its own module of this package, exposing ``add_parser(subparsers)`` (which
registers its arguments and sets ``func``) and keeping heavy imports inside the function that runs it, so
``alsim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from alsim.exceptions import AlsimError

# Sub-command modules, in the order ``alsim --help`` lists them.
_COMMANDS: tuple[str, ...] = (
    "datasets",
    "bench",
    "run",
    "simulate",
    "stopping",
    "report",
    "budget",
    "backtest",
    "drift",
    "label",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``alsim`` command, with every subcommand."""
    from alsim import __version__

    parser = argparse.ArgumentParser(
        prog="alsim",
        description="Active-learning simulation and benchmarking lab.",
    )
    parser.add_argument("--version", action="version", version=f"alsim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, help="what to run")
    for name in _COMMANDS:
        importlib.import_module(f"alsim.cli.{name}").add_parser(subparsers)
    return parser


@contextlib.contextmanager
def _warnings_as_lines(prefix: str) -> Iterator[None]:
    """Show a warning as one line ``alsim run: warning: ...``, not Python's file/line/source-code form."""

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        print(f"{prefix}: warning: {message}", file=sys.stderr)

    saved = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = saved


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``alsim`` command line; return the process exit code.

    Exit status 2 for bad input (an :class:`AlsimError`: one line naming the flag or file and what to do),
    1 for an operating-system error met while working (e.g. the disk filled up), 130 on Ctrl-C. No
    traceback reaches the user for either.
    """
    from alsim._messages import command_line

    args = build_parser().parse_args(argv)
    try:
        with command_line(), _warnings_as_lines(f"alsim {args.command}"):
            return int(args.func(args) or 0)
    except AlsimError as exc:
        print(f"alsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        from alsim._output import describe_os_error

        where = f" ({exc.filename})" if exc.filename else ""
        print(f"alsim {args.command}: error{where}: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"alsim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
