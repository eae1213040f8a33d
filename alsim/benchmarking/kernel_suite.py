"""pytest-benchmark suite of the kernels of :mod:`alsim.kernels` (run by ``alsim bench`` and by pytest).

Each case is one pytest-benchmark group holding three timings taken in the same run: the kernel
(``alsim``), its plain-numpy reference (``numpy``) and one read pass over the input (``read_pass``),
taken in turn ``ALSIM_BENCH_REPEATS`` times (test ids ``...-r0-alsim``, ``...-r0-numpy``, ...). With
benchmarks disabled (the project's default) every body runs once as a test: the kernel body checks its
result against the numpy reference, and the ``large`` sizes are skipped so that normal test runs stay fast.

The module ships inside the package so that a team that installs alsim can run the same gate against its
own build without a checkout of the repository (``alsim bench`` passes this file's path to pytest). It does
not import pytest at module level, so importing alsim never needs a test framework: the cases are
parametrized by the :func:`pytest_generate_tests` hook, which pytest calls when it collects this module
(or a test module that imports both names, as ``tests/benchmarks`` does).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alsim.benchmarking.cases import (
    IMPLS,
    BenchCase,
    all_cases,
    make_inputs,
    min_sq_distances_to,
    numpy_uncertainty_scores,
    repeats,
    run_kernel,
    run_numpy,
    run_read_pass,
    slowed_kernels,
    squared_norms,
)

_CASES = all_cases()
_REPEATS = repeats()


def _check_against_reference(case: BenchCase, inputs: dict[str, Any], result: np.ndarray) -> None:
    reference = run_numpy(case, inputs)
    kernel = case.kernel
    if kernel in {"uncertainty_scores", "uncertainty_table", "vote_entropy", "consensus_kl", "pairwise_disagreement"}:
        assert result.dtype == np.float64
        np.testing.assert_allclose(result, reference, rtol=1e-9, atol=1e-12)
    elif kernel == "top_k":
        assert result.dtype == np.int64
        np.testing.assert_array_equal(result, reference)
    elif kernel == "select_most_uncertain":
        assert result.dtype == np.int64
        assert np.unique(result).size == result.size == inputs["k"]
        # Same rows unless two scores tie within rounding; then the chosen scores must still agree.
        if not np.array_equal(result, reference):
            scores = numpy_uncertainty_scores(inputs["proba"], case.variant or "")
            np.testing.assert_allclose(scores[result], scores[reference], rtol=1e-12, atol=1e-14)
    elif kernel == "k_center_greedy":
        _check_greedy_picks(inputs["X"], inputs["labeled"], result)
    else:
        _check_seeding_picks(inputs["X"], inputs["k"], result)


def _check_greedy_picks(X: np.ndarray, labeled: np.ndarray, picks: np.ndarray) -> None:
    """Every pick is the farthest point (in float64, up to float32 rounding) at its step."""
    assert picks.dtype == np.int64
    assert np.unique(picks).size == picks.size
    assert not np.isin(picks, labeled).any()
    points = X.astype(np.float64)
    norms = squared_norms(points)
    min_dist = min_sq_distances_to(points, norms, points[labeled])
    for step, pick in enumerate(picks):
        farthest = float(min_dist.max())
        assert min_dist[pick] >= farthest * (1.0 - 1e-4), (
            f"pick {step} (point {pick}) is at squared distance {min_dist[pick]:.6g} from the chosen set, "
            f"but the farthest point is at {farthest:.6g}"
        )
        np.minimum(min_dist, norms - 2.0 * (points @ points[pick]) + norms[pick], out=min_dist)


def _check_seeding_picks(X: np.ndarray, k: int, picks: np.ndarray) -> None:
    # D-squared sampling draws from the kernel's own generator, so only its properties can be compared.
    assert picks.dtype == np.int64
    assert picks.shape == (k,)
    assert np.unique(picks).size == k
    assert picks.min() >= 0 and picks.max() < X.shape[0]


def pytest_generate_tests(metafunc: Any) -> None:
    """Parametrize :func:`test_kernel` over cases, repeats and implementations (a pytest hook).

    Test ids read ``<case>-r<repeat>-<impl>``, e.g. ``top_k-medium-r0-alsim``.
    """
    if metafunc.function.__name__ != "test_kernel":
        return
    metafunc.parametrize("case", _CASES, ids=[case.test_id for case in _CASES])
    metafunc.parametrize("repeat", range(_REPEATS), ids=[f"r{i}" for i in range(_REPEATS)])
    metafunc.parametrize("impl", IMPLS)


def test_kernel(benchmark: Any, case: BenchCase, repeat: int, impl: str) -> None:
    """Time one implementation of one case; the kernel's result is checked against the numpy reference."""
    if case.size == "large" and benchmark.disabled:
        import pytest  # only ever reached under pytest

        pytest.skip("large sizes run only with --benchmark-enable (alsim bench --full)")
    benchmark.group = case.group
    benchmark.extra_info.update(
        kernel=case.kernel, variant=case.variant, size=case.size, impl=impl, repeat=repeat, params=case.params
    )
    inputs = make_inputs(case)
    if impl == "read_pass":
        benchmark(run_read_pass, case, inputs)
        return
    if impl == "numpy":
        benchmark(run_numpy, case, inputs)
        return
    slowed = case.kernel in slowed_kernels()
    benchmark.extra_info["slowed"] = slowed
    result = benchmark(run_numpy if slowed else run_kernel, case, inputs)
    if repeat > 0:
        return  # checked once per case
    _check_against_reference(case, inputs, result)
    if case.kernel == "kmeans_pp":
        np.testing.assert_array_equal(result, (run_numpy if slowed else run_kernel)(case, inputs))
