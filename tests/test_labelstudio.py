"""A batch goes to a real Label Studio server as tasks, an annotator labels them through the API, and the
annotations come back into the project. No mock.

The server is the ``label-studio`` package from PyPI in its own virtual environment (created once under
``$ALSIM_TEST_CACHE``, default ``~/.cache/alsim-tests``, and reused), started on loopback with a throw-away
data directory. The admin user comes from ``LABEL_STUDIO_USERNAME``/``LABEL_STUDIO_PASSWORD`` at start; the
test logs in as that user and creates a personal access token through the API, as a person does in
Account & Settings. Skipped, with the reason, only when PyPI cannot be reached to install the server.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from alsim.cli import main
from alsim.labeling import LabelingProject, init_project
from alsim.labeling.labelstudio import LabelStudio, pull_annotations, push_batch
from tests.test_labeling import CLASSES, truth, write_tickets

LABEL_STUDIO_VERSION = "1.23.2"
CACHE = Path(os.environ.get("ALSIM_TEST_CACHE", Path.home() / ".cache" / "alsim-tests"))
VENV = CACHE / "label-studio-venv"
MARKER = VENV / f"alsim-installed-label-studio-{LABEL_STUDIO_VERSION}"

pytestmark = pytest.mark.slow


def _pypi_reachable() -> str | None:
    try:
        urllib.request.urlopen("https://pypi.org/simple/label-studio/", timeout=15).close()
    except OSError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def label_studio_executable() -> Path:
    """``label-studio`` installed in its own virtual environment (installed on first use, then reused)."""
    executable = VENV / "bin" / "label-studio"
    if MARKER.exists() and executable.exists():
        return executable
    problem = _pypi_reachable()
    if problem is not None:
        pytest.skip(
            f"PyPI is unreachable ({problem}), so label-studio=={LABEL_STUDIO_VERSION} cannot be installed "
            "for the real-server test"
        )
    shutil.rmtree(VENV, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "--prefer-binary", f"label-studio=={LABEL_STUDIO_VERSION}"], check=True)
    MARKER.write_text("")  # only a complete install is reused
    return executable


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def label_studio(label_studio_executable: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A running server on loopback and a personal access token: ``(url, token)``."""
    import requests

    data = tmp_path_factory.mktemp("label-studio-data")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    email, password = "annotator@example.org", secrets.token_urlsafe(16)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO", "DJANGO"))},
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "LABEL_STUDIO_USERNAME": email,
        "LABEL_STUDIO_PASSWORD": password,
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
    }
    log = open(data / "server.log", "wb")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [
            str(label_studio_executable),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            if server.poll() is not None:
                pytest.fail(f"Label Studio exited ({server.returncode}): {(data / 'server.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/health", timeout=5).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Label Studio did not answer /health within 300 s: {(data / 'server.log').read_text()[-2000:]}"
                )
            time.sleep(1)
        yield url, _personal_access_token(url, email, password)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _personal_access_token(url: str, email: str, password: str) -> str:
    """Log in as the user (the web login form) and create a personal access token through the API."""
    import requests

    browser = requests.Session()
    browser.get(f"{url}/user/login/", timeout=30)
    csrf = browser.cookies.get("csrftoken", "")
    login = browser.post(
        f"{url}/user/login/",
        data={"email": email, "password": password, "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{url}/user/login/"},
        timeout=30,
    )
    assert login.ok, login.text[:500]
    created = browser.post(
        f"{url}/api/token/", headers={"X-CSRFToken": browser.cookies.get("csrftoken", csrf), "Referer": url}, timeout=30
    )
    assert created.ok, f"creating a personal access token failed ({created.status_code}): {created.text[:500]}"
    return str(created.json()["token"])


def _annotate_every_task(client: LabelStudio, ls_project: int, wrong_for: set[str] = frozenset()) -> int:
    """Label every open task through the API, as an annotator submitting in the labeling interface."""
    done = 0
    for task in client.tasks(ls_project):
        if task.get("total_annotations") or task.get("annotations"):
            continue
        row_id = task["data"]["row_id"]
        label = truth(row_id)
        if row_id in wrong_for:
            label = CLASSES[(CLASSES.index(label) + 1) % 3]
        client.annotate(
            task["id"], [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]
        )
        done += 1
    return done


def test_batches_go_to_label_studio_and_annotations_come_back(label_studio: tuple[str, str], tmp_path: Path) -> None:
    url, token = label_studio
    client = LabelStudio(url, token)
    table = write_tickets(tmp_path / "tickets.csv")
    with init_project(table, tmp_path / "project", id="ticket_id", label="category") as project:
        for round_index in (1, 2):
            batch, _ = project.next(8, format="labelstudio")
            ls_project, sent = push_batch(project, client)
            assert sent == 8
            assert _annotate_every_task(client, ls_project) == 8
            report = pull_annotations(project, client)
            assert report.n_new == 8 and report.unknown_ids == [] and report.new_classes == []
            labels = project.label_table().filter(project.label_table()["round"] == round_index)
            assert sorted(labels["row_id"].to_list()) == sorted(batch.row_ids)
            assert all(truth(r) == label for r, label in labels.select("row_id", "label").iter_rows())
            assert all(a.startswith("labelstudio:") for a in labels["annotator"].to_list())
        again = pull_annotations(project, client)
        assert again.n_new == 0 and "nothing changed" in again.message()
        assert project.status()["n_labeled"] == 6 + 16


def test_cli_push_and_pull(label_studio: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url, token = label_studio
    table = write_tickets(tmp_path / "tickets.csv", seed=1)
    out = str(tmp_path / "project")
    assert main(["label", "init", str(table), "--id", "ticket_id", "--label", "category", "--out", out]) == 0
    assert main(["label", "next", out, "--batch", "5", "--format", "labelstudio"]) == 0
    assert main(["label", "push", out, "--url", url, "--token", token]) == 0
    ls_project = int(capsys.readouterr().out.strip().split()[-1])
    _annotate_every_task(LabelStudio(url, token), ls_project)
    assert main(["label", "pull", out, "--url", url, "--token", token]) == 0
    assert "5 new label(s)" in capsys.readouterr().out
    with LabelingProject(out) as project:
        assert project.status()["n_labeled"] == 6 + 5
    assert main(["label", "pull", out, "--url", url, "--token", "not-a-token"]) == 2
    assert "refused the token" in capsys.readouterr().err
