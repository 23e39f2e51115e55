"""Per gt of one image: what it got at each stage of the assignment and where its anchors went.

:func:`gt_accounts` counts, from an :class:`~tal_cli.core.assignment.Assignment`, everything
``tal assign`` reports per gt and per positive (:func:`tal_cli.views.report.build_report`
words and lays it out): candidates, selected, won and final positives per gt
(:func:`~tal_cli.analysis.reasons.stage_counts`, the counts the reason codes come from),
per level, anchors lost to other gts and to ``topk2``, contested anchors taken, the best
values, and the reason code of each gt without positives. Vectorised over the image's pairs;
plain lists out, indexed by gt slot.

Dimension names: M the image's gts (slots ``0..M-1``), L levels, A anchors, C classes, F
the image's final positives.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ..core.anchors import Level
from ..core.assignment import Assignment
from .reasons import no_positive_reasons, stage_counts


@dataclass(frozen=True)
class GtAccounts:
    """What each gt of one image got, and the image's final positives.

    Per gt (lists of M, index = gt slot):
        candidates: anchors whose centre lies inside the (floored) box; ``candidates_per_level``
            the same per level (M lists of L); ``floor_added``: of them, only thanks to the floor.
        selected: anchors in its top-k; tied: candidates in a zero-value tie at its boundary.
        positives: final positive anchors; ``positives_per_level`` per level (M lists of L).
        lost: selected anchors that ended with another gt; ``lost_to``: those gts (ascending).
        dropped_topk2: selected anchors it won but dropped by ``topk2``.
        taken: its positives at contested anchors; ``taken_from``: the other gts that selected
            them (ascending); handed: its positives it never selected.
        best_metric, best_iou: max ``t`` and ``u`` over its positives (None without positives).
        best_score: max predicted score of its class over its positives (None without).
        max_target_score: max normalised target score over its positives (None without).
        iou_zero: every candidate has ``u == 0`` (True without candidates).
        reason: :func:`~tal_cli.analysis.reasons.no_positive_reasons` code (0: it has positives).

    Per final positive (lists of F, anchor order):
        positive_anchor, positive_gt, positive_level: the anchor, its gt and its level index.
        positive_score: the predicted score of its gt's class there.
        positive_iou, positive_metric, positive_target_score: its ``u``, ``t`` and normalised
            target score (:class:`~tal_cli.core.assignment.Assignment`'s ``positive_*``, ``target_score``).
        positive_contested, positive_handed: selected by several gts; handed to a gt that did not select it.
        positive_choosers: the gts that selected it (ascending): every chooser of a contested
            anchor, else its own gt, or none when it was handed to its gt.

    The image:
        contested_anchors, handed_anchors: anchors selected by several gts; positives handed.
        target_score_sum: every anchor's normalised target score, summed (float32, as the loss sums).
    """

    candidates: list[int]
    candidates_per_level: list[list[int]]
    floor_added: list[int]
    selected: list[int]
    tied: list[int]
    positives: list[int]
    positives_per_level: list[list[int]]
    lost: list[int]
    lost_to: list[tuple[int, ...]]
    dropped_topk2: list[int]
    taken: list[int]
    taken_from: list[tuple[int, ...]]
    handed: list[int]
    best_metric: list[float | None]
    best_iou: list[float | None]
    best_score: list[float | None]
    max_target_score: list[float | None]
    iou_zero: list[bool]
    reason: list[int]
    positive_anchor: list[int]
    positive_gt: list[int]
    positive_level: list[int]
    positive_score: list[float]
    positive_iou: list[float]
    positive_metric: list[float]
    positive_target_score: list[float]
    positive_contested: list[bool]
    positive_handed: list[bool]
    positive_choosers: list[tuple[int, ...]]
    contested_anchors: int
    handed_anchors: int
    target_score_sum: float


def level_of(anchors: Tensor, levels: Sequence[Level]) -> Tensor:
    """``Tensor[N] int64`` anchor indices -> ``Tensor[N] int64`` level index of each."""
    stops = torch.tensor([lv.stop for lv in levels], dtype=torch.long)
    return torch.bucketize(anchors, stops, right=True)


def _per_gt(index: Tensor, m: int) -> list[int]:
    """How many entries of ``index`` (gt slots) name each of the ``m`` gts."""
    return torch.bincount(index, minlength=m)[:m].tolist() if m else []


def _per_gt_level(index: Tensor, level: Tensor, m: int, n_levels: int) -> list[list[int]]:
    """The same per (gt, level): M lists of L."""
    if not m:
        return []
    flat = torch.bincount(index * n_levels + level, minlength=m * n_levels)[: m * n_levels]
    return flat.view(m, n_levels).tolist()


def _per_gt_max(gt: Tensor, values: Tensor, m: int) -> list[float | None]:
    """Max of ``values`` (>= 0) per gt slot in ``gt``; None for a gt with none."""
    best = torch.full((m,), -1.0, dtype=torch.float64).scatter_reduce(0, gt, values.double(), "amax")
    return [None if v < 0 else v for v in best.tolist()]


def _conflicts(a: Assignment, b: int, pg: Tensor, pa: Tensor, p_sel: Tensor
               ) -> tuple[Tensor, Tensor, dict[int, set[int]], dict[int, list[int]], dict[int, set[int]]]:
    """Where image ``b``'s selected pairs ended: ``(lost, dropped_topk2)`` pair masks, and
    ``lost_to`` (gt -> the gts that won its anchors), ``choosers`` (contested anchor -> the gts that
    selected it) and ``taken_from`` (gt -> the other choosers of the contested anchors it holds)."""
    fg, gidx, contested = a.fg_mask[b], a.target_gt_idx[b], a.contested[b]
    holder = a.winner[b][pa]  # (P_b,) gt holding each pair's anchor after conflicts
    lost_mask = p_sel & (holder != pg)
    dropped_mask = p_sel & (holder == pg) & ~fg[pa]
    lost_to: dict[int, set[int]] = defaultdict(set)
    for g, w in zip(pg[lost_mask].tolist(), holder[lost_mask].tolist()):
        lost_to[g].add(w)
    choosers: dict[int, list[int]] = defaultdict(list)
    cont_sel = p_sel & contested[pa]
    for g, an in zip(pg[cont_sel].tolist(), pa[cont_sel].tolist()):
        choosers[an].append(g)
    taken_from: dict[int, set[int]] = defaultdict(set)
    for an, gs in choosers.items():
        if bool(fg[an]):
            h = int(gidx[an])
            taken_from[h].update(g for g in gs if g != h)
    return lost_mask, dropped_mask, lost_to, choosers, taken_from


def gt_accounts(assignment: Assignment, image_index: int, num_gts: int, levels: Sequence[Level],
                scores: Tensor, classes: Tensor) -> GtAccounts:
    """Count what each gt of image ``image_index`` got.

    Args:
        assignment: the batch's assignment.
        num_gts: M, the image's real gts (slots ``0..M-1``; the batch may pad more).
        levels: the anchor grid's levels (L), anchor order.
        scores: ``Tensor[A, C] float``, the image's predicted class probabilities.
        classes: ``Tensor[M] int64``, each gt's class.
    """
    a, b, m, n_levels = assignment, image_index, num_gts, len(levels)
    sel = a.pair_image == b
    pg, pa, p_sel = a.pair_gt[sel], a.pair_anchor[sel], a.pair_selected[sel]
    fg, gidx, contested, handed = a.fg_mask[b], a.target_gt_idx[b], a.contested[b], a.handed[b]
    fg_anchors = fg.nonzero().squeeze(1)  # (F,)
    fg_gt, fg_lvl = gidx[fg_anchors], level_of(fg_anchors, levels)  # (F,)
    fg_score = scores[fg_anchors, classes[fg_gt]] if m else torch.zeros(0)  # (F,)
    lost_mask, dropped_mask, lost_to, choosers, taken_from = _conflicts(a, b, pg, pa, p_sel)
    counts = stage_counts(a)
    candidates, selected, positives = (t[b, :m].tolist() for t in (counts.candidates, counts.selected,
                                                                     counts.positives))
    has = [p > 0 for p in positives]
    best_metric, best_iou = a.gt_best_metric[b, :m].tolist(), a.gt_best_iou[b, :m].tolist()
    handed_fg = handed[fg_anchors].tolist()
    tscore = a.target_score[b]
    return GtAccounts(
        candidates=candidates, candidates_per_level=_per_gt_level(pg, level_of(pa, levels), m, n_levels),
        floor_added=_per_gt(pg[~a.pair_in_box[sel]], m), selected=selected, tied=_per_gt(pg[a.pair_tied[sel]], m),
        positives=positives, positives_per_level=_per_gt_level(fg_gt, fg_lvl, m, n_levels),
        lost=_per_gt(pg[lost_mask], m), lost_to=[tuple(sorted(lost_to.get(j, ()))) for j in range(m)],
        dropped_topk2=_per_gt(pg[dropped_mask], m), taken=_per_gt(fg_gt[contested[fg_anchors]], m),
        taken_from=[tuple(sorted(taken_from.get(j, ()))) for j in range(m)],
        handed=_per_gt(fg_gt[handed[fg_anchors]], m),
        best_metric=[v if h else None for v, h in zip(best_metric, has)],
        best_iou=[v if h else None for v, h in zip(best_iou, has)],
        best_score=_per_gt_max(fg_gt, fg_score, m), max_target_score=_per_gt_max(fg_gt, tscore[fg_anchors], m),
        iou_zero=[n == 0 for n in _per_gt(pg[a.pair_iou[sel] > 0], m)],
        reason=no_positive_reasons(a, counts)[b, :m].tolist(),
        positive_anchor=fg_anchors.tolist(), positive_gt=fg_gt.tolist(), positive_level=fg_lvl.tolist(),
        positive_score=fg_score.tolist(), positive_iou=a.positive_iou[b][fg_anchors].tolist(),
        positive_metric=a.positive_metric[b][fg_anchors].tolist(), positive_target_score=tscore[fg_anchors].tolist(),
        positive_contested=contested[fg_anchors].tolist(), positive_handed=handed_fg,
        positive_choosers=[tuple(sorted(choosers.get(an, [g] if not h else [])))
                           for an, g, h in zip(fg_anchors.tolist(), fg_gt.tolist(), handed_fg)],
        contested_anchors=int(contested.sum()), handed_anchors=int(handed.sum()), target_score_sum=float(tscore.sum()))
