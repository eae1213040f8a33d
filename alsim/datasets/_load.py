"""``load_dataset``: OpenML ids (bundled copy or the real client) and a team's own CSV/parquet/ARFF files."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alsim._messages import pass_option, pass_value
from alsim._validation import fail
from alsim.datasets._arff import read_arff
from alsim.datasets._bundled import MANIFEST, read_bundled_table
from alsim.exceptions import DatasetError, InvalidParameterError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_OPENML_SPEC = re.compile(r"openml:(?P<ref>.*)", re.IGNORECASE)
_SUPPORTED_SUFFIXES = (".csv", ".parquet", ".pq", ".arff", ".arff.gz")


@dataclass(frozen=True)
class Dataset:
    """A labelled table ready to be split and preprocessed.

    Attributes
    ----------
    name : str
        Human-readable name (the OpenML name, or the file's stem).
    spec : str
        What was asked for: ``"openml:<id>"`` or the file path.
    features : pandas.DataFrame
        Raw features, one row per example: numeric columns as float64, nominal columns as pandas
        'category' (string categories). Ignored and row-id attributes and the label are not included.
    target : numpy.ndarray
        Labels as an object array of strings, one per row of ``features``.
    label : str
        Name of the label column in the source.
    """

    name: str
    spec: str
    features: pd.DataFrame
    target: np.ndarray
    label: str

    def __post_init__(self) -> None:
        import pandas as pd

        if len(self.features) != len(self.target):
            raise DatasetError(
                f"Dataset {self.name!r} has {len(self.features)} feature rows but {len(self.target)} labels; "
                "they must match."
            )
        missing = int(pd.isna(pd.Series(self.target, dtype=object)).sum())
        if missing:
            raise DatasetError(
                f"Dataset {self.name!r} has {missing} missing labels; drop those rows first "
                "(load_dataset does this for you)."
            )

    @property
    def n_samples(self) -> int:
        """Number of labelled examples."""
        return len(self.target)


def load_dataset(
    spec: str | os.PathLike[str],
    *,
    label: str | None = None,
    ignore: Sequence[str] = (),
) -> Dataset:
    """Load an OpenML dataset or a local table as a :class:`Dataset`.

    Parameters
    ----------
    spec : str or path-like
        ``"openml:<id>"`` for an OpenML dataset: ids bundled with alsim (see
        :func:`offline_datasets`) are read from the package without the network, every other id goes
        through the ``openml`` client and its cache. Otherwise a path to a ``.csv``, ``.parquet``,
        ``.arff`` or ``.arff.gz`` file.
    label : str, optional
        Name of the label column. Required for CSV and parquet files. For ARFF files it defaults to
        the last attribute, for OpenML datasets to the dataset's default target.
    ignore : sequence of str, default=()
        Further columns to drop, such as identifiers (OpenML's ignored and row-id attributes are always
        dropped).

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        If the dataset cannot be found or read, the label column is missing, fewer than two classes
        remain, or no feature column is left.

    Examples
    --------
    >>> from alsim.datasets import load_dataset
    >>> iris = load_dataset("openml:61")
    >>> iris.features.shape, sorted(set(iris.target))[:2]
    ((150, 4), ['Iris-setosa', 'Iris-versicolor'])
    """
    if isinstance(ignore, str) or not all(isinstance(name, str) for name in ignore):
        raise fail("ignore", "load_dataset", "a sequence of column names", ignore)
    if label is not None and not isinstance(label, str):
        raise fail("label", "load_dataset", "a str or None", label)
    if isinstance(spec, str):
        openml_match = _OPENML_SPEC.fullmatch(spec.strip())
        if openml_match is not None:
            openml_id = _parse_openml_id(openml_match["ref"], spec)
            return _load_openml(openml_id, label=label, ignore=tuple(ignore))
    elif not isinstance(spec, os.PathLike):
        raise fail("spec", "load_dataset", "'openml:<id>' or a path to a CSV, parquet or ARFF file", spec)
    return _load_file(Path(spec), label=label, ignore=tuple(ignore))


def _parse_openml_id(reference: str, spec: str) -> int:
    reference = reference.strip()
    if reference.isdigit() and int(reference) > 0:
        return int(reference)
    hint = ""
    by_name = [entry for entry in MANIFEST.values() if entry.name.lower() == reference.lower()]
    if by_name:
        hint = f" Did you mean 'openml:{by_name[0].openml_id}' ({by_name[0].name})?"
    error = fail("spec", "load_dataset", "of the form 'openml:<id>' with a positive integer id", spec)
    raise InvalidParameterError(f"{error}{hint}")


def _load_openml(openml_id: int, *, label: str | None, ignore: tuple[str, ...]) -> Dataset:
    spec = f"openml:{openml_id}"
    entry = MANIFEST.get(openml_id)
    if entry is not None:
        table = read_bundled_table(openml_id).copy()
        return _dataset_from_table(
            table,
            name=entry.name,
            spec=spec,
            label=label if label is not None else entry.target,
            ignore=entry.ignore + ignore,
        )
    from alsim.datasets._openml import fetch_openml_table

    fetched = fetch_openml_table(openml_id)
    if label is None and fetched.default_target is None:
        raise DatasetError(
            f"OpenML dataset {openml_id} ({fetched.name}) has no default target attribute; pass label= with "
            f"one of its columns: {_describe_columns(list(fetched.table.columns))}."
        )
    return _dataset_from_table(
        fetched.table,
        name=fetched.name,
        spec=spec,
        label=label if label is not None else str(fetched.default_target),
        ignore=fetched.ignore + ignore,
    )


def _load_file(path: Path, *, label: str | None, ignore: tuple[str, ...]) -> Dataset:
    lowered = path.name.lower()
    suffix = next((s for s in _SUPPORTED_SUFFIXES if lowered.endswith(s)), None)
    if suffix is None:
        raise DatasetError(
            f"Cannot tell the format of {path}: alsim reads files ending in "
            f"{', '.join(_SUPPORTED_SUFFIXES)}, or 'openml:<id>' specs."
        )
    if not path.is_file():
        raise DatasetError(f"The dataset file {path} does not exist.")
    if suffix in (".arff", ".arff.gz"):
        relation, table = read_arff(path)
        if label is None:
            label = str(table.columns[-1])
        name = relation or path.name.removesuffix(suffix)
    else:
        if label is None:
            raise DatasetError(
                f"{path}: CSV and parquet files need label= naming the label column; the file has columns "
                f"{_describe_columns(_peek_columns(path, suffix))}."
            )
        table = _read_table(path, suffix)
        name = path.name[: -len(suffix)]
    return _dataset_from_table(table, name=name, spec=str(path), label=label, ignore=ignore)


def _read_table(path: Path, suffix: str) -> pd.DataFrame:
    import pandas as pd

    if path.stat().st_size == 0:
        raise DatasetError(f"The dataset file {path} is empty.")
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except pd.errors.EmptyDataError as exc:
        raise DatasetError(f"The dataset file {path} is empty.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DatasetError(f"Cannot parse the CSV file {path}: {exc}") from exc
    except (OSError, ValueError) as exc:
        # pyarrow raises ArrowInvalid (a ValueError) or OSError for files that are not parquet.
        raise DatasetError(f"Cannot read the parquet file {path}: {exc}") from exc


def _peek_columns(path: Path, suffix: str) -> list[str]:
    return [str(column) for column in _read_table(path, suffix).columns]


def _describe_columns(columns: list[str], limit: int = 30) -> str:
    shown = ", ".join(repr(str(column)) for column in columns[:limit])
    if len(columns) > limit:
        shown += f", ... ({len(columns) - limit} more)"
    return f"[{shown}]"


def _dataset_from_table(table: pd.DataFrame, *, name: str, spec: str, label: str, ignore: tuple[str, ...]) -> Dataset:
    """Separate the label, drop ignored columns and bring features to float64/category dtypes."""
    import numpy as np

    table.columns = [str(column) for column in table.columns]
    if table.columns.duplicated().any():
        duplicated = sorted(set(table.columns[table.columns.duplicated()]))
        raise DatasetError(f"{spec}: column names must be unique; repeated: {duplicated}.")
    if label not in table.columns:
        raise DatasetError(
            f"{spec}: the label column {label!r} does not exist. Columns are {_describe_columns(list(table.columns))}."
        )
    unknown_ignored = [column for column in ignore if column not in table.columns]
    if unknown_ignored:
        raise DatasetError(
            f"{spec}: cannot ignore columns {unknown_ignored}: no such column. Columns are "
            f"{_describe_columns(list(table.columns))}."
        )
    if len(table) == 0:
        raise DatasetError(f"{spec}: the table has no rows.")

    target = _strip_text(_labels_as_strings(table[label]), spec, f"label column {label!r}", 5)
    labelled = target.notna().to_numpy()
    if not labelled.all():
        warnings.warn(
            f"{spec}: dropping {int((~labelled).sum())} rows whose label {label!r} is missing.",
            UserWarning,
            stacklevel=4,
        )
        table = table.loc[labelled]
        target = target.loc[labelled]
    classes = target.unique()
    if len(classes) < 2:
        found = f"only the class {classes[0]!r}" if len(classes) else "no labelled rows"
        raise DatasetError(
            f"{spec}: the label column {label!r} has {found}; classification needs at least two classes."
        )

    dropped = {label, *ignore}
    features = table[[column for column in table.columns if column not in dropped]]
    if features.shape[1] == 0:
        raise DatasetError(f"{spec}: no feature column is left after removing the label and ignored columns.")
    features = _normalise_feature_dtypes(features, spec).reset_index(drop=True)
    _warn_about_identifiers(features, spec)
    _warn_about_costs(features, spec)
    return Dataset(
        name=name,
        spec=spec,
        features=features,
        target=np.asarray(target.to_numpy(), dtype=object),
        label=label,
    )


def _warn_about_identifiers(features: pd.DataFrame, spec: str, min_rows: int = 20) -> None:
    """A nominal column with a different value in every row is an identifier: one-hot encoding it
    gives one useless column per row and nothing that generalises to unseen rows."""
    import pandas as pd

    if len(features) < min_rows:
        return
    for name in features.columns:
        column = features[name]
        if isinstance(column.dtype, pd.CategoricalDtype) and column.nunique() == len(column):
            warnings.warn(
                f"{spec}: the nominal feature {name!r} has a different value in every row, like an "
                f"identifier; pass {pass_option('ignore', '--ignore', [name])} to drop it.",
                UserWarning,
                stacklevel=5,
            )


# Names of columns that record what labelling an example cost rather than a property of the example: a
# word of labelling together with a word of cost or time ("seconds_to_label", "annotation cost"), or "cost"
# alone. Broader patterns flag real features ("duration" of a loan, a "cost-sharing" vote).
_LABELLING_WORD = re.compile(r"label|annotat", re.IGNORECASE)
_COST_WORD = re.compile(r"cost|price|time|sec|minute|duration|effort", re.IGNORECASE)
_BARE_COST = re.compile(r"^\W*(cost|costs)\W*$", re.IGNORECASE)


def _looks_like_cost(name: str) -> bool:
    return bool(_BARE_COST.match(name) or (_LABELLING_WORD.search(name) and _COST_WORD.search(name)))


def _warn_about_costs(features: pd.DataFrame, spec: str) -> None:
    """A labelling cost or time is not known for an unlabelled example and says nothing about its class in
    deployment: used as a feature it leaks the annotation process into the model."""
    for name in features.columns:
        if _looks_like_cost(str(name)):
            warnings.warn(
                f"{spec}: the column {name!r} looks like a labelling cost or time, not a property of the "
                f"example, and is used as a feature; pass {pass_option('ignore', '--ignore', [name])} to "
                f"leave it out (alsim budget reads per-row costs with "
                f"{pass_value('cost_column', '--cost-column', name)}).",
                UserWarning,
                stacklevel=5,
            )


def _strip_text(values: pd.Series, spec: str, what: str, stacklevel: int) -> pd.Series:
    """Strip surrounding whitespace from string values ("a " is the class "a"; a blank value is missing)
    and say so when it merges values that were distinct."""
    present = values.notna()
    if not present.any():
        return values
    raw = values[present].astype(str)
    stripped = raw.str.strip()
    changed = raw != stripped
    if changed.any():
        merged = sorted({repr(value) for value in raw[changed]})
        warnings.warn(
            f"{spec}: {len(merged)} value(s) of the {what} have surrounding whitespace ({', '.join(merged[:5])}"
            f"{', ...' if len(merged) > 5 else ''}); they are stripped, so e.g. 'a ' and 'a' are one value.",
            UserWarning,
            stacklevel=stacklevel,
        )
    result = values.copy().astype(object)
    result[present] = stripped.where(stripped != "", None)
    return result


def _labels_as_strings(column: pd.Series) -> pd.Series:
    """Labels as strings; whole-number floats (integers read next to missing values) print without '.0'."""
    import numpy as np
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):
        values = column.astype(object)
    elif pd.api.types.is_float_dtype(column.dtype):
        finite = column.dropna()
        values = column.astype("Int64") if np.all(np.mod(finite, 1) == 0) else column
        values = values.astype(object)
    else:
        values = column.astype(object)
    present = values.notna()
    return values.where(~present, values[present].map(str)).where(present, None)


#: A text column whose present values are numbers except for at most this share is a numeric column with
#: a few stray entries (a typo, "n/a", "?"): one-hot encoding it would make a feature per distinct number.
MOSTLY_NUMERIC_SHARE = 0.05


def _mostly_numeric(values: pd.Series, spec: str, name: str) -> np.ndarray | None:
    """The column as float64 with its few non-numeric entries missing, or None if it is really nominal."""
    import numpy as np
    import pandas as pd

    present = values.dropna()
    if present.empty:
        return None
    parsed = pd.to_numeric(present, errors="coerce")
    strays = present[parsed.isna()]
    numeric = len(present) - len(strays)
    # At least 10 numbers and a handful of distinct ones: 'yes'/'no' columns coded '0', '1', 'n/a' stay nominal.
    if strays.empty or numeric < 10 or parsed.nunique() < 5 or len(strays) > MOSTLY_NUMERIC_SHARE * len(present):
        return None
    result = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(result).any():
        raise DatasetError(
            f"{spec}: feature {name!r} contains infinite values; replace them with finite numbers "
            "or leave the cells empty (missing values are imputed)."
        )
    shown = sorted({repr(value) for value in strays})
    warnings.warn(
        f"{spec}: the feature {name!r} holds numbers except for {len(strays)} entr{'y' if len(strays) == 1 else 'ies'} "
        f"({', '.join(shown[:5])}{', ...' if len(shown) > 5 else ''}); it is read as numeric with those entries "
        "missing (they are imputed). Fix them in the file if they mean something.",
        UserWarning,
        stacklevel=6,
    )
    return result


def _normalise_feature_dtypes(features: pd.DataFrame, spec: str) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    columns: dict[str, object] = {}
    for name in features.columns:
        column = features[name]
        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype) and all(isinstance(c, str) for c in dtype.categories):
            columns[name] = column
        elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isinf(values).any():
                raise DatasetError(
                    f"{spec}: feature {name!r} contains infinite values; replace them with finite numbers "
                    "or leave the cells empty (missing values are imputed)."
                )
            columns[name] = values
        elif (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
        ):
            column = column.astype(object)
            present = column.notna()
            as_text = column.where(~present, column[present].map(str)).where(present, None)
            as_text = _strip_text(as_text, spec, f"feature {name!r}", 6)
            numbers = _mostly_numeric(as_text, spec, name)
            columns[name] = numbers if numbers is not None else pd.Categorical(as_text)
        else:
            raise DatasetError(
                f"{spec}: feature {name!r} has dtype {dtype}, which alsim cannot use; features must be "
                f"numeric, boolean, string or categorical. Convert it or pass "
                f"{pass_option('ignore', '--ignore', [name])}."
            )
    return pd.DataFrame(columns, index=features.index)
