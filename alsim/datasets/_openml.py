"""Datasets that are not bundled: fetched through the real ``openml`` client and its on-disk cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alsim.datasets._arff import read_arff
from alsim.datasets._bundled import MANIFEST
from alsim.exceptions import DatasetError

if TYPE_CHECKING:
    import pandas as pd

# OpenML's error codes for "no such dataset" (data/<id>) and "no access" (a private dataset).
_UNKNOWN_DATASET_CODES = (111, 112)


@dataclass(frozen=True)
class FetchedTable:
    """A dataset as the client delivers it: all attributes, plus what to use as target and to drop."""

    name: str
    table: pd.DataFrame
    default_target: str | None
    ignore: tuple[str, ...]


def fetch_openml_table(openml_id: int) -> FetchedTable:
    """Fetch dataset ``openml_id`` through ``openml.datasets.get_dataset`` (cache first, then the server).

    Raises
    ------
    DatasetError
        If the server does not know the id, cannot be reached, or the data cannot be parsed. The
        message lists the ids available offline and how to reach a server or cache.
    """
    import xml.parsers.expat

    import openml
    import requests

    try:
        dataset = openml.datasets.get_dataset(
            openml_id,
            download_data=True,
            download_qualities=False,
            download_features_meta_data=False,
        )
    except openml.exceptions.OpenMLServerException as exc:
        if exc.code in _UNKNOWN_DATASET_CODES:
            raise DatasetError(
                f"OpenML has no accessible dataset with id {openml_id} (server {openml.config.server} "
                f"answered: {exc.message}). {_offline_hint()}"
            ) from exc
        raise DatasetError(_unreachable_message(openml_id, exc)) from exc
    except (
        requests.exceptions.RequestException,
        openml.exceptions.PyOpenMLError,
        OSError,
        # Answers that are not OpenML's XML (a proxy's HTML error page, another service on that address).
        xml.parsers.expat.ExpatError,
        KeyError,
    ) as exc:
        raise DatasetError(_unreachable_message(openml_id, exc)) from exc

    ignore = tuple(dataset.ignore_attribute or ()) + _as_names(dataset.row_id_attribute)
    table = _client_table(dataset, openml_id)
    return FetchedTable(
        name=str(dataset.name),
        table=table,
        default_target=dataset.default_target_attribute,
        ignore=tuple(column for column in ignore if column in table.columns),
    )


def _client_table(dataset: object, openml_id: int) -> pd.DataFrame:
    """All columns (target, ignored and row-id attributes included) as the client decodes them.

    The client parses ARFF with liac-arff, which rejects Weka's ``integer [lo,hi]`` syntax; such
    files are already in the client's cache, so alsim's own reader takes over for them.
    """
    import arff

    try:
        table, _, _, _ = dataset.get_data(  # type: ignore[attr-defined]
            target=None, include_row_id=True, include_ignore_attribute=True
        )
    except arff.ArffException as exc:
        data_file = getattr(dataset, "data_file", None)
        if data_file is None:
            raise DatasetError(f"The OpenML client could not decode dataset {openml_id}: {exc}") from exc
        _, table = read_arff(Path(data_file))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"The OpenML client could not decode dataset {openml_id}: {exc}") from exc
    return table


def _as_names(attribute: str | list[str] | None) -> tuple[str, ...]:
    if attribute is None:
        return ()
    if isinstance(attribute, str):
        return (attribute,)
    return tuple(attribute)


def _offline_hint() -> str:
    ids = ", ".join(str(openml_id) for openml_id in MANIFEST)
    return f"Ids available offline (bundled with alsim; see `alsim datasets`): {ids}."


def _unreachable_message(openml_id: int, exc: BaseException) -> str:
    import openml

    reason = " ".join(str(exc).split())  # server answers can span lines; keep the message on one
    return (
        f"OpenML dataset {openml_id} is not bundled with alsim and the openml client could not fetch it "
        f"from {openml.config.server} ({type(exc).__name__}: {reason}). {_offline_hint()} To use other ids, "
        "connect to the internet (or set openml.config.server to a reachable OpenML server), or point the "
        "client at a cache that already holds the dataset with openml.config.set_root_cache_directory(...)."
    )
