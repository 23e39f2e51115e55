"""One image made ready for the assigner: gts in network pixels and the decoded head output.

This is the boundary where file formats end: everything after it sees xyxy pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..core.assigner import assign
from ..core.assignment import Assignment
from ..core.errors import InputFileError
from .images import Letterbox, open_image
from .labels import Labels, read_labels
from .preds import HeadOutput, read_predictions
from ..core.settings import AssignerSettings


@dataclass(frozen=True)
class Scene:
    """An image's gts and head output, in network-input pixels.

    Attributes:
        image: path of the image.
        orig_hw: original ``(height, width)`` px (after EXIF orientation).
        letterbox: how the image sits in the network input.
        gt_classes: ``Tensor[N] int64``.
        gt_boxes: ``Tensor[N, 4] float32, xyxy px`` in the network input.
        label_lines: 1-based line of each gt in its label file.
        head: the decoded head output.
    """

    image: Path
    orig_hw: tuple[int, int]
    letterbox: Letterbox
    gt_classes: Tensor
    gt_boxes: Tensor
    label_lines: tuple[int, ...]
    head: HeadOutput

    @property
    def num_gts(self) -> int:
        return int(self.gt_classes.numel())


def image_size(path: str | Path) -> tuple[int, int]:
    """``(height, width)`` of an image after EXIF orientation, as :func:`~tal_cli.readers.images.load_image` sees it.

    Only the header is read, except for rotated images (EXIF orientation 5-8), which are
    decoded so that the size agrees with ``load_image`` whatever the format's reader does.
    """
    from PIL import ImageOps

    with open_image(path) as im:
        if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):
            im.load()
            im = ImageOps.exif_transpose(im)
        w, h = im.size
    return h, w


def make_scene(image: str | Path, labels: Labels, head: HeadOutput, orig_hw: tuple[int, int],
               imgsz: tuple[int, int] | None = None) -> Scene:
    """Letterbox the labels of an ``orig_hw`` image into ``imgsz`` (None: ``head.imgsz``) and pair them with ``head``."""
    box = Letterbox.fit(orig_hw, imgsz or head.imgsz)
    norm = torch.tensor(labels.boxes, dtype=torch.float32).reshape(-1, 4)
    return Scene(Path(image), orig_hw, box, torch.tensor(labels.classes, dtype=torch.long),
                 box.boxes_to_input(norm), labels.lines, head)


def load_scene(image: str | Path, labels: str | Path | None, preds: str | Path, imgsz: tuple[int, int],
               strides: Sequence[int], reg_max: int, head: str | None = None) -> Scene:
    """Read an image's size, its label file (None: background) and its PREDS file.

    ``imgsz``, ``strides`` and ``reg_max`` apply unless the PREDS file's metadata says otherwise;
    ``head`` picks the branch of an end-to-end output (see :func:`~tal_cli.readers.preds.decode_head`).
    The labels are letterboxed into the input size the head output was made at.
    """
    orig_hw = image_size(image)
    gts = read_labels(labels) if labels is not None else Labels((), (), ())
    head_out = read_predictions(preds, imgsz, strides, reg_max, head)
    for cls, line in zip(gts.classes, gts.lines):
        if cls >= head_out.num_classes:
            raise InputFileError(f"{labels}, line {line}: class {cls}, but the predictions have "
                                 f"{head_out.num_classes} classes (0..{head_out.num_classes - 1})")
    return make_scene(image, gts, head_out, orig_hw)


def batch_inputs(scenes: Sequence[Scene]) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The assigner's inputs for a batch of scenes (same grid and classes), gts padded to the largest count.

    Returns:
        ``(pd_scores [B, A, C], pd_bboxes [B, A, 4], anc_points [A, 2], gt_labels [B, M, 1] int64,
        gt_bboxes [B, M, 4] float32, mask_gt [B, M, 1] bool)``; slot j of image b is the j-th gt of
        ``scenes[b]``.
    """
    b = len(scenes)
    m = max((s.num_gts for s in scenes), default=0)
    pd_scores = torch.stack([s.head.scores for s in scenes])  # (B, A, C)
    pd_bboxes = torch.stack([s.head.boxes for s in scenes])  # (B, A, 4)
    gt_labels = torch.zeros((b, m, 1), dtype=torch.long)
    gt_bboxes = torch.zeros((b, m, 4), dtype=torch.float32)
    mask_gt = torch.zeros((b, m, 1), dtype=torch.bool)
    for i, s in enumerate(scenes):
        n = s.num_gts
        gt_labels[i, :n, 0] = s.gt_classes
        gt_bboxes[i, :n] = s.gt_boxes
        mask_gt[i, :n] = True
    return pd_scores, pd_bboxes, scenes[0].head.anchors, gt_labels, gt_bboxes, mask_gt


def assign_scenes(scenes: Sequence[Scene], settings: AssignerSettings) -> Assignment:
    """Assign a batch of scenes (see :func:`batch_inputs`); ``num_classes`` and ``strides`` come from the heads.

    Returns:
        :class:`~tal_cli.core.assignment.Assignment` with B = len(scenes).
    """
    head = scenes[0].head
    return assign(*batch_inputs(scenes), settings.with_(num_classes=head.num_classes, strides=head.strides))
