"""The training monitor's record as files: write ``epochs.csv`` / ``epochs.json`` / ``epochs.png``,
read them back (``tal train-report``), render them as a chart or an HTML page (``--plot``, ``--html``).

A run's record lives in ``{save_dir}/tal/``. The monitor rewrites all three files after each
epoch, each atomically (a temporary file renamed into place), so a crashed run keeps every
epoch it finished and a reader never sees half a file::

    from tal_cli.workflows.train_report import read_train_record
    record = read_train_record("runs/detect/train")
    [(r.epoch, r.branch, r.zero_positive_rate) for r in record.epochs]
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..analysis.training import EpochRecord, RunInfo
from ..core.errors import InputFileError
from ..readers.paths import display_path
from ..writers.files import check_folder, save_image, write_text

RECORD_FOLDER = "tal"
CSV_NAME, JSON_NAME, CHART_NAME = "epochs.csv", "epochs.json", "epochs.png"


@dataclass(frozen=True)
class TrainRecord:
    """A run's record as read back.

    Attributes:
        path: the ``epochs.json`` read.
        run: the run it belongs to.
        epochs: one record per (epoch, branch), in recorded order.
    """

    path: Path
    run: RunInfo
    epochs: tuple[EpochRecord, ...]

    @property
    def branches(self) -> list[str]:
        """Branch names, in first-recorded order."""
        return list(dict.fromkeys(r.branch for r in self.epochs)) or list(self.run.branches)

    def of_branch(self, branch: str) -> list[EpochRecord]:
        return [r for r in self.epochs if r.branch == branch]


def write_train_record(folder: str | Path, run: RunInfo, records: Sequence[EpochRecord],
                       chart: bool = True) -> list[Path]:
    """Write ``epochs.csv``, ``epochs.json`` and (``chart``) ``epochs.png`` into ``folder``, each atomically.

    Returns:
        the files written.

    Raises:
        InputFileError: the folder cannot be created or written.
    """
    from ..views.train_record import CSV_COLUMNS, csv_rows, document

    folder = check_folder(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(f"{folder}: cannot create output folder ({exc.strerror or exc})") from None
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(records))
    written = [write_text(folder / CSV_NAME, buf.getvalue()),
               write_text(folder / JSON_NAME, json.dumps(document(run, records), indent=1) + "\n")]
    if chart and records:
        written.append(write_train_chart(folder / CHART_NAME, TrainRecord(folder / JSON_NAME, run, tuple(records))))
    return written


def write_train_chart(path: str | Path, record: TrainRecord) -> Path:
    """The record's chart as a picture (PNG, JPEG or WebP by the suffix)."""
    from ..views.train_chart import train_chart

    title = f"tal train: {display_path(Path(record.run.save_dir))}"
    return save_image(path, train_chart(record.epochs, title=title, subtitle=run_subtitle(record.run)))


def write_train_html(path: str | Path, record: TrainRecord, branches: Sequence[str] | None = None,
                     epoch: int | None = None) -> Path:
    """The record as one self-contained HTML page (``tal train-report --html``), written atomically.

    Args:
        branches: the branches shown (default: every branch recorded).
        epoch: the epoch the page opens on (default: the last).

    Raises:
        InputFileError: the file cannot be written.
    """
    from ..views.html.train_page import train_page

    page = train_page(record.run, record.epochs, display_path(Path(record.path)),
                      list(branches) if branches is not None else record.branches, selected=epoch)
    return write_text(path, page)


def run_subtitle(run: RunInfo) -> str:
    """``"yolov8n.yaml on data.yaml, imgsz 320, batch 16, ultralytics 8.4.190"``."""
    parts = [f"{Path(run.model).name} on {Path(run.data).name}", f"imgsz {run.imgsz}", f"batch {run.batch}"]
    if run.world_size > 1:
        parts.append(f"{run.world_size} processes")
    parts.append(f"ultralytics {run.versions.get('ultralytics', '?')}")
    return ", ".join(parts)


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


def read_train_record(path: str | Path) -> TrainRecord:
    """Read a run's record: RUN_DIR, RUN_DIR/tal, or the ``epochs.json`` itself.

    Raises:
        InputFileError: missing, unreadable, not JSON, another schema, or malformed (naming the file).
    """
    from ..views.train_record import document_from_json

    file = locate_record(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{file}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{file}, line {exc.lineno}: not JSON ({exc.msg})") from None
    try:
        run, records = document_from_json(doc)
    except KeyError as exc:
        raise InputFileError(f"{file}: malformed training record (missing {exc})") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputFileError(f"{file}: malformed training record ({exc})") from None
    return TrainRecord(file, run, tuple(records))
