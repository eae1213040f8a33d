"""Reading results is safe: no code from a results directory runs, bad files are named and skipped, and
text from the results cannot inject HTML into a report.

A results directory can come from someone else. ``DIR/experiment.toml`` may name modules in ``imports``;
here such a module writes a marker file when imported, and every reader (report, stopping, backtest,
load_results, a budget run resuming into the directory) must leave the marker absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from results_factory import synthetic_results, write_cells

from alsim.cli import main
from alsim.exceptions import ConfigError, InvalidInputError, ResultsWarning
from alsim.experiments import grid_completeness, load_config, load_results, parse_config
from alsim.experiments.store import CellStore
from alsim.records import load_result

REPO = Path(__file__).resolve().parents[1]


MARKER_MODULE = """
from pathlib import Path
Path({marker!r}).write_text("imported")
"""


@pytest.fixture()
def hostile_run(tmp_path, monkeypatch):
    """A results directory whose experiment.toml imports a module that leaves a marker when imported.

    ``alsim backtest`` reads a directory only through ``load_results``, which is exercised here directly.
    """
    marker = tmp_path / "code_ran"
    out = tmp_path / "received"
    out.mkdir()
    (out / "payload_r15.py").write_text(MARKER_MODULE.format(marker=str(marker)))
    (out / "experiment.toml").write_text(
        textwrap.dedent("""\
        name = "received"
        imports = ["payload_r15"]
        datasets = ["openml:61"]
        strategies = ["random", "margin", "entropy"]
        n_seeds = 3
        [budget]
        labels = 60
    """)
    )
    write_cells(
        out,
        synthetic_results(
            datasets=("iris", "wine"), seeds=(0, 1, 2), speeds={"random": 1.0, "margin": 1.5, "entropy": 1.4}
        ),
    )
    # The module would be importable from the directory itself and from the working directory.
    monkeypatch.chdir(out)
    monkeypatch.delitem(sys.modules, "payload_r15", raising=False)
    return out, marker


def test_readers_never_import_the_modules_a_results_directory_names(hostile_run, capsys):
    out, marker = hostile_run
    assert load_results(out).height > 0
    assert main(["report", str(out), "--no-progress"]) == 0
    assert "# Active-learning benchmark report: received" in (out / "report" / "report.md").read_text()
    assert main(["stopping", str(out), "--rules", "label_budget", "stabilizing_predictions"]) == 0
    assert not marker.exists()
    assert "payload_r15" not in sys.modules


def test_resuming_into_a_directory_that_imports_other_code_is_refused_without_importing(hostile_run):
    out, marker = hostile_run
    # What 'alsim budget' does with its --out directory: run a grid of its own into it.
    config = parse_config({"name": "mine", "datasets": ["openml:61"], "strategies": ["random"], "n_seeds": 1})
    with pytest.raises(ConfigError, match=r"imports Python modules this config does not .*'payload_r15'"):
        CellStore(out).prepare(config)
    assert not marker.exists()


def test_a_config_with_imports_needs_the_explicit_choice(hostile_run, tmp_path, capsys):
    out, marker = hostile_run
    with pytest.raises(ConfigError, match=r"allow_imports=True") as info:
        load_config(out / "experiment.toml")
    assert "\n" not in str(info.value) and "--allow-imports" in str(info.value)
    assert main(["run", str(out / "experiment.toml"), "--out", str(tmp_path / "new")]) == 2
    err = capsys.readouterr().err
    assert "--allow-imports" in err and len(err.strip().splitlines()) == 1
    assert not marker.exists() and not (tmp_path / "new").exists()


USER_STRATEGY = """
from alsim.strategies import QueryStrategy, check_batch_size, register_strategy


@register_strategy("lowest_index_first_r15", overwrite=True)
class LowestIndexFirst(QueryStrategy):
    def select(self, state, batch_size, random_state):
        return state.unlabeled[: check_batch_size(state, batch_size)]
"""


@pytest.mark.slow
def test_alsim_run_finds_a_module_next_to_the_config_with_allow_imports(tmp_path):
    """The console script does not put the working directory on sys.path: the config's directory is searched."""
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "lab_strategies_r15.py").write_text(USER_STRATEGY)
    (lab / "grid.toml").write_text(
        textwrap.dedent("""\
        name = "mine"
        imports = ["lab_strategies_r15"]
        datasets = ["openml:61"]
        strategies = ["lowest_index_first_r15", "random"]
        batch_sizes = [5]
        n_seeds = 2
        [budget]
        labels = 20
    """)
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = Path(sys.executable).with_name("alsim")
    command = [
        str(script),
        "run",
        str(lab / "grid.toml"),
        "--out",
        str(tmp_path / "out"),
        "--jobs",
        "2",
        "--no-progress",
        "--allow-imports",
    ]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert set(load_results(tmp_path / "out")["strategy"]) == {"lowest_index_first_r15", "random"}
    # Resuming with the same trusted config reads the stored copy (same imports): accepted.
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    # The report of that directory runs without importing anything (the strategy name is just text).
    report = subprocess.run(
        [str(script), "report", str(tmp_path / "out"), "--no-progress"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr


# ------------------------------------------------------------------------------------ unreadable files
@pytest.fixture()
def run_with_bad_files(tmp_path):
    out = tmp_path / "run"
    paths = write_cells(out, synthetic_results(datasets=("iris", "wine", "vote"), seeds=(0, 1, 2)))
    corrupt = out / "cells" / ("0" * 16 + ".parquet")
    corrupt.write_bytes(b"PAR1 this is not parquet at all")
    truncated = out / "cells" / ("1" * 16 + ".parquet")
    truncated.write_bytes(paths[0].read_bytes()[:200])
    foreign = out / "cells" / ("2" * 16 + ".parquet")
    pl.DataFrame({"x": [1, 2]}).write_parquet(foreign)
    return out, [corrupt, truncated, foreign], len(paths)


def test_load_results_names_and_skips_each_unreadable_cell_file(run_with_bad_files):
    out, bad, n_good = run_with_bad_files
    with pytest.warns(ResultsWarning) as caught:
        frame = load_results(out)
    assert frame.get_column("cell_id").n_unique() == n_good
    messages = [str(w.message) for w in caught]
    for path in bad:
        assert sum(str(path) in m for m in messages) == 1
    assert all("\n" not in m for m in messages)
    with pytest.raises(InvalidInputError, match="not a readable parquet file"):
        load_results(out, skip_unreadable=False)


def test_report_and_stopping_skip_unreadable_cells_and_say_so(run_with_bad_files, capsys):
    out, bad, _ = run_with_bad_files
    assert main(["report", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "ArrowInvalid" not in err
    assert all(f"alsim report: warning: Skipped an unreadable cell file: '{path}'" in err for path in bad)
    markdown = (out / "report" / "report.md").read_text()
    assert all(path.name in markdown for path in bad)
    assert main(["stopping", str(out), "--rules", "label_budget"]) == 0
    err = capsys.readouterr().err
    assert all(str(path) in err for path in bad) and "Traceback" not in err


@pytest.mark.parametrize("content", [b"", b"not parquet", b"PAR1" + b"\0" * 64])
def test_load_result_raises_its_typed_error_in_one_line(tmp_path, content):
    path = tmp_path / "run.parquet"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError) as info:
        load_result(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    for other in (tmp_path, tmp_path / "missing.parquet"):
        with pytest.raises(InvalidInputError):
            load_result(other)
    pl.DataFrame({"round": ["zero"]}).write_parquet(path)
    with pytest.raises(InvalidInputError, match="not an alsim simulation result"):
        load_result(path)


# ------------------------------------------------------------------------------- text from the results
def test_report_markdown_carries_no_raw_html_from_names_or_title(tmp_path):
    from alsim.reports import write_report

    frame = synthetic_results(datasets=("<script>alert(1)</script>", "wine"), seeds=(0, 1, 2))
    frame = frame.with_columns(pl.col("strategy").replace({"coreset": "<img src=x onerror=alert(2)>"}))
    path = write_report(
        frame, tmp_path / "report", n_subsamples=3, title="Report <script>alert(3)</script> [x](javascript:alert(4))"
    )
    markdown = path.read_text()
    html_text = path.with_suffix(".html").read_text()
    for text in (markdown, html_text):
        assert "<script" not in text and "<img src=x" not in text
    assert "[x](javascript:" not in markdown and "\\[x\\](javascript:" in markdown  # no link, literal text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown


# ------------------------------------------------------------------------------- incomplete grids
def test_grid_completeness_counts_the_configured_grid_without_validating_it(hostile_run):
    out, marker = hostile_run
    frame = load_results(out)
    completeness = grid_completeness(frame, out)
    assert completeness.n_configured == 9 and completeness.n_cells == frame["cell_id"].n_unique()
    assert not marker.exists()


def test_report_and_stopping_say_when_the_grid_is_incomplete_and_unbalanced(tmp_path, capsys):
    out = tmp_path / "run"
    frame = synthetic_results(datasets=("iris", "wine"), seeds=(0, 1, 2, 3), speeds={"random": 1.0, "margin": 1.5})
    frame = frame.filter(~((pl.col("strategy") == "margin") & (pl.col("seed") >= 2)))
    write_cells(out, frame)
    (out / "experiment.toml").write_text(
        'name = "half"\ndatasets = ["openml:61", "openml:187"]\nstrategies = ["random", "margin"]\nn_seeds = 4\n'
    )
    assert main(["report", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "Incomplete grid: 12 of the 16 configured cells are finished (4 not run yet)" in err
    assert "Unbalanced comparison" in err and "margin 2" in err
    header = (out / "report" / "report.md").read_text().splitlines()[2]
    assert "12 finished simulation cells of the 16 the experiment configures" in header
    assert "2 to 4 finished seeds" in header and "**Warning:**" in header
    assert main(["stopping", str(out), "--rules", "label_budget"]) == 0
    assert "Incomplete grid: 12 of the 16" in capsys.readouterr().err


def test_panels_state_unequal_seed_counts_and_name_identical_strategies():
    from alsim.metrics import aulc, learning_curves
    from alsim.reports import figures
    from alsim.reports.writer import coincident_strategies

    frame = synthetic_results(datasets=("iris",), seeds=(0, 1, 2, 3), speeds={"random": 1.0, "margin": 1.5})
    twin = frame.filter(pl.col("strategy") == "margin").with_columns(
        strategy=pl.lit("entropy"), cell_id=pl.col("cell_id") + "-twin"
    )
    frame = pl.concat([frame, twin]).filter(~((pl.col("strategy") == "random") & (pl.col("seed") >= 2)))
    groups = coincident_strategies(aulc(frame))
    assert groups == {("iris", "logreg", 10): [["entropy", "margin"]]}
    fig = figures.plot_learning_curves(
        learning_curves(frame), x="n_labeled", coincident={"iris": [["entropy", "margin"]]}
    )
    ax = fig.axes[0]
    assert ax.get_title() == "iris (2-4 seeds: unbalanced)"
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "random: 2 seeds" in texts and "entropy = margin (identical)" in texts
    styles = {line.get_color(): line.get_linestyle() for line in ax.get_lines()}
    assert len(set(styles.values())) >= 2  # the twin drawn over margin is dashed, not hidden under it
