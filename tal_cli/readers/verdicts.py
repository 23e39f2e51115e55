"""Per-file verdicts of ultralytics' loader: one image and its label file, judged together.

This is the one place that decides, for every command, whether an image trains with its gts
(``kept``), trains as a background image (``background``: no or an empty label file), or is
left out of training (``dropped``: the image or a label row fails ultralytics' checks). The
image is judged first, then its labels (:mod:`.images`, :mod:`.labels`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .images import check_image
from .labels import BACKGROUND, DROPPED, KEPT, NO_LABELS, Labels, read_label_verdict

__all__ = ["BACKGROUND", "DROPPED", "KEPT", "FileVerdict", "verify_pair"]


@dataclass(frozen=True)
class FileVerdict:
    """ultralytics' verdict on one (image, label file) pair.

    Attributes:
        image: the image file.
        labels: its label file (None: none was looked for).
        status: ``"kept"``, ``"background"`` or ``"dropped"``.
        reason: one line naming the file (and line) that decides a drop or a background, else None.
        gts: the gts that train, in ultralytics' order (empty unless kept).
        duplicates_removed: duplicate rows ultralytics removes.
        size_hw: the image's ``(height, width)`` after EXIF orientation (None when unreadable).
        format: Pillow's format name, or None.
        line: the label line a drop points at, or None.
        notes: remarks worth a warning (duplicates removed, a JPEG ultralytics would rewrite).
    """

    image: Path
    labels: Path | None
    status: str
    reason: str | None
    gts: Labels
    duplicates_removed: int
    size_hw: tuple[int, int] | None
    format: str | None = None
    line: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def dropped(self) -> bool:
        return self.status == DROPPED


def verify_pair(image: str | Path, labels: str | Path | None, num_classes: int | None = None,
                kpt_shape: tuple[int, int] | None = None, verify_image: bool = False,
                classes_of: str = "the dataset") -> FileVerdict:
    """Judge an image and its label file as ultralytics' loader does; nothing is written.

    Args:
        labels: the label file; missing or None means a background image.
        num_classes: the class count labels are checked against (None: not checked).
        kpt_shape: ``(K, D)`` of a pose dataset.
        verify_image: run Pillow's full ``verify()`` as ultralytics does (else the header only).
        classes_of: what ``num_classes`` counts, for messages.
    """
    image = Path(image)
    labels = Path(labels) if labels is not None else None
    seen = check_image(image, verify=verify_image)
    if seen.problem is not None:
        return FileVerdict(image, labels, DROPPED, f"{image}: ultralytics drops this image: {seen.problem}",
                           NO_LABELS, 0, seen.size_hw, seen.format)
    verdict = read_label_verdict(labels, num_classes, kpt_shape, classes_of)
    notes = list(seen.notes)
    if verdict.status == KEPT:
        note = verdict.duplicates_note()
        if note:
            notes.append(f"{labels}: {note}")
        reason = None
    else:
        reason = verdict.message(labels if labels is not None else image)
    return FileVerdict(image, labels, verdict.status, reason, verdict.labels, verdict.duplicates_removed,
                       seen.size_hw, seen.format, verdict.line, tuple(notes))
