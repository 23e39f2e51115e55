"""Path helpers shared by the readers and the commands."""

from __future__ import annotations

from pathlib import Path


def display_path(path: Path | None) -> Path | None:
    """``path`` relative to the working folder when it lies below it (stable, short output)."""
    if path is None:
        return None
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path
