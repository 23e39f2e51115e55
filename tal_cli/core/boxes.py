"""Box formats and overlaps. Pure torch, no state.

Shapes use ``...`` for any leading batch dimensions; boxes are ``xyxy`` pixels unless the
name says otherwise.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

CIOU_EPS = 1e-7


def xyxy_to_xywh(boxes: Tensor) -> Tensor:
    """``Tensor[..., 4] xyxy`` -> ``Tensor[..., 4] cx, cy, w, h``."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)


def xywh_to_xyxy(boxes: Tensor) -> Tensor:
    """``Tensor[..., 4] cx, cy, w, h`` -> ``Tensor[..., 4] xyxy``."""
    cx, cy, w, h = boxes.unbind(-1)
    dw, dh = w / 2, h / 2
    return torch.stack((cx - dw, cy - dh, cx + dw, cy + dh), dim=-1)


def floor_small_boxes(boxes: Tensor, min_side: float) -> Tensor:
    """Widen every side shorter than ``min_side`` to ``min_side``, keeping the centre.

    This is the small-box floor of current ultralytics releases, used only for the
    candidate test. The box goes through ``cx, cy, w, h`` and back, as the reference does,
    so even unchanged boxes can differ from the input in the last float bit.

    Args:
        boxes: ``Tensor[..., 4] float, xyxy px``.
        min_side: the floor in pixels (the second stride when there are several).

    Returns:
        ``Tensor[..., 4]`` of the same dtype, xyxy px.
    """
    xywh = xyxy_to_xywh(boxes)
    wh = xywh[..., 2:]
    xywh = torch.cat((xywh[..., :2], torch.where(wh < min_side, torch.full_like(wh, min_side), wh)), dim=-1)
    return xywh_to_xyxy(xywh)


def centres_inside(points: Tensor, boxes: Tensor, eps: float = 1e-9) -> Tensor:
    """Whether points lie strictly inside boxes (margin > ``eps`` on all four sides).

    Args:
        points: ``Tensor[..., 2] float, px``.
        boxes: ``Tensor[..., 4] float, xyxy px``, broadcastable with ``points`` (e.g.
            ``points[None]`` of ``[1, A, 2]`` with ``boxes[:, None]`` of ``[N, 1, 4]`` gives ``[N, A]``).

    Returns:
        ``Tensor[...] bool``.
    """
    x, y = points[..., 0], points[..., 1]
    x1, y1, x2, y2 = boxes.unbind(-1)
    margin = torch.minimum(torch.minimum(x - x1, y - y1), torch.minimum(x2 - x, y2 - y))  # (..., e.g. N, A)
    return margin > eps


def _overlap_terms(box1: Tensor, box2: Tensor, eps: float):
    b1x1, b1y1, b1x2, b1y2 = box1.unbind(-1)
    b2x1, b2y1, b2x2, b2y2 = box2.unbind(-1)
    w1, h1 = b1x2 - b1x1, b1y2 - b1y1 + eps
    w2, h2 = b2x2 - b2x1, b2y2 - b2y1 + eps
    inter = (torch.minimum(b1x2, b2x2) - torch.maximum(b1x1, b2x1)).clamp(min=0) * (
        torch.minimum(b1y2, b2y2) - torch.maximum(b1y1, b2y1)
    ).clamp(min=0)
    union = w1 * h1 + w2 * h2 - inter + eps
    return (b1x1, b1y1, b1x2, b1y2, b2x1, b2y1, b2x2, b2y2, w1, h1, w2, h2), inter / union


def box_iou_paired(box1: Tensor, box2: Tensor, eps: float = CIOU_EPS) -> Tensor:
    """Plain IoU of paired boxes, with the same ``eps`` placement as :func:`box_ciou_paired`.

    Args:
        box1: ``Tensor[..., 4] float, xyxy`` (gt).
        box2: ``Tensor[..., 4] float, xyxy`` (prediction), broadcastable with ``box1``.

    Returns:
        ``Tensor[...]`` IoU.
    """
    return _overlap_terms(box1, box2, eps)[1]


def box_ciou_paired(box1: Tensor, box2: Tensor, eps: float = CIOU_EPS) -> Tensor:
    """Complete IoU of paired boxes, computed in the order of the spec for bit-level parity.

    ``w = x2 - x1``, ``h = y2 - y1 + eps``; ``iou = inter / (w1 h1 + w2 h2 - inter + eps)``;
    ``CIoU = iou - (rho2 / c2 + v * a)`` with ``c2`` the squared diagonal of the enclosing
    box (+ eps), ``rho2`` the squared centre distance, ``v = 4/pi^2 (atan(w2/h2) -
    atan(w1/h1))^2`` and ``a = v / (v - iou + 1 + eps)``. Not clamped.

    Args:
        box1: ``Tensor[..., 4] float, xyxy`` (gt).
        box2: ``Tensor[..., 4] float, xyxy`` (prediction), broadcastable with ``box1``.

    Returns:
        ``Tensor[...]`` CIoU in [-1, 1].
    """
    (b1x1, b1y1, b1x2, b1y2, b2x1, b2y1, b2x2, b2y2, w1, h1, w2, h2), iou = _overlap_terms(box1, box2, eps)
    cw = torch.maximum(b1x2, b2x2) - torch.minimum(b1x1, b2x1)
    ch = torch.maximum(b1y2, b2y2) - torch.minimum(b1y1, b2y1)
    c2 = cw.pow(2) + ch.pow(2) + eps
    rho2 = ((b2x1 + b2x2 - b1x1 - b1x2).pow(2) + (b2y1 + b2y2 - b1y1 - b1y2).pow(2)) / 4
    v = (4 / math.pi**2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
    a = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * a)


def dfl_expectation(dist_logits: Tensor) -> Tensor:
    """Expected distance of DFL logits: softmax over the R bins, dotted with ``0..R-1``.

    With R = 1 (heads without DFL) the single value is the distance itself.

    Args:
        dist_logits: ``Tensor[..., 4, R] float``.

    Returns:
        ``Tensor[..., 4]`` distances ``l, t, r, b`` in grid units.
    """
    r = dist_logits.shape[-1]
    if r == 1:
        return dist_logits[..., 0]
    bins = torch.arange(r, dtype=dist_logits.dtype, device=dist_logits.device)
    return dist_logits.softmax(-1).matmul(bins)


def distances_to_xyxy(ltrb: Tensor, points: Tensor) -> Tensor:
    """Distances from anchor points to box sides -> boxes.

    Args:
        ltrb: ``Tensor[..., A, 4] float`` left, top, right, bottom distances.
        points: ``Tensor[A, 2] float`` anchor centres, same units as ``ltrb``.

    Returns:
        ``Tensor[..., A, 4]`` xyxy: ``points - lt``, ``points + rb``.
    """
    lt, rb = ltrb[..., :2], ltrb[..., 2:]
    return torch.cat((points - lt, points + rb), dim=-1)
