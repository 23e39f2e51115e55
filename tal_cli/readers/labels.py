"""YOLO label files, read exactly as ultralytics' loader reads them (``verify_image_label``, 8.4).

The loader's rules, as :func:`label_verdict` applies them to one file's text:

- rows are the non-blank lines, split on whitespace; values are parsed as float32;
- a file with any row of more than 6 values holds polygons ``class x1 y1 x2 y2 ...``: each
  becomes its bounding box, and a 5-value box row among them drops the file;
- otherwise every row must have 5 values ``class cx cy w h`` (pose data, ``kpt_shape
  [K, D]``: 5 + K * D, the keypoints checked, only the box kept);
- the coordinates (the keypoints' for pose) must be <= 1.01, every value >= 0 (down to
  -0.01 while w and h are >= 0), classes integers (``1.0`` is class 1) below the class count;
- any failure drops the **whole image** from training;
- duplicate rows are removed, and the rows that remain are then in ascending order of their
  values (class, cx, cy, w, h), which is the order the loss sees them in.

Line numbers are those of the file; a kept file's gts carry theirs.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.errors import InputFileError

if TYPE_CHECKING:
    import torch

#: Statuses of a label file: it trains (``kept``), it is a background image, or ultralytics drops the image.
KEPT, BACKGROUND, DROPPED = "kept", "background", "dropped"
#: ultralytics' coordinate tolerance: values up to 1.01, and down to -0.01 while w and h are >= 0.
UPPER, LOWER = 1.01, -0.01


@dataclass(frozen=True)
class Labels:
    """The gts of one label file, in the order ultralytics gives them to the loss.

    Attributes:
        classes: class id per gt (N,).
        boxes: ``x1, y1, x2, y2`` per gt, normalised to the original image (N x 4 floats).
        lines: the 1-based line number of each gt in its file.
    """

    classes: tuple[int, ...]
    boxes: tuple[tuple[float, float, float, float], ...]
    lines: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.classes)


NO_LABELS = Labels((), (), ())


def concat_labels(labels: Sequence[Labels]) -> tuple[torch.Tensor, torch.Tensor]:
    """The gts of several files, concatenated in order, as tensors.

    Returns:
        ``(Tensor[G, 4] float64, normalised xyxy; Tensor[G] int64, class)``, G the sum of the files' gts.
    """
    import torch

    gts = sum(map(len, labels))
    boxes = np.fromiter(itertools.chain.from_iterable(itertools.chain.from_iterable(lb.boxes for lb in labels)),
                        np.float64, 4 * gts)
    classes = np.fromiter(itertools.chain.from_iterable(lb.classes for lb in labels), np.int64, gts)
    return torch.from_numpy(boxes).view(gts, 4), torch.from_numpy(classes)


@dataclass(frozen=True)
class LabelVerdict:
    """What ultralytics' loader makes of one label file.

    Attributes:
        status: ``"kept"`` (its gts train), ``"background"`` (missing or empty file: the image
            trains with no gts) or ``"dropped"`` (ultralytics leaves the image out of training).
        labels: the gts ultralytics keeps, in its order (empty unless kept).
        reason: why it is background or dropped, in words (None when kept).
        line: the file's line the reason points at, or None.
        duplicates_removed: rows removed as duplicates (the others are then reordered).
    """

    status: str
    labels: Labels = NO_LABELS
    reason: str | None = None
    line: int | None = None
    duplicates_removed: int = 0

    def message(self, source: str | Path) -> str:
        """``"<source>, line N: <reason>"`` (or without the line)."""
        where = f"{source}, line {self.line}" if self.line is not None else f"{source}"
        return f"{where}: {self.reason}"

    def duplicates_note(self) -> str | None:
        if not self.duplicates_removed:
            return None
        n = self.duplicates_removed
        return (f"{n} duplicate label row{'s' if n > 1 else ''} removed, as ultralytics removes "
                f"{'them' if n > 1 else 'it'}; the remaining gts are in ultralytics' order (sorted by value)")


class _Drop(Exception):
    """One row that makes ultralytics drop the image (internal)."""

    def __init__(self, index: int | None, reason: str) -> None:
        super().__init__(reason)
        self.index, self.reason = index, reason


def _dropped(reason: str, line: int | None) -> LabelVerdict:
    return LabelVerdict(DROPPED, reason=f"ultralytics drops this image: {reason}", line=line)


def _float32(row: list[str], index: int) -> np.ndarray:
    """One row's values as float32 (numpy's parser, as ultralytics); a value that is not a number is named."""
    try:
        return np.array(row, dtype=np.float32)
    except ValueError:
        for token in row:
            try:
                np.float32(token)
            except ValueError:
                raise _Drop(index, f"{token!r} is not a number") from None
        raise


def _float64_rows(rows: list[list[str]]) -> np.ndarray:
    """``[N, K] float64`` of equally long rows, parsed once; a value that is not a number is named.

    numpy parses a text value to float32 through float64 (``np.array(row, dtype=np.float32)``
    equals this array cast to float32, bit for bit, and accepts the same values), and float64
    is what Python's ``float`` gives: one parse serves ultralytics' float32 checks and the
    float64 boxes.
    """
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError:
        for i, row in enumerate(rows):
            _float32(row, i)
        raise


def _polygon_boxes(rows: list[list[str]]) -> np.ndarray:
    """``[N, 5] float32`` rows ``class cx cy w h`` of polygon rows ``class x1 y1 x2 y2 ...``."""
    for i, row in enumerate(rows):
        if len(row) == 5:
            raise _Drop(i, "a box row 'class cx cy w h' in a file of polygon rows (labels mix segment and "
                           "detection rows)")
    out = np.zeros((len(rows), 5), dtype=np.float32)
    for i, row in enumerate(rows):
        values = _float32(row, i)
        points = values[1:]
        if points.size % 2:
            raise _Drop(i, f"a polygon row with an odd number of coordinates ({points.size})")
        if points.size == 0:
            raise _Drop(i, "a polygon row without points")
        xy = points.reshape(-1, 2)  # (P, 2)
        x1, y1 = xy[:, 0].min(), xy[:, 1].min()
        x2, y2 = xy[:, 0].max(), xy[:, 1].max()
        out[i] = (values[0], (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    return out


def _first(mask: np.ndarray) -> int:
    """Index of the first True row of ``mask`` ``[N, ...]``."""
    rows = mask.reshape(mask.shape[0], -1).any(1)
    return int(np.argmax(rows))


def _check_values(lb: np.ndarray, points: np.ndarray, num_classes: int | None, classes_of: str) -> None:
    """ultralytics' value checks on ``lb [N, K]`` (``points``: the coordinates it bounds)."""
    if not points.max() <= UPPER:
        bad = ~(points <= UPPER)
        i = _first(bad)
        value = points.reshape(points.shape[0], -1)[i][bad.reshape(bad.shape[0], -1)[i]][0]
        raise _Drop(i, f"coordinate {value:g} > {UPPER} (non-normalized or out of bounds coordinates)")
    low = lb.min()
    if not (low >= 0 or (low >= LOWER and lb[:, 3:5].min() >= 0)):
        negative = ~(lb >= 0)
        i = _first(negative)
        value = lb[i][negative[i]][0]
        raise _Drop(i, f"value {value:g} fails ultralytics' label checks (NaN)" if np.isnan(value)
                    else f"negative value {value:g} (negative label values)")
    classes = lb[:, 0]
    if not (classes % 1 == 0).all():
        i = _first(~(classes % 1 == 0))
        raise _Drop(i, f"class {classes[i]:g} is not an integer (non-integer class labels)")
    if num_classes is not None and not classes.max() < num_classes:
        i = int(np.argmax(classes))
        raise _Drop(i, f"class {int(classes[i])} is outside the {num_classes} classes of {classes_of} "
                       f"(0-{num_classes - 1})")


def _polygon_box(row: list[str]) -> tuple[float, float, float, float]:
    """Normalised xyxy of a kept polygon row, from its text (float64, as the assigner's inputs are built)."""
    values = [float(v) for v in row[1:]]
    xs, ys = values[0::2], values[1::2]
    return (min(xs), min(ys), max(xs), max(ys))


def _xyxy_of(cxcywh: np.ndarray) -> tuple[tuple[float, float, float, float], ...]:
    """Normalised xyxy of ``[N, 4] float64`` box rows ``cx cy w h`` (float64 from the text, as the assigner's
    inputs are built): ``cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2``."""
    cx, cy, w, h = cxcywh.T
    return tuple(zip((cx - w / 2).tolist(), (cy - h / 2).tolist(), (cx + w / 2).tolist(), (cy + h / 2).tolist()))


def split_rows(text: str) -> tuple[list[list[str]], list[int]]:
    """The non-blank rows of label text split on whitespace, and their 1-based line numbers."""
    split = [line.split() for line in text.splitlines()]  # a blank line (whitespace only) splits to []
    numbers = [number for number, row in enumerate(split, start=1) if row]
    return [row for row in split if row], numbers


def label_verdict(text: str, num_classes: int | None = None, kpt_shape: tuple[int, int] | None = None,
                  classes_of: str = "the dataset") -> LabelVerdict:
    """Apply ultralytics' loader rules to the text of one label file (see the module docstring).

    Args:
        text: the file's text (without a byte-order mark).
        num_classes: the dataset's class count; None skips the class-range check.
        kpt_shape: ``(K, D)`` of a pose dataset: rows are ``class cx cy w h`` + K points of D values.
        classes_of: what ``num_classes`` counts, for the message (``"the dataset"``, ``"the predictions"``).

    Returns:
        the verdict; an empty text is a background image.
    """
    rows, numbers = split_rows(text)
    if not rows:
        return LabelVerdict(BACKGROUND, reason="empty label file: a background image")
    try:
        with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf are judged, not warned about
            return _verdict(rows, numbers, num_classes, kpt_shape, classes_of)
    except _Drop as drop:
        return _dropped(drop.reason, numbers[drop.index] if drop.index is not None else None)


def _verdict(rows: list[list[str]], numbers: list[int], num_classes: int | None,
             kpt_shape: tuple[int, int] | None, classes_of: str) -> LabelVerdict:
    polygon = kpt_shape is None and max(map(len, rows)) > 6
    if polygon:
        lb = _polygon_boxes(rows)
        points = lb[:, 1:]
    else:
        width = 5 + (kpt_shape[0] * kpt_shape[1] if kpt_shape is not None else 0)
        if len(set(map(len, rows))) > 1:
            i = next(i for i, row in enumerate(rows) if len(row) != len(rows[0]))
            raise _Drop(i, f"{len(rows[i])} values where line {numbers[0]} has {len(rows[0])} (rows of different "
                           "lengths)")
        values = _float64_rows(rows)
        lb = values.astype(np.float32)
        if lb.shape[1] != width:
            what = ("'class cx cy w h'" if kpt_shape is None
                    else f"'class cx cy w h' + {kpt_shape[0]} keypoints x {kpt_shape[1]} (kpt_shape)")
            raise _Drop(0, f"{lb.shape[1]} values per row; ultralytics requires {width} columns {what}")
        points = lb[:, 1:] if kpt_shape is None else lb[:, 5:].reshape(lb.shape[0], -1, kpt_shape[1])[..., :2]
    _check_values(lb, points, num_classes, classes_of)
    keep = _unique_rows(lb, rows if polygon else None)
    removed = len(lb) - len(keep)
    order = keep if removed else list(range(len(lb)))
    classes = tuple(map(int, lb[order, 0].tolist()))
    boxes = tuple(_polygon_box(rows[i]) for i in order) if polygon else _xyxy_of(values[order, 1:5])
    lines = tuple(map(numbers.__getitem__, order)) if removed else tuple(numbers)
    return LabelVerdict(KEPT, Labels(classes, boxes, lines), duplicates_removed=removed)


def _unique_rows(lb: np.ndarray, polygons: list[list[str]] | None) -> list[int]:
    """ultralytics' de-duplication: the first row of each distinct value, in ascending order of value.

    Rows are compared as float32 (class and box; the keypoints too for pose rows); distinct
    polygons that share a class and box are all kept (compared by their points' bytes, and
    then ordered by them).
    """
    rows = np.ascontiguousarray(lb + np.float32(0))  # + 0 makes -0 equal 0, as values compare (no NaN is left)
    if len(set(rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel().tolist())) == len(lb):
        return list(range(len(lb)))  # no duplicate: nothing is removed, the file order stays
    _, first = np.unique(lb, axis=0, return_index=True)
    if len(first) < len(lb) and polygons is not None:
        keys = [np.float32(r[0]).tobytes() + np.array(r[1:], dtype=np.float32).tobytes() for r in polygons]
        _, first = np.unique(np.array(keys, dtype=object), return_index=True)
    return [int(i) for i in first]


def read_text(path: Path, what: str = "YOLO label file") -> str:
    """A label file's text (UTF-8, with or without a byte-order mark).

    Raises:
        InputFileError: missing, a folder, unreadable or not UTF-8 text.
    """
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{path}: label file not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder, expected a {what}") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not a UTF-8 text file, expected YOLO label rows 'class cx cy w h'") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None


def read_label_verdict(path: str | Path | None, num_classes: int | None = None,
                       kpt_shape: tuple[int, int] | None = None, classes_of: str = "the dataset") -> LabelVerdict:
    """The verdict of a label file that may be missing (a background image, as for ultralytics).

    A file that cannot be read as UTF-8 text makes ultralytics drop the image.
    """
    if path is None or not os.path.isfile(path):  # as ultralytics: a label file it cannot stat is missing
        return LabelVerdict(BACKGROUND, reason="no label file: a background image")
    try:
        text = read_text(path if isinstance(path, Path) else Path(path))
    except InputFileError as exc:
        reason = str(exc).split(": ", 1)[-1]
        return _dropped(reason, None)
    return label_verdict(text, num_classes, kpt_shape, classes_of)


def parse_labels(text: str, source: str = "<labels>", num_classes: int | None = None,
                 kpt_shape: tuple[int, int] | None = None) -> Labels:
    """The gts of label text, in ultralytics' order.

    Raises:
        InputFileError: ultralytics would drop the image; the message names ``source``, the
            line and the reason.
    """
    verdict = label_verdict(text, num_classes, kpt_shape)
    if verdict.status == DROPPED:
        raise InputFileError(verdict.message(source))
    return verdict.labels


def read_labels(path: str | Path, num_classes: int | None = None, kpt_shape: tuple[int, int] | None = None) -> Labels:
    """Read a label file that must exist; see :func:`parse_labels`.

    Raises:
        InputFileError: missing, unreadable, not text, or a file ultralytics would drop.
    """
    path = Path(path)
    return parse_labels(read_text(path), str(path), num_classes, kpt_shape)
