"""Instruction-count mode of the gate: the same cases counted with valgrind's callgrind instead of timed.

Instruction counts do not depend on the load of the machine, so this mode cannot flake; it misses what
does not show in instruction counts (cache misses, memory bandwidth, parallel speed-up), which is why it
complements the timing gate rather than replacing it. One valgrind process runs every selected case:
each body runs once to warm up, then once between two calls of ``os.getppid()``, which callgrind is told
to dump its counters before (``--dump-before=getppid``), so every body gets its own count.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alsim.exceptions import ConfigError

# Single-threaded and hash-seeded so that counts repeat from run to run.
_DETERMINISTIC_ENV = {
    "PYTHONHASHSEED": "0",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "RAYON_NUM_THREADS": "1",
}
_PARTS_PER_CASE = 4  # warm-up, kernel, numpy, read pass


def count_instructions(groups: Sequence[str], *, output: Any = None) -> dict[str, dict[str, int]]:
    """Instructions executed by each case's kernel, numpy reference and read pass.

    Returns ``{group: {"alsim": n, "numpy": n, "read_pass": n}}``.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise ConfigError("The instruction-count mode needs valgrind on PATH (apt-get install valgrind).")
    with tempfile.TemporaryDirectory(prefix="alsim-callgrind-") as tmp:
        out_pattern = str(Path(tmp) / "callgrind.out")
        command = [
            valgrind,
            "--tool=callgrind",
            "--dump-before=getppid",
            f"--callgrind-out-file={out_pattern}",
            "-q",
            sys.executable,
            "-c",
            "import sys; from alsim.benchmarking.callgrind import _worker; _worker(sys.argv[1:])",
            *groups,
        ]
        completed = subprocess.run(
            command,
            env={**os.environ, **_DETERMINISTIC_ENV},
            stdout=output if output is not None else sys.stderr,
            stderr=subprocess.STDOUT,
            check=False,
        )
        if completed.returncode != 0:
            raise ConfigError(
                f"The callgrind run of the benchmark cases failed with exit code {completed.returncode}; "
                "see its output above."
            )
        totals = {int(path.name.rpartition(".")[2]): _read_total(path) for path in Path(tmp).glob("callgrind.out.*")}
    counts = {}
    for index, group in enumerate(groups):
        first = _PARTS_PER_CASE * index + 2  # dump 1 holds start-up and the first warm-up
        counts[group] = {
            "alsim": totals[first],
            "numpy": totals[first + 1],
            "read_pass": totals[first + 2],
        }
    return counts


def _read_total(path: Path) -> int:
    match = re.search(r"^totals:\s+(\d+)", path.read_text(), flags=re.MULTILINE)
    if match is None:
        raise ConfigError(f"The callgrind output {str(path)!r} has no 'totals:' line.")
    return int(match.group(1))


def _worker(groups: Sequence[str]) -> None:
    """Run under valgrind: for each case, warm up, then run each body between two dump markers."""
    from alsim.benchmarking.cases import (
        all_cases,
        make_inputs,
        run_kernel,
        run_numpy,
        run_read_pass,
        slowed_kernels,
    )

    by_group = {case.group: case for case in all_cases()}
    slowed = slowed_kernels()
    for group in groups:
        case = by_group[group]
        inputs = make_inputs(case)
        kernel = run_numpy if case.kernel in slowed else run_kernel
        bodies = (kernel, run_numpy, run_read_pass)
        for body in bodies:
            body(case, inputs)
        for body in bodies:
            os.getppid()
            body(case, inputs)
        os.getppid()
