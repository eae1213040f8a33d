"""Stratified pool/test split with preprocessing fitted on the pool's features only."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from alsim._validation import check_fraction, fail
from alsim.exceptions import DatasetError

if TYPE_CHECKING:
    import pandas as pd

    from alsim.datasets._load import Dataset


@dataclass(frozen=True)
class Split:
    """A dataset split into an unlabeled pool and a held-out test set, preprocessed to float64 arrays.

    Attributes
    ----------
    X_pool, X_test : numpy.ndarray of float64, shape (n, d)
        Preprocessed features (C-contiguous): numeric columns imputed with the pool median and
        standardised, nominal columns imputed with the pool's most frequent value and one-hot encoded.
    y_pool, y_test : numpy.ndarray of int64
        Class codes ``0..n_classes-1``; ``classes[code]`` is the original label.
    classes : numpy.ndarray
        Original label values (strings), sorted; the index is the code.
    feature_names : list of str
        Name of each column of ``X_pool``/``X_test`` (one-hot columns are ``<feature>_<value>``).
    dataset_name : str
        Name of the source dataset.
    pool_rows : numpy.ndarray of int64 or None
        Row of the source dataset behind each pool example (None when the split was built by hand), so
        per-row data kept out of the features, such as labeling costs, can follow the pool.
    """

    X_pool: np.ndarray
    y_pool: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: np.ndarray
    feature_names: list[str] = field(default_factory=list)
    dataset_name: str = ""
    pool_rows: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        """Number of classes (length of ``classes``)."""
        return len(self.classes)


def split_dataset(
    dataset: Dataset,
    *,
    test_size: float = 0.3,
    random_state: int | np.random.Generator | np.random.RandomState | None = None,
) -> Split:
    """Split a dataset into a stratified pool and test set and preprocess both.

    The preprocessing (imputation, one-hot encoding, standardisation) is fitted on the pool's features
    only; test labels are never looked at. Nominal values seen only in the test set encode as all-zero
    one-hot columns. Columns that are constant over the pool carry no information and are dropped.

    Parameters
    ----------
    dataset : Dataset
        As returned by :func:`load_dataset`.
    test_size : float, default=0.3
        Share of rows held out for testing, in the open interval (0, 1).
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, default=None
        Seed of the split. The same int gives the same split.

    Returns
    -------
    Split

    Raises
    ------
    InvalidParameterError
        If ``test_size`` is outside (0, 1).
    DatasetError
        If a class has fewer than two rows, or the pool or test set would be smaller than the number of
        classes, or no feature varies within the pool.

    Examples
    --------
    >>> from alsim.datasets import load_dataset, split_dataset
    >>> split = split_dataset(load_dataset("openml:61"), test_size=0.3, random_state=0)
    >>> split.X_pool.shape, split.X_test.shape, split.n_classes
    ((105, 4), (45, 4), 3)
    """
    from sklearn.model_selection import train_test_split

    test_size = check_fraction(test_size, "test_size", "split_dataset")
    classes, y = np.unique(np.asarray(dataset.target, dtype=object).astype(str), return_inverse=True)
    classes = classes.astype(object)  # Python str values, not numpy.str_
    y = y.astype(np.int64)
    _check_class_counts(dataset, classes, np.bincount(y, minlength=len(classes)), float(test_size))

    rows = np.arange(len(y))
    pool_rows, test_rows = train_test_split(
        rows, test_size=float(test_size), stratify=y, random_state=_as_sklearn_seed(random_state)
    )
    X_pool, X_test, names = _preprocess(
        dataset.features.iloc[pool_rows], dataset.features.iloc[test_rows], dataset.spec
    )
    return Split(
        X_pool=X_pool,
        y_pool=np.ascontiguousarray(y[pool_rows]),
        X_test=X_test,
        y_test=np.ascontiguousarray(y[test_rows]),
        classes=classes,
        feature_names=names,
        dataset_name=dataset.name,
        pool_rows=np.ascontiguousarray(pool_rows, dtype=np.int64),
    )


def _check_class_counts(dataset: Dataset, classes: np.ndarray, counts: np.ndarray, test_size: float) -> None:
    if len(classes) < 2:
        raise DatasetError(
            f"{dataset.spec}: only one class ({classes[0]!r}) is present; classification needs at least two."
        )
    rare = [f"{label!r} ({count})" for label, count in zip(classes, counts, strict=True) if count < 2]
    if rare:
        raise DatasetError(
            f"{dataset.spec}: a stratified split needs at least 2 rows per class, but these classes have "
            f"fewer: {', '.join(rare)}. Remove or merge them."
        )
    n_rows = int(counts.sum())
    n_test = math.ceil(test_size * n_rows)
    n_pool = n_rows - n_test
    if min(n_test, n_pool) < len(classes):
        raise DatasetError(
            f"{dataset.spec}: {n_rows} rows split with test_size={test_size} give {n_pool} pool and {n_test} "
            f"test rows, but a stratified split needs at least one row per class ({len(classes)}) on each "
            "side. Use a larger dataset or a test_size closer to 0.5."
        )


def _as_sklearn_seed(
    random_state: int | np.random.Generator | np.random.RandomState | None,
) -> int | np.random.RandomState | None:
    """scikit-learn's splitters take an int or RandomState; a Generator supplies a derived int seed."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**32 - 1))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    raise fail("random_state", "split_dataset", "an int, a numpy Generator or RandomState, or None", random_state)


def _preprocess(pool: pd.DataFrame, test: pd.DataFrame, spec: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    # A column with no observed value in the pool has nothing to impute from.
    observed = pool.columns[pool.notna().any().to_numpy()]
    nominal = [c for c in observed if isinstance(pool[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in observed if c not in set(nominal)]
    if not nominal and not numeric:
        raise DatasetError(f"{spec}: every feature is missing in every pool row; nothing to learn from.")

    transformers = []
    if numeric:
        transformers.append(("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric))
    if nominal:
        transformers.append(
            (
                "nominal",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64),
                ),
                nominal,
            )
        )
    transformer = ColumnTransformer(transformers, sparse_threshold=0.0)
    X_pool = np.asarray(transformer.fit_transform(_as_sklearn_input(pool, nominal)), dtype=np.float64)
    X_test = np.asarray(transformer.transform(_as_sklearn_input(test, nominal)), dtype=np.float64)
    names = [name.split("__", 1)[1] for name in transformer.get_feature_names_out()]

    varying = np.ptp(X_pool, axis=0) > 0
    if not varying.any():
        raise DatasetError(f"{spec}: no feature varies within the pool; nothing to learn from.")
    X_pool = np.ascontiguousarray(X_pool[:, varying])
    X_test = np.ascontiguousarray(X_test[:, varying])
    names = [name for name, keep in zip(names, varying, strict=True) if keep]
    if not (np.isfinite(X_pool).all() and np.isfinite(X_test).all()):
        raise DatasetError(
            f"{spec}: preprocessing produced non-finite values; a feature's magnitude is probably too large "
            "for float64 standardisation."
        )
    return X_pool, X_test, names


def _as_sklearn_input(frame: pd.DataFrame, nominal: list[str]) -> pd.DataFrame:
    """Nominal columns as object arrays with NaN for missing, which SimpleImputer understands."""
    converted = frame.copy()
    for name in nominal:
        column = converted[name].astype(object)
        converted[name] = column.where(column.notna(), np.nan)
    return converted
