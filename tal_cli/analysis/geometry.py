"""What the boxes alone decide about assignment: candidates per stride, DFL reach, shared anchors.

Pure arithmetic on gt boxes in network-input pixels; no predictions, no files. Every count is
what the assigner and the losses would compute, with their own float32 operations:

- a *candidate* of a gt is an anchor whose centre lies strictly inside its box (each margin
  ``> 1e-9``, :func:`~tal_cli.core.boxes.centres_inside`), the box widened by the small-box
  floor for variant ``ultralytics`` (:func:`~tal_cli.core.boxes.floor_small_boxes`);
- a candidate is *within DFL reach* when the four distances from its centre to the gt's own
  box (not floored), in grid units, are at most ``reg_max - 1 - 0.01`` (``ltrb > reach`` is
  what :func:`~tal_cli.core.losses.compute_losses` flags and clips);
- an anchor is *shared* when it is a candidate of two or more gts of one image: top-k picks
  of several gts can only meet there (conflicts).

Counting never tests every (gt, anchor) pair. Along one axis of one level the centres are
sorted and each test is monotone along them (rounding is monotone), so the centres that pass
form one run: its ends are found by binary search (``searchsorted``) and then settled with the
very comparison the assigner makes, so the count is exact bit for bit. A gt's candidates at a
level are the columns times the rows of its run. Shared anchors need one coverage count per
anchor and image: each gt adds its rectangle of cells to a difference grid, whose running sums
give, per cell, how many gts hold it (O(gts + anchors) per image, never gts x anchors).

Shapes: G gts over B images, L levels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ..core.anchors import Level
from ..core.boxes import floor_small_boxes
from ..core.losses import DFL_MARGIN

#: The assigner's margin: a centre is inside a box when each of its four margins is larger.
INSIDE_EPS = 1e-9


@dataclass(frozen=True)
class Span:
    """Per gt, axis and level, the run of centres ``first .. stop - 1`` (empty when ``stop <= first``).

    Attributes:
        first: ``Tensor[G, 2, L] int64``, the first index in the run (axis 0: columns, 1: rows).
        stop: ``Tensor[G, 2, L] int64``, one past the last (may be ``<= first``: no centre).
    """

    first: Tensor
    stop: Tensor

    @property
    def count(self) -> Tensor:
        """``Tensor[G, 2, L] int64``: centres in the run (0 when empty)."""
        return (self.stop - self.first).clamp(min=0)

    @property
    def cells(self) -> Tensor:
        """``Tensor[G, L] int64``: columns times rows, the cells of each level in the run."""
        count = self.count
        return count[:, 0] * count[:, 1]

    def meet(self, other: "Span") -> "Span":
        """The centres in both runs."""
        return Span(torch.maximum(self.first, other.first), torch.minimum(self.stop, other.stop))


@dataclass(frozen=True)
class AxisGrid:
    """The levels of an anchor grid, packed for counting along x and y at once.

    The centre of column (or row) ``j`` of a level of stride ``s`` is ``(j + 0.5) * s`` in
    float32, the operations of :func:`~tal_cli.core.anchors.level_centres`: :meth:`centre`
    computes it for any index, bit for bit the anchors' own coordinate.

    Attributes:
        size: ``Tensor[2, L] float32``, columns and rows of each level (whole numbers).
        strides: ``Tensor[L] float32``, px per cell.
    """

    size: Tensor
    strides: Tensor

    @classmethod
    def of(cls, levels: Sequence[Level]) -> "AxisGrid":
        size = torch.tensor([[lv.width for lv in levels], [lv.height for lv in levels]], dtype=torch.float32)
        return cls(size, torch.tensor([float(lv.stride) for lv in levels], dtype=torch.float32))

    def centre(self, index: Tensor) -> Tensor:
        """``Tensor[G, 2, L] float32`` px: the centre of column / row ``index`` (float32 whole numbers)."""
        return (index + 0.5) * self.strides


def settle(guess: Tensor, size: Tensor, before: Callable[[Tensor], Tensor]) -> Tensor:
    """The boundary of a monotone test along sorted positions, from a guess.

    ``before(index)`` says whether position ``index`` (``0..size-1``) lies before the boundary;
    it holds on a prefix of the positions. Returns the first position where it does not hold
    (``size`` where it holds everywhere). The guess is moved one position at a time until both
    neighbours of the boundary agree, so the answer is exact whatever the guess; a good guess
    needs one round.

    Args:
        guess: ``Tensor[...] float32`` whole numbers (clamped to ``0..size``).
        size: positions, broadcastable with ``guess``.

    Returns:
        ``Tensor[...] float32`` whole numbers, shaped like ``guess``.
    """
    k = torch.minimum(guess.clamp(min=0), size)
    while True:
        forward = (k < size) & before(k)  # position k is still before: move on
        back = (k > 0) & ~before(k - 1)  # position k - 1 is already past: move back
        if not bool((forward | back).any()):
            return k
        k = k + forward.to(k.dtype) - back.to(k.dtype)


def inside_span(grid: AxisGrid, lo: Tensor, hi: Tensor, eps: float = INSIDE_EPS) -> Span:
    """Centres strictly inside ``(lo, hi)`` by the assigner's test: ``centre - lo > eps`` and ``hi - centre > eps``.

    Args:
        grid: the levels.
        lo, hi: ``Tensor[G, 2] float32`` px, the box's low and high sides (x then y).

    Returns:
        the run of centres inside, per gt, axis and level.
    """
    lo, hi = lo[:, :, None], hi[:, :, None]  # (G, 2, 1)
    s = grid.strides  # (L,)
    # Centre j sits at (j + 0.5) s: the guesses count the centres <= lo and < hi.
    first = settle(torch.floor(lo / s + 0.5), grid.size, lambda k: ~((grid.centre(k) - lo) > eps))  # (G, 2, L)
    stop = settle(torch.ceil(hi / s - 0.5), grid.size, lambda k: (hi - grid.centre(k)) > eps)
    return Span(first.long(), stop.long())


def reach_span(grid: AxisGrid, lo: Tensor, hi: Tensor, reach: float) -> Span:
    """Centres whose distances to both sides, in grid units, are at most ``reach``, as the DFL targets are computed.

    The losses take ``centre / s - lo / s`` and ``hi / s - centre / s`` (float32) and flag a
    side ``> reach``; the first distance grows along the axis and the second shrinks, so the
    centres that pass both form one run.

    Args:
        grid: the levels.
        lo, hi: ``Tensor[G, 2] float32`` px, the gt's own sides (x then y).
        reach: ``R - 1 - 0.01`` grid units.
    """
    s = grid.strides  # (L,)
    lo_g, hi_g = lo[:, :, None] / s, hi[:, :, None] / s  # (G, 2, L)

    def at(k: Tensor) -> Tensor:
        return grid.centre(k) / s  # the anchor in grid units

    first = settle(torch.ceil(hi_g - reach - 0.5), grid.size, lambda k: (hi_g - at(k)) > reach)
    stop = settle(torch.floor(lo_g + reach + 0.5), grid.size, lambda k: ~((at(k) - lo_g) > reach))
    return Span(first.long(), stop.long())


def dfl_reach(reg_max: int) -> float | None:
    """The largest target distance (grid units) the DFL bins express, ``R - 1 - 0.01``; None without DFL (R <= 1)."""
    return None if reg_max <= 1 else reg_max - 1 - DFL_MARGIN


@dataclass(frozen=True)
class GtGeometry:
    """What the boxes of a batch decide, per gt and per image, under one setting.

    Attributes:
        candidates: ``Tensor[G, L] int64``, anchors whose centre is strictly inside the gt's
            (floored) box, per level.
        within_reach: ``Tensor[G, L] int64``, of those, the ones whose DFL targets fit the bins;
            None without DFL.
        shared: ``Tensor[G] int64``, of the gt's candidates, those that are candidates of
            another gt of its image too.
        image_shared: ``Tensor[B] int64``, anchors of each image that are candidates of two or
            more gts.
    """

    candidates: Tensor
    within_reach: Tensor | None
    shared: Tensor
    image_shared: Tensor

    @property
    def total(self) -> Tensor:
        """``Tensor[G] int64``: candidates over every level."""
        return self.candidates.sum(1)


def candidate_runs(grid: AxisGrid, boxes: Tensor, floor_side: float | None = None,
                   reg_max: int = 16) -> tuple[Tensor, Span, Span | None]:
    """Each gt's run of candidate centres per level, and the part of it within the DFL reach.

    Args:
        grid: ``AxisGrid.of(levels)``.
        boxes: ``Tensor[G, 4] float32, xyxy px`` in the network input (letterboxed), finite.
        floor_side: the small-box floor in px (variant ``ultralytics``), or None.
        reg_max: R of the head; 1 (no DFL) gives no reach run.

    Returns:
        ``(candidate boxes, inside, reach)``: ``Tensor[G, 4] float32, xyxy px``, the boxes the
        candidate test uses (``boxes`` widened by the floor, else ``boxes``); the runs of centres
        strictly inside them (their cells are the candidates); the part of those runs whose DFL
        targets fit the bins (None without DFL; its cells are the candidates within reach).
    """
    cand_boxes = floor_small_boxes(boxes, floor_side) if floor_side is not None else boxes
    inside = inside_span(grid, cand_boxes[:, :2], cand_boxes[:, 2:])  # (G, 2, L)
    reach = dfl_reach(reg_max)
    if reach is None:
        return cand_boxes, inside, None
    return cand_boxes, inside, inside.meet(reach_span(grid, boxes[:, :2], boxes[:, 2:], reach))


def gt_geometry(boxes: Tensor, image: Tensor, num_images: int, levels: Sequence[Level],
                floor_side: float | None = None, reg_max: int = 16, grid: AxisGrid | None = None) -> GtGeometry:
    """Candidates per level, DFL reach and shared anchors of every gt of a batch.

    Args:
        boxes: ``Tensor[G, 4] float32, xyxy px`` in the network input (letterboxed), finite.
        image: ``Tensor[G] int64``, the image (``0..B-1``) of each gt.
        num_images: B.
        levels: the anchor grid (:func:`~tal_cli.core.anchors.grid_levels`).
        floor_side: the small-box floor in px (variant ``ultralytics``), or None.
        reg_max: R of the head; 1 (no DFL) leaves ``within_reach`` None.
        grid: ``AxisGrid.of(levels)``, when the caller keeps it.

    Returns:
        :class:`GtGeometry`; with G = 0 every per-gt tensor is empty.
    """
    grid = grid if grid is not None else AxisGrid.of(levels)
    _, inside, reach = candidate_runs(grid, boxes.to(torch.float32), floor_side, reg_max)
    within = None if reach is None else reach.cells
    shared = torch.zeros(boxes.shape[0], dtype=torch.long)
    image_shared = torch.zeros(num_images, dtype=torch.long)
    for li, level in enumerate(levels):
        level_shared, per_image = shared_cells(inside, li, image, num_images, level)
        shared += level_shared
        image_shared += per_image
    return GtGeometry(inside.cells, within, shared, image_shared)


def shared_cells(span: Span, li: int, image: Tensor, num_images: int, level: Level) -> tuple[Tensor, Tensor]:
    """Cells of one level held by two or more gts of one image, per gt and per image.

    Each gt holds the rectangle of its columns times its rows. A difference grid per image
    gets +1 and -1 at the rectangle's corners; its running sums over rows and columns give how
    many gts hold each cell. Counting each gt's cells held by two or more is then a rectangle
    sum over the running sums of that indicator.

    Args:
        span: each gt's run of columns and rows at every level (:func:`inside_span`).
        li: the level's index in ``span``.
        image: ``Tensor[G] int64``, image of each gt.

    Returns:
        ``(Tensor[G] int64, Tensor[B] int64)``: per gt, its cells held by another gt too; per
        image, the cells held by two or more gts.
    """
    h, w = level.height, level.width
    g = image.numel()
    if g == 0:
        return torch.zeros(0, dtype=torch.long), torch.zeros(num_images, dtype=torch.long)
    first, stop = span.first[:, :, li], span.stop[:, :, li]  # (G, 2)
    real = (stop > first).all(1)  # (G,)
    c0, r0 = first[:, 0].clamp(0, w), first[:, 1].clamp(0, h)
    c1, r1 = stop[:, 0].clamp(0, w), stop[:, 1].clamp(0, h)
    width = w + 1
    plane = (h + 1) * width
    base = image * plane  # (G,)
    # Counts of gts per cell and of cells per plane: int16 where they fit (running sums are faster)
    fits = plane < 1 << 15 and int(torch.bincount(image).max()) < 1 << 15
    small = torch.int16 if fits else torch.int32
    diff = torch.zeros(num_images * plane, dtype=small)
    one = real.to(small)  # gts without a cell add nothing
    for r, c, sign in ((r0, c0, 1), (r0, c1, -1), (r1, c0, -1), (r1, c1, 1)):
        diff.index_add_(0, base + r * width + c, one * sign)
    held = diff.view(num_images, h + 1, width).cumsum(1, dtype=small).cumsum(2, dtype=small)  # (B, H+1, W+1)
    multi = held >= 2  # cells of two or more gts (the last row and column hold 0)
    sums = multi.cumsum(1, dtype=small).cumsum(2, dtype=small).view(-1)  # sums[b, r, c]: cells <= (r, c)
    per_image = sums[torch.arange(num_images) * plane + plane - 1]  # (B,) the whole plane

    def upto(r: Tensor, c: Tensor) -> Tensor:  # cells of rows < r and columns < c (0 when r or c is 0)
        at = sums[base + (r - 1).clamp(min=0) * width + (c - 1).clamp(min=0)]
        return torch.where((r > 0) & (c > 0), at, 0)

    per_gt = upto(r1, c1) - upto(r0, c1) - upto(r1, c0) + upto(r0, c0)  # (G,)
    return torch.where(real, per_gt, 0).long(), per_image.long()
