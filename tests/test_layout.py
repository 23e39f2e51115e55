"""The package's import graph stays one-way, and ``tal --help`` stays light.

Every ``import`` in ``tal_cli`` (also those inside functions and ``TYPE_CHECKING`` blocks) is
read with ``ast`` and checked against the layers, lowest first:
core <- readers, writers <- analysis <- views <- ultralytics <- workflows <- commands <- cli.
A layer imports only layers below it (and not every one of them: :data:`ALLOWED`); nothing
runs upward, not even lazily. The package root gives ``__version__`` only.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "tal_cli"

#: The layers, lowest first (readers and writers are side by side: neither imports the other).
ORDER = ("core", "readers", "writers", "analysis", "views", "ultralytics", "workflows", "commands", "cli")
#: Subpackage -> the subpackages of ours it may import (itself always); each only below it in ORDER.
ALLOWED = {
    "core": set(),
    "readers": {"core"},
    "writers": {"core"},
    "analysis": {"core", "readers"},
    "views": {"core", "readers", "analysis"},
    "ultralytics": {"core", "readers", "writers", "analysis", "views"},
    "workflows": {"core", "readers", "writers", "analysis", "views", "ultralytics"},
    "commands": {"core", "readers", "writers", "analysis", "views", "ultralytics", "workflows"},
    "cli": {"commands"},
}
#: Layers that may take ``__version__`` from the package root (they record it in what they write).
VERSION_USERS = {"views", "ultralytics", "cli"}
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


def _imports(module: str, path: Path, names: bool = False) -> list[tuple]:
    """(line, absolute module name) of every import in the file; with ``names``, (line, module,
    the names taken from it: ``()`` for ``import x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name, tuple(alias.name for alias in node.names)))
            for alias in node.names:  # from . import x: x may be a module of ours
                sub = ROOT.joinpath(*f"{name}.{alias.name}".split("."))
                if sub.with_suffix(".py").is_file() or sub.is_dir():
                    found.append((node.lineno, f"{name}.{alias.name}", ()))
    return found if names else [(line, name) for line, name, _ in found]


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


def _violations(module: str, path: Path) -> list[str]:
    """What is wrong with the imports of ``module`` (at ``path``): one line each."""
    layer = _layer(module)
    bad = []
    for line, name, taken in _imports(module, path, names=True):
        if name.split(".")[0] == OURS:
            target = _layer(name)
            if target is None:
                if name != OURS or layer not in VERSION_USERS or set(taken) != {"__version__"}:
                    bad.append(f"line {line}: {name} {list(taken)} (the package root only gives __version__, to "
                               f"{', '.join(sorted(VERSION_USERS))}, which record it in what they write)")
            elif target != layer and target not in ALLOWED[layer]:
                bad.append(f"line {line}: {name} ({layer} may not import {target})")
        elif not _std(name) and name.split(".")[0] not in THIRD_PARTY[layer]:
            bad.append(f"line {line}: {name} ({layer} may not import this package)")
    return bad


def test_the_layers_are_one_way() -> None:
    """ALLOWED only ever points down ORDER, so no edit of it can make a cycle unnoticed."""
    assert set(ORDER) == set(ALLOWED) == set(THIRD_PARTY)
    upward = {layer: sorted(ALLOWED[layer] - set(ORDER[:ORDER.index(layer)])) for layer in ORDER}
    assert not any(upward.values()), upward
    assert "readers" not in ALLOWED["writers"] and "writers" not in ALLOWED["readers"]


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_imports_follow_the_layers(module: str, path: Path) -> None:
    if _layer(module) in (None, "__main__"):  # the package root (version, lazy API) and python -m
        return
    bad = _violations(module, path)
    assert not bad, f"{path.relative_to(ROOT)}:\n" + "\n".join(bad)


@pytest.mark.parametrize("layer,source", [
    ("ultralytics", "from ..workflows.train_report import read_train_record"),
    ("ultralytics", "def f():\n    from ..commands import train"),
    ("ultralytics", "from tal_cli.workflows import sweep"),
    ("workflows", "from .. import commands"),
    ("views", "from ..writers.files import write_text"),
    ("analysis", "from ..views.report import build_report"),
    ("readers", "from ..analysis.training import EpochRecord"),
    ("writers", "from ..readers.paths import display_path"),
    ("core", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..readers.scene import Scene"),
    ("analysis", "from .. import __version__"),
    ("views", "from .. import assign_image"),
])
def test_an_upward_import_is_caught(tmp_path, layer: str, source: str) -> None:
    """The checker itself: each of these imports, written in a module of ``layer``, is reported."""
    path = tmp_path / "probe.py"
    path.write_text(source + "\n", encoding="utf-8")
    assert _violations(f"{OURS}.{layer}.probe", path), source


def test_the_package_root_imports_nothing_of_ours() -> None:
    """Taking ``__version__`` from the root pulls in no layer: its public API is loaded by name, on use."""
    path = PACKAGE / "__init__.py"
    ours = [name for _, name in _imports(OURS, path) if name.split(".")[0] == OURS]
    assert ours == [], ours


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
