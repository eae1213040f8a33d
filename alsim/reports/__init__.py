"""Benchmark reports: Markdown and HTML summaries with PNG figures and CSV tables.

:func:`write_report` turns the long results frame of a grid run into ``report.md``, ``report.html``,
``figures/*.png`` and ``tables/*.csv``; ``alsim report DIR`` calls it on ``DIR``'s results. The figure
functions in :mod:`alsim.reports.figures` are usable on their own. :func:`drift_recovery_report`
(:mod:`alsim.reports.drift`, ``alsim drift``) is the stream study's report.
"""

from __future__ import annotations

# The figures are built on matplotlib.figure.Figure without pyplot, so they need no backend (and importing
# this package leaves the caller's backend alone, e.g. in a notebook).
from alsim.reports.document import Document
from alsim.reports.drift import drift_recovery_report
from alsim.reports.writer import write_report

__all__ = ["Document", "drift_recovery_report", "write_report"]
