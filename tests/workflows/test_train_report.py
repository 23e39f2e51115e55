"""The record's files: written atomically and together, read back from a run folder, its tal/ or the file."""

from __future__ import annotations

import csv
import json

import pytest

from tal_cli.core.errors import InputFileError
from tal_cli.readers.train_record import CHART_NAME, CSV_NAME, JSON_NAME, RECORD_FOLDER, locate_record
from tal_cli.views.train_record import CSV_COLUMNS
from tal_cli.workflows.train_report import read_train_record, write_train_chart, write_train_record

from ..views.test_train_record import make_record, make_run


def test_write_then_read(tmp_path) -> None:
    folder = tmp_path / "run" / RECORD_FOLDER
    run = make_run()
    records = [make_record(1), make_record(2)]
    written = write_train_record(folder, run, records)
    assert [p.name for p in written] == [CSV_NAME, JSON_NAME, CHART_NAME]
    assert sorted(p.name for p in folder.iterdir()) == sorted([CSV_NAME, JSON_NAME, CHART_NAME])  # no temp files
    with open(folder / CSV_NAME, newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS and [r[:2] for r in rows[1:]] == [["1", "one2many"], ["2", "one2many"]]
    for where in (tmp_path / "run", folder, folder / JSON_NAME):
        record = read_train_record(where)
        assert record.path == folder / JSON_NAME and record.run == run and list(record.epochs) == records
    assert record.branches == ["one2many"] and record.of_branch("one2one") == []


def test_rewriting_keeps_earlier_epochs(tmp_path) -> None:
    """The monitor rewrites the files after every epoch with every record so far."""
    run = make_run()
    write_train_record(tmp_path, run, [make_record(1)])
    write_train_record(tmp_path, run, [make_record(1), make_record(2)], chart=False)
    assert [r.epoch for r in read_train_record(tmp_path).epochs] == [1, 2]


def test_chart_suffixes(tmp_path) -> None:
    record = write_train_record(tmp_path, make_run(), [make_record(1)], chart=False) and read_train_record(tmp_path)
    assert write_train_chart(tmp_path / "c.jpg", record).stat().st_size > 1000
    with pytest.raises(InputFileError, match="cannot write a picture with suffix '.gif'"):
        write_train_chart(tmp_path / "c.gif", record)


def test_read_errors(tmp_path) -> None:
    with pytest.raises(InputFileError, match=f"{tmp_path / 'nope'}: not found"):
        read_train_record(tmp_path / "nope")
    with pytest.raises(InputFileError, match="no training record \\(tal/epochs.json\\); was the run trained with"):
        locate_record(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "tal.train/1",\n "run": }')
    with pytest.raises(InputFileError, match="bad.json, line 2: not JSON"):
        read_train_record(bad)
    bad.write_text(json.dumps({"schema": "tal.assign/1"}))
    with pytest.raises(InputFileError, match="not a tal training record \\(schema 'tal.assign/1'"):
        read_train_record(bad)
    bad.write_text(json.dumps({"schema": "tal.train/1", "run": {}}))
    with pytest.raises(InputFileError, match="malformed training record \\(missing 'save_dir'\\)"):
        read_train_record(bad)


def test_unwritable_folder(tmp_path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputFileError, match="is a file, expected a folder"):
        write_train_record(tmp_path / "file", make_run(), [make_record(1)])
