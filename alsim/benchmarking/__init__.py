"""Kernel benchmarks and the performance-regression gate behind ``alsim bench``.

The suite (:mod:`alsim.benchmarking.kernel_suite`, run by pytest-benchmark) times every kernel of
:mod:`alsim.kernels` next to its plain-numpy reference and one read pass over the same input; the gate
(:func:`run_gate`) compares the same-run ratios with a baseline file and reports regressions. Timed
baselines hold on the machine whose fingerprint they record (:mod:`alsim.benchmarking.machine`).
"""

from __future__ import annotations

from alsim.benchmarking.gate import (
    DEFAULT_BASELINE,
    DEFAULT_TOLERANCE,
    MODES,
    BaselineFile,
    Comparison,
    GateResult,
    Measurement,
    compare,
    format_table,
    load_baseline,
    measurements_from_json,
    read_baseline,
    run_gate,
    write_baseline,
)

__all__ = [
    "DEFAULT_BASELINE",
    "DEFAULT_TOLERANCE",
    "MODES",
    "BaselineFile",
    "Comparison",
    "GateResult",
    "Measurement",
    "compare",
    "format_table",
    "load_baseline",
    "measurements_from_json",
    "read_baseline",
    "run_gate",
    "write_baseline",
]
