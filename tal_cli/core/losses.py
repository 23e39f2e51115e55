"""The detection losses an assignment produces (spec Stage 5), split per anchor and per gt.

Given an :class:`~tal_cli.core.assignment.Assignment` and the head's raw outputs, this computes
the three terms a YOLOv8-style trainer minimises, as the reference does:

- ``tss = max(sum(target_scores), 1)``, the normaliser of every term;
- classification: ``sum(BCEWithLogits(logits, target_scores)) / tss`` over all anchors and classes;
- box: over positives, ``sum((1 - CIoU(pred_box, target_box)) * w) / tss`` with
  ``w = target_scores.sum(classes)``, both boxes divided by the anchor's stride, CIoU not clamped;
- DFL: target distances ``ltrb`` in grid units clamped to ``[0, R - 1 - 0.01]``, split between
  bins ``floor`` and ``floor + 1``, ``-(wl * log_softmax[l] + wr * log_softmax[l + 1])`` averaged
  over the 4 sides, times ``w``, summed, ``/ tss``;
- for R = 1 heads (YOLO26: plain distances, no bins) an L1 term takes DFL's place, as
  ultralytics 8.4 trains it: predicted and target distances ``ltrb`` (grid units, target not
  clamped) times the stride, divided by the input width (left, right) or height (top,
  bottom), ``|pred - target|`` averaged over the 4 sides, times ``w``, summed, ``/ tss``, with
  the dfl gain;
- gained values: box x 7.5, cls x 0.5, dfl x 1.5 (ultralytics defaults, see :class:`Gains`).

Every per-anchor and per-gt breakdown is already divided by ``tss`` (and not multiplied by a
gain), so it sums to the raw total. Pure torch: no files, no printing, no state. Gradients
flow through the predictions (nothing is detached).

Dimension names: B images, M gt slots, A anchors, C classes, R DFL bins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

from .anchors import Level
from .assignment import Assignment
from .boxes import box_ciou_paired
from .errors import ShapeError

#: Upper end of the DFL target range is ``R - 1 - DFL_MARGIN`` (grid units).
DFL_MARGIN = 0.01

REASON_DECODED = "decoded predictions carry no box distributions"
REASON_NO_SIZE = "the input size is not known, so the L1 distance term of a reg_max 1 head cannot be normalised"


class DecodedHead(Protocol):
    """What the losses need of one image's decoded head output (the readers' ``HeadOutput`` has it).

    Attributes:
        scores: ``Tensor[A, C] float``, class probabilities.
        logits: ``Tensor[A, C] float`` class logits, or None (probabilities only).
        distributions: ``Tensor[A, 4, R] float`` box logits, or None.
        boxes: ``Tensor[A, 4] float, xyxy px``, decoded predicted boxes.
        anchors: ``Tensor[A, 2] float, px``; anchor_strides: ``Tensor[A] float``.
        levels: the grid of each stride, finest first.
        reg_max: R, DFL bins (1: plain distances).
    """

    scores: Tensor
    logits: Tensor | None
    distributions: Tensor | None
    boxes: Tensor
    anchors: Tensor
    anchor_strides: Tensor
    levels: tuple[Level, ...]
    reg_max: int


@dataclass(frozen=True)
class Gains:
    """Weights of the three terms in the training loss (ultralytics defaults)."""

    box: float = 7.5
    cls: float = 0.5
    dfl: float = 1.5


@dataclass(frozen=True)
class LossTerms:
    """The three loss terms, each a 0-d tensor in the predictions' dtype.

    Attributes:
        box: ``Tensor[] float``, the CIoU box term.
        cls: ``Tensor[] float``, the classification (BCE) term.
        dfl: ``Tensor[] float``, the third term: the distribution focal term, or for R = 1
            heads the L1 distance term (:attr:`Losses.third` says which); None when unavailable.
    """

    box: Tensor
    cls: Tensor
    dfl: Tensor | None

    def as_tuple(self) -> tuple[Tensor, Tensor, Tensor | None]:
        """``(box, cls, dfl)``, the order of the reference's ``loss_box_cls_dfl_gained``."""
        return self.box, self.cls, self.dfl

    def floats(self) -> tuple[float, float, float | None]:
        """``(box, cls, dfl)`` as Python floats (dfl None when unavailable)."""
        return float(self.box), float(self.cls), None if self.dfl is None else float(self.dfl)


@dataclass(frozen=True)
class Losses:
    """The losses of one assignment, with the breakdowns that explain them.

    Per-anchor maps are dense ``[B, A]`` (anchor order of the assignment) and hold 0 on
    background anchors unless stated otherwise; per-gt arrays are ``[B, M]`` over gt slots
    (0 on padded slots). Every breakdown is after ``/ target_scores_sum`` and before gains.

    Attributes:
        raw: the terms before gains.
        gained: the terms times :attr:`gains` (what the reference reports).
        gains: the gains used.
        target_scores_sum: ``Tensor[] float``, the normaliser ``max(target_score_total, 1)``.
        target_score_total: ``Tensor[] float``, ``sum(target_scores)`` before the ``max(., 1)``.
        third: ``"dfl"``, or ``"l1"`` for R = 1 heads: what ``raw.dfl``, ``anchor_dfl`` and
            ``gt_dfl`` hold (ultralytics keeps both in the same slot and gain).
        reg_max: R, DFL bins of the head (1: plain distances), or None if not known.
        dfl_reach: ``R - 1 - 0.01``, the largest target distance (grid units) the DFL bins can
            express; None when R is 1 or not known.
        dfl_unavailable_reason: why ``raw.dfl`` is None, else None.
        anchor_cls: ``Tensor[B, A] float``, BCE summed over classes, on *every* anchor.
        anchor_box: ``Tensor[B, A] float``, ``(1 - CIoU) * w`` of each positive.
        anchor_dfl: ``Tensor[B, A] float`` DFL of each positive (mean over sides, times ``w``),
            or None with ``raw.dfl``.
        anchor_ciou: ``Tensor[B, A] float``, CIoU of (predicted, target) box of each positive
            (not divided by anything; 0 on background).
        anchor_target_ltrb: ``Tensor[B, A, 4] float``, each positive's target distances
            left, top, right, bottom in grid units *before* clamping (negative when the anchor
            lies outside its gt box; 0 on background).
        anchor_beyond_reach: ``Tensor[B, A] bool``, positives with a target side
            ``> dfl_reach``: the head cannot express the box ("object too large for the
            head"); all False when ``dfl_reach`` is None.
        gt_box: ``Tensor[B, M] float``, sum of ``anchor_box`` over the gt's positives.
        gt_dfl: ``Tensor[B, M] float`` likewise for DFL, or None with ``raw.dfl``.
        gt_cls_positive: ``Tensor[B, M] float``, sum of ``anchor_cls`` over the gt's positives.
        gt_target_score: ``Tensor[B, M] float``, sum of the gt's positives' target scores
            (sums to ``target_score_total``, not divided by anything).
        gt_beyond_reach: ``Tensor[B, M] int64``, how many of the gt's positives are beyond reach.
        image_cls_positive: ``Tensor[B] float``, ``anchor_cls`` summed over positive anchors.
        image_cls_background: ``Tensor[B] float``, ``anchor_cls`` summed over background anchors
            (``image_cls_positive + image_cls_background`` summed over images is ``raw.cls``).
    """

    raw: LossTerms
    gained: LossTerms
    gains: Gains
    target_scores_sum: Tensor
    target_score_total: Tensor
    third: str
    reg_max: int | None
    dfl_reach: float | None
    dfl_unavailable_reason: str | None
    anchor_cls: Tensor
    anchor_box: Tensor
    anchor_dfl: Tensor | None
    anchor_ciou: Tensor
    anchor_target_ltrb: Tensor
    anchor_beyond_reach: Tensor
    gt_box: Tensor
    gt_dfl: Tensor | None
    gt_cls_positive: Tensor
    gt_target_score: Tensor
    gt_beyond_reach: Tensor
    image_cls_positive: Tensor
    image_cls_background: Tensor


def default_prob_eps(dtype: torch.dtype) -> float:
    """Clamp for probabilities turned back into logits: the dtype's machine epsilon.

    ``1 - eps`` must stay below 1 in the dtype, so the largest logit recoverable is about
    ``log(1 / eps)`` (15.9 in float32, 36 in float64). Probabilities saturated at exactly 0 or 1
    have lost their logit; the clamp keeps their BCE finite.
    """
    return float(torch.finfo(dtype).eps)


def logits_from_probabilities(probs: Tensor, eps: float | None = None) -> Tensor:
    """``logit(clamp(p, eps, 1 - eps))`` for predictions saved as probabilities.

    Args:
        probs: ``Tensor[...] float`` in [0, 1].
        eps: the clamp; None means :func:`default_prob_eps` of ``probs.dtype``
            (1.19e-7 in float32).

    Returns:
        ``Tensor[...]`` logits, same dtype, ``|logit| <= log((1 - eps) / eps)``.
    """
    if eps is None:
        eps = default_prob_eps(probs.dtype)
    return torch.logit(probs.clamp(eps, 1 - eps))


def _check_shapes(assignment: Assignment, logits: Tensor, distributions: Tensor | None, pred_boxes: Tensor,
                  anchors: Tensor, anchor_strides: Tensor) -> None:
    b, a, c = assignment.target_scores.shape
    expected = [
        ("logits", logits, (b, a, c), "[B, A, C]"),
        ("pred_boxes", pred_boxes, (b, a, 4), "[B, A, 4]"),
        ("anchors", anchors, (a, 2), "[A, 2]"),
        ("anchor_strides", anchor_strides, (a,), "[A]"),
    ]
    for name, t, shape, text in expected:
        if tuple(t.shape) != shape:
            raise ShapeError(
                f"{name}: expected Tensor{text} = {list(shape)} (from the assignment), got {list(t.shape)}"
            )
    if distributions is not None and (distributions.ndim != 4 or tuple(distributions.shape[:3]) != (b, a, 4)):
        raise ShapeError(
            f"distributions: expected Tensor[B, A, 4, R] with B, A = {b}, {a}, got {list(distributions.shape)}"
        )


def compute_losses(
    assignment: Assignment,
    logits: Tensor,
    distributions: Tensor | None,
    pred_boxes: Tensor,
    anchors: Tensor,
    anchor_strides: Tensor,
    gains: Gains = Gains(),
    *,
    reg_max: int | None = None,
    dfl_unavailable_reason: str | None = None,
    softplus_sum: Tensor | None = None,
    input_hw: tuple[int, int] | None = None,
) -> Losses:
    """The box, classification and DFL losses of an assignment, with per-anchor and per-gt parts.

    Args:
        assignment: the assignment of the batch (B, M, A, C come from it).
        logits: ``Tensor[B, A, C] float``, class logits (for probabilities, pass
            :func:`logits_from_probabilities` of them).
        distributions: ``Tensor[B, A, 4, R] float`` DFL logits per side, or None (then DFL is
            None, with ``dfl_unavailable_reason`` or the decoded-layout reason).
        pred_boxes: ``Tensor[B, A, 4] float, xyxy px``, decoded predicted boxes; divided by the
            anchor's stride for the box term (exact for power-of-two strides).
        anchors: ``Tensor[A, 2] float, px``, anchor centres.
        anchor_strides: ``Tensor[A] float``, stride of each anchor.
        gains: multipliers for the gained terms.
        reg_max: R when ``distributions`` is None (for the reach flags only); ignored otherwise.
        dfl_unavailable_reason: the reason reported when ``distributions`` is None.
        softplus_sum: ``Tensor[B, A] float``, ``softplus(logits).sum(-1)``, optional: it does
            not depend on the assignment, so a caller assigning the same predictions under
            several settings can compute it once; background rows then use it (their BCE is
            ``softplus(x)``), positive rows the direct BCE.
        input_hw: network input ``(height, width)`` px as the grid spans it (finest grid times
            its stride); needed for the L1 term of R = 1 heads, else that term is None.

    Returns:
        :class:`Losses`, every tensor in ``logits.dtype`` on its device.

    Raises:
        ShapeError: a tensor's shape disagrees with the assignment.
    """
    _check_shapes(assignment, logits, distributions, pred_boxes, anchors, anchor_strides)
    dtype = logits.dtype
    target_scores = assignment.target_scores.to(dtype)  # (B, A, C)
    total = target_scores.sum()
    tss = total.clamp(min=1)

    cls, anchor_cls = _cls_term(logits, target_scores, assignment.fg_mask, softplus_sum, tss)
    pos = _Positives.gather(assignment, target_scores, pred_boxes, anchors, anchor_strides, dtype)
    ciou, box_terms = _box_term(pos)
    r = distributions.shape[-1] if distributions is not None else reg_max
    ltrb, reach, beyond = _dfl_targets(pos, r)
    third = "l1" if r == 1 else "dfl"
    reason, dfl_terms = _third_term(pos, distributions, ltrb, r, reach, input_hw, dfl_unavailable_reason)

    box = box_terms.sum() / tss
    dfl = dfl_terms.sum() / tss if dfl_terms is not None else None
    box_anchor = box_terms / tss  # (F,)
    dfl_anchor = dfl_terms / tss if dfl_terms is not None else None  # (F,)
    fg = assignment.fg_mask  # (B, A)
    zero_ba = torch.zeros_like(anchor_cls)
    return Losses(
        raw=LossTerms(box, cls, dfl),
        gained=LossTerms(box * gains.box, cls * gains.cls, None if dfl is None else dfl * gains.dfl),
        gains=gains, target_scores_sum=tss, target_score_total=total, third=third, reg_max=r, dfl_reach=reach,
        dfl_unavailable_reason=reason, anchor_cls=anchor_cls,
        anchor_box=pos.per_anchor(box_anchor), anchor_dfl=None if dfl_anchor is None else pos.per_anchor(dfl_anchor),
        anchor_ciou=pos.per_anchor(ciou), anchor_target_ltrb=pos.per_anchor(ltrb),
        anchor_beyond_reach=pos.per_anchor(beyond),
        gt_box=pos.per_gt(box_anchor), gt_dfl=None if dfl_anchor is None else pos.per_gt(dfl_anchor),
        gt_cls_positive=pos.per_gt(anchor_cls[pos.image, pos.anchor]), gt_target_score=pos.per_gt(pos.weight),
        gt_beyond_reach=pos.per_gt(beyond.long()),
        image_cls_positive=torch.where(fg, anchor_cls, zero_ba).sum(1),  # (B,)
        image_cls_background=torch.where(fg, zero_ba, anchor_cls).sum(1),  # (B,)
    )


def _cls_term(logits: Tensor, target_scores: Tensor, fg: Tensor, softplus_sum: Tensor | None,
              tss: Tensor) -> tuple[Tensor, Tensor]:
    """Classification: BCE over every anchor and class.

    Args:
        logits, target_scores: ``Tensor[B, A, C] float``; fg: ``Tensor[B, A] bool``.
        softplus_sum: ``Tensor[B, A] float`` or None (see :func:`compute_losses`).
        tss: ``Tensor[] float``, the normaliser.

    Returns:
        the term ``Tensor[]`` and each anchor's share ``Tensor[B, A]`` (both ``/ tss``).
    """
    if softplus_sum is None:
        bce = F.binary_cross_entropy_with_logits(logits, target_scores, reduction="none")  # (B, A, C)
        anchor_bce = bce.sum(-1)  # (B, A)
    else:  # BCE(x, 0) = softplus(x) on background rows; positive rows directly (no cancellation)
        fb, fa = fg.nonzero(as_tuple=True)  # (F,), (F,)
        anchor_bce = softplus_sum.to(logits.dtype).clone()  # (B, A)
        anchor_bce[fb, fa] = F.binary_cross_entropy_with_logits(
            logits[fb, fa], target_scores[fb, fa], reduction="none").sum(-1)  # (F,)
    return anchor_bce.sum() / tss, anchor_bce / tss


@dataclass(frozen=True)
class _Positives:
    """The positive anchors, in row-major (image, anchor) order as a boolean mask selects them.

    Attributes:
        image, anchor, gt: ``Tensor[F] int64``.
        weight: ``Tensor[F] float``, the target score summed over classes.
        stride: ``Tensor[F, 1] float``.
        pred, target: ``Tensor[F, 4] float``, predicted and target boxes, xyxy grid units.
        centre: ``Tensor[F, 2] float``, anchor centres, grid units.
        shape: ``(B, M, A)``.
    """

    image: Tensor
    anchor: Tensor
    gt: Tensor
    weight: Tensor
    stride: Tensor
    pred: Tensor
    target: Tensor
    centre: Tensor
    shape: tuple[int, int, int]

    @classmethod
    def gather(cls, assignment: Assignment, target_scores: Tensor, pred_boxes: Tensor, anchors: Tensor,
               anchor_strides: Tensor, dtype: torch.dtype) -> "_Positives":
        pb, pa = assignment.fg_mask.nonzero(as_tuple=True)  # (F,), (F,)
        stride = anchor_strides.to(dtype)[pa][:, None]  # (F, 1)
        b, a = assignment.fg_mask.shape
        return cls(image=pb, anchor=pa, gt=assignment.target_gt_idx[pb, pa],
                   weight=target_scores[pb, pa].sum(-1), stride=stride,
                   pred=pred_boxes.to(dtype)[pb, pa] / stride,
                   target=assignment.target_bboxes.to(dtype)[pb, pa] / stride,
                   centre=anchors.to(dtype)[pa] / stride, shape=(b, assignment.gt_mask.shape[1], a))

    def per_anchor(self, values: Tensor) -> Tensor:
        """``Tensor[F, ...]`` -> ``Tensor[B, A, ...]``, 0 on background."""
        b, _, a = self.shape
        out = torch.zeros((b, a) + values.shape[1:], dtype=values.dtype, device=values.device)  # (B, A, ...)
        out[self.image, self.anchor] = values
        return out

    def per_gt(self, values: Tensor) -> Tensor:
        """``Tensor[F]`` -> ``Tensor[B, M]``, summed over each gt's positives."""
        b, m, _ = self.shape
        out = torch.zeros(b * m, dtype=values.dtype, device=values.device)  # (B*M,)
        return out.index_add(0, self.image * m + self.gt, values).view(b, m)


def _box_term(pos: _Positives) -> tuple[Tensor, Tensor]:
    """Box: ``1 - CIoU`` (prediction first, as the loss does), weighted by the target score.

    Returns:
        the CIoU and the weighted term of each positive, ``Tensor[F]`` each (not ``/ tss``).
    """
    ciou = box_ciou_paired(pos.pred, pos.target)  # (F,)
    return ciou, (1 - ciou) * pos.weight


def _dfl_targets(pos: _Positives, r: int | None) -> tuple[Tensor, float | None, Tensor]:
    """DFL targets: distances from the anchor to the target box sides, grid units.

    Returns:
        ``ltrb`` ``Tensor[F, 4]`` (not clamped), the reach ``R - 1 - DFL_MARGIN`` (None when R is
        1 or unknown) and ``Tensor[F] bool``, positives with a side beyond it.
    """
    ltrb = torch.cat((pos.centre - pos.target[:, :2], pos.target[:, 2:] - pos.centre), dim=-1)  # (F, 4)
    reach = None if r is None or r <= 1 else r - 1 - DFL_MARGIN
    beyond = (ltrb > reach).any(-1) if reach is not None else torch.zeros_like(pos.weight, dtype=torch.bool)  # (F,)
    return ltrb, reach, beyond


def _third_term(pos: _Positives, distributions: Tensor | None, ltrb: Tensor, r: int | None, reach: float | None,
                input_hw: tuple[int, int] | None, unavailable: str | None) -> tuple[str | None, Tensor | None]:
    """The third term per positive: DFL, or L1 on distances for R = 1 heads.

    Returns:
        ``(reason, terms)``: why it is unavailable (else None), and ``Tensor[F]`` (not ``/ tss``) or None.
    """
    if distributions is None:
        return unavailable or REASON_DECODED, None
    if r == 1 and input_hw is None:
        return REASON_NO_SIZE, None
    if r == 1:
        return None, _l1_terms(pos, distributions, ltrb, input_hw)
    return None, _dfl_terms(pos, distributions, ltrb, reach)


def _l1_terms(pos: _Positives, distributions: Tensor, ltrb: Tensor, input_hw: tuple[int, int]) -> Tensor:
    """L1 on distances normalised by the input size (x sides by width, y sides by height); ``Tensor[F]``."""
    dtype = pos.weight.dtype
    size = torch.tensor([input_hw[1], input_hw[0]] * 2, dtype=dtype, device=ltrb.device)  # (4,) W H W H
    pred_ltrb = distributions.to(dtype)[pos.image, pos.anchor, :, 0]  # (F, 4) grid units
    per_side = ((pred_ltrb - ltrb) * pos.stride / size).abs()  # (F, 4)
    return per_side.mean(-1) * pos.weight  # (F,)


def _dfl_terms(pos: _Positives, distributions: Tensor, ltrb: Tensor, reach: float) -> Tensor:
    """Distribution focal loss, the target split between bins ``floor`` and ``floor + 1``; ``Tensor[F]``."""
    dtype = pos.weight.dtype
    target = ltrb.clamp(0, reach)  # (F, 4)
    left = target.long()  # (F, 4) floor: target >= 0
    right = left + 1  # (F, 4)
    w_left = right.to(dtype) - target  # (F, 4)
    w_right = 1 - w_left  # (F, 4)
    logp = distributions.to(dtype)[pos.image, pos.anchor].log_softmax(-1)  # (F, 4, R)
    per_side = -(logp.gather(-1, left[..., None])[..., 0] * w_left
                 + logp.gather(-1, right[..., None])[..., 0] * w_right)  # (F, 4)
    return per_side.mean(-1) * pos.weight  # (F,)


def losses_from_heads(assignment: Assignment, heads: Sequence[DecodedHead], gains: Gains = Gains(),
                      prob_eps: float | None = None) -> Losses:
    """:func:`compute_losses` for decoded head outputs, one per image of the assignment.

    Heads with logits use them; ``decoded`` heads (probabilities only) use
    :func:`logits_from_probabilities` with ``prob_eps``. DFL needs the distributions of every
    image: with any ``decoded`` head it is None ("decoded predictions carry no box
    distributions"); with R = 1 the L1 term takes its place.

    Args:
        assignment: the batch's assignment, B = ``len(heads)``.
        heads: the images' head outputs, all on the same grid (as :func:`~tal_cli.readers.scene.assign_scenes` needs).
        gains: multipliers for the gained terms.
        prob_eps: probability clamp for ``decoded`` heads; None: :func:`default_prob_eps`.

    Raises:
        ShapeError: the number of heads is not B, or their grids differ from the assignment's.
    """
    if len(heads) != assignment.batch_size:
        raise ShapeError(f"heads: expected one per image (B = {assignment.batch_size}), got {len(heads)}")
    inputs = HeadBatch.stack(heads, prob_eps)
    return inputs.losses(assignment, gains)


@dataclass(frozen=True)
class HeadBatch:
    """The loss inputs of a batch of head outputs, stacked once (reusable across assignments).

    Attributes:
        logits: ``Tensor[B, A, C]`` (``logit(p)`` for decoded heads).
        distributions: ``Tensor[B, A, 4, R]`` or None when any head is decoded.
        boxes: ``Tensor[B, A, 4] xyxy px``.
        softplus_sum: ``Tensor[B, A]``, ``softplus(logits).sum(-1)``, i.e. the BCE of every
            anchor against an all-zero target.
        anchors, anchor_strides, reg_max, reason: from the first head; ``reason`` says why
            DFL is unavailable (None when it is).
    """

    logits: Tensor
    distributions: Tensor | None
    boxes: Tensor
    softplus_sum: Tensor
    anchors: Tensor
    anchor_strides: Tensor
    reg_max: int
    reason: str | None
    input_hw: tuple[int, int] | None = None

    @classmethod
    def stack(cls, heads: Sequence[DecodedHead], prob_eps: float | None = None) -> "HeadBatch":
        if not heads:
            raise ShapeError("heads: expected at least one head output")
        logits = torch.stack([h.logits if h.logits is not None else logits_from_probabilities(h.scores, prob_eps)
                              for h in heads])  # (B, A, C)
        with_dist = [h.distributions is not None for h in heads]
        distributions = torch.stack([h.distributions for h in heads]) if all(with_dist) else None  # (B, A, 4, R)
        reason = None
        if not all(with_dist):
            decoded = [i for i, ok in enumerate(with_dist) if not ok]
            reason = REASON_DECODED if len(heads) == 1 else f"{REASON_DECODED} (image {', '.join(map(str, decoded))})"
        boxes = torch.stack([h.boxes for h in heads])  # (B, A, 4)
        # BCE against 0 is softplus(x); the BCE kernel keeps it accurate for very negative x
        background = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits), reduction="none").sum(-1)
        finest = heads[0].levels[0]
        return cls(logits, distributions, boxes, background, heads[0].anchors,
                   heads[0].anchor_strides, heads[0].reg_max, reason,
                   (finest.height * finest.stride, finest.width * finest.stride))

    def losses(self, assignment: Assignment, gains: Gains = Gains()) -> Losses:
        """:func:`compute_losses` of ``assignment`` on these predictions."""
        return compute_losses(assignment, self.logits, self.distributions, self.boxes, self.anchors,
                              self.anchor_strides, gains, reg_max=self.reg_max,
                              dfl_unavailable_reason=self.reason, softplus_sum=self.softplus_sum,
                              input_hw=self.input_hw)
