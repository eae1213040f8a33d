"""The kernel benchmark suite, collected here so normal test runs execute every body once as a test.

The bodies live in :mod:`alsim.benchmarking.kernel_suite`, which ships with the package so that
``alsim bench`` can run them from an installed alsim too. With benchmarks disabled (the default in
pyproject's addopts) the ``large`` sizes are skipped. Time them with ``alsim bench`` or
``pytest tests/benchmarks --benchmark-enable``.
"""

from alsim.benchmarking.kernel_suite import pytest_generate_tests, test_kernel

__all__ = ["pytest_generate_tests", "test_kernel"]
