"""No function in ``tal_cli`` is longer than :data:`MAX_LINES` lines (house style: one job per function).

A function's length is read with ``ast``: from its ``def`` line to its last line, signature,
docstring and nested functions included (decorators not). Methods and nested functions are
checked on their own too.
"""

from __future__ import annotations

import ast

from .conftest import ROOT

PACKAGE = ROOT / "tal_cli"
MAX_LINES = 80

#: Known offenders, ``"path/in/tal_cli.py::function"``, each with the issue that removes it.
ALLOWED: frozenset[str] = frozenset()


def function_lengths(source: str) -> list[tuple[str, int, int]]:
    """``(qualified name, first line, length in lines)`` of every function and method in ``source``."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                found.append((name, child.lineno, child.end_lineno - child.lineno + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def _offenders() -> dict[str, str]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for name, line, length in function_lengths(path.read_text(encoding="utf-8")):
            if length > MAX_LINES:
                out[f"{rel}::{name}"] = f"tal_cli/{rel}:{line} {name}: {length} lines"
    return out


def test_no_function_longer_than_the_limit() -> None:
    offenders = _offenders()
    new = [text for key, text in offenders.items() if key not in ALLOWED]
    assert not new, f"functions longer than {MAX_LINES} lines (split them by job):\n" + "\n".join(new)


def test_allow_list_holds_only_real_offenders() -> None:
    """An allowed function that got short (or was renamed) leaves the list, so the list cannot hide a new one."""
    stale = sorted(ALLOWED - set(_offenders()))
    assert not stale, f"no longer longer than {MAX_LINES} lines, remove from ALLOWED: {stale}"


def test_lengths_count_signature_docstring_and_nested_functions() -> None:
    source = (
        "def short():\n    return 1\n\n\n"
        "class K:\n    def method(self):\n        '''Doc.\n\n        More.\n        '''\n"
        "        def inner():\n            pass\n        return inner\n\n\n"
        "def long(\n    a,\n    b,\n):\n" + "    x = 1\n" * 79 + "    return x\n"
    )
    got = {name: length for name, _, length in function_lengths(source)}
    assert got == {"short": 2, "K.method": 8, "K.method.inner": 2, "long": 84}
    assert [name for name, length in got.items() if length > MAX_LINES] == ["long"]
