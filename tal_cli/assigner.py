"""Task-aligned assignment, sparse over candidate (gt, anchor) pairs.

``assign`` returns an :class:`~tal_cli.assignment.Assignment` holding every stage; its
docstring states the conventions (tie rule, background). ``TaskAlignedAssigner`` is the
drop-in callable returning the usual 5-tuple. Pure torch: no files, no printing, no state.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .assignment import Assignment
from .boxes import box_ciou_paired, box_iou_paired, centres_inside, floor_small_boxes
from .errors import ShapeError
from .settings import AssignerSettings

#: Upper bound on gts x anchors tested at once when enumerating candidates.
_CANDIDATE_CHUNK = 1 << 22


def _check_inputs(pd_scores: Tensor, pd_bboxes: Tensor, anc_points: Tensor, gt_labels: Tensor,
                  gt_bboxes: Tensor, mask_gt: Tensor, num_classes: int) -> tuple[int, int, int, int]:
    """Validate shapes; returns ``(B, M, A, C)``."""
    if pd_scores.ndim != 3:
        raise ShapeError(f"pd_scores: expected Tensor[B, A, C], got shape {tuple(pd_scores.shape)}")
    b, a, c = pd_scores.shape
    expected = {
        "pd_bboxes": (pd_bboxes, (b, a, 4), "[B, A, 4]"),
        "anc_points": (anc_points, (a, 2), "[A, 2]"),
    }
    for name, (t, shape, text) in expected.items():
        if tuple(t.shape) != shape:
            raise ShapeError(f"{name}: expected Tensor{text} = {list(shape)}, got {list(t.shape)}")
    if gt_bboxes.ndim != 3 or gt_bboxes.shape[0] != b or gt_bboxes.shape[2] != 4:
        raise ShapeError(f"gt_bboxes: expected Tensor[B, M, 4] with B = {b}, got {list(gt_bboxes.shape)}")
    m = gt_bboxes.shape[1]
    for name, t in (("gt_labels", gt_labels), ("mask_gt", mask_gt)):
        if tuple(t.shape) not in ((b, m, 1), (b, m)):
            raise ShapeError(f"{name}: expected Tensor[B, M, 1] = {[b, m, 1]}, got {list(t.shape)}")
    if c != num_classes:
        raise ShapeError(f"pd_scores: expected C = num_classes = {num_classes} classes, got {c}")
    return b, m, a, c


def _candidate_pairs(anc_points: Tensor, boxes: Tensor, gt_mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(image, gt, anchor) of every anchor centre strictly inside a real gt box.

    Args:
        anc_points: ``Tensor[A, 2] float, px``.
        boxes: ``Tensor[B, M, 4] float, xyxy px`` (already floored if the floor applies).
        gt_mask: ``Tensor[B, M] bool``.

    Returns:
        three ``Tensor[P] int64``, sorted by image, gt, anchor. Works in chunks of gts so that
        no more than ``_CANDIDATE_CHUNK`` (gt, anchor) tests are held at once.
    """
    real = gt_mask.nonzero()  # (G, 2): image, slot
    num_anchors = anc_points.shape[0]
    step = max(1, _CANDIDATE_CHUNK // max(num_anchors, 1))
    images, gts, anchors = [], [], []
    for start in range(0, real.shape[0], step):
        chunk = real[start : start + step]
        inside = centres_inside(anc_points[None], boxes[chunk[:, 0], chunk[:, 1]][:, None])  # (g, A)
        local, anchor = inside.nonzero().unbind(1)
        images.append(chunk[local, 0])
        gts.append(chunk[local, 1])
        anchors.append(anchor)
    if not anchors:
        empty = torch.zeros(0, dtype=torch.long, device=anc_points.device)
        return empty, empty, empty
    return torch.cat(images), torch.cat(gts), torch.cat(anchors)


def _segment_starts(group: Tensor, num_groups: int) -> Tensor:
    """Index of the first entry of each entry's group, for entries sorted by group. ``Tensor[P] int64``."""
    counts = torch.bincount(group, minlength=num_groups)
    starts = torch.cumsum(counts, 0) - counts  # (G,)
    return starts[group]


def rank_among_all_anchors(group: Tensor, anchor: Tensor, value: Tensor, num_groups: int) -> Tensor:
    """Rank of each entry when its group orders *all* anchors by value (absent ones count as 0).

    Order: larger value first; equal values by lower anchor index first (the tie rule of
    :class:`~tal_cli.assignment.Assignment`). Values must be >= 0.

    Args:
        group: ``Tensor[P] int64``, e.g. ``image * M + gt``; entries sorted by (group, anchor).
        anchor: ``Tensor[P] int64``.
        value: ``Tensor[P] float >= 0``.
        num_groups: number of groups G (> every group id).

    Returns:
        ``Tensor[P] int64``, 0 for the best anchor of the group.
    """
    if group.numel() == 0:
        return torch.zeros_like(group)
    positive = value > 0
    # Order within group: value descending, then anchor ascending (input order is by anchor).
    order = torch.sort(-value, stable=True).indices
    order = order[torch.sort(group[order], stable=True).indices]
    position = torch.empty_like(group)
    position[order] = torch.arange(group.numel(), device=group.device)
    start = _segment_starts(group, num_groups)
    rank_positive = position - start  # positives precede every zero of their group
    # A zero at anchor a follows the group's positives and every zero-valued anchor below a:
    # rank = n_pos + a - (#positives of the group at anchors below a).
    n_pos = torch.bincount(group[positive], minlength=num_groups)[group]
    cum_pos = torch.cumsum(positive.long(), 0) - positive.long()  # positives before this entry
    pos_below = cum_pos - cum_pos[start]
    rank_zero = n_pos + anchor - pos_below
    return torch.where(positive, rank_positive, rank_zero)


def _pair_lookup(keys: Tensor, query: Tensor) -> tuple[Tensor, Tensor]:
    """Position of each query key in the sorted ``keys``; returns ``(index, found)``."""
    if keys.numel() == 0:
        return torch.zeros_like(query), torch.zeros_like(query, dtype=torch.bool)
    idx = torch.searchsorted(keys, query).clamp(max=keys.numel() - 1)
    return idx, keys[idx] == query


def assign(
    pd_scores: Tensor,
    pd_bboxes: Tensor,
    anc_points: Tensor,
    gt_labels: Tensor,
    gt_bboxes: Tensor,
    mask_gt: Tensor,
    settings: AssignerSettings,
) -> Assignment:
    """Run task-aligned assignment and keep every stage.

    Args:
        pd_scores: ``Tensor[B, A, C] float``, class probabilities (after sigmoid).
        pd_bboxes: ``Tensor[B, A, 4] float, xyxy px``, predicted boxes.
        anc_points: ``Tensor[A, 2] float, px``, anchor centres.
        gt_labels: ``Tensor[B, M, 1]`` (or ``[B, M]``), class per gt slot.
        gt_bboxes: ``Tensor[B, M, 4] float, xyxy px``.
        mask_gt: ``Tensor[B, M, 1]`` (or ``[B, M]``), 1 for a real gt, 0 for padding.
        settings: see :class:`~tal_cli.settings.AssignerSettings`; ``num_classes`` must be C.

    Returns:
        :class:`~tal_cli.assignment.Assignment` on the device of the inputs.

    Raises:
        ShapeError: shapes disagree; ValueError: a real gt's class is outside ``0..C-1``.
    """
    b, m, a, c = _check_inputs(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, settings.num_classes)
    s = settings
    dev, dtype = pd_scores.device, pd_scores.dtype
    labels = gt_labels.reshape(b, m).long()
    gt_mask = mask_gt.reshape(b, m).bool()
    if bool((labels[gt_mask] >= c).any() or (labels[gt_mask] < 0).any()):
        bad = labels[gt_mask][(labels[gt_mask] >= c) | (labels[gt_mask] < 0)][0].item()
        raise ValueError(f"gt class {bad} is outside 0..{c - 1} (num_classes = {c})")
    gt_bboxes = gt_bboxes.to(dtype)
    cand_boxes = floor_small_boxes(gt_bboxes, s.floor_side) if s.uses_floor else gt_bboxes

    # Stage 1: candidates and their metrics.
    pi, pg, pa = _candidate_pairs(anc_points, cand_boxes, gt_mask)  # (P,)
    gt_box = gt_bboxes[pi, pg]  # (P, 4)
    in_box = centres_inside(anc_points[pa], gt_box) if s.uses_floor else torch.ones_like(pa, dtype=torch.bool)
    score = pd_scores[pi, pa, labels[pi, pg]]  # (P,)
    overlap_fn = box_ciou_paired if s.iou == "ciou" else box_iou_paired
    iou = overlap_fn(gt_box, pd_bboxes[pi, pa]).clamp(min=0)  # (P,)
    metric = score.pow(s.alpha) * iou.pow(s.beta)  # (P,)

    # Top-k per gt over all anchors, zero ties by lower anchor index.
    group = pi * m + pg  # (P,) gt id over the batch
    rank = rank_among_all_anchors(group, pa, metric, b * m)
    selected = rank < s.topk
    tied = _boundary_ties(group, metric, rank, s.topk, a, b * m)

    # Stage 2: one gt per anchor.
    anchor_key = pi * a + pa  # (P,) anchor id over the batch
    choosers = torch.bincount(anchor_key[selected], minlength=b * a)  # (B*A,)
    winner = torch.full((b * a,), -1, dtype=torch.long, device=dev)
    winner[anchor_key[selected]] = pg[selected]  # exact where one chooser
    contested = choosers > 1
    if bool(contested.any()):
        compete = contested[anchor_key] & (selected if s.conflict == "choosers" else torch.ones_like(selected))
        best = torch.zeros(b * a, dtype=dtype, device=dev).scatter_reduce(
            0, anchor_key[compete], iou[compete], "amax", include_self=True)  # (B*A,)
        is_best = compete & (iou == best[anchor_key])
        lowest = torch.full((b * a,), m, dtype=torch.long, device=dev).scatter_reduce(
            0, anchor_key[is_best], pg[is_best], "amin", include_self=True)  # (B*A,)
        if s.conflict == "all-gts":
            lowest = torch.where(best > 0, lowest, torch.zeros_like(lowest))  # all-zero column: slot 0
        winner = torch.where(contested, lowest, winner)

    # Metric and IoU of each (winner, anchor): 0 when the winner does not contain the anchor.
    pair_key = group * a + pa  # (P,) sorted ascending
    anchors_all = torch.arange(b * a, device=dev)
    held = winner >= 0
    win_group = (anchors_all // a) * m + winner.clamp(min=0)
    idx, found = _pair_lookup(pair_key, win_group * a + anchors_all % a)
    found &= held
    pos_metric = torch.where(found, metric[idx] if metric.numel() else torch.zeros_like(found, dtype=dtype), 0.0)
    pos_iou = torch.where(found, iou[idx] if iou.numel() else torch.zeros_like(found, dtype=dtype), 0.0)
    win_selected = found & (selected[idx] if selected.numel() else found)

    fg = held.clone()
    if s.uses_topk2:
        hi = held.nonzero().squeeze(1)
        keep = rank_among_all_anchors(win_group[hi], hi % a, pos_metric[hi], b * m) < s.topk2
        fg[hi[~keep]] = False
    gt_idx = torch.where(fg, winner, 0)

    # Stage 4: normalise by each gt's best metric and best IoU over its final positives.
    fg_group = win_group[fg]
    best_metric = torch.zeros(b * m, dtype=dtype, device=dev).scatter_reduce(
        0, fg_group, pos_metric[fg], "amax", include_self=True)  # (B*M,)
    best_iou = torch.zeros(b * m, dtype=dtype, device=dev).scatter_reduce(
        0, fg_group, pos_iou[fg], "amax", include_self=True)  # (B*M,)
    if m:
        norm = pos_metric * best_iou[win_group] / (best_metric[win_group] + s.eps)  # (B*A,)
        norm = torch.where(fg, norm, 0.0)
    else:
        norm = torch.zeros(b * a, dtype=dtype, device=dev)

    # Stage 3: targets.
    gt_idx = gt_idx.view(b, a)
    fg = fg.view(b, a)
    if m == 0:
        target_labels = torch.full((b, a), c, dtype=torch.long, device=dev)
        target_bboxes = torch.zeros((b, a, 4), dtype=dtype, device=dev)
    else:
        target_labels = labels.gather(1, gt_idx).clamp(min=0)  # (B, A)
        target_bboxes = gt_bboxes.gather(1, gt_idx[..., None].expand(b, a, 4))  # (B, A, 4)
    one_hot = torch.nn.functional.one_hot(target_labels.clamp(max=c - 1), c).to(dtype)  # (B, A, C)
    target_score = norm.view(b, a)
    target_scores = one_hot * target_score[..., None]  # (B, A, C)

    return Assignment(
        settings=s,
        gt_mask=gt_mask,
        gt_labels=labels,
        gt_bboxes=gt_bboxes,
        candidate_bboxes=cand_boxes,
        pair_image=pi,
        pair_gt=pg,
        pair_anchor=pa,
        pair_in_box=in_box,
        pair_score=score,
        pair_iou=iou,
        pair_metric=metric,
        pair_rank=rank,
        pair_selected=selected,
        pair_tied=tied,
        choosers=choosers.view(b, a),
        winner=winner.view(b, a),
        fg_mask=fg,
        target_gt_idx=gt_idx,
        target_labels=target_labels,
        target_bboxes=target_bboxes,
        target_scores=target_scores,
        target_score=target_score,
        positive_metric=torch.where(fg, pos_metric.view(b, a), 0.0),
        positive_iou=torch.where(fg, pos_iou.view(b, a), 0.0),
        handed=fg & ~win_selected.view(b, a),
        gt_best_metric=best_metric.view(b, m),
        gt_best_iou=best_iou.view(b, m),
    )


def _boundary_ties(group: Tensor, metric: Tensor, rank: Tensor, topk: int, num_anchors: int, num_groups: int) -> Tensor:
    """Pairs whose metric equals their gt's K-th value while that value straddles the boundary.

    The K-th value of a gt is its K-th largest positive metric, or 0 when it has fewer than
    K positive ones (then every zero-valued anchor shares it). Returns ``Tensor[P] bool``.
    """
    if group.numel() == 0:
        return torch.zeros_like(group, dtype=torch.bool)
    kth = torch.zeros(num_groups, dtype=metric.dtype, device=metric.device)
    at_k = rank == topk - 1
    kth[group[at_k]] = metric[at_k]  # 0 where the K-th anchor is zero-valued or not a pair
    kth_pair = kth[group]
    at_or_above = torch.bincount(group[metric >= kth_pair], minlength=num_groups)  # pairs >= K-th value
    zero_kth = kth == 0
    shared = torch.where(zero_kth, torch.full_like(at_or_above, num_anchors), at_or_above)  # anchors >= K-th
    return (metric == kth_pair) & (shared[group] > topk)


class TaskAlignedAssigner:
    """Drop-in replacement for the task-aligned assigner people already call.

    ``assigner(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt)`` returns
    ``(target_labels [B, A] int64, target_bboxes [B, A, 4], target_scores [B, A, C],
    fg_mask [B, A] bool, target_gt_idx [B, A] int64)``. Use :meth:`assign` for every stage.
    Holds only its settings; no state between calls.

    Raises:
        ValueError: unknown variant / iou / conflict, topk < 1, negative alpha or beta,
            num_classes < 1 (the message names what is allowed).
    """

    def __init__(self, topk: int = 13, num_classes: int = 80, alpha: float = 1.0, beta: float = 6.0,
                 eps: float = 1e-9, variant: str = "yolov8", strides: tuple[int, ...] = (8, 16, 32),
                 topk2: int | None = None, iou: str = "ciou", conflict: str = "all-gts",
                 small_box_floor: bool | None = None) -> None:
        self.settings = AssignerSettings(
            topk=topk, num_classes=num_classes, alpha=alpha, beta=beta, eps=eps, variant=variant,
            strides=tuple(strides), topk2=topk2, iou=iou, conflict=conflict, small_box_floor=small_box_floor)

    @torch.no_grad()
    def assign(self, pd_scores: Tensor, pd_bboxes: Tensor, anc_points: Tensor, gt_labels: Tensor,
               gt_bboxes: Tensor, mask_gt: Tensor) -> Assignment:
        """Every stage; see :func:`tal_cli.assigner.assign`."""
        return assign(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, self.settings)

    def __call__(self, pd_scores: Tensor, pd_bboxes: Tensor, anc_points: Tensor, gt_labels: Tensor,
                 gt_bboxes: Tensor, mask_gt: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        return self.assign(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt).outputs()
