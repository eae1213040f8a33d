"""The performance-regression gate: run the kernel suite, compare same-run speed ratios with a baseline.

Absolute times move with the machine and with the load of a shared machine; the ratio of a kernel's median
to the median of its plain-numpy reference, and to the median of one read pass over the same input, both
measured in the same run, move far less. The gate compares these two ratios with a committed baseline and
fails when one of them worsens by more than a tolerance.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from alsim._messages import counted
from alsim.exceptions import ConfigError, InvalidParameterError

BASELINE_SCHEMA = 1
_THREAD_ENV_VARS = ("RAYON_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
DEFAULT_BASELINE: Path = Path(__file__).with_name("baseline.json")
DEFAULT_TOLERANCE = 0.25
# The read pass is memory-bound, and memory bandwidth is what other processes on a shared machine disturb
# most: measured on 2 loaded cores, kernel/read-pass ratios of one build spread about twice as much from run
# to run as kernel/numpy ratios (see the README), hence a wider default band for them.
DEFAULT_READ_TOLERANCE = 0.5
IMPL_NAMES = ("alsim", "numpy", "read_pass")


@dataclass(frozen=True)
class Mode:
    """How much of the suite to run and how long to time each benchmark."""

    name: str
    sizes: tuple[str, ...]
    repeats: int
    min_rounds: int
    max_time: float
    warmup_iterations: int


MODES: dict[str, Mode] = {
    # CI: medium sizes only, short interleaved repeats per case, under two minutes on 2 cores.
    "quick": Mode("quick", ("medium",), repeats=5, min_rounds=5, max_time=0.05, warmup_iterations=2),
    # Refreshes the baseline: every size, timed exactly as in quick mode so that the ratios compare.
    "full": Mode(
        "full", ("small", "medium", "large"), repeats=5, min_rounds=5, max_time=0.05, warmup_iterations=2
    ),
}


@dataclass(frozen=True)
class Measurement:
    """One case's three timings and the ratios the gate compares.

    ``ratio_numpy`` and ``ratio_read`` are medians over the interleaved repeats of the ratio of the
    kernel's median to the reference's median in the same repeat; the ``*_median`` fields are medians
    over the repeats (seconds, or instructions when ``unit`` is ``"Ir"``).
    """

    group: str
    kernel: str
    size: str
    kernel_median: float
    numpy_median: float
    read_median: float
    ratio_numpy: float
    ratio_read: float
    rounds: int  # timed rounds of the kernel, over all repeats
    repeats: int = 1
    slowed: bool = False
    threads: int = 1  # threads given to rayon and BLAS; 0 = their defaults
    unit: str = "s"  # "s" for seconds, "Ir" for callgrind instruction counts

    @classmethod
    def from_medians(
        cls, group: str, kernel_median: float, numpy_median: float, read_median: float, **fields: Any
    ) -> Measurement:
        """A measurement of a single repeat: the ratios are those of the given medians."""
        name = group.rpartition("/")[0]
        return cls(
            group=group,
            kernel=fields.pop("kernel", name.split("[")[0]),
            size=fields.pop("size", group.rpartition("/")[2]),
            kernel_median=kernel_median,
            numpy_median=numpy_median,
            read_median=read_median,
            ratio_numpy=kernel_median / numpy_median,
            ratio_read=kernel_median / read_median,
            rounds=fields.pop("rounds", 1),
            **fields,
        )


@dataclass(frozen=True)
class Comparison:
    """One row of the gate's table."""

    measurement: Measurement
    baseline_numpy: float | None
    baseline_read: float | None
    change_numpy: float | None
    change_read: float | None
    status: str  # "ok", "REGRESSED", "improved" or "new"

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self.measurement)
        row.update(
            ratio_numpy=self.measurement.ratio_numpy,
            ratio_read=self.measurement.ratio_read,
            baseline_numpy=self.baseline_numpy,
            baseline_read=self.baseline_read,
            change_numpy=self.change_numpy,
            change_read=self.change_read,
            status=self.status,
        )
        return row


@dataclass
class GateResult:
    """What :func:`run_gate` found; ``exit_code`` is 0 when nothing regressed and the suite passed."""

    comparisons: list[Comparison]
    pytest_returncode: int
    missing: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> list[Comparison]:
        return [row for row in self.comparisons if row.status == "REGRESSED"]

    @property
    def exit_code(self) -> int:
        return 1 if self.regressed or self.missing or self.pytest_returncode != 0 else 0


# ----------------------------------------------------------------------------------------------------
# Reading pytest-benchmark output


def measurements_from_json(report: dict[str, Any], threads: int = 1) -> dict[str, Measurement]:
    """Group the benchmarks of a pytest-benchmark JSON report into one :class:`Measurement` per case.

    Each repeat of a case yields two ratios (kernel median over numpy median, and over read-pass median, all
    three timed one after the other); the case's ratios are the medians of these over the repeats. Repeats
    that lack one of their three timings (a failed or deselected benchmark) are left out, and so are cases
    with no complete repeat.
    """
    medians: dict[str, dict[int, dict[str, float]]] = {}
    info: dict[str, dict[str, Any]] = {}
    for bench in report.get("benchmarks", []):
        extra = bench.get("extra_info", {})
        group, impl = bench.get("group"), extra.get("impl")
        if group is None or impl is None:
            continue
        repeat = int(extra.get("repeat", 0))
        medians.setdefault(group, {}).setdefault(repeat, {})[impl] = float(bench["stats"]["median"])
        if impl == "alsim":
            entry = info.setdefault(group, {**extra, "rounds": 0})
            entry["rounds"] += int(bench["stats"]["rounds"])
    result = {}
    for group, by_repeat in medians.items():
        complete = [timings for timings in by_repeat.values() if set(IMPL_NAMES) <= timings.keys()]
        if not complete:
            continue
        extra = info[group]
        result[group] = Measurement(
            group=group,
            kernel=extra["kernel"],
            size=extra["size"],
            kernel_median=statistics.median(t["alsim"] for t in complete),
            numpy_median=statistics.median(t["numpy"] for t in complete),
            read_median=statistics.median(t["read_pass"] for t in complete),
            ratio_numpy=statistics.median(t["alsim"] / t["numpy"] for t in complete),
            ratio_read=statistics.median(t["alsim"] / t["read_pass"] for t in complete),
            rounds=extra["rounds"],
            repeats=len(complete),
            slowed=bool(extra.get("slowed", False)),
            threads=threads,
        )
    return result


# ----------------------------------------------------------------------------------------------------
# Baseline


def load_baseline(path: str | os.PathLike[str], section: str = "entries") -> dict[str, dict[str, float]]:
    """Baseline ratios by case group: ``{group: {"ratio_numpy": r, "ratio_read": r, ...}}``.

    ``section`` is ``"entries"`` for timed ratios and ``"instruction_entries"`` for callgrind ratios.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"The baseline file {str(path)!r} does not exist. Pass an existing file with --baseline, "
            "or create one with 'alsim bench --full --update-baseline --baseline PATH'."
        )
    try:
        content = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"The baseline file {str(path)!r} is not valid JSON: {exc}.") from exc
    if not isinstance(content, dict) or content.get("schema") != BASELINE_SCHEMA:
        raise ConfigError(
            f"The baseline file {str(path)!r} must be a JSON object with \"schema\": {BASELINE_SCHEMA}. "
            f"Got schema {content.get('schema') if isinstance(content, dict) else None!r} instead."
        )
    entries = content.get(section, {} if section != "entries" else None)
    if not isinstance(entries, dict):
        raise ConfigError(f"The baseline file {str(path)!r} has no \"{section}\" object.")
    for group, entry in entries.items():
        if not (isinstance(entry, dict) and {"ratio_numpy", "ratio_read"} <= entry.keys()):
            raise ConfigError(
                f"Entry {group!r} of the baseline file {str(path)!r} must hold 'ratio_numpy' and "
                f"'ratio_read'. Got {entry!r} instead."
            )
    return entries


def write_baseline(
    path: str | os.PathLike[str],
    measurements: Iterable[Measurement],
    *,
    mode: str,
    keep: dict[str, dict[str, float]] | None = None,
    section: str = "entries",
) -> Path:
    """Write measured ratios to a baseline file.

    Entries of ``keep`` that were not measured again are kept, and so are the other sections of an existing
    file (timed ``entries`` and callgrind ``instruction_entries`` are refreshed separately).
    """
    measurements = list(measurements)
    slowed = [m.group for m in measurements if m.slowed]
    if slowed:
        raise ConfigError(
            f"Refusing to write a baseline from deliberately slowed kernels ({', '.join(slowed)}): "
            "unset ALSIM_BENCH_SLOWDOWN first."
        )
    entries: dict[str, dict[str, Any]] = dict(keep or {})
    for m in measurements:
        entries[m.group] = {
            "ratio_numpy": round(m.ratio_numpy, 5),
            "ratio_read": round(m.ratio_read, 5),
            "kernel_median": m.kernel_median,
            "numpy_median": m.numpy_median,
            "read_median": m.read_median,
            "rounds": m.rounds,
            "repeats": m.repeats,
            "threads": m.threads,
            "unit": m.unit,
        }
    path = Path(path)
    previous = json.loads(path.read_text()) if path.is_file() else {}
    content: dict[str, Any] = {
        "schema": BASELINE_SCHEMA,
        "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "updated_by_mode": mode,
        "machine": _machine_info(),
        "entries": previous.get("entries", {}),
    }
    if "instruction_entries" in previous:
        content["instruction_entries"] = previous["instruction_entries"]
    content[section] = dict(sorted(entries.items()))
    path.write_text(json.dumps(content, indent=1) + "\n")
    return path


def _machine_info() -> dict[str, Any]:
    import numpy

    from alsim import __version__

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": numpy.__version__,
        "alsim": __version__,
    }


# ----------------------------------------------------------------------------------------------------
# Comparison


def compare(
    measurements: dict[str, Measurement],
    baseline: dict[str, dict[str, float]],
    tolerance: float = DEFAULT_TOLERANCE,
    read_tolerance: float = DEFAULT_READ_TOLERANCE,
) -> list[Comparison]:
    """Compare measured ratios with the baseline.

    A case regresses when its ratio to numpy exceeds the baseline's by more than ``tolerance`` (0.25 = 25%
    slower relative to numpy), or its ratio to the read pass by more than ``read_tolerance``; it counts as
    improved when both ratios are below the baseline by more than these (time to refresh the baseline).

    Examples
    --------
    >>> m = Measurement.from_medians("top_k/medium", 2e-4, 4e-4, 1e-4)
    >>> compare({"top_k/medium": m}, {"top_k/medium": {"ratio_numpy": 0.5, "ratio_read": 2.0}})[0].status
    'ok'
    """
    _check_tolerance(tolerance, "compare")
    _check_tolerance(read_tolerance, "compare", "read_tolerance")
    rows = []
    for group in sorted(measurements, key=_group_order):
        m = measurements[group]
        entry = baseline.get(group)
        if entry is None:
            rows.append(Comparison(m, None, None, None, None, "new"))
            continue
        base_numpy, base_read = float(entry["ratio_numpy"]), float(entry["ratio_read"])
        change_numpy = m.ratio_numpy / base_numpy - 1.0
        change_read = m.ratio_read / base_read - 1.0
        if change_numpy > tolerance or change_read > read_tolerance:
            status = "REGRESSED"
        elif change_numpy < -tolerance and change_read < -read_tolerance:
            status = "improved"
        else:
            status = "ok"
        rows.append(Comparison(m, base_numpy, base_read, change_numpy, change_read, status))
    return rows


def _check_tolerance(tolerance: float, caller: str, name: str = "tolerance") -> None:
    if not (isinstance(tolerance, (int, float)) and 0 < tolerance < 10):
        raise InvalidParameterError(
            f"The '{name}' parameter of {caller} must be a float in (0, 10). Got {tolerance!r} instead."
        )


def merge_best(first: dict[str, Measurement], second: dict[str, Measurement]) -> dict[str, Measurement]:
    """Per case and per ratio, keep the better (smaller) of two measurements.

    Used to confirm a regression: a ratio only stays worse than the baseline when a second measurement
    shows it too, which keeps a burst of load from another process from failing the gate.
    """
    merged = dict(first)
    for group, m in second.items():
        if group not in merged:
            merged[group] = m
            continue
        old = merged[group]
        merged[group] = replace(
            old if old.ratio_numpy <= m.ratio_numpy else m,
            ratio_numpy=min(old.ratio_numpy, m.ratio_numpy),
            ratio_read=min(old.ratio_read, m.ratio_read),
            rounds=old.rounds + m.rounds,
            repeats=old.repeats + m.repeats,
        )
    return merged


def median_of_runs(runs: Sequence[dict[str, Measurement]]) -> dict[str, Measurement]:
    """Per case, the medians over several runs of the suite (used to write a steadier baseline)."""
    combined = {}
    for group in set().union(*runs):
        ms = [run[group] for run in runs if group in run]
        combined[group] = replace(
            ms[0],
            kernel_median=statistics.median(m.kernel_median for m in ms),
            numpy_median=statistics.median(m.numpy_median for m in ms),
            read_median=statistics.median(m.read_median for m in ms),
            ratio_numpy=statistics.median(m.ratio_numpy for m in ms),
            ratio_read=statistics.median(m.ratio_read for m in ms),
            rounds=sum(m.rounds for m in ms),
            repeats=sum(m.repeats for m in ms),
        )
    return combined


def _group_order(group: str) -> tuple[str, int, str]:
    from alsim.benchmarking.cases import SIZES

    name, _, size = group.rpartition("/")
    return (name.split("[")[0], SIZES.index(size) if size in SIZES else len(SIZES), name)


def format_table(
    rows: Sequence[Comparison], tolerance: float, read_tolerance: float = DEFAULT_READ_TOLERANCE
) -> str:
    """A plain-text table of the comparison, one row per case."""
    value_name = "instructions" if rows and rows[0].measurement.unit == "Ir" else "median"
    header = ("kernel", "size", value_name, "vs numpy", "vs read", "baseline", "change", "status")
    lines = [header]
    for row in rows:
        m = row.measurement
        name = m.group.rpartition("/")[0] + (" (slowed)" if m.slowed else "")
        if row.baseline_numpy is None:
            baseline, change = "-", "-"
        else:
            baseline = f"{row.baseline_numpy:.3f} / {row.baseline_read:.2f}"
            change = f"{row.change_numpy:+.0%} / {row.change_read:+.0%}"
        lines.append(
            (
                name,
                m.size,
                _format_value(m.kernel_median, m.unit),
                f"{m.ratio_numpy:.3f}",
                f"{m.ratio_read:.2f}",
                baseline,
                change,
                row.status,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(
            cell.ljust(width) if column < 2 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(line, widths))
        )
        for line in lines
    ]
    text.insert(1, "-" * len(text[0]))
    regressed = sum(row.status == "REGRESSED" for row in rows)
    text.append("")
    text.append(
        f"{counted(len(rows), 'case')}, {regressed} regressed (tolerance {tolerance:.0%} on the ratio to numpy, "
        f"{read_tolerance:.0%} on the ratio to one read pass; "
        "baseline and change columns: vs numpy / vs read)"
    )
    return "\n".join(text)


def _format_value(value: float, unit: str) -> str:
    if unit == "Ir":
        for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
            if value >= scale:
                return f"{value / scale:.3g}{suffix} Ir"
        return f"{value:.0f} Ir"
    for suffix, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {suffix}"
    return f"{value / 1e-9:.3g} ns"


# ----------------------------------------------------------------------------------------------------
# Running the suite


def suite_path() -> Path:
    """Path of the benchmark suite module that ships with the package."""
    return Path(__file__).with_name("kernel_suite.py")


def selection_expression(sizes: Iterable[str], kernels: Iterable[str] | None = None) -> str:
    """A pytest ``-k`` expression selecting cases by size and, optionally, by kernel or case group."""
    size_terms = " or ".join(f"-{size}-" for size in sizes)
    expression = f"({size_terms})"
    if kernels:
        expression += " and (" + " or ".join(f"[{name}-" for name in kernels) + ")"
    return expression


def timer_name(threads: int) -> str:
    """Timer of the suite: CPU time of the process when single-threaded, else wall time.

    On a shared machine a process loses the CPU to others at random; its own CPU time does not count
    those pauses, which removes most of the run-to-run noise. With several threads CPU time would add the
    threads up, so parallel runs are timed by the wall clock.
    """
    return "time.process_time" if threads == 1 else "time.perf_counter"


def suite_environment(threads: int, repeats: int = 1) -> dict[str, str]:
    """Environment of the suite's subprocess: ``threads`` threads for rayon and BLAS (0 = their defaults),
    and the number of interleaved repeats of each case."""
    from alsim.benchmarking.cases import REPEATS_ENV

    env = dict(os.environ)
    env[REPEATS_ENV] = str(repeats)
    if threads > 0:
        env.update({name: str(threads) for name in _THREAD_ENV_VARS})
    return env


def pytest_command(mode: Mode, json_path: Path, expression: str, threads: int = 1) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        str(suite_path()),
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "-k",
        expression,
        "--benchmark-enable",
        "--benchmark-only",
        f"--benchmark-json={json_path}",
        f"--benchmark-min-rounds={mode.min_rounds}",
        f"--benchmark-max-time={mode.max_time}",
        "--benchmark-warmup=on",
        f"--benchmark-warmup-iterations={mode.warmup_iterations}",
        "--benchmark-disable-gc",
        f"--benchmark-timer={timer_name(threads)}",
        "--benchmark-sort=name",
        "--benchmark-columns=median,iqr,rounds",
    ]


def run_suite(
    mode: Mode, expression: str, *, threads: int = 1, output: Any = None
) -> tuple[dict[str, Any], int]:
    """Run the suite in a pytest subprocess; return its pytest-benchmark JSON report and its exit code."""
    _require_pytest_benchmark()
    with tempfile.TemporaryDirectory(prefix="alsim-bench-") as tmp:
        json_path = Path(tmp) / "benchmark.json"
        completed = subprocess.run(
            pytest_command(mode, json_path, expression, threads),
            env=suite_environment(threads, mode.repeats),
            stdout=output if output is not None else sys.stderr,
            stderr=subprocess.STDOUT,
            check=False,
        )
        report = json.loads(json_path.read_text()) if json_path.is_file() else {"benchmarks": []}
    return report, completed.returncode


def _require_pytest_benchmark() -> None:
    import importlib.util

    missing = [name for name in ("pytest", "pytest_benchmark") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"alsim bench runs the kernel suite with pytest-benchmark, but {', '.join(missing)} "
            "is not installed. Install the test extra: pip install 'alsim[test]'."
        )


def check_options(
    mode: str,
    tolerance: float,
    kernels: Sequence[str] | None,
    *,
    caller: str,
    threads: int = 1,
    read_tolerance: float = DEFAULT_READ_TOLERANCE,
    passes: int = 1,
) -> None:
    """Raise :class:`~alsim.exceptions.InvalidParameterError` for a bad option of the gate."""
    from alsim.benchmarking.cases import KERNELS

    if mode not in MODES:
        raise InvalidParameterError(
            f"The 'mode' parameter of {caller} must be one of {sorted(MODES)}. Got {mode!r} instead."
        )
    if kernels:
        unknown = sorted(set(kernels) - set(KERNELS))
        if unknown:
            raise InvalidParameterError(
                f"The 'kernels' parameter of {caller} must name kernels among {list(KERNELS)}. "
                f"Got {unknown} instead."
            )
    _check_tolerance(tolerance, caller)
    _check_tolerance(read_tolerance, caller, "read_tolerance")
    if isinstance(passes, bool) or not isinstance(passes, int) or passes < 1:
        raise InvalidParameterError(
            f"The 'passes' parameter of {caller} must be an int >= 1. Got {passes!r} instead."
        )
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise InvalidParameterError(
            f"The 'threads' parameter of {caller} must be an int >= 0 (0 = the libraries' defaults). "
            f"Got {threads!r} instead."
        )


def check_baseline_threads(entries: dict[str, dict[str, Any]], groups: Iterable[str], threads: int) -> None:
    """Refuse to compare with baseline entries measured with another number of threads."""
    other = sorted({int(entries[g].get("threads", 1)) for g in groups if g in entries} - {threads})
    if other:
        raise ConfigError(
            f"The baseline was measured with threads={other[0]}, this run uses threads={threads}: ratios "
            f"are only comparable with the same setting. Pass --threads {other[0]} or refresh the baseline."
        )


def run_gate(
    mode: str = "quick",
    *,
    baseline: str | os.PathLike[str] | dict[str, dict[str, float]] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    read_tolerance: float = DEFAULT_READ_TOLERANCE,
    kernels: Sequence[str] | None = None,
    confirm: bool = True,
    instructions: bool = False,
    threads: int = 1,
    passes: int = 1,
    output: Any = None,
) -> tuple[GateResult, dict[str, Measurement], list[dict[str, Any]]]:
    """Run the suite and compare it with the baseline.

    With ``instructions=True`` the cases are counted with callgrind (see :mod:`alsim.benchmarking.callgrind`)
    instead of timed, and compared with the baseline's ``instruction_entries``. ``threads`` is the number
    of threads given to rayon and BLAS (see :func:`timer_name` for why 1 is the default). With ``passes``
    above 1 the suite runs that many times and each case's ratios are the medians over the passes.

    ``baseline`` is a baseline file (default: the one shipped with alsim) or already loaded entries.
    Returns the gate result, the measurements it used, and the raw pytest-benchmark report(s). Cases that
    regress in the first run are measured again (``confirm``) and stay regressed only if the second run
    agrees, so a short burst of load on a shared machine does not fail the gate.

    Examples
    --------
    >>> result, measured, reports = run_gate("quick", kernels=["top_k"])  # doctest: +SKIP
    >>> result.exit_code  # doctest: +SKIP
    0
    """
    check_options(
        mode,
        tolerance,
        kernels,
        caller="run_gate",
        threads=threads,
        read_tolerance=read_tolerance,
        passes=passes,
    )
    chosen = MODES[mode]
    if isinstance(baseline, dict):
        baseline_entries = baseline
    else:
        baseline_entries = load_baseline(
            baseline if baseline is not None else DEFAULT_BASELINE,
            section="instruction_entries" if instructions else "entries",
        )
    if instructions:
        return _run_instruction_gate(chosen, baseline_entries, tolerance, read_tolerance, kernels, output)
    expected = _expected_groups(chosen.sizes, kernels)
    check_baseline_threads(baseline_entries, expected, threads)
    expression = selection_expression(chosen.sizes, kernels)
    reports, runs, returncode = [], [], 0
    for _ in range(passes):
        report, code = run_suite(chosen, expression, threads=threads, output=output)
        reports.append(report)
        runs.append(measurements_from_json(report, threads))
        returncode = returncode or code
    measured = median_of_runs(runs)
    rows = compare(measured, baseline_entries, tolerance, read_tolerance)
    regressed = [row.measurement for row in rows if row.status == "REGRESSED"]
    if confirm and regressed:
        expression = " or ".join(f"[{_case_prefix(m.group)}-" for m in regressed)
        again, _ = run_suite(chosen, expression, threads=threads, output=output)
        reports.append(again)
        measured = merge_best(measured, measurements_from_json(again, threads))
        rows = compare(measured, baseline_entries, tolerance, read_tolerance)
    missing = sorted(expected - measured.keys())
    return GateResult(rows, returncode, missing), measured, reports


def _run_instruction_gate(
    mode: Mode,
    baseline_entries: dict[str, dict[str, float]],
    tolerance: float,
    read_tolerance: float,
    kernels: Sequence[str] | None,
    output: Any,
) -> tuple[GateResult, dict[str, Measurement], list[dict[str, Any]]]:
    from alsim.benchmarking.callgrind import count_instructions
    from alsim.benchmarking.cases import all_cases, slowed_kernels

    groups = sorted(_expected_groups(mode.sizes, kernels), key=_group_order)
    counts = count_instructions(groups, output=output)
    by_group = {case.group: case for case in all_cases()}
    slowed = slowed_kernels()
    measured = {
        group: Measurement.from_medians(
            group,
            float(count["alsim"]),
            float(count["numpy"]),
            float(count["read_pass"]),
            slowed=by_group[group].kernel in slowed,
            unit="Ir",
        )
        for group, count in counts.items()
    }
    rows = compare(measured, baseline_entries, tolerance, read_tolerance)
    return GateResult(rows, pytest_returncode=0), measured, [{"callgrind": counts}]


def _case_prefix(group: str) -> str:
    # "select_most_uncertain[margin]/medium" -> "select_most_uncertain-margin-medium" (the test id prefix)
    name, _, size = group.rpartition("/")
    return "-".join([*name.replace("]", "").split("["), size])


def _expected_groups(sizes: Iterable[str], kernels: Sequence[str] | None) -> set[str]:
    from alsim.benchmarking.cases import all_cases

    return {
        case.group
        for case in all_cases()
        if case.size in sizes and (not kernels or case.kernel in kernels)
    }
