"""Reading YOLO label files: ``class cx cy w h`` rows (or polygons), normalised to the image."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InputFileError


@dataclass(frozen=True)
class Labels:
    """The gts of one label file, in the file's order.

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


def parse_labels(text: str, source: str = "<labels>") -> Labels:
    """Parse YOLO label text.

    Rows of 5 values are ``class cx cy w h``; rows of more values are polygons ``class x1 y1
    x2 y2 ...`` (an odd number of coordinates, at least 3 points) and become their bounding
    box. Blank lines are ignored; empty text is a background image.

    Raises:
        InputFileError: a malformed row, naming ``source`` and the line.
    """
    classes, boxes, lines = [], [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        where = f"{source}, line {number}"
        try:
            cls_value = float(fields[0])
            values = [float(v) for v in fields[1:]]
        except ValueError:
            raise InputFileError(f"{where}: expected numbers 'class cx cy w h', got {raw.strip()!r}") from None
        if not cls_value.is_integer() or cls_value < 0:
            raise InputFileError(f"{where}: class must be a non-negative integer, got {fields[0]!r}")
        if not all(math.isfinite(v) for v in values):
            raise InputFileError(f"{where}: coordinates must be finite numbers, got {raw.strip()!r}")
        if len(values) == 4:
            cx, cy, w, h = values
            if w < 0 or h < 0:
                raise InputFileError(f"{where}: width and height must be >= 0, got w={w:g} h={h:g}")
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        elif len(values) >= 6 and len(values) % 2 == 0:
            xs, ys = values[0::2], values[1::2]
            box = (min(xs), min(ys), max(xs), max(ys))
        else:
            raise InputFileError(
                f"{where}: expected 5 values 'class cx cy w h' or a polygon 'class x1 y1 x2 y2 x3 y3 ...', "
                f"got {len(fields)} values")
        classes.append(int(cls_value))
        boxes.append(box)
        lines.append(number)
    return Labels(tuple(classes), tuple(boxes), tuple(lines))


def read_labels(path: str | Path) -> Labels:
    """Read a YOLO label file; see :func:`parse_labels`.

    Raises:
        InputFileError: missing, unreadable, not text, or a malformed row.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{path}: label file not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder, expected a YOLO label file") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not a text file, expected YOLO label rows 'class cx cy w h'") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_labels(text, str(path))
