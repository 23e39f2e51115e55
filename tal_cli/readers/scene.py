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
from ..core.errors import ConfigError, DroppedImageError, InputFileError
from ..core.settings import AssignerSettings
from .images import Letterbox, image_size
from .labels import Labels, read_text
from .preds import HeadOutput, read_predictions
from .verdicts import verify_pair


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
        notes: remarks worth a warning about how ultralytics reads these files (duplicate
            label rows removed and the gts reordered, a JPEG it would rewrite).
    """

    image: Path
    orig_hw: tuple[int, int]
    letterbox: Letterbox
    gt_classes: Tensor
    gt_boxes: Tensor
    label_lines: tuple[int, ...]
    head: HeadOutput
    notes: tuple[str, ...] = ()

    @property
    def num_gts(self) -> int:
        return int(self.gt_classes.numel())


def make_scene(image: str | Path, labels: Labels, head: HeadOutput, orig_hw: tuple[int, int],
               imgsz: tuple[int, int] | None = None, notes: tuple[str, ...] = ()) -> Scene:
    """Letterbox the labels of an ``orig_hw`` image into ``imgsz`` (None: ``head.imgsz``) and pair them with ``head``.

    Raises:
        InputFileError: a gt box that is not finite (ultralytics keeps pose rows whose box is
            infinite; nothing can be assigned to it).
    """
    box = Letterbox.fit(orig_hw, imgsz or head.imgsz)
    norm = torch.tensor(labels.boxes, dtype=torch.float32).reshape(-1, 4)
    boxes = box.boxes_to_input(norm)
    finite = torch.isfinite(boxes).all(1)
    if not bool(finite.all()):
        j = int((~finite).nonzero()[0])
        raise InputFileError(f"{image}: the gt of label line {labels.lines[j]} has a box that is not finite "
                             f"({', '.join(f'{v:g}' for v in labels.boxes[j])})")
    return Scene(Path(image), orig_hw, box, torch.tensor(labels.classes, dtype=torch.long),
                 boxes, labels.lines, head, tuple(notes))


def load_scene(image: str | Path, labels: str | Path | None, preds: str | Path, imgsz: tuple[int, int],
               strides: Sequence[int], reg_max: int, head: str | None = None, *,
               num_classes: int | None = None, kpt_shape: tuple[int, int] | None = None,
               explicit: bool = False, imgsz_flag: int | None = None) -> Scene:
    """Read an image, its label file and its PREDS file as training would see them.

    The image and labels are judged as ultralytics' loader judges them
    (:func:`~tal_cli.readers.verdicts.verify_pair`): a missing or empty label file is a
    background image, duplicate rows are removed (and the gts reordered as ultralytics orders
    them), and anything that makes ultralytics drop the image raises :class:`DroppedImageError`.

    Args:
        imgsz, strides, reg_max: the head's grid, unless the PREDS file's metadata says otherwise.
        head: the branch of an end-to-end output (see :func:`~tal_cli.readers.preds.decode_head`).
        num_classes: the dataset's class count; None: the predictions' (labels are checked against it).
        kpt_shape: ``(K, D)`` of a pose dataset.
        explicit: the paths were given by hand (``tal assign``): a missing image or label file is
            an error, not a dropped image or a background one.
        imgsz_flag: the ``--imgsz`` the user gave (None: not given); a PREDS file whose metadata
            says another size is an error, in every command (the file's size is a fact).

    Raises:
        DroppedImageError: ultralytics would leave this image out of training (names file and line).
        InputFileError: an unreadable PREDS file, or class counts that disagree.
        ConfigError: ``imgsz_flag`` contradicts the file's metadata (stops a sweep: it is not this file's fault).
    """
    if explicit:
        image_size(image)  # raises the one-line error (not found, a folder, not an image, too large)
        if labels is not None and not Path(labels).is_file():
            read_text(Path(labels))  # likewise for the label file
    head_out = read_predictions(preds, imgsz, strides, reg_max, head)
    return scene_from_head(image, labels, head_out, preds, num_classes=num_classes, kpt_shape=kpt_shape,
                           imgsz_flag=imgsz_flag)


def scene_from_head(image: str | Path, labels: str | Path | None, head_out: HeadOutput, preds: str | Path, *,
                    num_classes: int | None = None, kpt_shape: tuple[int, int] | None = None,
                    imgsz_flag: int | None = None) -> Scene:
    """The scene of an image whose head output is already decoded (from a file, or straight from a model).

    ``preds`` names where the head output came from, for messages. The checks and the
    verdict are :func:`load_scene`'s.
    """
    if imgsz_flag is not None and head_out.meta is not None and head_out.imgsz != (imgsz_flag, imgsz_flag):
        raise ConfigError(f"--imgsz {imgsz_flag}: {preds} was made at input {head_out.imgsz[0]}x{head_out.imgsz[1]} "
                          "(its metadata says); drop --imgsz or export again at that size")
    if num_classes is not None and num_classes != head_out.num_classes:
        raise InputFileError(f"{preds}: the predictions have {head_out.num_classes} "
                             f"class{'es' if head_out.num_classes != 1 else ''}, but the dataset has {num_classes}")
    verdict = verify_pair(image, labels, num_classes if num_classes is not None else head_out.num_classes, kpt_shape,
                          classes_of="the dataset" if num_classes is not None else "the predictions")
    if verdict.dropped:
        raise DroppedImageError(verdict.reason)
    return make_scene(image, verdict.gts, head_out, verdict.size_hw, notes=verdict.notes)


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
