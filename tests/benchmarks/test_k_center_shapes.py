"""k-center greedy on several data shapes, side by side with the plain numpy loop (one GEMV per pick).

Issue 20's bar: the kernel at least as fast as the numpy loop on every shape (isotropic noise, clustered,
embedding-like; float32 and float64). A timing run, skipped unless benchmarks are enabled::

    python -m pytest tests/benchmarks/test_k_center_shapes.py --benchmark-enable \
        --benchmark-group-by=param:shape,param:dtype

Each shape's two timings land in one group; compare their medians (and state the machine's load). The
picks are checked against each other only where both are exact (the numpy loop's norm trick is not).

Issue 20's second bar, the kernel alone (the numpy loop would take minutes): 1,000,000 x 128 clustered float32
points, k = 1,000, under a second on two cores (``test_k_center_million_clustered``).
"""

from __future__ import annotations

import numpy as np
import pytest

from alsim import kernels
from alsim.benchmarking.cases import _mixture, numpy_k_center_greedy

N, D, K, LABELED = 100_000, 128, 1_000, 100


def _isotropic(rng: np.random.Generator, dtype: type) -> np.ndarray:
    return rng.standard_normal((N, D)).astype(dtype)


def _clustered(rng: np.random.Generator, dtype: type) -> np.ndarray:
    return _mixture(rng, N, D, 50, dtype)


def _embedding(rng: np.random.Generator, dtype: type) -> np.ndarray:
    # Sentence-embedding-like: 32 latent directions with a decaying spectrum, a little noise, unit norm.
    latent = rng.standard_normal((N, 32)) * (1.0 / np.arange(1, 33)) ** 0.5
    points = latent @ rng.standard_normal((32, D)) + 0.05 * rng.standard_normal((N, D))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return np.ascontiguousarray(points, dtype=dtype)


SHAPES = {"isotropic": _isotropic, "clustered": _clustered, "embedding": _embedding}


@pytest.mark.parametrize("impl", ["alsim", "numpy"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_k_center_shape(benchmark, shape: str, dtype: str, impl: str) -> None:
    rng = np.random.default_rng(1)
    X = SHAPES[shape](rng, np.dtype(dtype).type)
    labeled = np.sort(rng.choice(N, LABELED, replace=False)).astype(np.int64)
    run = kernels.k_center_greedy if impl == "alsim" else numpy_k_center_greedy
    picks = benchmark.pedantic(run, args=(X, labeled, K), rounds=3, iterations=1)
    assert len(np.unique(picks)) == K and not np.isin(picks, labeled).any()


@pytest.mark.parametrize("dtype", ["float32"])
def test_k_center_million_clustered(benchmark, dtype: str) -> None:
    if benchmark.disabled:
        # 1.5 GB and seconds of data generation: a timing run only, not a test.
        pytest.skip("a timing run: needs --benchmark-enable")
    rng = np.random.default_rng(1)
    n = 1_000_000
    X = _mixture(rng, n, D, 50, np.dtype(dtype).type)
    labeled = np.sort(rng.choice(n, LABELED, replace=False)).astype(np.int64)
    picks = benchmark.pedantic(kernels.k_center_greedy, args=(X, labeled, K), rounds=3, iterations=1)
    assert len(np.unique(picks)) == K and not np.isin(picks, labeled).any()
