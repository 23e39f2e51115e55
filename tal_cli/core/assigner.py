"""Task-aligned assignment, sparse over candidate (gt, anchor) pairs.

``assign`` returns an :class:`~tal_cli.core.assignment.Assignment` holding every stage; its
docstring states the conventions (tie rule, background). ``TaskAlignedAssigner`` is the
drop-in callable returning the usual 5-tuple. Pure torch: no files, no printing, no state.

Work and memory follow the candidate pairs P, never B x M x A: on grid anchors the pairs
are enumerated from the rows and columns each gt covers; metrics exist only for pairs;
top-k is a rank per gt over its pairs (absent anchors count as 0); conflicts are a
per-anchor maximum over the pairs; normalisation uses per-gt maxima. The only [B, A, C]
tensor is the ``target_scores`` output.

``assign`` runs the stages of the spec, one function each, in its order: 1 candidates
(:func:`_candidate_pairs`, the candidate test), their metrics (:func:`_pair_metrics`, with the
overlap step of :func:`pair_overlap`) and each gt's top-k (:func:`_select_topk`); 2 one gt per
anchor (:func:`_resolve_conflicts`, :func:`_winner_pairs`, :func:`_keep_topk2`); 3 targets
(:func:`_targets`); 4 soft targets (:func:`_normalise`, :func:`_soft_one_hot`). A variant (another
candidate test, another overlap) reuses the other stages as they are.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .assignment import Assignment
from .boxes import box_ciou_paired, box_iou_paired, centres_inside, floor_small_boxes
from .errors import ShapeError
from .settings import AssignerSettings

#: Upper bound on gts x anchors tested at once when enumerating candidates.
_CANDIDATE_CHUNK = 1 << 22
#: Upper bound on gts x (grid rows and columns) tested at once when the anchors form a grid.
_GRID_CHUNK = 1 << 20


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
        three ``Tensor[P] int64``, sorted by image, gt, anchor. When the anchors form grid
        levels (:func:`_grid_blocks`) the pairs are enumerated per gt from the rows and columns
        it covers, in O(G * (rows + cols) + P); otherwise every (gt, anchor) is tested
        (:func:`_candidate_pairs_chunked`). Both give the same pairs, bit for bit.
    """
    blocks = _grid_blocks(anc_points)
    if blocks is None:
        return _candidate_pairs_chunked(anc_points, boxes, gt_mask)
    grid = _Grid(blocks)
    real = gt_mask.nonzero()  # (G, 2): image, slot
    step = max(1, _GRID_CHUNK // grid.centres.numel())
    images, gts, anchors = [], [], []
    for start in range(0, real.shape[0], step):
        chunk = real[start : start + step]
        local, anchor = _grid_pairs(grid, boxes[chunk[:, 0], chunk[:, 1]])
        images.append(chunk[local, 0])
        gts.append(chunk[local, 1])
        anchors.append(anchor)
    if len(anchors) == 1:
        return images[0], gts[0], anchors[0]
    if not anchors:
        empty = torch.zeros(0, dtype=torch.long, device=anc_points.device)
        return empty, empty, empty
    return torch.cat(images), torch.cat(gts), torch.cat(anchors)


def _candidate_pairs_chunked(anc_points: Tensor, boxes: Tensor, gt_mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`_candidate_pairs` for arbitrary anchors: tests every (gt, anchor).

    Works in chunks of gts so that no more than ``_CANDIDATE_CHUNK`` (gt, anchor) tests are
    held at once; O(G * A) time.
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


def _grid_blocks(anc_points: Tensor) -> list[tuple[int, Tensor, Tensor]] | None:
    """The anchors as row-major blocks of a grid, or ``None`` when they are not.

    A block is ``(start, xs, ys)``: anchors ``start + i * len(xs) + j`` sit at ``(xs[j], ys[i])``
    with ``xs`` and ``ys`` strictly increasing. Levels of :func:`~tal_cli.core.anchors.make_anchors`
    qualify (a block begins wherever y decreases); anything else (arbitrary anchors, NaN,
    integer dtypes) is ``None``. The check is exact and O(A).
    """
    if anc_points.ndim != 2 or anc_points.shape[0] == 0 or not anc_points.is_floating_point():
        return None
    y = anc_points[:, 1]
    bounds = [0, *((y[1:] < y[:-1]).nonzero().squeeze(1) + 1).tolist(), anc_points.shape[0]]
    blocks = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        seg = anc_points[start:stop]  # (h * w, 2)
        off_row = (seg[:, 1] != seg[0, 1]).nonzero()
        w = int(off_row[0, 0]) if off_row.numel() else seg.shape[0]
        if w == 0 or seg.shape[0] % w:  # w == 0: the first y is NaN
            return None
        grid = seg.view(-1, w, 2)  # (h, w, 2)
        xs, ys = grid[0, :, 0], grid[:, 0, 1]
        ok = (grid[..., 0] == xs).all() & (grid[..., 1] == ys[:, None]).all()
        ok &= (xs[1:] > xs[:-1]).all() & (ys[1:] > ys[:-1]).all()
        if not bool(ok):
            return None
        blocks.append((start, xs, ys))
    return blocks


class _Grid:
    """The blocks of :func:`_grid_blocks` packed for :func:`_grid_pairs`.

    ``centres``: ``Tensor[2, L, N]``, the x (row 0) and y (row 1) centres of each block, padded
    with +inf to the longest axis N. ``size``: ``Tensor[2, L] int64``, columns and rows;
    ``start``: ``Tensor[L] int64``, first anchor of each block.
    """

    def __init__(self, blocks: list[tuple[int, Tensor, Tensor]]) -> None:
        xs0 = blocks[0][1]
        longest = max(max(xs.numel(), ys.numel()) for _, xs, ys in blocks)
        self.centres = torch.full((2, len(blocks), longest), float("inf"), dtype=xs0.dtype, device=xs0.device)
        for level, (_, xs, ys) in enumerate(blocks):
            self.centres[0, level, : xs.numel()] = xs
            self.centres[1, level, : ys.numel()] = ys
        self.size = torch.tensor([[xs.numel() for _, xs, _ in blocks], [ys.numel() for _, _, ys in blocks]],
                                 dtype=torch.long, device=xs0.device)
        self.start = torch.tensor([st for st, _, _ in blocks], dtype=torch.long, device=xs0.device)

    @property
    def levels(self) -> int:
        return self.centres.shape[1]


def _grid_pairs(grid: _Grid, boxes: Tensor, eps: float = 1e-9) -> tuple[Tensor, Tensor]:
    """(box, anchor) of every grid anchor strictly inside a box, sorted by box then anchor.

    Same pairs as the dense test ``centres_inside(anc_points[None], boxes[:, None])``, bit for
    bit: a centre is inside iff each of its four margins is (their minimum is one of them),
    computed with the same operations and dtypes. Along a sorted axis ``centre - x1 > eps``
    holds for a suffix of the centres and ``x2 - centre > eps`` for a prefix (rounding is
    monotone), so per block a box covers one rectangle of cells, found by counting.
    Work and memory: O(G * (rows + cols) + pairs).

    Args:
        grid: the packed blocks.
        boxes: ``Tensor[G, 4] float, xyxy px``.

    Returns:
        two ``Tensor[P] int64``: box index and anchor index.
    """
    dev = boxes.device
    lo, hi = boxes[:, :2, None, None], boxes[:, 2:, None, None]  # (G, 2, 1, 1): x then y
    # Padding (+inf) counts as after every low edge and before no high edge.
    after_lo = ((grid.centres - lo) > eps).sum(-1) - (grid.centres.shape[-1] - grid.size)  # (G, 2, L)
    before_hi = ((hi - grid.centres) > eps).sum(-1)  # (G, 2, L)
    first = grid.size - after_lo  # first covered column / row
    span = (after_lo + before_hi - grid.size).clamp(min=0)  # covered columns / rows
    ncol = span[:, 0].reshape(-1)  # (G * L,), rectangles box-major
    count = (span[:, 0] * span[:, 1]).reshape(-1)
    width = grid.size[0].repeat(boxes.shape[0])
    corner = (grid.start + first[:, 1] * grid.size[0] + first[:, 0]).reshape(-1)  # anchor of the first cell
    # Cells: rectangles in (box, block) order, each row-major, so anchors ascend within a box.
    rect = torch.repeat_interleave(torch.arange(count.numel(), device=dev), count)  # (P,)
    offset = torch.cumsum(count, 0) - count  # first pair of each rectangle
    k = torch.arange(rect.numel(), device=dev)
    row = torch.div(k - offset[rect], ncol[rect], rounding_mode="floor")
    anchor = (corner - offset)[rect] + k + row * (width - ncol)[rect]
    return torch.div(rect, grid.levels, rounding_mode="floor"), anchor


def rank_among_all_anchors(group: Tensor, anchor: Tensor, value: Tensor, num_groups: int) -> Tensor:
    """Rank of each entry when its group orders *all* anchors by value (absent ones count as 0).

    Order: larger value first; equal values by lower anchor index first (the tie rule of
    :class:`~tal_cli.core.assignment.Assignment`). Values must be >= 0.

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
    pos_idx = positive.nonzero().squeeze(1)  # (Q,)
    pos_group = group[pos_idx]
    n_pos = torch.bincount(pos_group, minlength=num_groups)  # (G,)
    upto = torch.cumsum(n_pos, 0)  # positives of groups <= g
    # A zero at anchor a follows the group's positives and every zero-valued anchor below a:
    # rank = n_pos + a - (#positives of the group at anchors below a)
    #      = a + (#positives of groups <= g) - (#positives before this entry).
    rank = anchor + upto[group] - (torch.cumsum(positive, 0) - positive.long())
    # Positives: their position in (group, value descending, anchor ascending) order. The input
    # is sorted by (group, anchor), so one stable sort on (group, -value) gives that order.
    pos_value = value[pos_idx]
    if pos_value.dtype in (torch.float32, torch.float16, torch.bfloat16) and num_groups <= 1 << 32:
        bits = pos_value.float().view(torch.int32).long()  # monotone in the value for values > 0
        keys, order = torch.sort(pos_group * (1 << 31) + ((1 << 31) - 1 - bits), stable=True)
        sorted_group = keys >> 31
    else:
        order = torch.sort(-pos_value, stable=True).indices
        order = order[torch.sort(pos_group[order], stable=True).indices]
        sorted_group = pos_group[order]
    position = torch.arange(order.numel(), device=group.device)
    rank[pos_idx[order]] = position - (upto - n_pos)[sorted_group]
    return rank


def _pair_lookup(keys: Tensor, query: Tensor) -> tuple[Tensor, Tensor]:
    """Position of each query key in the sorted ``keys``; returns ``(index, found)``."""
    if keys.numel() == 0:
        return torch.zeros_like(query), torch.zeros_like(query, dtype=torch.bool)
    idx = torch.searchsorted(keys, query).clamp(max=keys.numel() - 1)
    return idx, keys[idx] == query


#: The overlap of paired boxes, a replaceable step of Stage 1:
#: ``(gt Tensor[P, 4] float, pred Tensor[P, 4] float) -> Tensor[P] float``.
OverlapFn = Callable[[Tensor, Tensor], Tensor]


def pair_overlap(settings: AssignerSettings) -> OverlapFn:
    """The overlap ``u`` the settings ask for: CIoU (:func:`box_ciou_paired`) or plain IoU."""
    return box_ciou_paired if settings.iou == "ciou" else box_iou_paired


def assign(
    pd_scores: Tensor,
    pd_bboxes: Tensor,
    anc_points: Tensor,
    gt_labels: Tensor,
    gt_bboxes: Tensor,
    mask_gt: Tensor,
    settings: AssignerSettings,
    *,
    dense_scores: bool = True,
) -> Assignment:
    """Run task-aligned assignment and keep every stage.

    Args:
        pd_scores: ``Tensor[B, A, C] float``, class probabilities (after sigmoid).
        pd_bboxes: ``Tensor[B, A, 4] float, xyxy px``, predicted boxes.
        anc_points: ``Tensor[A, 2] float, px``, anchor centres.
        gt_labels: ``Tensor[B, M, 1]`` (or ``[B, M]``), class per gt slot.
        gt_bboxes: ``Tensor[B, M, 4] float, xyxy px``.
        mask_gt: ``Tensor[B, M, 1]`` (or ``[B, M]``), 1 for a real gt, 0 for padding.
        settings: see :class:`~tal_cli.core.settings.AssignerSettings`; ``num_classes`` must be C.
        dense_scores: build ``target_scores`` (``[B, A, C]``, the largest tensor, often most of
            the time on CPU); False leaves it None for callers that only count (``target_score``
            holds the same values, one per anchor).

    Returns:
        :class:`~tal_cli.core.assignment.Assignment` on the device of the inputs.

    Raises:
        ShapeError: shapes disagree; ValueError: a real gt's class is outside ``0..C-1``.
    """
    b, m, a, c = _check_inputs(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, settings.num_classes)
    s = settings
    dtype = pd_scores.dtype
    labels, gt_mask, gt_bboxes, cand_boxes = _gt_slots(gt_labels, mask_gt, gt_bboxes, s, dtype)

    # Stage 1: candidates, their metrics, and each gt's top-k over all anchors.
    pi, pg, pa = _candidate_pairs(anc_points, cand_boxes, gt_mask)  # (P,)
    group = pi * m + pg  # (P,) gt id over the batch
    anchor_key = pi * a + pa  # (P,) anchor id over the batch
    in_box, score, iou, metric = _pair_metrics(pd_scores, pd_bboxes, anc_points, gt_bboxes, labels, pi, pa, group,
                                               anchor_key, s, pair_overlap(s))
    rank, selected, tied = _select_topk(group, pa, metric, s.topk, a, b * m)

    # Stage 2: one gt per anchor (conflicts, then topk2).
    choosers, winner = _resolve_conflicts(anchor_key, pg, iou, selected, s.conflict, b * a, m, dtype)  # (B*A,)
    del anchor_key
    held = winner >= 0  # (B*A,)
    hi, hi_group, pos_metric, pos_iou, win_selected = _winner_pairs(group * a + pa, held, winner, metric, iou,
                                                                    selected, a, m, dtype)
    del group
    fg, fg_anchor, fg_group = _keep_topk2(held, hi, hi_group, pos_metric, s.topk2 if s.uses_topk2 else None, a,
                                          b * m)
    gt_idx = torch.where(fg, winner, 0).view(b, a)
    fg = fg.view(b, a)

    # Stage 3: targets.
    target_labels, target_bboxes = _targets(labels, gt_bboxes, gt_idx, c)  # (B, A), (B, A, 4)

    # Stage 4: soft targets, normalised by each gt's best metric and best IoU over its final positives.
    best_metric, best_iou, norm = _normalise(pos_metric, pos_iou, fg_anchor, fg_group, b * m, s.eps)
    target_score = norm.view(b, a)
    target_scores = _soft_one_hot(target_labels.clamp(max=c - 1), target_score, c) if dense_scores else None

    return Assignment(
        settings=s, gt_mask=gt_mask, gt_labels=labels, gt_bboxes=gt_bboxes, candidate_bboxes=cand_boxes,
        pair_image=pi, pair_gt=pg, pair_anchor=pa, pair_in_box=in_box, pair_score=score, pair_iou=iou,
        pair_metric=metric, pair_rank=rank, pair_selected=selected, pair_tied=tied,
        choosers=choosers.view(b, a), winner=winner.view(b, a), fg_mask=fg, target_gt_idx=gt_idx,
        target_labels=target_labels, target_bboxes=target_bboxes, target_scores=target_scores,
        target_score=target_score, positive_metric=torch.where(fg, pos_metric.view(b, a), 0.0),
        positive_iou=torch.where(fg, pos_iou.view(b, a), 0.0), handed=fg & ~win_selected.view(b, a),
        gt_best_metric=best_metric.view(b, m), gt_best_iou=best_iou.view(b, m),
    )


def _gt_slots(gt_labels: Tensor, mask_gt: Tensor, gt_bboxes: Tensor, settings: AssignerSettings,
              dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The gt inputs in the shapes the stages use, classes checked.

    Args:
        gt_labels, mask_gt: ``Tensor[B, M, 1]`` or ``[B, M]``.
        gt_bboxes: ``Tensor[B, M, 4] float, xyxy px``.
        dtype: the predictions' dtype, which the boxes take.

    Returns:
        ``labels`` ``Tensor[B, M] int64``, ``gt_mask`` ``Tensor[B, M] bool``, ``gt_bboxes``
        ``Tensor[B, M, 4]`` in ``dtype``, and the candidate boxes (floored when the floor applies).

    Raises:
        ValueError: a real gt's class is outside ``0..C-1``.
    """
    b, m = gt_bboxes.shape[:2]
    c = settings.num_classes
    labels = gt_labels.reshape(b, m).long()
    gt_mask = mask_gt.reshape(b, m).bool()
    real_labels = labels[gt_mask]
    outside = (real_labels >= c) | (real_labels < 0)
    if bool(outside.any()):
        raise ValueError(f"gt class {real_labels[outside][0].item()} is outside 0..{c - 1} (num_classes = {c})")
    gt_bboxes = gt_bboxes.to(dtype)
    cand_boxes = floor_small_boxes(gt_bboxes, settings.floor_side) if settings.uses_floor else gt_bboxes
    return labels, gt_mask, gt_bboxes, cand_boxes


def _pair_metrics(pd_scores: Tensor, pd_bboxes: Tensor, anc_points: Tensor, gt_bboxes: Tensor, labels: Tensor,
                  pi: Tensor, pa: Tensor, group: Tensor, anchor_key: Tensor, settings: AssignerSettings,
                  overlap: OverlapFn) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Stage 1 metrics of the candidate pairs: in-box flag, score ``s``, overlap ``u``, metric ``t``.

    Args:
        pd_scores: ``Tensor[B, A, C] float``; pd_bboxes: ``Tensor[B, A, 4] float, xyxy px``.
        anc_points: ``Tensor[A, 2] float, px``.
        gt_bboxes: ``Tensor[B, M, 4] float, xyxy px`` (not floored); labels: ``Tensor[B, M] int64``.
        pi, pa: ``Tensor[P] int64``, image and anchor of each pair.
        group: ``Tensor[P] int64``, ``image * M + gt``; anchor_key: ``Tensor[P] int64``, ``image * A + anchor``.
        overlap: the overlap step (:func:`pair_overlap`); ``u`` is it clamped at 0.

    Returns:
        ``in_box`` ``Tensor[P] bool`` (the centre is inside the original box, all True without the
        floor), ``score``, ``iou`` and ``metric = score**alpha * iou**beta``, each ``Tensor[P] float``.
    """
    b, m = gt_bboxes.shape[:2]
    a, c = pd_scores.shape[1:]
    gt_box = gt_bboxes.reshape(b * m, 4).index_select(0, group)  # (P, 4)
    if settings.uses_floor:
        in_box = centres_inside(anc_points[pa], gt_box)
    else:
        in_box = torch.ones_like(pa, dtype=torch.bool)
    pair_label = labels.reshape(-1).index_select(0, group)  # (P,)
    if pd_scores.is_contiguous():
        score = pd_scores.reshape(-1).index_select(0, anchor_key * c + pair_label)  # (P,)
    else:
        score = pd_scores[pi, pa, pair_label]
    del pair_label
    iou = overlap(gt_box, pd_bboxes.reshape(b * a, 4).index_select(0, anchor_key)).clamp(min=0)  # (P,)
    del gt_box
    metric = score.pow(settings.alpha) * iou.pow(settings.beta)  # (P,)
    return in_box, score, iou, metric


def _select_topk(group: Tensor, anchor: Tensor, metric: Tensor, topk: int, num_anchors: int,
                 num_groups: int) -> tuple[Tensor, Tensor, Tensor]:
    """Stage 1 top-k: each gt ranks all anchors by metric, zero ties by lower anchor index.

    Args:
        group: ``Tensor[P] int64``, ``image * M + gt``, pairs sorted by (group, anchor).
        anchor: ``Tensor[P] int64``; metric: ``Tensor[P] float >= 0``.
        num_anchors: A; num_groups: B * M.

    Returns:
        ``rank`` ``Tensor[P] int64`` (0 = best), ``selected`` ``Tensor[P] bool`` (rank < K),
        ``tied`` ``Tensor[P] bool`` (:func:`_boundary_ties`).
    """
    rank = rank_among_all_anchors(group, anchor, metric, num_groups)
    selected = rank < topk
    tied = _boundary_ties(group, metric, rank, topk, num_anchors, num_groups)
    return rank, selected, tied


def _resolve_conflicts(anchor_key: Tensor, pair_gt: Tensor, iou: Tensor, selected: Tensor, conflict: str,
                       num_anchors: int, num_slots: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """Stage 2 conflicts: the gt slot holding each anchor of the batch.

    An anchor selected by one gt goes to it; one selected by several (*contested*) goes to the
    competing gt of largest IoU, lowest slot on ties; competitors are all gt slots (``"all-gts"``:
    slot 0 when every IoU is 0) or only those that selected it (``"choosers"``).

    Args:
        anchor_key: ``Tensor[P] int64``, ``image * A + anchor``; pair_gt: ``Tensor[P] int64``, slot.
        iou: ``Tensor[P] float``; selected: ``Tensor[P] bool``.
        num_anchors: B * A; num_slots: M.
        dtype: dtype of the per-anchor best IoU.

    Returns:
        ``choosers`` ``Tensor[B*A] int64`` (gts that selected each anchor) and ``winner``
        ``Tensor[B*A] int64`` (slot holding it, -1 if none).
    """
    dev = anchor_key.device
    sel = selected.nonzero().squeeze(1)  # at most K per gt
    sel_anchor = anchor_key[sel]
    choosers = torch.bincount(sel_anchor, minlength=num_anchors)  # (B*A,)
    winner = torch.full((num_anchors,), -1, dtype=torch.long, device=dev)
    winner[sel_anchor] = pair_gt[sel]  # exact where one chooser
    contested = choosers > 1
    if bool(contested.any()):
        if conflict == "choosers":
            compete = sel[contested[sel_anchor]]
        else:
            compete = contested[anchor_key].nonzero().squeeze(1)
        compete_anchor, compete_iou = anchor_key[compete], iou[compete]
        best = torch.zeros(num_anchors, dtype=dtype, device=dev).scatter_reduce(
            0, compete_anchor, compete_iou, "amax", include_self=True)  # (B*A,)
        is_best = compete_iou == best[compete_anchor]
        lowest = torch.full((num_anchors,), num_slots, dtype=torch.long, device=dev).scatter_reduce(
            0, compete_anchor[is_best], pair_gt[compete[is_best]], "amin", include_self=True)  # (B*A,)
        if conflict == "all-gts":
            lowest = torch.where(best > 0, lowest, torch.zeros_like(lowest))  # all-zero column: slot 0
        winner = torch.where(contested, lowest, winner)
    return choosers, winner


def _winner_pairs(pair_key: Tensor, held: Tensor, winner: Tensor, metric: Tensor, iou: Tensor, selected: Tensor,
                  num_anchors: int, num_slots: int,
                  dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Stage 2: metric, IoU and top-k pick of each (winner, anchor); 0 where the winner does not contain it.

    Args:
        pair_key: ``Tensor[P] int64``, ``(image * M + gt) * A + anchor``, ascending.
        held: ``Tensor[B*A] bool``, ``winner >= 0``; winner: ``Tensor[B*A] int64``.
        metric, iou: ``Tensor[P] float``; selected: ``Tensor[P] bool``.
        num_anchors: A; num_slots: M; dtype: dtype of the per-anchor values.

    Returns:
        ``hi`` ``Tensor[H] int64`` (held anchors over the batch, ascending), ``hi_group``
        ``Tensor[H] int64`` (their gt, ``image * M + slot``), and over the batch's anchors
        ``pos_metric``, ``pos_iou`` ``Tensor[B*A] float`` and ``win_selected`` ``Tensor[B*A] bool``.
    """
    a, total, dev = num_anchors, held.shape[0], held.device
    hi = held.nonzero().squeeze(1)  # (H,) anchors (over the batch) that have a gt
    hi_group = torch.div(hi, a, rounding_mode="floor") * num_slots + winner[hi]  # (H,)
    idx, found = _pair_lookup(pair_key, hi_group * a + hi % a)  # pair keys ascend
    idx = idx[found]
    hf = hi[found]
    pos_metric = torch.zeros(total, dtype=dtype, device=dev)  # (B*A,)
    pos_metric[hf] = metric[idx]
    pos_iou = torch.zeros(total, dtype=dtype, device=dev)  # (B*A,)
    pos_iou[hf] = iou[idx]
    win_selected = torch.zeros(total, dtype=torch.bool, device=dev)  # (B*A,)
    win_selected[hf] = selected[idx]
    return hi, hi_group, pos_metric, pos_iou, win_selected


def _keep_topk2(held: Tensor, hi: Tensor, hi_group: Tensor, pos_metric: Tensor, topk2: int | None,
                num_anchors: int, num_groups: int) -> tuple[Tensor, Tensor, Tensor]:
    """Stage 2, ``topk2`` (None: keep every held anchor): each gt keeps its positives among its
    ``topk2`` best anchors by post-conflict metric (same tie rule as top-k).

    Args:
        held: ``Tensor[B*A] bool``; hi, hi_group: ``Tensor[H] int64`` (:func:`_winner_pairs`).
        pos_metric: ``Tensor[B*A] float``.
        num_anchors: A; num_groups: B * M.

    Returns:
        ``fg`` ``Tensor[B*A] bool``, and the final positives' anchors and gts, ``Tensor[F] int64`` each.
    """
    if topk2 is None:
        return held, hi, hi_group
    a = num_anchors
    by_gt = torch.argsort(hi_group * a + hi % a)  # rank_among_all_anchors wants (gt, anchor) order
    keep = torch.empty(hi.shape, dtype=torch.bool, device=hi.device)
    keep[by_gt] = rank_among_all_anchors(hi_group[by_gt], hi[by_gt] % a, pos_metric[hi[by_gt]], num_groups) < topk2
    fg = held.clone()
    fg[hi[~keep]] = False
    return fg, hi[keep], hi_group[keep]


def _targets(labels: Tensor, gt_bboxes: Tensor, gt_idx: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    """Stage 3: every anchor's label and box, taken from its gt (slot 0 on background).

    Args:
        labels: ``Tensor[B, M] int64``; gt_bboxes: ``Tensor[B, M, 4] float, xyxy px``.
        gt_idx: ``Tensor[B, A] int64``.

    Returns:
        ``Tensor[B, A] int64`` labels clamped at 0 (all C when M == 0) and ``Tensor[B, A, 4]`` boxes.
    """
    b, a = gt_idx.shape
    if gt_bboxes.shape[1] == 0:
        target_labels = torch.full((b, a), num_classes, dtype=torch.long, device=gt_idx.device)
        target_bboxes = torch.zeros((b, a, 4), dtype=gt_bboxes.dtype, device=gt_idx.device)
    else:
        target_labels = labels.gather(1, gt_idx).clamp(min=0)  # (B, A)
        target_bboxes = gt_bboxes.gather(1, gt_idx[..., None].expand(b, a, 4))  # (B, A, 4)
    return target_labels, target_bboxes


def _normalise(pos_metric: Tensor, pos_iou: Tensor, fg_anchor: Tensor, fg_group: Tensor, num_groups: int,
               eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """Stage 4: each positive's score ``t * max_u(g) / (max_t(g) + eps)``, maxima over g's final positives.

    Args:
        pos_metric, pos_iou: ``Tensor[B*A] float``.
        fg_anchor, fg_group: ``Tensor[F] int64``, final positives over the batch and their gts.
        num_groups: B * M.

    Returns:
        ``best_metric``, ``best_iou`` ``Tensor[B*M] float`` and ``norm`` ``Tensor[B*A] float`` (0 on background).
    """
    dtype, dev = pos_metric.dtype, pos_metric.device
    fg_metric = pos_metric[fg_anchor]  # (F,)
    best_metric = torch.zeros(num_groups, dtype=dtype, device=dev).scatter_reduce(
        0, fg_group, fg_metric, "amax", include_self=True)  # (B*M,)
    best_iou = torch.zeros(num_groups, dtype=dtype, device=dev).scatter_reduce(
        0, fg_group, pos_iou[fg_anchor], "amax", include_self=True)  # (B*M,)
    norm = torch.zeros(pos_metric.shape[0], dtype=dtype, device=dev)  # (B*A,)
    norm[fg_anchor] = fg_metric * best_iou[fg_group] / (best_metric[fg_group] + eps)
    return best_metric, best_iou, norm


def _soft_one_hot(labels: Tensor, score: Tensor, num_classes: int) -> Tensor:
    """``one_hot(labels) * score[..., None]``: ``Tensor[B, A, C]`` from ``[B, A]`` labels and scores.

    Written as a scatter into zeros (one [B, A, C] tensor instead of four); where that could
    differ in a bit from the product (a score that is not finite or has its sign bit set,
    making ``0 * score`` NaN or -0) the product is used.
    """
    if bool((~torch.isfinite(score) | torch.signbit(score)).any()):
        return torch.nn.functional.one_hot(labels, num_classes).to(score.dtype) * score[..., None]
    out = torch.zeros((*labels.shape, num_classes), dtype=score.dtype, device=score.device)
    return out.scatter_(-1, labels[..., None], score[..., None])


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
        """Every stage; see :func:`tal_cli.core.assigner.assign`."""
        return assign(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, self.settings)

    def __call__(self, pd_scores: Tensor, pd_bboxes: Tensor, anc_points: Tensor, gt_labels: Tensor,
                 gt_bboxes: Tensor, mask_gt: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        return self.assign(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt).outputs()
