"""``python -m alsim.stream.report``: replaced by ``alsim drift`` (the study moved to :mod:`alsim.reports.drift`).

Kept so that existing scripts keep running: it says so in one line on stderr, then runs ``alsim drift`` with
the same arguments. Nothing in the package imports this module.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``alsim drift`` with ``argv`` (default: the command line) after a one-line deprecation note."""
    from alsim.cli import main as alsim_main

    print(
        "python -m alsim.stream.report is deprecated: run 'alsim drift' with the same options "
        "(from Python: alsim.reports.drift.drift_recovery_report).",
        file=sys.stderr,
    )
    return alsim_main(["drift", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
