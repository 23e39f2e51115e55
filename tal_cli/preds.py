"""Reading saved head outputs (PREDS) and decoding them to the assigner's inputs.

Accepted layouts, recognised from shapes (a leading batch dimension of 1 is optional):

- ``head``:    dict with ``boxes [4R, A]`` (DFL logits) and ``scores [C, A]`` (class logits),
  other keys ignored — the ultralytics 8.4 head output;
- ``maps``:    list of per-level maps ``[4R + C, H, W]``, one per stride — older releases;
- ``tensor``:  one tensor ``[4R + C, A]``;
- ``decoded``: one tensor ``[4 + C, A]`` of ``cx, cy, w, h`` px then class probabilities (all
  of them in [0, 1]) — the eval output, no logits and no distributions.

Files are read with ``torch.load(weights_only=True)`` only; nothing ever unpickles code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .anchors import Level, grid_levels, make_anchors
from .boxes import dfl_expectation, distances_to_xyxy, xywh_to_xyxy
from .errors import InputFileError

ACCEPTED = (
    "dict {'boxes': [1, 4*R, A], 'scores': [1, C, A]} | list of [1, 4*R+C, H, W] per stride | "
    "tensor [1, 4*R+C, A] | decoded tensor [1, 4+C, A]"
)


@dataclass(frozen=True)
class HeadOutput:
    """One image's head output, decoded for the assigner.

    Attributes:
        layout: ``"head"``, ``"maps"``, ``"tensor"`` or ``"decoded"``.
        reg_max: R, DFL bins (1: plain distances); for ``decoded`` the configured value.
        levels: the grid of each stride.
        anchors: ``Tensor[A, 2] float32, px`` anchor centres.
        anchor_strides: ``Tensor[A] float32``, stride of each anchor.
        scores: ``Tensor[A, C] float32``, class probabilities.
        boxes: ``Tensor[A, 4] float32, xyxy px``, decoded predicted boxes.
        logits: ``Tensor[A, C] float32`` class logits, or None (``decoded``).
        distributions: ``Tensor[A, 4, R] float32`` box logits, or None (``decoded``).
    """

    layout: str
    reg_max: int
    levels: tuple[Level, ...]
    anchors: Tensor
    anchor_strides: Tensor
    scores: Tensor
    boxes: Tensor
    logits: Tensor | None
    distributions: Tensor | None

    @property
    def num_classes(self) -> int:
        return self.scores.shape[1]

    @property
    def num_anchors(self) -> int:
        return self.scores.shape[0]


def _shape(x: object) -> str:
    if isinstance(x, Tensor):
        return f"tensor {list(x.shape)}"
    if isinstance(x, dict):
        return "dict {" + ", ".join(f"{k!r}: {_shape(v)}" for k, v in x.items()) + "}"
    if isinstance(x, (list, tuple)):
        return "list [" + ", ".join(_shape(v) for v in x) + "]"
    return type(x).__name__


def _drop_batch(t: Tensor, ndim: int, what: str, path: Path) -> Tensor:
    if t.ndim == ndim + 1:
        if t.shape[0] != 1:
            raise InputFileError(f"{path}: {what} holds a batch of {t.shape[0]} images, expected 1 (got {list(t.shape)})")
        t = t[0]
    if t.ndim != ndim:
        raise InputFileError(f"{path}: {what} has shape {list(t.shape)}; accepted: {ACCEPTED}")
    if not t.is_floating_point():
        raise InputFileError(f"{path}: {what} has dtype {t.dtype}, expected floating point")
    return t.detach().to("cpu", torch.float32)


def load_raw(path: str | Path) -> object:
    """``torch.load(path, weights_only=True, map_location="cpu")`` with one-line errors."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: predictions file not found")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, expected a .pt predictions file")
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # torch raises many types (UnpicklingError, RuntimeError, EOFError...)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "Unsupported global" in str(exc) or "Unsupported class" in str(exc):
            raise InputFileError(
                f"{path}: holds Python objects that safe loading (weights_only=True) refuses; "
                "save plain tensors, lists and dicts") from None
        raise InputFileError(f"{path}: not a readable torch file ({text[:120]})") from None


def _check_anchor_count(path: Path, a: int, levels: Sequence[Level], imgsz: tuple[int, int], strides: Sequence[int]) -> None:
    expected = levels[-1].stop
    if a == expected:
        return
    hint = ""
    for n in (320, 416, 480, 512, 640, 736, 800, 960, 1024, 1280, 1536):
        if grid_levels((n, n), strides)[-1].stop == a:
            hint = f"; that count matches --imgsz {n}"
            break
    raise InputFileError(
        f"{path}: {a} anchors, but input {imgsz[0]}x{imgsz[1]} with strides "
        f"{'/'.join(map(str, strides))} has {expected}{hint}")


def decode_head(raw: object, path: str | Path, imgsz: tuple[int, int], strides: Sequence[int], reg_max: int) -> HeadOutput:
    """Recognise the layout of a loaded object and decode it. See the module docstring.

    Args:
        raw: what :func:`load_raw` returned.
        path: the file, for messages.
        imgsz: network input ``(height, width)`` px.
        strides: level strides in order.
        reg_max: R, DFL bins of the head (1: no DFL).

    Raises:
        InputFileError: unrecognised layout or sizes that do not fit ``imgsz``/``strides``.
    """
    path = Path(path)
    levels = grid_levels(imgsz, strides)
    four_r = 4 * reg_max
    if isinstance(raw, dict) and "one2many" in raw and isinstance(raw["one2many"], dict):
        raw = raw["one2many"]
    if isinstance(raw, dict) and "boxes" in raw and "scores" in raw:
        if not isinstance(raw["boxes"], Tensor) or not isinstance(raw["scores"], Tensor):
            raise InputFileError(f"{path}: found {_shape(raw)}; accepted: {ACCEPTED}")
        boxes = _drop_batch(raw["boxes"], 2, "'boxes'", path)
        scores = _drop_batch(raw["scores"], 2, "'scores'", path)
        if boxes.shape[0] != four_r:
            raise InputFileError(
                f"{path}: 'boxes' has {boxes.shape[0]} channels, expected 4*R = {four_r} (reg_max {reg_max}); "
                "set reg_max in the config if the head differs")
        if boxes.shape[1] != scores.shape[1]:
            raise InputFileError(f"{path}: 'boxes' has {boxes.shape[1]} anchors but 'scores' has {scores.shape[1]}")
        _check_anchor_count(path, boxes.shape[1], levels, imgsz, strides)
        flat, layout = torch.cat((boxes, scores), 0), "head"
    elif isinstance(raw, (list, tuple)) and raw and all(isinstance(t, Tensor) for t in raw):
        maps = [_drop_batch(t, 3, f"map {i}", path) for i, t in enumerate(raw)]
        if len(maps) != len(levels):
            raise InputFileError(f"{path}: {len(maps)} maps, expected one per stride ({len(levels)}: {list(strides)})")
        for lv, t in zip(levels, maps):
            if tuple(t.shape[1:]) != (lv.height, lv.width):
                raise InputFileError(
                    f"{path}: stride-{lv.stride} map is {t.shape[1]}x{t.shape[2]}, expected "
                    f"{lv.height}x{lv.width} for a {imgsz[0]}x{imgsz[1]} input")
            if t.shape[0] != maps[0].shape[0]:
                raise InputFileError(f"{path}: maps have different channel counts: {[m.shape[0] for m in maps]}")
        if maps[0].shape[0] <= four_r:
            raise InputFileError(f"{path}: maps have {maps[0].shape[0]} channels, expected 4*R + C > {four_r} (reg_max {reg_max})")
        flat, layout = torch.cat([t.reshape(t.shape[0], -1) for t in maps], 1), "maps"
    elif isinstance(raw, Tensor):
        flat = _drop_batch(raw, 2, "the tensor", path)
        _check_anchor_count(path, flat.shape[1], levels, imgsz, strides)
        rest = flat[4:]
        if flat.shape[0] > 4 and bool(((rest >= 0) & (rest <= 1)).all()):
            layout = "decoded"
        elif flat.shape[0] > four_r:
            layout = "tensor"
        else:
            raise InputFileError(
                f"{path}: tensor with {flat.shape[0]} channels is neither 4*R + C logits (R = {reg_max}) "
                "nor decoded 4 + C with probabilities in [0, 1]")
    else:
        raise InputFileError(f"{path}: found {_shape(raw)}; accepted: {ACCEPTED}")

    anchors, anchor_strides = make_anchors(levels)
    if layout == "decoded":
        probs = flat[4:].T.contiguous()  # (A, C)
        boxes_px = xywh_to_xyxy(flat[:4].T)  # (A, 4)
        return HeadOutput(layout, reg_max, tuple(levels), anchors, anchor_strides, probs, boxes_px, None, None)
    dist = flat[:four_r].T.reshape(-1, 4, reg_max)  # (A, 4, R)
    logits = flat[four_r:].T.contiguous()  # (A, C)
    grid_points = anchors / anchor_strides[:, None]  # (A, 2) grid units
    boxes_px = distances_to_xyxy(dfl_expectation(dist), grid_points) * anchor_strides[:, None]  # (A, 4)
    return HeadOutput(layout, reg_max, tuple(levels), anchors, anchor_strides, logits.sigmoid(), boxes_px, logits, dist)


def read_predictions(path: str | Path, imgsz: tuple[int, int], strides: Sequence[int], reg_max: int) -> HeadOutput:
    """Load and decode a PREDS file; see :func:`decode_head`."""
    return decode_head(load_raw(path), path, imgsz, strides, reg_max)
