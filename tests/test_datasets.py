"""alsim.datasets: bundled OpenML copies, local files, ARFF dialects, bad input and the pool/test split."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from alsim.cli import main as cli_main
from alsim.datasets import (
    CC18_OFFLINE_IDS,
    Dataset,
    load_dataset,
    offline_datasets,
    split_dataset,
)
from alsim.exceptions import DatasetError, InvalidParameterError

# MANIFEST counts declared class values (as OpenML does); anneal never uses its class '4' and glass one
# of its seven types, so fewer classes are observed there.
OBSERVED_CLASSES = {2: 5, 41: 6}


# --- bundled OpenML copies ---------------------------------------------------------------------------


OFFLINE = offline_datasets().rows(named=True)


@pytest.mark.parametrize("entry", OFFLINE, ids=[entry["name"] for entry in OFFLINE])
def test_every_bundled_dataset_loads_and_splits(entry):
    openml_id = entry["openml_id"]
    dataset = load_dataset(f"openml:{openml_id}")

    assert dataset.name == entry["name"]
    assert len(dataset.target) == len(dataset.features) == entry["instances"]
    assert dataset.features.shape[1] == entry["features"]
    assert dataset.label not in dataset.features.columns
    assert len(set(dataset.target)) == OBSERVED_CLASSES.get(openml_id, entry["classes"])
    assert int(dataset.features.isna().sum().sum()) == entry["missing_values"]

    split = split_dataset(dataset, test_size=0.3, random_state=0)
    assert split.X_pool.shape[0] + split.X_test.shape[0] == entry["instances"]
    assert split.X_test.shape[0] == int(np.ceil(0.3 * entry["instances"]))
    assert split.X_pool.shape[1] == split.X_test.shape[1] == len(split.feature_names)
    for X in (split.X_pool, split.X_test):
        assert X.dtype == np.float64 and X.flags.c_contiguous
        assert np.isfinite(X).all()
    for y in (split.y_pool, split.y_test):
        assert y.dtype == np.int64
        assert y.min() >= 0 and y.max() < split.n_classes
    assert split.n_classes == len(set(dataset.target))
    assert sorted(split.classes) == sorted(set(dataset.target))
    assert split.dataset_name == entry["name"]


def test_bundled_manifest_matches_its_files():
    # The manifest of the bundled copies is private data with no public face beyond offline_datasets(): its
    # label column, ignored columns and declared class values are checked against the files here.
    from alsim.datasets._bundled import MANIFEST, read_bundled_table

    assert sorted(MANIFEST) == [entry["openml_id"] for entry in OFFLINE]
    for openml_id, entry in MANIFEST.items():
        table = read_bundled_table(openml_id)
        assert {entry.target, *entry.ignore} <= set(table.columns)
        assert len(table[entry.target].cat.categories) == entry.classes


def test_offline_table_and_cc18_ids():
    table = offline_datasets()
    assert table.columns == [
        "openml_id",
        "name",
        "instances",
        "features",
        "classes",
        "missing_values",
        "in_openml_cc18",
    ]
    assert table.height == 36
    assert tuple(table.filter(table["in_openml_cc18"])["openml_id"]) == CC18_OFFLINE_IDS
    assert len(CC18_OFFLINE_IDS) >= 16
    assert table["missing_values"].null_count() == 0


def test_weka_dialect_breast_w_is_parsed():
    dataset = load_dataset("openml:15")
    assert all(dtype == np.float64 for dtype in dataset.features.dtypes)
    assert dataset.features.min().min() == 1.0 and dataset.features.max().max() == 10.0
    assert int(dataset.features["Bare_Nuclei"].isna().sum()) == 16
    # The spaced nominal list "{ benign, malignant}" yields clean labels.
    assert sorted(set(dataset.target)) == ["benign", "malignant"]


def test_weka_dialect_zoo_is_parsed():
    dataset = load_dataset("openml:62")
    assert "animal" not in dataset.features.columns  # the identifier attribute is ignored
    assert dataset.features["legs"].dtype == np.float64
    assert set(dataset.features["legs"]) <= {0.0, 2.0, 4.0, 5.0, 6.0, 8.0}
    assert list(dataset.features["hair"].cat.categories) == ["false", "true"]
    assert dataset.label == "type"
    assert set(dataset.target) == {"mammal", "bird", "reptile", "fish", "amphibian", "insect", "invertebrate"}


def test_target_first_and_label_override():
    wine = load_dataset("openml:187")
    assert wine.label == "class" and "class" not in wine.features.columns
    assert sorted(set(wine.target)) == ["1", "2", "3"]

    # Any column may serve as label; the default target then stays a feature.
    by_colour = load_dataset("openml:187", label="Magnesium")
    assert by_colour.label == "Magnesium" and "class" in by_colour.features.columns


def test_bundled_loads_are_independent_copies():
    first = load_dataset("openml:61")
    first.features.iloc[0, 0] = -1000.0
    second = load_dataset("openml:61")
    assert second.features.iloc[0, 0] != -1000.0


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("openml:iris", r"Did you mean 'openml:61' \(iris\)"),
        ("openml:-3", r"positive integer id"),
        ("openml:", r"positive integer id"),
    ],
)
def test_bad_openml_specs(spec, match):
    with pytest.raises(InvalidParameterError, match=match):
        load_dataset(spec)


# --- local files --------------------------------------------------------------------------------------


def _table(n_rows: int = 40) -> pd.DataFrame:
    rows = np.arange(n_rows)
    return pd.DataFrame(
        {
            "size": (rows * 3) % 7 + 0.5,
            "shape": np.where(rows % 3 == 0, "round", np.where(rows % 3 == 1, "square", "flat")),
            "count": (rows * 5) % 11,
            "verdict": np.where(rows % 2 == 0, "good", "bad"),
        }
    )


def test_csv_with_label_column(tmp_path):
    path = tmp_path / "team-table.csv"
    _table().to_csv(path, index=False)

    dataset = load_dataset(path, label="verdict")

    assert dataset.name == "team-table"
    assert dataset.spec == str(path)
    assert list(dataset.features.columns) == ["size", "shape", "count"]
    assert dataset.features["shape"].dtype == "category"
    assert dataset.features["count"].dtype == np.float64
    assert dataset.target.dtype == object and set(dataset.target) == {"good", "bad"}

    split = split_dataset(dataset, random_state=1)
    assert split.feature_names == ["size", "count", "shape_flat", "shape_round", "shape_square"]


def test_parquet_with_label_column_and_ignored_id(tmp_path):
    table = _table().assign(sample_id=[f"s{i}" for i in range(40)], flag=lambda t: t["count"] > 4)
    path = tmp_path / "team.parquet"
    table.to_parquet(path)

    dataset = load_dataset(str(path), label="verdict", ignore=["sample_id"])

    assert list(dataset.features.columns) == ["size", "shape", "count", "flag"]
    assert dataset.features["flag"].dtype == np.float64  # booleans become 0/1


def test_identifier_like_column_warns(tmp_path):
    path = tmp_path / "with-id.csv"
    _table().assign(sample_id=[f"s{i}" for i in range(40)]).to_csv(path, index=False)
    expected = r"'sample_id' has a different value in every row.*ignore=\['sample_id'\]"
    with pytest.warns(UserWarning, match=expected):
        load_dataset(path, label="verdict")


def test_integer_labels_become_strings_and_unlabelled_rows_are_dropped(tmp_path):
    table = _table()
    table["verdict"] = np.where(np.arange(40) % 2 == 0, 1, 0).astype(float)
    table.loc[[3, 7], "verdict"] = np.nan
    path = tmp_path / "numbers.csv"
    table.to_csv(path, index=False)

    with pytest.warns(UserWarning, match="dropping 2 rows"):
        dataset = load_dataset(path, label="verdict")

    assert sorted(set(dataset.target)) == ["0", "1"]
    assert len(dataset.target) == len(dataset.features) == 38


def test_arff_file_default_label_is_last_attribute(tmp_path):
    path = tmp_path / "plain.arff"
    path.write_text(
        "@relation plain\n@attribute 'a b' numeric\n@attribute c {x, y}\n@attribute label {no,yes}\n@data\n"
        + "".join(f"{i},{'x' if i % 3 else 'y'},{'yes' if i % 2 else 'no'}\n" for i in range(20))
    )
    dataset = load_dataset(path)
    assert dataset.label == "label" and dataset.name == "plain"
    assert list(dataset.features.columns) == ["a b", "c"]


def test_gzipped_arff_with_weka_ranges_and_quoted_names(tmp_path):
    path = tmp_path / "ranges.arff.gz"
    text = (
        "@RELATION ranges\n"
        "@ATTRIBUTE 'bare nuclei' INTEGER [1,10]\n"
        "@ATTRIBUTE depth REAL (-inf, 0]\n"
        "@ATTRIBUTE kind { alpha, beta}\n"
        "@DATA\n" + "".join(f"{i % 10 + 1},{-i / 4},{'alpha' if i % 2 else 'beta'}\n" for i in range(20))
    )
    path.write_bytes(gzip.compress(text.encode()))

    dataset = load_dataset(path)

    assert list(dataset.features.columns) == ["bare nuclei", "depth"]
    assert dataset.features["depth"].tolist()[:2] == [0.0, -0.25]
    assert set(dataset.target) == {"alpha", "beta"}


# --- bad input ----------------------------------------------------------------------------------------


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


ARFF_HEADER = "@relation r\n@attribute x numeric\n@attribute y {a,b}\n@data\n"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (ARFF_HEADER + "1,a\n2,c\n", r"corrupt: .*nominal.*line 6"),
        (ARFF_HEADER + "1,a\n2\n", r"corrupt: .*line 6"),
        (ARFF_HEADER + "1,a\nabc,b\n", r"corrupt: .*numerical.*line 6"),
        ("this is not an arff file\n", r"corrupt: .*line 1"),
        (
            "@relation r\n@attribute x integer [one,10]\n@attribute y {a,b}\n@data\n1,a\n",
            r"line 2: the range",
        ),
        ("@relation r\n@attribute d date 'yyyy-MM-dd'\n@attribute y {a,b}\n@data\n", r"line 2: .*'date'"),
        (ARFF_HEADER, r"no data rows"),
        ("", r"is empty"),
    ],
)
def test_corrupt_arff_raises_dataset_error(tmp_path, text, match):
    path = _write(tmp_path, "broken.arff", text)
    with pytest.raises(DatasetError, match=match) as info:
        load_dataset(path)
    assert "broken.arff" in str(info.value)


def test_truncated_gzip_raises_dataset_error(tmp_path):
    path = tmp_path / "cut.arff.gz"
    path.write_bytes(gzip.compress((ARFF_HEADER + "1,a\n" * 200).encode())[:40])
    with pytest.raises(DatasetError, match="gzip"):
        load_dataset(path)


def test_missing_label_column_lists_the_columns(tmp_path):
    path = tmp_path / "t.csv"
    _table().to_csv(path, index=False)
    with pytest.raises(DatasetError, match=r"label column 'outcome' does not exist.*'size', 'shape'"):
        load_dataset(path, label="outcome")
    with pytest.raises(DatasetError, match=r"need label=.*'verdict'"):
        load_dataset(path)


def test_single_class_is_rejected(tmp_path):
    path = tmp_path / "one.csv"
    _table().assign(verdict="good").to_csv(path, index=False)
    with pytest.raises(DatasetError, match=r"only the class 'good'.*at least two classes"):
        load_dataset(path, label="verdict")


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("empty.csv", "", "is empty"),
        ("header-only.csv", "a,b,verdict\n", "has no rows"),
        ("table.xlsx", "a", "Cannot tell the format"),
        ("not-parquet.parquet", "plain text", "Cannot read the parquet file"),
    ],
)
def test_unreadable_files(tmp_path, name, content, match):
    path = _write(tmp_path, name, content)
    with pytest.raises(DatasetError, match=match):
        load_dataset(path, label="verdict")


def test_missing_file_and_infinite_feature(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nowhere.csv", label="verdict")
    path = tmp_path / "inf.csv"
    _table().assign(size=np.inf).to_csv(path, index=False)
    with pytest.raises(DatasetError, match="'size' contains infinite values"):
        load_dataset(path, label="verdict")


# --- split and preprocessing --------------------------------------------------------------------------


def _dataset(features: pd.DataFrame, target) -> Dataset:
    return Dataset(
        name="synthetic",
        spec="synthetic",
        features=features,
        target=np.asarray(target, dtype=object),
        label="y",
    )


def _marked_dataset(n_rows: int = 60, test_rows_value: float | None = None, test_rows=()) -> Dataset:
    rows = np.arange(n_rows)
    features = pd.DataFrame(
        {
            "marker": rows.astype(float),
            "noise": ((rows * 13) % 17).astype(float),
            "tag": pd.Categorical([f"t{i}" for i in rows]),
        }
    )
    if test_rows_value is not None:
        features.loc[list(test_rows), "noise"] = test_rows_value
    return _dataset(features, np.where(rows % 3 == 0, "a", np.where(rows % 3 == 1, "b", "c")))


def _test_rows(split) -> np.ndarray:
    """Recover the original row numbers of the test set from the standardised (monotone) 'marker'."""
    column = split.feature_names.index("marker")
    combined = np.concatenate([split.X_pool[:, column], split.X_test[:, column]])
    ranks = np.argsort(np.argsort(combined))
    return np.sort(ranks[len(split.X_pool) :])


def test_preprocessing_is_fitted_on_the_pool_only():
    split = split_dataset(_marked_dataset(), random_state=3)
    test_rows = _test_rows(split)

    # Making the test rows' features extreme must not move the pool's preprocessing at all.
    shifted = split_dataset(_marked_dataset(test_rows_value=1e6, test_rows=test_rows), random_state=3)
    np.testing.assert_array_equal(shifted.X_pool, split.X_pool)
    np.testing.assert_array_equal(shifted.y_test, split.y_test)

    numeric = [split.feature_names.index(name) for name in ("marker", "noise")]
    np.testing.assert_allclose(split.X_pool[:, numeric].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(split.X_pool[:, numeric].std(axis=0), 1.0)

    # Every 'tag' value is unique, so the test rows' values were never seen: all-zero one-hot rows.
    tag_columns = [i for i, name in enumerate(split.feature_names) if name.startswith("tag_")]
    assert len(tag_columns) == len(split.X_pool)
    assert not split.X_test[:, tag_columns].any()
    assert np.isfinite(split.X_test).all()


def test_missing_values_are_imputed_and_constant_columns_dropped():
    rows = np.arange(30)
    features = pd.DataFrame(
        {
            "value": np.where(rows % 4 == 0, np.nan, rows.astype(float)),
            "constant": np.full(30, 7.0),
            "empty": np.full(30, np.nan),
            "colour": pd.Categorical(np.where(rows % 5 == 0, None, np.where(rows % 2 == 0, "red", "blue"))),
        }
    )
    split = split_dataset(_dataset(features, np.where(rows % 2 == 0, "x", "y")), random_state=0)

    assert split.feature_names == ["value", "colour_blue", "colour_red"]
    for X in (split.X_pool, split.X_test):
        assert np.isfinite(X).all()
    # One-hot rows sum to one: missing colours were imputed with the pool's most frequent value.
    np.testing.assert_array_equal(split.X_pool[:, 1:].sum(axis=1), 1.0)


def test_same_seed_same_split_and_other_seed_differs():
    dataset = load_dataset("openml:61")
    first = split_dataset(dataset, random_state=7)
    second = split_dataset(dataset, random_state=7)
    other = split_dataset(dataset, random_state=8)
    for name in ("X_pool", "y_pool", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert not np.array_equal(first.X_pool, other.X_pool)

    from_generator = split_dataset(dataset, random_state=np.random.default_rng(5))
    again = split_dataset(dataset, random_state=np.random.default_rng(5))
    np.testing.assert_array_equal(from_generator.X_pool, again.X_pool)


def test_split_is_stratified():
    split = split_dataset(load_dataset("openml:6"), test_size=0.25, random_state=0)
    pool_share = np.bincount(split.y_pool) / len(split.y_pool)
    test_share = np.bincount(split.y_test) / len(split.y_test)
    np.testing.assert_allclose(pool_share, test_share, atol=1e-3)
    assert list(split.classes[:3]) == ["A", "B", "C"]


@pytest.mark.parametrize("test_size", [0, 0.0, 1, 1.5, -0.2, "0.3", True, None])
def test_bad_test_size(test_size):
    with pytest.raises(InvalidParameterError, match=r"'test_size' parameter of split_dataset .* \(0, 1\)"):
        split_dataset(load_dataset("openml:61"), test_size=test_size)


def test_bad_random_state():
    with pytest.raises(InvalidParameterError, match="'random_state' parameter"):
        split_dataset(load_dataset("openml:61"), random_state="seven")


def test_class_with_one_row_is_rejected():
    rows = np.arange(21)
    target = np.where(rows < 10, "a", "b").astype(object)
    target[20] = "lonely"
    features = pd.DataFrame({"x": rows.astype(float)})
    with pytest.raises(DatasetError, match=r"at least 2 rows per class.*'lonely' \(1\)"):
        split_dataset(_dataset(features, target))


def test_too_few_rows_for_the_split():
    features = pd.DataFrame({"x": np.arange(6, dtype=float)})
    dataset = _dataset(features, ["a", "a", "b", "b", "c", "c"])
    with pytest.raises(DatasetError, match=r"5 pool and 1 test rows.*one row per class \(3\)"):
        split_dataset(dataset, test_size=0.1)


def test_dataset_rejects_mismatched_lengths_and_missing_labels():
    with pytest.raises(DatasetError, match="3 feature rows but 2 labels"):
        _dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), ["a", "b"])
    with pytest.raises(DatasetError, match="1 missing labels"):
        _dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), ["a", None, "b"])


# --- command line -------------------------------------------------------------------------------------


def test_cli_lists_offline_datasets(capsys):
    assert cli_main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "openml:6 " in out and "letter" in out and "20000" in out
    assert f"{offline_datasets().height} datasets available offline ({len(CC18_OFFLINE_IDS)} in OpenML-CC18)" in out

    assert cli_main(["datasets", "--cc18", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [record["openml_id"] for record in records] == list(CC18_OFFLINE_IDS)
