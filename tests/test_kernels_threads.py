"""Kernel results do not depend on the number of threads, and the hand-written stub matches the binary.

The thread count of rayon's global pool is fixed when a process first uses it, so each count runs in its
own interpreter with RAYON_NUM_THREADS set (the documented way to choose it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

# Inputs are large enough for every kernel to take its parallel, chunked path.
SCRIPT = """
import sys
import numpy as np
from alsim import kernels

rng = np.random.default_rng(0)
proba = rng.dirichlet(np.full(6, 0.7), size=120_000)
X = rng.normal(size=(12_000, 16)).astype(np.float32)
X[::3] += 6.0
votes = rng.integers(0, 5, size=(7, 30_000))
members = rng.dirichlet(np.ones(6), size=(4, 20_000))
np.savez(
    sys.argv[1],
    **{f"scores_{m}": kernels.uncertainty_scores(proba, m) for m in kernels.MEASURES},
    **{f"select_{m}": kernels.select_most_uncertain(proba, 300, m) for m in kernels.MEASURES},
    table=kernels.uncertainty_table(proba),
    kcenter=kernels.k_center_greedy(X, np.arange(0, 12_000, 400), 60),
    kcenter_seeded=kernels.k_center_greedy(X.astype(np.float64), None, 60, seed=4),
    kmeans=kernels.kmeans_pp(X, 40, seed=8),
    vote_entropy=kernels.vote_entropy(votes, 5),
    pairwise=kernels.pairwise_disagreement(votes),
    consensus_kl=kernels.consensus_kl(members),
)
"""


def run_with_threads(threads: int, out: Path) -> dict[str, np.ndarray]:
    env = {**os.environ, "RAYON_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, "-c", SCRIPT, str(out)], check=True, env=env, timeout=300)
    with np.load(out) as data:
        return {name: data[name] for name in data.files}


def test_results_identical_with_one_and_two_threads(tmp_path: Path) -> None:
    one = run_with_threads(1, tmp_path / "one.npz")
    two = run_with_threads(2, tmp_path / "two.npz")
    assert one.keys() == two.keys()
    for name in one:
        assert one[name].dtype == two[name].dtype, name
        # Bit-identical, not merely close.
        assert one[name].tobytes() == two[name].tobytes(), name


def test_stub_matches_extension() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "alsim._core"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
