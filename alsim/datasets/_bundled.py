"""The offline copies of OpenML datasets shipped in ``alsim/data/openml`` and their manifest."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from alsim.datasets._arff import read_arff

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

BUNDLED_DIR = Path(str(resources.files("alsim") / "data" / "openml"))


@dataclass(frozen=True)
class BundledEntry:
    """One row of ``MANIFEST.tsv``."""

    openml_id: int
    name: str
    file: str
    target: str
    instances: int
    attributes_with_target: int
    classes: int
    missing_values: int
    in_openml_cc18: bool
    ignore: tuple[str, ...]

    @property
    def path(self) -> Path:
        return BUNDLED_DIR / self.file

    @property
    def n_features(self) -> int:
        """Feature columns once the target and ignored attributes are dropped."""
        return self.attributes_with_target - 1 - len(self.ignore)


def _read_manifest() -> dict[int, BundledEntry]:
    entries: dict[int, BundledEntry] = {}
    with (BUNDLED_DIR / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            entry = BundledEntry(
                openml_id=int(row["openml_id"]),
                name=row["name"],
                file=row["file"],
                target=row["target"],
                instances=int(row["instances"]),
                attributes_with_target=int(row["attributes_with_target"]),
                classes=int(row["classes"]),
                missing_values=int(row["missing_values"]),
                in_openml_cc18=row["in_openml_cc18"].strip().lower() == "yes",
                ignore=tuple(name for name in row["ignore"].split(",") if name.strip()),
            )
            entries[entry.openml_id] = entry
    return dict(sorted(entries.items()))


MANIFEST: dict[int, BundledEntry] = _read_manifest()

CC18_OFFLINE_IDS: tuple[int, ...] = tuple(i for i, entry in MANIFEST.items() if entry.in_openml_cc18)


@functools.cache
def read_bundled_table(openml_id: int) -> pd.DataFrame:
    """Parse a bundled ARFF file once per process; callers must copy before changing it."""
    _, table = read_arff(MANIFEST[openml_id].path)
    return table


def offline_datasets() -> pl.DataFrame:
    """List the OpenML datasets that alsim can load without the network.

    Returns
    -------
    polars.DataFrame
        One row per bundled dataset, ordered by id, with columns ``openml_id``, ``name``,
        ``instances`` (rows), ``features`` (feature columns after dropping the target and ignored
        attributes), ``classes`` (declared class values), ``missing_values`` (missing cells) and
        ``in_openml_cc18``.

    Examples
    --------
    >>> from alsim.datasets import offline_datasets
    >>> table = offline_datasets()
    >>> table.filter(table["name"] == "iris")["instances"].item()
    150
    """
    import polars as pl

    entries = list(MANIFEST.values())
    return pl.DataFrame(
        {
            "openml_id": [entry.openml_id for entry in entries],
            "name": [entry.name for entry in entries],
            "instances": [entry.instances for entry in entries],
            "features": [entry.n_features for entry in entries],
            "classes": [entry.classes for entry in entries],
            "missing_values": [entry.missing_values for entry in entries],
            "in_openml_cc18": [entry.in_openml_cc18 for entry in entries],
        },
        schema={
            "openml_id": pl.Int64,
            "name": pl.String,
            "instances": pl.Int64,
            "features": pl.Int64,
            "classes": pl.Int64,
            "missing_values": pl.Int64,
            "in_openml_cc18": pl.Boolean,
        },
    )
