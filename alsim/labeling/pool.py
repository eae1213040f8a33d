"""Your own pool: a table with an id column, a label column (empty = unlabeled) and features.

Features come from three kinds of columns:

* numeric and nominal columns, preprocessed as :func:`alsim.datasets.split_dataset` does (median / most
  frequent imputation, standardisation, one-hot encoding);
* text columns, embedded: by default TF-IDF followed by a truncated SVD (scikit-learn), or by any callable
  ``texts -> 2-d array`` (a sentence-embedding model, ...);
* a column of embedding vectors (parquet list or fixed-size array, one vector per row), used as is.

The same :class:`Pool` serves the real labeling loop (:class:`alsim.labeling.LabelingProject`), and its
labeled rows are a :class:`~alsim.datasets.Dataset` for :func:`alsim.simulate` and :func:`alsim.budget.estimate_budget`
(:meth:`Pool.to_dataset`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alsim.exceptions import DatasetError, InvalidParameterError

__all__ = ["DEFAULT_TEXT_DIMENSIONS", "Pool", "load_pool", "tfidf_svd_embedder"]

#: Dimensions of the default text embedding (TF-IDF + truncated SVD), capped by the vocabulary and rows.
DEFAULT_TEXT_DIMENSIONS = 100

TextEmbedder = Callable[[Sequence[str]], Any]


def tfidf_svd_embedder(n_components: int = DEFAULT_TEXT_DIMENSIONS, random_state: int = 0) -> TextEmbedder:
    """Build the default text embedder: TF-IDF (words and bigrams, sublinear tf) then a truncated SVD (LSA).

    Fitted on the texts it is given (the whole pool, labels not used).
    """

    def embed(texts: Sequence[str]) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        tfidf = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1).fit_transform(list(texts))
        k = min(n_components, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
        if k < 1:
            return np.asarray(tfidf.toarray(), dtype=np.float64)
        return TruncatedSVD(n_components=k, random_state=random_state).fit_transform(tfidf)

    return embed


@dataclass
class Pool:
    """A pool of rows to label.

    Attributes
    ----------
    ids : numpy array
        Row ids (unique), from the id column.
    labels : object array
        Label of each row as a string, None where unlabeled.
    X : float array of shape (n_rows, n_features)
        Features (float32 when they come from an embedding column alone, float64 otherwise).
    texts : list of str or None
        The text shown to annotators for each row (the text columns joined), None without text columns.
    feature_names : list of str
    source : str
        Where the pool was read from.
    """

    ids: np.ndarray
    labels: np.ndarray
    X: np.ndarray
    texts: list[str] | None
    feature_names: list[str]
    source: str

    @property
    def n_rows(self) -> int:
        """Number of rows in the pool, labeled or not."""
        return int(self.ids.size)

    @property
    def labeled(self) -> np.ndarray:
        """Mask of the rows with a label."""
        return np.array([label is not None for label in self.labels], dtype=bool)

    @property
    def classes(self) -> list[str]:
        """Classes seen in the label column, sorted."""
        return sorted({str(label) for label in self.labels if label is not None})

    def to_dataset(self) -> Any:
        """Return the labeled rows as a :class:`~alsim.datasets.Dataset` (features already numeric).

        For :func:`alsim.simulate` or :func:`alsim.budget.estimate_budget` on the same data model.
        """
        import pandas as pd

        from alsim.datasets import Dataset

        mask = self.labeled
        features = pd.DataFrame(np.asarray(self.X[mask], dtype=np.float64), columns=self.feature_names)
        return Dataset(
            name=Path(self.source).stem,
            spec=self.source,
            features=features,
            target=np.asarray(self.labels[mask], dtype=object),
            label="label",
        )


def load_pool(
    table: str | os.PathLike[str] | Any,
    *,
    id: str,
    label: str,
    text: Sequence[str] | str | None = None,
    embedding: str | None = None,
    ignore: Sequence[str] = (),
    embedder: TextEmbedder | None = None,
) -> Pool:
    """Read a pool table (CSV or parquet file, or a pandas/polars DataFrame).

    Parameters
    ----------
    table : path or DataFrame
    id : str
        Id column (unique values).
    label : str
        Label column; an empty cell means unlabeled.
    text : str, sequence of str or None, default=None
        Text columns to embed; None detects them (string columns whose values are mostly distinct and
        longer than a few words).
    embedding : str or None, default=None
        Column of embedding vectors (list or fixed-size array per row), used as features as is.
    ignore : sequence of str, default=()
        Further columns that are not features.
    embedder : callable or None, default=None
        ``embedder(texts) -> array (n_rows, d)`` for the text columns; None is :func:`tfidf_svd_embedder`.
    """
    import pandas as pd

    from alsim.datasets._load import _labels_as_strings, _normalise_feature_dtypes, _read_table

    source = "<DataFrame>"
    if isinstance(table, (str, os.PathLike)):
        path = Path(table)
        suffix = next((s for s in (".csv", ".parquet", ".pq") if path.name.lower().endswith(s)), None)
        if suffix is None:
            raise DatasetError(f"Cannot tell the format of {path}: a pool is a .csv or .parquet file.")
        if not path.is_file():
            raise DatasetError(f"The pool file {path} does not exist.")
        frame = _read_table(path, suffix)
        source = str(path)
    elif hasattr(table, "to_pandas"):
        frame = table.to_pandas()
    elif isinstance(table, pd.DataFrame):
        frame = table.copy()
    else:
        raise InvalidParameterError(
            f"The 'table' parameter of load_pool must be a CSV/parquet path or a DataFrame. Got {type(table).__name__}."
        )
    frame.columns = [str(c) for c in frame.columns]
    columns = list(frame.columns)
    for name, value in (("id", id), ("label", label)):
        if value not in columns:
            raise DatasetError(
                f"{source}: the {name} column {value!r} does not exist (--{name}). Columns: {columns[:30]}."
            )
    if embedding is not None and embedding not in columns:
        raise DatasetError(f"{source}: the embedding column {embedding!r} does not exist. Columns: {columns[:30]}.")
    if len(frame) == 0:
        raise DatasetError(f"{source}: the table has no rows.")
    ids = frame[id]
    if ids.isna().any():
        raise DatasetError(
            f"{source}: the id column {id!r} has {int(ids.isna().sum())} empty cells; every row needs an id."
        )
    if ids.duplicated().any():
        repeated = ids[ids.duplicated()].unique()[:5].tolist()
        raise DatasetError(f"{source}: the id column {id!r} repeats values, e.g. {repeated}; ids must be unique.")
    labels_series = _labels_as_strings(frame[label])
    labels_series = labels_series.where(labels_series.map(lambda v: v is not None and str(v).strip() != ""), None)

    remaining = [c for c in columns if c not in {id, label, embedding, *ignore}]
    if isinstance(text, str):
        text = [text]
    if text is None:
        text_columns = [c for c in remaining if _looks_like_text(frame[c])]
    else:
        missing = [c for c in text if c not in columns]
        if missing:
            raise DatasetError(f"{source}: text column(s) {missing} do not exist (--text). Columns: {columns[:30]}.")
        text_columns = list(text)
    other = [c for c in remaining if c not in text_columns]

    parts: list[np.ndarray] = []
    names: list[str] = []
    if embedding is not None:
        vectors = _embedding_matrix(frame[embedding], source, embedding)
        parts.append(vectors)
        names += [f"{embedding}_{j}" for j in range(vectors.shape[1])]
    texts: list[str] | None = None
    if text_columns:
        texts = frame[text_columns].fillna("").astype(str).agg(" \n".join, axis=1).tolist()
        embed = embedder if embedder is not None else tfidf_svd_embedder()
        vectors = np.asarray(embed(texts))
        if vectors.ndim != 2 or vectors.shape[0] != len(texts) or not np.issubdtype(vectors.dtype, np.number):
            raise InvalidParameterError(
                f"The 'embedder' parameter of load_pool must return a numeric array of shape ({len(texts)}, d). "
                f"Got shape {vectors.shape} ({vectors.dtype}) instead."
            )
        parts.append(vectors.astype(np.float64 if vectors.dtype == np.float64 else np.float32, copy=False))
        names += [f"text_{j}" for j in range(vectors.shape[1])]
    if other:
        from alsim.datasets._split import _preprocess

        features = _normalise_feature_dtypes(frame[other].reset_index(drop=True), source)
        X_other, _, other_names = _preprocess(features, features.iloc[:1], source)
        parts.append(X_other)
        names += other_names
    if not parts:
        raise DatasetError(f"{source}: no feature column is left after the id, label and ignored columns.")
    dtype = np.float32 if all(p.dtype == np.float32 for p in parts) else np.float64
    X = np.ascontiguousarray(
        np.hstack([p.astype(dtype, copy=False) for p in parts]) if len(parts) > 1 else parts[0], dtype=dtype
    )
    if not np.isfinite(X).all():
        raise DatasetError(f"{source}: the features contain NaN or infinite values (check the embedding column).")
    return Pool(
        ids=np.asarray(ids.to_numpy()),
        labels=np.asarray(labels_series.to_numpy(), dtype=object),
        X=X,
        texts=texts,
        feature_names=names,
        source=source,
    )


def _looks_like_text(column: Any) -> bool:
    """Tell whether a column is free text: a string column of mostly distinct values of several words."""
    import pandas as pd

    if not (pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column.dtype)):
        return False
    values = column.dropna()
    values = values[values.map(lambda v: isinstance(v, str))]
    if values.empty:
        return False
    words = values.str.split().str.len().mean()
    return bool(words >= 3 and values.nunique() >= 0.5 * len(values))


def _embedding_matrix(column: Any, source: str, name: str) -> np.ndarray:
    values = column.tolist()
    lengths = {len(v) if v is not None and hasattr(v, "__len__") else -1 for v in values}
    if len(lengths) != 1 or -1 in lengths or 0 in lengths:
        raise DatasetError(
            f"{source}: the embedding column {name!r} must hold one vector of the same length in every row "
            f"(parquet list or fixed-size array); found lengths {sorted(lengths)[:5]}."
        )
    matrix = np.asarray(np.stack([np.asarray(v) for v in values]))
    if not np.issubdtype(matrix.dtype, np.number):
        raise DatasetError(f"{source}: the embedding column {name!r} is not numeric ({matrix.dtype}).")
    return matrix.astype(np.float32 if matrix.dtype != np.float64 else np.float64, copy=False)
