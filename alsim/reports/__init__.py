"""Benchmark reports: Markdown and HTML summaries with PNG figures and CSV tables.

:func:`write_report` turns the long results frame of a grid run into ``report.md``, ``report.html``,
``figures/*.png`` and ``tables/*.csv``; ``alsim report DIR`` calls it on ``DIR``'s results. The figure
functions in :mod:`alsim.reports.figures` are usable on their own.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # reports are files; never open a window or need a display

from alsim.reports.document import Document  # noqa: E402
from alsim.reports.writer import write_report  # noqa: E402

__all__ = ["Document", "write_report"]
