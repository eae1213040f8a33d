"""The OpenML client path of ``load_dataset`` for ids that are not bundled.

A stand-in OpenML server runs on loopback in a thread and answers the two requests the real ``openml``
client makes for ``get_dataset(id, download_data=True)``: the dataset description
(``GET <server>/data/<id>``, XML) and the ARFF file at the description's ``oml:url`` (checked against its
md5). Unknown ids get OpenML's error 111. The client's cache goes to a temporary directory and the
client's configuration is restored afterwards.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

from alsim.datasets import load_dataset, offline_datasets, split_dataset
from alsim.exceptions import DatasetError

openml = pytest.importorskip("openml")

SHOP_ID = 990001
WEKA_ID = 990002
UNKNOWN_ID = 990404


def _shop_arff() -> str:
    """60 rows: a row id, an ignored operator column, the target in the middle, nominal and numeric
    features with missing values."""
    colours = ["red", "green", "blue"]
    lines = [
        "% A small table served by the stand-in OpenML server.",
        "@relation loopback-shop",
        "@attribute row_id numeric",
        "@attribute operator {alice,bob}",
        "@attribute colour {red,green,blue}",
        "@attribute outcome {keep,'send back'}",
        "@attribute weight real",
        "@attribute price numeric",
        "@data",
    ]
    for row in range(60):
        colour = colours[row % 3] if row % 11 else "?"
        weight = f"{(row * 7) % 13 + 0.5}" if row % 9 else "?"
        outcome = "keep" if (row * 5) % 7 < 4 else "'send back'"
        operator = "alice" if row % 2 else "bob"
        lines.append(f"{row},{operator},{colour},{outcome},{weight},{row % 17 * 1.25}")
    return "\n".join(lines) + "\n"


def _weka_arff() -> str:
    """Weka's ranged numeric syntax, which the client's own parser (liac-arff) rejects."""
    lines = [
        "@relation weka-ranges",
        "@attribute size integer [1,10]",
        "@attribute ratio real (0, inf)",
        "@attribute class { small, large}",
        "@data",
    ]
    for row in range(40):
        size = row % 10 + 1
        lines.append(f"{size},{(row % 7) / 7 + 0.1:.4f},{'small' if size <= 5 else 'large'}")
    return "\n".join(lines) + "\n"


def _description(dataset_id: int, name: str, url: str, arff_text: str, target: str, extra: str = "") -> str:
    md5 = hashlib.md5(arff_text.encode("utf-8")).hexdigest()  # the checksum OpenML publishes
    return f"""<oml:data_set_description xmlns:oml="http://openml.org/openml">
  <oml:id>{dataset_id}</oml:id>
  <oml:name>{name}</oml:name>
  <oml:version>1</oml:version>
  <oml:description>Served on loopback for alsim's tests.</oml:description>
  <oml:format>ARFF</oml:format>
  <oml:upload_date>2024-01-01T00:00:00</oml:upload_date>
  <oml:licence>Public</oml:licence>
  <oml:url>{url}</oml:url>
  <oml:file_id>{dataset_id}</oml:file_id>
  <oml:default_target_attribute>{target}</oml:default_target_attribute>{extra}
  <oml:visibility>public</oml:visibility>
  <oml:status>active</oml:status>
  <oml:md5_checksum>{md5}</oml:md5_checksum>
</oml:data_set_description>
"""


_UNKNOWN_DATASET_XML = """<oml:error xmlns:oml="http://openml.org/openml">
  <oml:code>111</oml:code>
  <oml:message>Unknown dataset</oml:message>
</oml:error>
"""


@dataclass
class StandInOpenML:
    """Routes of the stand-in server and the paths it was asked for."""

    base_url: str
    routes: dict[str, str] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)

    def add_dataset(self, dataset_id: int, name: str, arff_text: str, target: str, extra: str = "") -> None:
        file_path = f"/data/v1/download/{dataset_id}/{name}.arff"
        self.routes[f"/api/v1/xml/data/{dataset_id}"] = _description(
            dataset_id, name, self.base_url + file_path, arff_text, target, extra
        )
        self.routes[file_path] = arff_text


def _handler_for(server_state: StandInOpenML) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            server_state.requested.append(path)
            body = server_state.routes.get(path)
            status = 200
            if body is None and path.startswith("/api/v1/xml/data/"):
                status, body = 412, _UNKNOWN_DATASET_XML
            elif body is None:
                status, body = 404, "<html><body>Not found</body>"
            payload = gzip.compress(body.encode("utf-8"))
            self.send_response(status)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

    return Handler


@pytest.fixture
def stand_in_openml(tmp_path, monkeypatch) -> Iterator[StandInOpenML]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    state = StandInOpenML(base_url="")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    saved = (
        openml.config.server,
        openml.config.apikey,
        openml.config._root_cache_directory,
        openml.config.connection_n_retries,
        openml.config.retry_policy,
    )
    openml.config.server = f"{state.base_url}/api/v1/xml"
    openml.config.apikey = ""
    openml.config.set_root_cache_directory(tmp_path / "openml-cache")
    openml.config.connection_n_retries = 1
    try:
        yield state
    finally:
        (
            openml.config.server,
            openml.config.apikey,
            root,
            openml.config.connection_n_retries,
            openml.config.retry_policy,
        ) = saved
        openml.config.set_root_cache_directory(root)
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_not_bundled_id_goes_through_the_openml_client(stand_in_openml, tmp_path):
    stand_in_openml.add_dataset(
        SHOP_ID,
        "loopback-shop",
        _shop_arff(),
        target="outcome",
        extra="\n  <oml:row_id_attribute>row_id</oml:row_id_attribute>"
        "\n  <oml:ignore_attribute>operator</oml:ignore_attribute>",
    )
    assert SHOP_ID not in offline_datasets()["openml_id"]

    dataset = load_dataset(f"openml:{SHOP_ID}")

    assert stand_in_openml.requested == [
        f"/api/v1/xml/data/{SHOP_ID}",
        f"/data/v1/download/{SHOP_ID}/loopback-shop.arff",
    ]
    assert dataset.name == "loopback-shop"
    assert dataset.spec == f"openml:{SHOP_ID}"
    assert dataset.label == "outcome"
    # Row id and ignored attribute dropped, target separated, nominal features as category.
    assert list(dataset.features.columns) == ["colour", "weight", "price"]
    assert dataset.features["colour"].dtype == "category"
    assert list(dataset.features["colour"].cat.categories) == ["red", "green", "blue"]
    assert dataset.features["weight"].dtype == np.float64
    assert dataset.features["colour"].isna().sum() == 6
    assert dataset.features["weight"].isna().sum() == 7
    assert set(dataset.target) == {"keep", "send back"}
    assert len(dataset.target) == 60

    # The client cached the files in its own layout: <root>/<reversed host>/datasets/<id>/.
    cached = list((tmp_path / "openml-cache").rglob(f"datasets/{SHOP_ID}/dataset.arff"))
    assert len(cached) == 1

    split = split_dataset(dataset, random_state=0)
    assert split.X_pool.shape[0] == 42 and split.X_test.shape[0] == 18
    assert np.isfinite(split.X_pool).all() and np.isfinite(split.X_test).all()

    # A second load is served from the client's cache without any request.
    stand_in_openml.requested.clear()
    again = load_dataset(f"openml:{SHOP_ID}")
    assert stand_in_openml.requested == []
    assert again.features.equals(dataset.features)


def test_weka_dialect_from_the_client_cache_is_parsed(stand_in_openml):
    stand_in_openml.add_dataset(WEKA_ID, "weka-ranges", _weka_arff(), target="class")

    dataset = load_dataset(f"openml:{WEKA_ID}")

    assert list(dataset.features.columns) == ["size", "ratio"]
    assert dataset.features["size"].tolist()[:3] == [1.0, 2.0, 3.0]
    assert sorted(set(dataset.target)) == ["large", "small"]


def test_unknown_id_names_the_offline_ids(stand_in_openml):
    with pytest.raises(DatasetError, match=r"no accessible dataset with id 990404") as info:
        load_dataset(f"openml:{UNKNOWN_ID}")
    message = str(info.value)
    assert "61" in message and "Ids available offline" in message


def test_unreachable_server_says_how_to_get_data(stand_in_openml):
    # A port nobody listens on: the client fails to connect.
    closed = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()
    openml.config.server = f"http://127.0.0.1:{port}/api/v1/xml"

    with pytest.raises(DatasetError) as info:
        load_dataset(f"openml:{UNKNOWN_ID}")
    message = str(info.value)
    assert "not bundled" in message
    assert "set_root_cache_directory" in message
    assert ", ".join(str(i) for i in offline_datasets()["openml_id"]) in message


def test_missing_data_file_on_the_server(stand_in_openml, tmp_path):
    stand_in_openml.add_dataset(SHOP_ID, "loopback-shop", _shop_arff(), target="outcome")
    del stand_in_openml.routes[f"/data/v1/download/{SHOP_ID}/loopback-shop.arff"]

    with pytest.raises(DatasetError, match=r"could not fetch it .*Ids available offline"):
        load_dataset(f"openml:{SHOP_ID}")
    # The client removes its half-filled cache directory, so a later attempt starts clean.
    assert not list((tmp_path / "openml-cache").rglob(f"datasets/{SHOP_ID}/*"))


def test_bundled_id_never_touches_the_client(stand_in_openml):
    dataset = load_dataset("openml:61")
    assert stand_in_openml.requested == []
    assert dataset.name == "iris"
