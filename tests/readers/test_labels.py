"""tal_cli.readers.labels: YOLO label rows (boxes and polygons) and their errors.

Expected boxes are worked out by hand: ``x1 = cx - w/2``, ``x2 = cx + w/2`` (same for y) on
values chosen to be exact in binary, or the min/max of a polygon's points.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tal_cli.core.errors import InputFileError, TalError
from tal_cli.readers.labels import Labels, parse_labels, read_labels

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def write(tmp_path: Path, text: str, name: str = "img.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- rows -------------------------------------------------------------------------------


def test_five_value_rows_become_xyxy(tmp_path: Path) -> None:
    # row 1: cx 0.5, cy 0.5, w 0.25, h 0.5 -> x 0.5 -+ 0.125, y 0.5 -+ 0.25
    # row 2: cx 0.25, cy 0.75, w 0.5, h 0.125 -> x 0.25 -+ 0.25, y 0.75 -+ 0.0625
    path = write(tmp_path, "3 0.5 0.5 0.25 0.5\n0 0.25 0.75 0.5 0.125\n")
    labels = read_labels(path)
    assert isinstance(labels, Labels)
    assert len(labels) == 2
    assert labels.classes == (3, 0)
    assert labels.boxes == ((0.375, 0.25, 0.625, 0.75), (0.0, 0.6875, 0.5, 0.8125))
    assert labels.lines == (1, 2)
    assert all(isinstance(c, int) for c in labels.classes)


def test_class_written_as_float_integer_is_accepted() -> None:
    # '2.0' is an integer value written as a float (some exporters do that)
    labels = parse_labels("2.0 0.5 0.5 0.5 0.5")
    assert labels.classes == (2,)
    assert labels.boxes == ((0.25, 0.25, 0.75, 0.75),)


def test_zero_size_box_is_accepted() -> None:
    # w = h = 0 is allowed (>= 0): a degenerate box at the centre
    labels = parse_labels("1 0.5 0.25 0 0")
    assert labels.boxes == ((0.5, 0.25, 0.5, 0.25),)


def test_polygon_rows_become_their_bounding_box() -> None:
    # triangle (0.25, 0.5), (0.75, 0.125), (0.5, 0.875): x 0.25..0.75, y 0.125..0.875
    # quad (0.1, 0.2), (0.3, 0.2), (0.3, 0.6), (0.1, 0.6): x 0.1..0.3, y 0.2..0.6
    text = "1 0.25 0.5 0.75 0.125 0.5 0.875\n4 0.1 0.2 0.3 0.2 0.3 0.6 0.1 0.6\n"
    labels = parse_labels(text)
    assert labels.classes == (1, 4)
    assert labels.boxes == ((0.25, 0.125, 0.75, 0.875), (0.1, 0.2, 0.3, 0.6))
    assert labels.lines == (1, 2)


def test_box_and_polygon_rows_mix() -> None:
    labels = parse_labels("0 0.5 0.5 1 1\n2 0 0 1 0 1 1\n")
    assert labels.boxes == ((0.0, 0.0, 1.0, 1.0), (0.0, 0.0, 1.0, 1.0))
    assert labels.classes == (0, 2)


def test_blank_lines_are_ignored_and_line_numbers_kept(tmp_path: Path) -> None:
    # lines: 1 blank, 2 gt, 3 whitespace only, 4 blank, 5 gt (with tabs and trailing spaces)
    path = write(tmp_path, "\n0 0.5 0.5 0.5 0.5\n   \t \n\n1\t0.5 0.5  0.25 0.25  \n")
    labels = read_labels(path)
    assert labels.classes == (0, 1)
    assert labels.lines == (2, 5)
    assert labels.boxes[1] == (0.375, 0.375, 0.625, 0.625)


def test_crlf_line_endings() -> None:
    labels = parse_labels("0 0.5 0.5 0.5 0.5\r\n1 0.5 0.5 0.25 0.25\r\n")
    assert labels.classes == (0, 1)
    assert labels.lines == (1, 2)


@pytest.mark.parametrize("text", ["", "\n\n", "  \n\t\n"])
def test_empty_file_is_background(tmp_path: Path, text: str) -> None:
    labels = read_labels(write(tmp_path, text))
    assert len(labels) == 0
    assert labels.classes == () and labels.boxes == () and labels.lines == ()


def test_sample_file() -> None:
    labels = read_labels(SAMPLES / "labels" / "coffee.txt")
    assert labels.classes == (5, 6, 7)
    # row 1: 5 0.483333 0.403750 0.400000 0.717500
    x1, y1, x2, y2 = labels.boxes[0]
    assert x1 == pytest.approx(0.483333 - 0.2, abs=1e-12)
    assert y1 == pytest.approx(0.40375 - 0.35875, abs=1e-12)
    assert x2 == pytest.approx(0.683333, abs=1e-12)
    assert y2 == pytest.approx(0.7625, abs=1e-12)


# --- malformed rows: message names the file and the line ---------------------------------

BAD_ROWS = [
    # (row, message after "<file>, line 2: ")
    ("person 0.5 0.5 0.5 0.5", "expected numbers 'class cx cy w h', got 'person 0.5 0.5 0.5 0.5'"),
    ("0 0.5 0.5 0.5 x", "expected numbers 'class cx cy w h', got '0 0.5 0.5 0.5 x'"),
    ("0 0.5 0.5 0.5",
     "expected 5 values 'class cx cy w h' or a polygon 'class x1 y1 x2 y2 x3 y3 ...', got 4 values"),
    ("0", "expected 5 values 'class cx cy w h' or a polygon 'class x1 y1 x2 y2 x3 y3 ...', got 1 values"),
    ("0 0.1 0.2 0.3 0.4 0.5",
     "expected 5 values 'class cx cy w h' or a polygon 'class x1 y1 x2 y2 x3 y3 ...', got 6 values"),
    ("0 0.1 0.2 0.3 0.4 0.5 0.6 0.7",
     "expected 5 values 'class cx cy w h' or a polygon 'class x1 y1 x2 y2 x3 y3 ...', got 8 values"),
    ("-1 0.5 0.5 0.5 0.5", "class must be a non-negative integer, got '-1'"),
    ("1.5 0.5 0.5 0.5 0.5", "class must be a non-negative integer, got '1.5'"),
    ("nan 0.5 0.5 0.5 0.5", "class must be a non-negative integer, got 'nan'"),
    ("0 nan 0.5 0.5 0.5", "coordinates must be finite numbers, got '0 nan 0.5 0.5 0.5'"),
    ("0 0.5 0.5 inf 0.5", "coordinates must be finite numbers, got '0 0.5 0.5 inf 0.5'"),
    ("0 0.5 0.5 -0.25 0.5", "width and height must be >= 0, got w=-0.25 h=0.5"),
    ("0 0.5 0.5 0.25 -0.5", "width and height must be >= 0, got w=0.25 h=-0.5"),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS)
def test_malformed_row_names_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path, f"0 0.5 0.5 0.5 0.5\n{row}\n1 0.5 0.5 0.5 0.5\n", "bad.txt")
    with pytest.raises(InputFileError, match=re.escape(f"{path}, line 2: {message}")) as info:
        read_labels(path)
    assert str(info.value) == f"{path}, line 2: {message}"
    assert isinstance(info.value, TalError)


def test_error_line_counts_blank_lines() -> None:
    with pytest.raises(InputFileError, match=r"^a\.txt, line 4: class must be a non-negative integer, got '-2'$"):
        parse_labels("0 0.5 0.5 0.5 0.5\n\n\n-2 0.5 0.5 0.5 0.5\n", "a.txt")


def test_parse_labels_default_source() -> None:
    with pytest.raises(InputFileError, match=r"^<labels>, line 1: "):
        parse_labels("x")


# --- file errors ------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    with pytest.raises(InputFileError, match=f"^{re.escape(str(path))}: label file not found$"):
        read_labels(path)


def test_folder(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=f"^{re.escape(str(tmp_path))}: is a folder, expected a YOLO label file$"):
        read_labels(tmp_path)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "img.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x80")
    with pytest.raises(InputFileError, match=f"^{re.escape(str(path))}: not a text file, expected YOLO label rows"):
        read_labels(path)


def test_read_labels_accepts_str_path(tmp_path: Path) -> None:
    path = write(tmp_path, "7 0.5 0.5 0.5 0.5\n")
    assert read_labels(str(path)).classes == (7,)
