"""Speed of loading and splitting the largest bundled dataset (letter, 20,000 rows x 16 features).

Run with ``pytest tests/benchmarks/test_datasets_benchmarks.py --benchmark-enable``; in normal runs
each body executes once as a test.
"""

from __future__ import annotations

from alsim.datasets import load_dataset, split_dataset
from alsim.datasets._arff import read_arff
from alsim.datasets._bundled import MANIFEST

LETTER = 6


def test_parse_letter_arff(benchmark):
    """Parsing the gzipped ARFF file itself: what the first load in a process pays."""
    _, table = benchmark(read_arff, MANIFEST[LETTER].path)
    assert table.shape == (20_000, 17)


def test_load_letter_cached(benchmark):
    """Later loads in the same process: a copy of the parsed table."""
    load_dataset(f"openml:{LETTER}")
    dataset = benchmark(load_dataset, f"openml:{LETTER}")
    assert dataset.features.shape == (20_000, 16)


def test_split_letter(benchmark):
    dataset = load_dataset(f"openml:{LETTER}")
    split = benchmark(split_dataset, dataset, random_state=0)
    assert split.X_pool.shape == (14_000, 16)
