"""Which machine a benchmark baseline was recorded on, and what instruction counts were recorded with.

Speed ratios of the timed gate (kernel over numpy, kernel over one read pass) depend on the CPU (model,
vector instruction sets the kernels and numpy dispatch to, cache sizes), on the number of cores, and on
the numpy and BLAS build of the reference. A timed baseline therefore holds only on the machine whose
fingerprint it carries; on any other the gate reports "no baseline for this machine" instead of comparing.

Instruction counts (callgrind) do not depend on the host CPU as much: valgrind presents the same virtual
CPU (no AVX-512) everywhere, so they depend mostly on the builds of Python, numpy and alsim and on the
valgrind version, which is what an instruction-count baseline records.
"""

from __future__ import annotations

import importlib
import os
import platform
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

#: The fields of a fingerprint that must be equal for a timed baseline to hold.
IDENTITY_KEYS: tuple[str, ...] = ("cpu_model", "cpu_id", "logical_cpus", "instruction_sets", "numpy", "blas", "python")


def fingerprint() -> dict[str, Any]:
    """Return the identity of this machine for the timed gate (see :data:`IDENTITY_KEYS`).

    The platform string is added for information; it is not compared.
    """
    import numpy

    return {
        "cpu_model": _cpu_model(),
        "cpu_id": _cpu_id(),
        "logical_cpus": os.cpu_count(),
        "instruction_sets": _instruction_sets(),
        "numpy": numpy.__version__,
        "blas": _blas(),
        "python": ".".join(platform.python_version_tuple()[:2]),
        "platform": platform.platform(),
    }


def differences(recorded: dict[str, Any], current: dict[str, Any], keys: tuple[str, ...] = IDENTITY_KEYS) -> list[str]:
    """List the differences between a recorded fingerprint and the current one, in words.

    One entry per key of `keys` that differs (a key missing from `recorded` counts as different).
    """
    found = []
    for key in keys:
        before, now = recorded.get(key), current.get(key)
        if before != now:
            found.append(f"{key}: {_short(before)} (baseline) vs {_short(now)} (here)")
    return found


def describe(machine: dict[str, Any]) -> str:
    """Describe a machine in one line: CPU model, logical CPUs, numpy and BLAS."""
    model = machine.get("cpu_model") or machine.get("processor") or "an unrecorded CPU"
    cpus = machine.get("logical_cpus", machine.get("cpu_count"))
    blas = machine.get("blas") or "unrecorded BLAS"
    return f"{model}, {cpus} logical CPUs, numpy {machine.get('numpy', '?')}, {blas}"


def instruction_setup() -> dict[str, Any]:
    """Return what instruction counts depend on besides alsim.

    That is the valgrind, Python, numpy and BLAS builds, and the architecture.
    """
    import numpy

    return {
        "valgrind": _valgrind_version(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "blas": _blas(),
        "machine": platform.machine(),
    }


#: The fields of :func:`instruction_setup` that change instruction counts.
INSTRUCTION_KEYS: tuple[str, ...] = ("valgrind", "python", "numpy", "blas", "machine")


def _short(value: Any) -> str:
    if isinstance(value, list):
        return f"[{len(value)} entries]" if len(value) > 6 else ", ".join(map(str, value))
    return "unrecorded" if value is None else str(value)


@lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    """Read the first processor's fields of /proc/cpuinfo (empty where there is none)."""
    path = Path("/proc/cpuinfo")
    fields: dict[str, str] = {}
    if not path.is_file():
        return fields
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _cpu_model() -> str:
    info = _cpuinfo()
    for key in ("model name", "Hardware", "cpu model", "Processor"):
        if info.get(key):
            return info[key]
    if platform.system() == "Darwin" and shutil.which("sysctl"):
        done = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return platform.processor() or platform.machine()


def _cpu_id() -> str | None:
    """Return vendor, family, model and stepping (x86) or implementer, part and revision (ARM).

    CPUs sold under one generic model name (as virtual machines report them) still differ here.
    """
    info = _cpuinfo()
    x86 = ("vendor_id", "cpu family", "model", "stepping")
    arm = ("CPU implementer", "CPU architecture", "CPU part", "CPU revision")
    for keys in (x86, arm):
        if all(key in info for key in keys):
            return " ".join(f"{key}={info[key]}" for key in keys)
    return None


def _instruction_sets() -> list[str]:
    """Return the CPU features numpy detected at run time (the same kind of detection alsim's kernels use)."""
    try:
        module = importlib.import_module("numpy._core._multiarray_umath")
    except ImportError:  # numpy < 2
        module = importlib.import_module("numpy.core._multiarray_umath")
    features: dict[str, bool] = getattr(module, "__cpu_features__", {})
    return sorted(name for name, present in features.items() if present)


def _blas() -> str | None:
    import numpy

    try:
        config = numpy.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
    except (TypeError, KeyError, ValueError):  # old numpy without mode="dicts", or no BLAS section
        return None
    return f"{blas.get('name', '?')} {blas.get('version', '?')}"


@lru_cache(maxsize=1)
def _valgrind_version() -> str | None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    done = subprocess.run([valgrind, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"\d+(\.\d+)+", done.stdout)
    return match.group(0) if match else None
