"""The training monitor's record on disk: where a run keeps it, and its ``epochs.json`` read as JSON.

A run's record lives in ``{save_dir}/tal/`` (:data:`RECORD_FOLDER`): ``epochs.csv``,
``epochs.json`` and ``epochs.png``. This module finds and reads the file; turning the JSON
into records is :func:`tal_cli.views.train_record.train_record`'s job, and
:func:`tal_cli.workflows.train_report.read_train_record` does both.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..core.errors import InputFileError

RECORD_FOLDER = "tal"
CSV_NAME, JSON_NAME, CHART_NAME = "epochs.csv", "epochs.json", "epochs.png"


def locate_record(path: str | Path) -> Path:
    """The ``epochs.json`` of RUN_DIR, of RUN_DIR/tal, or the file itself.

    Raises:
        InputFileError: nothing there, saying where it looked.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: not found")
    if path.is_file():
        return path
    for candidate in (path / RECORD_FOLDER / JSON_NAME, path / JSON_NAME):
        if candidate.is_file():
            return candidate
    raise InputFileError(f"{path}: no training record ({RECORD_FOLDER}/{JSON_NAME}); was the run trained with "
                         "tal train or add_tal_callbacks?")


def read_record_json(path: str | Path) -> tuple[Path, object]:
    """The record file found from ``path`` (:func:`locate_record`) and its JSON, not yet checked.

    Raises:
        InputFileError: missing, unreadable or not JSON (naming the file, and the line).
    """
    file = locate_record(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{file}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        return file, json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{file}, line {exc.lineno}: not JSON ({exc.msg})") from None
