"""What determines whether two runs are bit-identical: CPU, BLAS/OpenMP libraries and their thread counts.

Every run records :func:`runtime_environment` in its metadata. Reruns on one machine with one environment
are bit-identical; across CPUs or BLAS builds the floating-point reductions of the learners may round
differently (measured in docs/guides/study.md, "Reproducibility").
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import sys
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["environment_fingerprints", "mixed_environment_note", "runtime_environment", "thread_controller"]

# Instruction-set extensions that decide which BLAS kernels run (and so how sums are rounded).
_SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "amx_tile", "asimd", "sve")
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS")


@functools.lru_cache(maxsize=1)
def _cpu() -> tuple[str, tuple[str, ...]]:
    """CPU model and the SIMD flags it has, from /proc/cpuinfo (Linux) or the platform module elsewhere."""
    model, flags = "", set[str]()
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "Model", "cpu model") and not model:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return model or platform.processor() or platform.machine(), tuple(f for f in _SIMD_FLAGS if f in flags)


_controller_lock = threading.Lock()
_controller: tuple[int, Any] | None = None  # (len(sys.modules) when it was made, the controller)


def thread_controller() -> Any:
    """Return a ``threadpoolctl.ThreadpoolController`` of the BLAS/OpenMP libraries loaded in this process.

    Finding the libraries walks every shared object the process has loaded (about a millisecond each time,
    twice a cell in a study), so the controller is kept and made again only when a module has been imported
    since: a new BLAS or OpenMP runtime arrives with an import (a library opened by hand with ``ctypes``
    after the first call is not seen). Thread counts are read live from the libraries on every
    ``info()`` and ``limit()``, so they are never stale.
    """
    global _controller
    from threadpoolctl import ThreadpoolController

    n_modules = len(sys.modules)
    kept = _controller
    if kept is not None and kept[0] == n_modules:
        return kept[1]
    with _controller_lock:
        if _controller is None or _controller[0] != len(sys.modules):
            _controller = (len(sys.modules), ThreadpoolController())
        return _controller[1]


def runtime_environment() -> dict[str, Any]:
    """The CPU, BLAS/OpenMP libraries with their thread counts, and a fingerprint of all of it.

    Returns
    -------
    dict
        ``cpu`` (model), ``cpu_flags`` (SIMD extensions present), ``n_cpus``, ``machine``, ``system``,
        ``thread_libraries`` (threadpoolctl's view: library, version, architecture, threading layer and
        ``num_threads`` of each loaded BLAS/OpenMP runtime), ``thread_variables`` (the thread-count
        environment variables that are set) and ``fingerprint`` (12 hex digits of a hash over all of it).

    Examples
    --------
    >>> sorted(runtime_environment())[:3]
    ['cpu', 'cpu_flags', 'fingerprint']
    """
    model, flags = _cpu()
    libraries = [
        {
            "library": info.get("internal_api"),
            "version": info.get("version"),
            "architecture": info.get("architecture"),
            "threading_layer": info.get("threading_layer"),
            "num_threads": info.get("num_threads"),
        }
        for info in thread_controller().info()
    ]
    environment: dict[str, Any] = {
        "cpu": model,
        "cpu_flags": list(flags),
        "n_cpus": os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.system(),
        "thread_libraries": sorted(libraries, key=lambda lib: json.dumps(lib, sort_keys=True, default=str)),
        "thread_variables": {name: os.environ[name] for name in _THREAD_VARIABLES if name in os.environ},
    }
    canonical = json.dumps(environment, sort_keys=True, default=str)
    environment["fingerprint"] = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return environment


def environment_fingerprints(paths: Iterable[str | os.PathLike[str]]) -> Counter[str | None]:
    """Count the environment fingerprints of stored runs (None: a run that recorded none, or unreadable).

    Reads only each file's metadata, never its records.
    """
    import pyarrow.parquet as pq

    counts: Counter[str | None] = Counter()
    for path in paths:
        try:
            raw = (pq.read_schema(os.fspath(path)).metadata or {}).get(b"alsim.metadata")
            metadata = json.loads(raw) if raw else {}
        except (OSError, ValueError):
            metadata = {}
        environment = metadata.get("environment") if isinstance(metadata, dict) else None
        counts[environment.get("fingerprint") if isinstance(environment, dict) else None] += 1
    return counts


def mixed_environment_note(paths: Iterable[str | os.PathLike[str]]) -> str | None:
    """A sentence when stored runs come from more than one environment fingerprint, else None.

    Examples
    --------
    >>> mixed_environment_note([]) is None
    True
    """
    counts = environment_fingerprints(paths)
    recorded = {fingerprint: n for fingerprint, n in counts.items() if fingerprint is not None}
    if len(recorded) <= 1:
        return None
    shown = ", ".join(f"{n} from {fingerprint}" for fingerprint, n in sorted(recorded.items(), key=lambda kv: -kv[1]))
    unknown = f", {counts[None]} without a record" if counts.get(None) else ""
    return (
        f"The runs come from {len(recorded)} machine environments (CPU, BLAS library or thread count; "
        f"{shown}{unknown}): results may differ in the last digits between them (per-run AULC by up to about "
        "0.002 across machines), so compare runs made in one environment; see each run's metadata "
        "'environment'."
    )
