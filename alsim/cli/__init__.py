"""The ``alsim`` command line.

Each sub-command lives in its own module of this package, exposing ``add_parser(subparsers)`` (which
registers its arguments and sets ``func``) and keeping heavy imports inside the function that runs it, so
``alsim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from alsim.exceptions import AlsimError

# Sub-command modules, in the order ``alsim --help`` lists them.
_COMMANDS: tuple[str, ...] = (
    "datasets", "bench", "run", "simulate", "stopping", "report", "budget", "backtest", "label",
)


def build_parser() -> argparse.ArgumentParser:
    from alsim import __version__

    parser = argparse.ArgumentParser(
        prog="alsim",
        description="Active-learning simulation and benchmarking lab.",
    )
    parser.add_argument("--version", action="version", version=f"alsim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMANDS:
        importlib.import_module(f"alsim.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``alsim`` command line; return the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AlsimError as exc:
        print(f"alsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"alsim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
