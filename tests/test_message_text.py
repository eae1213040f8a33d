"""No message carries a literal placeholder: a plain string with ``{name!r}`` or ``{name}`` meant an f-string.

Issue 15 found a message printing ``{spec!r}`` as is. This scans every string constant of the package that
is not part of an f-string, a ``.format`` call, a pydantic error template or a docstring for a
``{identifier}`` / ``{identifier!r}`` field.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import alsim

FIELD = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.]*(![rsa])?(:[^{}]*)?\}")
PACKAGE = Path(alsim.__file__).parent


def _plain_strings(tree: ast.AST) -> list[ast.Constant]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(value) for value in node.values)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("format", "format_map") and isinstance(node.func.value, ast.Constant):
                skip.add(id(node.func.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "PydanticCustomError":
            skip.update(id(arg) for arg in node.args)  # pydantic fills the template from its context dict
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            docstring = node.body[0] if node.body else None
            if isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant):
                skip.add(id(docstring.value))
        elif isinstance(node, ast.keyword) and node.arg == "bar_format" and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))  # a tqdm template: tqdm fills {l_bar}, {elapsed}... itself
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))  # templates kept in a variable are formatted where they are used
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


def test_no_plain_string_has_a_format_placeholder():
    found = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value[:60]!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in _plain_strings(ast.parse(path.read_text(), filename=str(path)))
        if FIELD.search(node.value)
    ]
    assert found == []


def test_the_scan_finds_a_forgotten_f_prefix():
    source = 'def f(spec):\n    """Doc {spec}."""\n    raise ValueError("no dataset {spec!r}")\n    x = f"{spec!r}"\n'
    assert [node.value for node in _plain_strings(ast.parse(source)) if FIELD.search(node.value)] == [
        "no dataset {spec!r}"
    ]
