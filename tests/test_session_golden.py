"""The pool and stream simulations are drivers over the labeling session: their records stay bit-identical
(timing columns aside) to the ones recorded from the loop before it was rebuilt on the session
(``tests/data/golden_runs.json``, written by ``python -m tests.golden_runs``)."""

from __future__ import annotations

import json

import pytest

from tests.golden_runs import CELLS, GOLDEN_PATH, fingerprint, run_cell

GOLDEN = json.loads(GOLDEN_PATH.read_text())


@pytest.mark.parametrize(("cell", "mode", "kwargs"), CELLS, ids=[cell for cell, _, _ in CELLS])
def test_records_match_the_golden_run(cell: str, mode: str, kwargs: dict) -> None:
    assert fingerprint(run_cell(mode, kwargs)) == GOLDEN[cell]
