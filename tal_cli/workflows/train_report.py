"""The training monitor's record as files: write ``epochs.csv`` / ``epochs.json`` / ``epochs.png``,
read them back (``tal train-report``), render them as a chart or an HTML page (``--plot``, ``--html``).

A run's record lives in ``{save_dir}/tal/``. The monitor rewrites all three files after each
epoch, each atomically (a temporary file renamed into place), so a crashed run keeps every
epoch it finished and a reader never sees half a file::

    from tal_cli.workflows.train_report import read_train_record
    record = read_train_record("runs/detect/train")
    [(r.epoch, r.branch, r.zero_positive_rate) for r in record.epochs]

The pieces sit below both this module and the monitor (:mod:`tal_cli.ultralytics.monitor`),
which uses them directly: :mod:`tal_cli.readers.train_record` finds and loads the file,
:mod:`tal_cli.views.train_record` converts the records, :func:`tal_cli.writers.files.write_files`
writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..analysis.training import EpochRecord, RunInfo, TrainRecord
from ..readers.paths import display_path
from ..readers.train_record import read_record_json
from ..writers.files import save_image, write_files, write_text


def write_train_record(folder: str | Path, run: RunInfo, records: Sequence[EpochRecord],
                       chart: bool = True) -> list[Path]:
    """Write ``epochs.csv``, ``epochs.json`` and (``chart``) ``epochs.png`` into ``folder``, each atomically.

    Returns:
        the files written.

    Raises:
        InputFileError: the folder cannot be created or written.
    """
    from ..views.train_record import record_files

    return write_files(folder, record_files(run, records, chart))


def read_train_record(path: str | Path) -> TrainRecord:
    """Read a run's record: RUN_DIR, RUN_DIR/tal, or the ``epochs.json`` itself.

    Raises:
        InputFileError: missing, unreadable, not JSON, another schema, or malformed (naming the file).
    """
    from ..views.train_record import train_record

    return train_record(*read_record_json(path))


def write_train_chart(path: str | Path, record: TrainRecord) -> Path:
    """The record's chart as a picture (PNG, JPEG or WebP by the suffix)."""
    from ..views.train_record import record_chart

    return save_image(path, record_chart(record.run, record.epochs))


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
