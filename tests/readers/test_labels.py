"""tal_cli.readers.labels: YOLO label rows (boxes and polygons) and their errors.

Expected boxes are worked out by hand: ``x1 = cx - w/2``, ``x2 = cx + w/2`` (same for y) on
values chosen to be exact in binary, or the min/max of a polygon's points.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from tal_cli.core.errors import InputFileError, TalError
from tal_cli.readers.labels import (
    NO_LABELS,
    Labels,
    concat_labels,
    label_verdict,
    parse_labels,
    read_label_verdict,
    read_labels,
)

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


def test_box_and_polygon_rows_mix_is_dropped() -> None:
    # ultralytics 8.4 refuses a file that mixes polygon rows and 5-value box rows
    with pytest.raises(
        InputFileError,
        match=r"^a\.txt, line 1: ultralytics drops this image: a box row 'class cx cy w h' "
        r"in a file of polygon rows \(labels mix segment and detection rows\)$",
    ):
        parse_labels("0 0.5 0.5 1 1\n2 0 0 1 0 1 1\n", "a.txt")


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


@pytest.mark.parametrize("sep", ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_rows_end_at_every_line_break_splitlines_knows(tmp_path: Path, sep: str) -> None:
    # ultralytics splits the text with str.splitlines(): a form feed, U+2028 and the rest end a row as "\n"
    # does, and count as a line; read as one row, these two would be a 9-value polygon and the image dropped
    text = f"0 0.5 0.5 0.5 0.5{sep}1 0.5 0.5 0.25 0.25\n"
    for labels in (parse_labels(text), read_labels(write(tmp_path, text))):
        assert labels.classes == (0, 1)
        assert labels.lines == (1, 2)
        assert labels.boxes[1] == (0.375, 0.375, 0.625, 0.625)


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

DROP = "ultralytics drops this image: "
BAD_ROWS = [
    # (row, message after "<file>, line 2: "), each a reason ultralytics' loader drops the image for
    ("person 0.5 0.5 0.5 0.5", DROP + "'person' is not a number"),
    ("0 0.5 0.5 0.5 x", DROP + "'x' is not a number"),
    ("0 0.5 0.5 0.5", DROP + "4 values where line 1 has 5 (rows of different lengths)"),
    ("0", DROP + "1 values where line 1 has 5 (rows of different lengths)"),
    ("0 0.1 0.2 0.3 0.4 0.5", DROP + "6 values where line 1 has 5 (rows of different lengths)"),
    ("-1 0.5 0.5 0.5 0.5", DROP + "negative value -1 (negative label values)"),
    ("1.5 0.5 0.5 0.5 0.5", DROP + "class 1.5 is not an integer (non-integer class labels)"),
    ("nan 0.5 0.5 0.5 0.5", DROP + "value nan fails ultralytics' label checks (NaN)"),
    ("0 nan 0.5 0.5 0.5", DROP + "coordinate nan > 1.01 (non-normalized or out of bounds coordinates)"),
    ("0 0.5 0.5 inf 0.5", DROP + "coordinate inf > 1.01 (non-normalized or out of bounds coordinates)"),
    ("0 0.5 0.5 1.02 0.5", DROP + "coordinate 1.02 > 1.01 (non-normalized or out of bounds coordinates)"),
    ("0 0.5 0.5 -0.25 0.5", DROP + "negative value -0.25 (negative label values)"),
    ("0 0.5 0.5 0.25 -0.005", DROP + "negative value -0.005 (negative label values)"),  # w, h: no tolerance
    ("0 -0.02 0.5 0.25 0.5", DROP + "negative value -0.02 (negative label values)"),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS)
def test_malformed_row_names_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path, f"0 0.5 0.5 0.5 0.5\n{row}\n1 0.5 0.5 0.5 0.5\n", "bad.txt")
    with pytest.raises(InputFileError, match=re.escape(f"{path}, line 2: {message}")) as info:
        read_labels(path)
    assert str(info.value) == f"{path}, line 2: {message}"
    assert isinstance(info.value, TalError)


def test_error_line_counts_blank_lines() -> None:
    with pytest.raises(InputFileError, match=r"^a\.txt, line 4: ultralytics drops this image: negative value -2 "):
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
    with pytest.raises(
        InputFileError, match=f"^{re.escape(str(path))}: not a UTF-8 text file, expected YOLO label rows"
    ):
        read_labels(path)


def test_read_labels_accepts_str_path(tmp_path: Path) -> None:
    path = write(tmp_path, "7 0.5 0.5 0.5 0.5\n")
    assert read_labels(str(path)).classes == (7,)


# --- ultralytics' tolerances, order and class ids ----------------------------------------


@pytest.mark.parametrize(
    "row", ["0 1.01 0.5 0.2 0.2", "0 -0.01 0.5 0.2 0.2", "0 0.5 -0.005 0.2 0.2", "0 0.5 0.5 1.01 1.0"]
)
def test_coordinates_within_the_one_percent_tolerance_are_kept(row: str) -> None:
    assert label_verdict(row).status == "kept"


def test_class_ids_as_ultralytics_reads_them() -> None:
    labels = parse_labels("1.0 0.5 0.5 0.5 0.5\n2e0 0.5 0.5 0.25 0.25\n", num_classes=3)
    assert labels.classes == (1, 2)
    with pytest.raises(InputFileError, match=r"line 2: ultralytics drops this image: class 3 is outside the 3 classes "
                                             r"of the dataset \(0-2\)$"):
        parse_labels("1 0.5 0.5 0.5 0.5\n3 0.5 0.5 0.5 0.5\n", num_classes=3)


def test_duplicates_are_removed_and_the_rest_sorted_by_value() -> None:
    # lines 1 and 3 are the same row; ultralytics keeps one and sorts what remains by (class, cx, cy, w, h)
    text = "2 0.5 0.5 0.25 0.25\n0 0.75 0.5 0.5 0.5\n2 0.5 0.5 0.25 0.25\n0 0.25 0.5 0.5 0.5\n"
    verdict = label_verdict(text)
    assert verdict.status == "kept" and verdict.duplicates_removed == 1
    assert verdict.labels.classes == (0, 0, 2)
    assert verdict.labels.lines == (4, 2, 1)  # the file's lines, in ultralytics' order
    assert verdict.labels.boxes[0] == (0.0, 0.25, 0.5, 0.75)


def test_without_duplicates_the_file_order_stays() -> None:
    verdict = label_verdict("2 0.5 0.5 0.25 0.25\n0 0.75 0.5 0.5 0.5\n")
    assert verdict.duplicates_removed == 0 and verdict.labels.lines == (1, 2)


def test_distinct_polygons_with_one_box_are_kept() -> None:
    # two triangles with the same bounding box and class: different points, so both stay
    text = "0 0 0 1 0 1 1\n0 0 0 0 1 1 1\n"
    verdict = label_verdict(text)
    assert verdict.duplicates_removed == 0 and len(verdict.labels) == 2


def test_polygon_rows_of_odd_length_drop_the_image() -> None:
    verdict = label_verdict("0 0.1 0.2 0.3 0.4 0.5 0.6 0.7\n")
    assert verdict.status == "dropped" and verdict.line == 1
    assert verdict.reason == DROP + "a polygon row with an odd number of coordinates (7)"


def test_pose_rows_with_kpt_shape() -> None:
    # kpt_shape [2, 3]: class cx cy w h + 2 x (x, y, visible); only the box is assigned
    row = "1 0.5 0.5 0.25 0.5 0.4 0.4 2 0.6 0.6 1"
    labels = parse_labels(row, kpt_shape=(2, 3))
    assert labels.classes == (1,) and labels.boxes == ((0.375, 0.25, 0.625, 0.75),)
    verdict = label_verdict("1 0.5 0.5 0.25 0.5 0.4 0.4 2\n", kpt_shape=(2, 3))
    assert verdict.status == "dropped"
    assert verdict.reason == DROP + (
        "8 values per row; ultralytics requires 11 columns 'class cx cy w h' + 2 keypoints x 3 (kpt_shape)"
    )
    # the keypoints' x, y are bounded, not the box's (as ultralytics checks pose rows)
    assert label_verdict("1 0.5 0.5 0.25 0.5 1.2 0.4 2 0.6 0.6 1", kpt_shape=(2, 3)).status == "dropped"


def test_pose_rows_without_kpt_shape_read_as_polygons() -> None:
    # 5 + 2 x 2 values: without kpt_shape ultralytics reads a polygon of 4 points (cx, cy), (w, h), ...
    labels = parse_labels("0 0.5 0.5 0.25 0.5 0.4 0.4 0.6 0.6\n")
    assert labels.boxes == ((0.25, 0.4, 0.6, 0.6),)


def test_missing_label_file_is_a_background_verdict(tmp_path: Path) -> None:
    verdict = read_label_verdict(tmp_path / "none.txt")
    assert verdict.status == "background" and verdict.reason == "no label file: a background image"
    assert read_label_verdict(write(tmp_path, "\n \n")).status == "background"


def test_a_folder_at_the_label_path_is_a_background(tmp_path: Path) -> None:
    # ultralytics asks os.path.isfile: a folder named like the label file is no label file, so the image trains
    # as a background (not dropped); tal check says the same. read_labels, which needs the file, refuses it.
    folder = tmp_path / "img.txt"
    (folder / "inner.txt").parent.mkdir()
    (folder / "inner.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    verdict = read_label_verdict(folder)
    assert verdict.status == "background" and verdict.reason == "no label file: a background image"
    assert read_label_verdict(str(folder)).status == "background"
    with pytest.raises(InputFileError, match=f"^{re.escape(str(folder))}: is a folder, expected a YOLO label file$"):
        read_labels(folder)


# --- one parse serves the float32 checks and the float64 boxes -------------------------------------

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TOKENS = st.one_of(
    st.floats(-2, 2, allow_nan=False).map(repr), st.integers(-5, 100).map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e-3", "+.5", "5.", "-0", "1e400", "1e-50", "3.4e39", "1_0", "0x10",
                     "1.0000000596046447753906250000001", "0.3333333333333333333333", "x", "", "--1"]))


@given(st.lists(st.lists(TOKENS, min_size=1, max_size=6), min_size=1, max_size=5))
@settings(max_examples=300, deadline=None)
def test_float32_through_float64_is_numpys_float32_parse(rows: list[list[str]]) -> None:
    # ultralytics parses rows with np.array(rows, dtype=np.float32); tal parses float64 once and casts:
    # the same values bit for bit, the same texts refused; and float64 is Python's float
    rows = [[t for t in row if t] or ["0"] for row in rows]
    width = len(rows[0])
    rows = [row[:width] + ["0"] * (width - len(row)) for row in rows]
    try:
        with np.errstate(over="ignore"):
            direct = np.array(rows, dtype=np.float32)
    except ValueError:
        direct = None
    try:
        once = np.array(rows, dtype=np.float64)
    except ValueError:
        once = None
    assert (direct is None) == (once is None)
    if once is not None:
        with np.errstate(over="ignore"):
            assert np.array_equal(direct, once.astype(np.float32), equal_nan=True)
        assert np.array_equal(once, np.array([[float(t) for t in row] for row in rows]), equal_nan=True)


def test_duplicates_compare_by_value_so_minus_zero_equals_zero() -> None:
    # -0 and 0 are one value (np.unique's view): the second row is a duplicate of the first
    verdict = label_verdict("0 0.5 0.5 0.25 0\n0 0.5 0.5 0.25 -0\n")
    assert verdict.duplicates_removed == 1 and len(verdict.labels) == 1


def test_a_label_file_that_cannot_be_looked_at_is_a_background(tmp_path: Path, monkeypatch) -> None:
    # ultralytics asks os.path.isfile, which answers False when the file cannot be looked at (a folder
    # without permission): the image trains as a background, and tal says so instead of failing
    import os

    path = write(tmp_path, "0 0.5 0.5 0.2 0.2\n")
    real_stat = os.stat

    def stat(p, *args, **kwargs):
        if os.fspath(p) == str(path):
            raise PermissionError(13, "Permission denied", str(p))
        return real_stat(p, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    assert read_label_verdict(path).status == "background"


def test_concat_labels_keeps_file_order_and_float64() -> None:
    a = Labels((3, 1), ((0.1, 0.2, 0.3, 0.4), (0.5, 0.6, 0.7, 0.8)), (1, 2))
    b = Labels((7,), ((0.25, 0.125, 1 / 3, 1.0),), (4,))
    boxes, classes = concat_labels([a, NO_LABELS, b])
    assert boxes.dtype == torch.float64 and boxes.shape == (3, 4)
    assert boxes.tolist() == [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], [0.25, 0.125, 1 / 3, 1.0]]
    assert classes.tolist() == [3, 1, 7] and classes.dtype == torch.int64
    empty_boxes, empty_classes = concat_labels([NO_LABELS])
    assert empty_boxes.shape == (0, 4) and empty_classes.shape == (0,)
