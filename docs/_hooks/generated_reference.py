"""MkDocs hook: reference pages generated from the code, so nothing is written twice by hand.

A page holds a marker comment (``<!-- generated: NAME -->``) that this hook replaces, at build time, with
text made from the live package:

* ``cli``: every ``alsim`` sub-command's usage and options, from the argument parser itself;
* ``strategies``: every registered query strategy, with its class documented by mkdocstrings;
* ``stopping-rules``: every registered stopping rule, likewise.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

_MARKER = re.compile(r"<!-- generated: ([a-z-]+) -->")


def _cli_reference() -> str:
    from alsim.cli import build_parser

    parser = build_parser()
    parser.prog = "alsim"
    parts = ["```text", parser.format_help().rstrip(), "```", ""]
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        parts += [f"## `alsim {name}`", "", "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


def _qualified(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _strategies_reference() -> str:
    from alsim.strategies import available_strategies, make_strategy

    rows = ["| name | class | parameters and their defaults under this name |", "|---|---|---|"]
    classes: dict[str, Any] = {}
    for name in available_strategies():
        strategy = make_strategy(name)
        cls = type(strategy)
        params = ", ".join(f"`{key}={value!r}`" for key, value in strategy.get_params().items())
        rows.append(f"| `{name}` | [`{cls.__name__}`][{_qualified(cls)}] | {params} |")
        classes.setdefault(_qualified(cls), cls)
    parts = [*rows, "", "## Classes", ""]
    for qualified in classes:
        parts += [f"::: {qualified}", "    options:", "      heading_level: 3", ""]
    return "\n".join(parts)


def _rules_reference() -> str:
    from alsim.stopping import available_rules, make_rule

    rows = ["| name | class | reads test labels |", "|---|---|---|"]
    parts: list[str] = []
    for name in available_rules():
        cls = type(make_rule(name))
        peeks = "yes: not usable in practice" if getattr(cls, "uses_test_labels", False) else "no"
        rows.append(f"| `{name}` | [`{cls.__name__}`][{_qualified(cls)}] | {peeks} |")
        parts += [f"::: {_qualified(cls)}", "    options:", "      heading_level: 3", ""]
    return "\n".join([*rows, "", "## Rules", "", *parts])


_GENERATORS: dict[str, Callable[[], str]] = {
    "cli": _cli_reference,
    "strategies": _strategies_reference,
    "stopping-rules": _rules_reference,
}


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace each ``<!-- generated: NAME -->`` marker of a page with the reference generated for NAME."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in _GENERATORS:
            raise ValueError(f"unknown generated section {name!r}; known: {sorted(_GENERATORS)}")
        return _GENERATORS[name]()

    return _MARKER.sub(replace, markdown)


def on_files(files: Any, config: Any) -> Any:
    """Publish the example reports' figures (``reports/*/``) under ``reports/`` in the site.

    The figures are the ones the project's own commands write (see each guide), so the pages show what
    the code produces today, never a hand-made copy.
    """
    from pathlib import Path

    from mkdocs.structure.files import File

    root = Path(config["config_file_path"]).parent
    for image in sorted((root / "reports").glob("**/*.png")):
        files.append(
            File(
                image.relative_to(root).as_posix(),
                src_dir=str(root),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files
