"""The package's import graph stays one-way, and ``tal --help`` stays light.

Every ``import`` in ``tal_cli`` (also those inside functions) is read with ``ast`` and checked
against the layers: core <- readers, writers <- analysis <- views <- workflows / ultralytics <- commands <- cli.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "tal_cli"

#: Subpackage -> the subpackages of ours it may import (itself always).
ALLOWED = {
    "core": set(),
    "readers": {"core"},
    "writers": {"core"},
    "analysis": {"core", "readers"},
    "views": {"core", "readers", "analysis"},
    "workflows": {"core", "readers", "writers", "analysis", "views", "ultralytics"},
    "ultralytics": {"core", "readers", "writers", "analysis", "views", "workflows"},
    "commands": {"core", "readers", "writers", "analysis", "views", "workflows", "ultralytics"},
    "cli": {"commands"},
}
#: Third-party packages each layer may import (besides the standard library).
THIRD_PARTY = {
    "core": {"torch"},
    "readers": {"torch", "numpy", "PIL", "yaml"},
    "writers": {"torch"},
    "analysis": {"torch"},
    "views": {"torch", "numpy", "PIL", "rich"},
    "workflows": {"torch", "numpy", "PIL"},
    "ultralytics": {"torch", "numpy", "PIL", "cv2", "ultralytics"},
    "commands": {"typer", "rich", "click"},
    "cli": {"typer"},
}
OURS = "tal_cli"


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            for alias in node.names:  # from . import x: x may be a module of ours
                sub = ROOT.joinpath(*f"{name}.{alias.name}".split("."))
                if sub.with_suffix(".py").is_file() or sub.is_dir():
                    found.append((node.lineno, f"{name}.{alias.name}"))
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != OURS or len(parts) < 2:
        return None
    return parts[1]


def _std(name: str) -> bool:
    return name.split(".")[0] in sys.stdlib_module_names or name == "__future__"


def test_every_module_belongs_to_a_layer() -> None:
    layers = {_layer(m) for m, _ in _modules()} - {None}
    assert layers <= set(ALLOWED) | {"__main__"}, layers - set(ALLOWED)


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_imports_follow_the_layers(module: str, path: Path) -> None:
    layer = _layer(module)
    if layer in (None, "__main__"):  # the package root (version, lazy API) and python -m
        return
    bad = []
    for line, name in _imports(module, path):
        if name.split(".")[0] == OURS:
            target = _layer(name)
            if target is None:
                if name not in (OURS,) or layer not in ("ultralytics", "cli", "views"):
                    bad.append(f"line {line}: {name} (the package root only gives __version__ to cli, ultralytics "
                               "and views, which record it in what they write)")
            elif target != layer and target not in ALLOWED[layer]:
                bad.append(f"line {line}: {name} ({layer} may not import {target})")
        elif not _std(name) and name.split(".")[0] not in THIRD_PARTY[layer]:
            bad.append(f"line {line}: {name} ({layer} may not import this package)")
    assert not bad, f"{path.relative_to(ROOT)}:\n" + "\n".join(bad)


def test_only_the_integration_imports_ultralytics() -> None:
    importers = {m for m, p in _modules() for _, name in _imports(m, p) if name.split(".")[0] == "ultralytics"}
    assert importers and all(_layer(m) == "ultralytics" for m in importers), importers


def test_help_imports_neither_torch_nor_pillow() -> None:
    code = ("import sys; from tal_cli.cli import app\n"
            "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
            "for sub in ('assign', 'sweep', 'export', 'check', 'train', 'train-report'):\n"
            "    try:\n        app([sub, '--help'])\n    except SystemExit:\n        pass\n"
            "heavy = sorted(m for m in ('torch', 'PIL', 'numpy', 'ultralytics') if m in sys.modules)\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout, out.stdout[-500:]


def test_public_api_from_the_package_root() -> None:
    import tal_cli
    from tal_cli import Assignment, TaskAlignedAssigner, assign
    from tal_cli.core.assigner import TaskAlignedAssigner as Core

    assert TaskAlignedAssigner is Core and callable(assign) and Assignment.__name__ == "Assignment"
    for name in tal_cli.__all__:
        assert getattr(tal_cli, name) is not None, name
    with pytest.raises(AttributeError):
        tal_cli.not_a_name  # noqa: B018
