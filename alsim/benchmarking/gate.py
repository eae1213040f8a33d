"""The performance-regression gate: run the kernel suite, compare same-run speed ratios with a baseline.

Absolute times move with the machine and with the load of a shared machine; the ratio of a kernel's median
to the median of its plain-numpy reference, and to the median of one read pass over the same input, both
measured in the same run, move far less. The gate compares these two ratios with a committed baseline and
fails when one of them worsens by more than a tolerance.

Ratios still differ between machines (another CPU, numpy or BLAS build), so a timed baseline holds only
on the machine whose fingerprint it carries (:mod:`alsim.benchmarking.machine`); a baseline file can hold
one per machine. On a machine without one the gate compares nothing and says so ("no baseline for this
machine", exit 0). A ratio beyond the tolerance counts as a regression only when every interleaved repeat
of the case, in the first run and in the confirming run, shows it; otherwise the case is "inconclusive"
(exit 0, with a note). Instruction counts (callgrind) are compared with one machine-independent baseline
that records the valgrind, Python and numpy builds it was counted with.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alsim._messages import counted
from alsim._validation import check_choice, check_int, check_real, fail
from alsim.benchmarking import machine
from alsim.exceptions import ConfigError

#: Version 2 holds one timed baseline per machine fingerprint; version 1 files (one timed baseline without
#: a fingerprint) are still read, and their timed entries hold on no machine.
BASELINE_SCHEMA = 2
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
    "full": Mode("full", ("small", "medium", "large"), repeats=5, min_rounds=5, max_time=0.05, warmup_iterations=2),
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
    # The per-repeat ratios behind the medians, over every run merged into this measurement (empty for a
    # single deterministic count): the evidence a regression must hold up on.
    evidence_numpy: tuple[float, ...] = ()
    evidence_read: tuple[float, ...] = ()

    @classmethod
    def from_medians(
        cls, group: str, kernel_median: float, numpy_median: float, read_median: float, **fields: Any
    ) -> Measurement:
        """Return a measurement of a single repeat: the ratios are those of the given medians."""
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
    status: str  # "ok", "REGRESSED", "inconclusive", "improved", "new" or "no baseline"

    def as_dict(self) -> dict[str, Any]:
        """Return the row as JSON-able values, with the ratios and the baseline next to the measurement."""
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
    """What :func:`run_gate` found; ``exit_code`` is 0 when nothing regressed and the suite passed.

    ``notes`` explain what the gate could not decide: no baseline for this machine, inconclusive cases, a
    busy machine, an instruction-count baseline recorded with other builds.
    """

    comparisons: list[Comparison]
    pytest_returncode: int
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> list[Comparison]:
        """Cases slower than the baseline beyond the tolerance."""
        return [row for row in self.comparisons if row.status == "REGRESSED"]

    @property
    def inconclusive(self) -> list[Comparison]:
        """Cases whose ratio is beyond the tolerance while some of the repeats behind it are not (likely noise)."""
        return [row for row in self.comparisons if row.status == "inconclusive"]

    @property
    def exit_code(self) -> int:
        """Process exit code of the gate: 1 on a regression, a missing case or a failed suite, else 0."""
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
        evidence_numpy = tuple(t["alsim"] / t["numpy"] for t in complete)
        evidence_read = tuple(t["alsim"] / t["read_pass"] for t in complete)
        result[group] = Measurement(
            group=group,
            kernel=extra["kernel"],
            size=extra["size"],
            kernel_median=statistics.median(t["alsim"] for t in complete),
            numpy_median=statistics.median(t["numpy"] for t in complete),
            read_median=statistics.median(t["read_pass"] for t in complete),
            ratio_numpy=statistics.median(evidence_numpy),
            ratio_read=statistics.median(evidence_read),
            rounds=extra["rounds"],
            repeats=len(complete),
            slowed=bool(extra.get("slowed", False)),
            threads=threads,
            evidence_numpy=evidence_numpy,
            evidence_read=evidence_read,
        )
    return result


# ----------------------------------------------------------------------------------------------------
# Baseline


@dataclass(frozen=True)
class TimedBaseline:
    """Timed ratios recorded on one machine (``machine`` is its :func:`machine.fingerprint`)."""

    machine: dict[str, Any]
    entries: dict[str, dict[str, Any]]
    updated: str | None = None
    updated_by_mode: str | None = None

    def holds_here(self, here: dict[str, Any]) -> bool:
        """Tell whether this baseline was recorded on a machine identical to ``here`` (its timings then apply)."""
        return not machine.differences(self.machine, here)


@dataclass(frozen=True)
class BaselineFile:
    """A baseline file: timed baselines, one per machine, and one instruction-count baseline."""

    path: Path
    timed: tuple[TimedBaseline, ...]
    instruction_entries: dict[str, dict[str, Any]]
    instruction_setup: dict[str, Any] | None = None
    instructions_updated: str | None = None

    def timed_for(self, here: dict[str, Any]) -> tuple[dict[str, dict[str, Any]] | None, str | None]:
        """Return the timed entries that hold on the machine `here`, or ``None`` and a note saying why not."""
        for baseline in self.timed:
            if baseline.holds_here(here):
                return baseline.entries, None
        record = (
            "Record one on this machine with 'alsim bench --full --update-baseline --baseline PATH' "
            "(then --quick --update-baseline --passes 3 to steady the entries quick mode compares)."
        )
        if not self.timed:
            return None, f"no baseline for this machine: {self.path} holds no timed baseline. {record}"
        closest = min(self.timed, key=lambda b: len(machine.differences(b.machine, here)))
        what = "; ".join(machine.differences(closest.machine, here)[:3])
        return None, (
            f"no baseline for this machine ({machine.describe(here)}): the {len(self.timed)} timed "
            f"baseline(s) in {self.path} were recorded elsewhere (closest: {machine.describe(closest.machine)}; "
            f"{what}). Ratios measured on one machine cannot judge another, so nothing was compared. {record}"
        )

    def instruction_note(self, here: dict[str, Any]) -> str | None:
        """Return a note when the instruction counts were recorded with other builds than `here`, else None.

        The counts of the numpy reference, and so the ratios, may then differ a little.
        """
        if self.instruction_setup is None:
            return (
                f"the instruction-count baseline in {self.path} does not record what it was counted with; "
                "refresh it with 'alsim bench --quick --instructions --update-baseline'."
            )
        found = machine.differences(self.instruction_setup, here, machine.INSTRUCTION_KEYS)
        if not found:
            return None
        return "the instruction-count baseline was recorded with other builds: " + "; ".join(found) + "."


def read_baseline(path: str | os.PathLike[str]) -> BaselineFile:
    """Read and check a baseline file (schema 2, or schema 1 whose timed entries hold on no machine)."""
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
    schema = content.get("schema") if isinstance(content, dict) else None
    if schema not in (1, BASELINE_SCHEMA):
        raise ConfigError(
            f'The baseline file {str(path)!r} must be a JSON object with "schema": {BASELINE_SCHEMA} (or 1, '
            f"the format before machine fingerprints). Got schema {schema!r} instead."
        )
    if schema == 1:
        # One timed baseline whose machine was described too loosely to recognise it: it holds nowhere.
        timed_entries = _entries(content, "entries", path, required=True)
        legacy = TimedBaseline({**content.get("machine", {}), "fingerprint": None}, timed_entries)
        return BaselineFile(path, (legacy,), _entries(content, "instruction_entries", path))
    timed_list = content.get("timed", [])
    if not isinstance(timed_list, list):
        raise ConfigError(f'The baseline file {str(path)!r} must hold a list under "timed".')
    timed: list[TimedBaseline] = []
    for position, item in enumerate(timed_list):
        if not (isinstance(item, dict) and isinstance(item.get("machine"), dict)):
            raise ConfigError(
                f'Timed baseline {position} of the baseline file {str(path)!r} must hold a "machine" object.'
            )
        entries = _entries(item, "entries", path, required=True)
        timed.append(TimedBaseline(item["machine"], entries, item.get("updated"), item.get("updated_by_mode")))
    instructions = content.get("instructions", {})
    if not isinstance(instructions, dict):
        raise ConfigError(f'The baseline file {str(path)!r} must hold an object under "instructions".')
    return BaselineFile(
        path,
        tuple(timed),
        _entries(instructions, "entries", path),
        instructions.get("recorded_with"),
        instructions.get("updated"),
    )


def _entries(container: dict[str, Any], key: str, path: Path, required: bool = False) -> dict[str, dict[str, Any]]:
    entries = container.get(key, None if required else {})
    if not isinstance(entries, dict):
        raise ConfigError(f'The baseline file {str(path)!r} has no "{key}" object.')
    for group, entry in entries.items():
        if not (isinstance(entry, dict) and {"ratio_numpy", "ratio_read"} <= entry.keys()):
            raise ConfigError(
                f"Entry {group!r} of the baseline file {str(path)!r} must hold 'ratio_numpy' and "
                f"'ratio_read'. Got {entry!r} instead."
            )
    return entries


def load_baseline(
    path: str | os.PathLike[str], section: str = "entries", here: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Baseline ratios by case group: ``{group: {"ratio_numpy": r, "ratio_read": r, ...}}``.

    ``section`` is ``"entries"`` for the timed ratios recorded on the machine ``here`` (default: this
    machine; empty when there are none) and ``"instruction_entries"`` for callgrind ratios.
    """
    baseline = read_baseline(path)
    if section == "instruction_entries":
        return baseline.instruction_entries
    entries, _ = baseline.timed_for(here if here is not None else machine.fingerprint())
    return entries or {}


def write_baseline(
    path: str | os.PathLike[str],
    measurements: Iterable[Measurement],
    *,
    mode: str,
    keep: dict[str, dict[str, float]] | None = None,
    section: str = "entries",
    here: dict[str, Any] | None = None,
) -> Path:
    """Write measured ratios to a baseline file.

    Timed ratios (``section="entries"``) go to the timed baseline of this machine (fingerprint ``here``,
    default: this machine's), created if there is none; the other machines' baselines are kept. Ratios of
    ``section="instruction_entries"`` replace those of the instruction-count baseline, which then records
    the builds it was counted with. Entries of ``keep`` that were not measured again are kept.
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
    previous = read_baseline(path) if path.is_file() else BaselineFile(path, (), {})
    now = datetime.now(UTC).isoformat(timespec="seconds")
    timed: list[dict[str, Any]] = [
        {"machine": b.machine, "updated": b.updated, "updated_by_mode": b.updated_by_mode, "entries": b.entries}
        for b in previous.timed
        if b.machine.get("fingerprint", True) is not None  # schema-1 entries hold nowhere: dropped
    ]
    instructions: dict[str, Any] = {
        "recorded_with": previous.instruction_setup,
        "updated": previous.instructions_updated,
        "entries": previous.instruction_entries,
    }
    sorted_entries = dict(sorted(entries.items()))
    if section == "instruction_entries":
        instructions = {"recorded_with": machine.instruction_setup(), "updated": now, "entries": sorted_entries}
    else:
        here = here if here is not None else machine.fingerprint()
        mine: dict[str, Any] = {"machine": here, "updated": now, "updated_by_mode": mode, "entries": sorted_entries}
        same = [i for i, b in enumerate(timed) if not machine.differences(b["machine"], here)]
        if same:
            timed[same[0]] = mine
        else:
            timed.append(mine)
    content = {"schema": BASELINE_SCHEMA, "timed": timed, "instructions": instructions}
    path.write_text(json.dumps(content, indent=1) + "\n")
    return path


# ----------------------------------------------------------------------------------------------------
# Comparison


def compare(
    measurements: dict[str, Measurement],
    baseline: dict[str, dict[str, float]],
    tolerance: float = DEFAULT_TOLERANCE,
    read_tolerance: float = DEFAULT_READ_TOLERANCE,
) -> list[Comparison]:
    """Compare measured ratios with the baseline.

    A case is flagged when its ratio to numpy exceeds the baseline's by more than ``tolerance`` (0.25 = 25%
    slower relative to numpy), or its ratio to the read pass by more than ``read_tolerance``. A flagged
    case regresses when the evidence holds up: every per-repeat ratio behind the flagged median (all
    interleaved repeats of every run merged into the measurement) is beyond the tolerance too; otherwise it
    is "inconclusive" (noise on a busy machine moves some repeats, a real slow-down moves all of them).
    A case counts as improved when both ratios are below the baseline by more than the tolerances (time to
    refresh the baseline).

    Examples
    --------
    >>> m = Measurement.from_medians("top_k/medium", 2e-4, 4e-4, 1e-4)
    >>> compare({"top_k/medium": m}, {"top_k/medium": {"ratio_numpy": 0.5, "ratio_read": 2.0}})[0].status
    'ok'
    """
    check_real(tolerance, "tolerance", "compare", low=0.0, high=10.0, low_open=True, high_open=True)
    check_real(read_tolerance, "read_tolerance", "compare", low=0.0, high=10.0, low_open=True, high_open=True)
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
        limit_numpy, limit_read = base_numpy * (1.0 + tolerance), base_read * (1.0 + read_tolerance)
        if change_numpy > tolerance or change_read > read_tolerance:
            holds = (change_numpy > tolerance and _all_beyond(m.evidence_numpy, m.ratio_numpy, limit_numpy)) or (
                change_read > read_tolerance and _all_beyond(m.evidence_read, m.ratio_read, limit_read)
            )
            status = "REGRESSED" if holds else "inconclusive"
        elif change_numpy < -tolerance and change_read < -read_tolerance:
            status = "improved"
        else:
            status = "ok"
        rows.append(Comparison(m, base_numpy, base_read, change_numpy, change_read, status))
    return rows


def _all_beyond(evidence: tuple[float, ...], ratio: float, limit: float) -> bool:
    """Tell whether every piece of evidence exceeds `limit` (the single ratio without per-repeat ratios)."""
    return all(value > limit for value in (evidence or (ratio,)))


def merge_best(first: dict[str, Measurement], second: dict[str, Measurement]) -> dict[str, Measurement]:
    """Per case and per ratio, keep the better (smaller) of two measurements.

    Used to confirm a regression: a ratio only stays worse than the baseline when a second measurement
    shows it too, which keeps a burst of load from another process from failing the gate. The per-repeat
    evidence of both measurements is kept, for :func:`compare` to check.
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
            evidence_numpy=old.evidence_numpy + m.evidence_numpy,
            evidence_read=old.evidence_read + m.evidence_read,
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
            evidence_numpy=tuple(r for m in ms for r in m.evidence_numpy),
            evidence_read=tuple(r for m in ms for r in m.evidence_read),
        )
    return combined


def _group_order(group: str) -> tuple[str, int, str]:
    from alsim.benchmarking.cases import SIZES

    name, _, size = group.rpartition("/")
    return (name.split("[")[0], SIZES.index(size) if size in SIZES else len(SIZES), name)


def format_table(rows: Sequence[Comparison], tolerance: float, read_tolerance: float = DEFAULT_READ_TOLERANCE) -> str:
    """Return a plain-text table of the comparison, one row per case."""
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
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    text.insert(1, "-" * len(text[0]))
    regressed = sum(row.status == "REGRESSED" for row in rows)
    inconclusive = sum(row.status == "inconclusive" for row in rows)
    text.append("")
    text.append(
        f"{counted(len(rows), 'case')}, {regressed} regressed, {inconclusive} inconclusive "
        f"(tolerance {tolerance:.0%} on the ratio to numpy, "
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
    """Return a pytest ``-k`` expression selecting cases by size and, optionally, by kernel or case group."""
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
    """Return the environment of the suite's subprocess.

    It gives rayon and BLAS ``threads`` threads (0 = their defaults) and sets the number of interleaved
    repeats of each case.
    """
    from alsim.benchmarking.cases import REPEATS_ENV

    env = dict(os.environ)
    env[REPEATS_ENV] = str(repeats)
    if threads > 0:
        env.update({name: str(threads) for name in _THREAD_ENV_VARS})
    return env


def pytest_command(mode: Mode, json_path: Path, expression: str, threads: int = 1) -> list[str]:
    """Return the command line that runs the suite under pytest-benchmark in ``mode``."""
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


def run_suite(mode: Mode, expression: str, *, threads: int = 1, output: Any = None) -> tuple[dict[str, Any], int]:
    """Run the suite in a pytest subprocess; return its pytest-benchmark JSON report and its exit code."""
    require_suite_dependencies()
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


def require_suite_dependencies() -> None:
    """Raise MissingExtraError unless pytest and pytest-benchmark (``alsim[bench]``) are installed."""
    from alsim._extras import require_extras

    require_extras(["pytest", "pytest_benchmark"], needed_for="alsim bench (the kernel suite runs under pytest)")


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

    check_choice(mode, "mode", caller, sorted(MODES))
    if kernels:
        unknown = sorted(set(kernels) - set(KERNELS))
        if unknown:
            raise fail("kernels", caller, f"kernel names among {list(KERNELS)}", unknown)
    check_real(tolerance, "tolerance", caller, low=0.0, high=10.0, low_open=True, high_open=True)
    check_real(read_tolerance, "read_tolerance", caller, low=0.0, high=10.0, low_open=True, high_open=True)
    check_int(passes, "passes", caller, low=1)
    check_int(threads, "threads", caller, low=0, note="0 = the libraries' defaults")


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
    baseline: str | os.PathLike[str] | BaselineFile | dict[str, dict[str, float]] | None = None,
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
    instead of timed, and compared with the baseline's instruction counts. ``threads`` is the number
    of threads given to rayon and BLAS (see :func:`timer_name` for why 1 is the default). With ``passes``
    above 1 the suite runs that many times and each case's ratios are the medians over the passes.

    ``baseline`` is a baseline file (default: the one shipped with alsim), or entries to compare with as
    they are. Timed ratios are compared only with the timed baseline recorded on this machine; when the
    file holds none, every row says "no baseline" and a note says why (exit code 0). Cases that look
    regressed in the first run are measured again (``confirm``) and regress only if every repeat of both
    runs agrees (see :func:`compare`); otherwise they are "inconclusive", with a note.
    Returns the gate result, the measurements it used, and the raw pytest-benchmark report(s).

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
    notes: list[str] = []
    if isinstance(baseline, dict):
        baseline_entries: dict[str, dict[str, Any]] | None = baseline
    else:
        baseline_file = (
            baseline
            if isinstance(baseline, BaselineFile)
            else read_baseline(baseline if baseline is not None else DEFAULT_BASELINE)
        )
        if instructions:
            baseline_entries = baseline_file.instruction_entries
            note = baseline_file.instruction_note(machine.instruction_setup())
        else:
            baseline_entries, note = baseline_file.timed_for(machine.fingerprint())
        notes.extend([note] if note else [])
    if instructions:
        result, measured, reports = _run_instruction_gate(
            chosen, baseline_entries or {}, tolerance, read_tolerance, kernels, output
        )
        result.notes[:0] = notes
        return result, measured, reports
    expected = _expected_groups(chosen.sizes, kernels)
    if baseline_entries is not None:
        check_baseline_threads(baseline_entries, expected, threads)
    expression = selection_expression(chosen.sizes, kernels)
    load_before = _load()
    reports, runs, returncode = [], [], 0
    for _ in range(passes):
        report, code = run_suite(chosen, expression, threads=threads, output=output)
        reports.append(report)
        runs.append(measurements_from_json(report, threads))
        returncode = returncode or code
    measured = median_of_runs(runs)
    if baseline_entries is None:
        rows = [
            Comparison(measured[group], None, None, None, None, "no baseline")
            for group in sorted(measured, key=_group_order)
        ]
        return GateResult(rows, returncode, sorted(expected - measured.keys()), notes), measured, reports
    rows = compare(measured, baseline_entries, tolerance, read_tolerance)
    flagged = [row.measurement for row in rows if row.status in ("REGRESSED", "inconclusive")]
    if confirm and flagged:
        expression = " or ".join(f"[{_case_prefix(m.group)}-" for m in flagged)
        again, _ = run_suite(chosen, expression, threads=threads, output=output)
        reports.append(again)
        measured = merge_best(measured, measurements_from_json(again, threads))
        rows = compare(measured, baseline_entries, tolerance, read_tolerance)
    result = GateResult(rows, returncode, sorted(expected - measured.keys()), notes)
    if result.inconclusive:
        load = max(load_before, _load())
        cores = os.cpu_count() or 1
        busy = f" (load average {load:.1f} on {cores} logical CPUs)" if load == load else ""
        names = ", ".join(row.measurement.group for row in result.inconclusive)
        result.notes.append(
            f"inconclusive: {names} measured beyond the tolerance, but not in every repeat of the first and "
            f"the confirming run{busy}, so the evidence does not hold up as a regression. Rerun on a quieter "
            "machine or with --passes 3, or count instructions with --instructions."
        )
    return result, measured, reports


def _load() -> float:
    """Return the 1-minute load average, NaN where the platform has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return float("nan")


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
    # Counts repeat exactly: one measurement is all the evidence there is, and it decides.
    rows = compare(measured, baseline_entries, tolerance, read_tolerance)
    return GateResult(rows, pytest_returncode=0), measured, [{"callgrind": counts}]


def _case_prefix(group: str) -> str:
    # "select_most_uncertain[margin]/medium" -> "select_most_uncertain-margin-medium" (the test id prefix)
    name, _, size = group.rpartition("/")
    return "-".join([*name.replace("]", "").split("["), size])


def _expected_groups(sizes: Iterable[str], kernels: Sequence[str] | None) -> set[str]:
    from alsim.benchmarking.cases import all_cases

    return {case.group for case in all_cases() if case.size in sizes and (not kernels or case.kernel in kernels)}
