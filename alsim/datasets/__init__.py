"""Datasets for simulations: loading, preprocessing and the pool/test split.

``load_dataset("openml:<id>")`` reads one of the OpenML datasets bundled with alsim (listed by
:func:`offline_datasets` and ``alsim datasets``) without the network; other ids go through the ``openml``
client and its cache. A team's own CSV, parquet or ARFF file loads with ``load_dataset(path, label=...)``.
:func:`split_dataset` makes the stratified, seeded pool/test split and fits the preprocessing on the pool.

pandas, scikit-learn and openml are imported only when a dataset is loaded or split.
"""

from __future__ import annotations

from alsim.datasets._bundled import CC18_OFFLINE_IDS, offline_datasets
from alsim.datasets._load import Dataset, load_dataset
from alsim.datasets._split import Split, split_dataset

__all__ = [
    "CC18_OFFLINE_IDS",
    "Dataset",
    "Split",
    "load_dataset",
    "offline_datasets",
    "split_dataset",
]
