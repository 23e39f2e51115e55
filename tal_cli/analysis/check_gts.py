"""One file's gts, gt by gt, under one setting: what ``tal check`` counts, kept per gt.

:func:`~.check.measure` totals the geometry of every file; the ``--html`` drill-down shows a few
files gt by gt. This module computes those per-gt numbers with the very functions ``measure``
uses: the gts letterboxed by :func:`~.check.letterbox_boxes`, then
:func:`~.geometry.gt_geometry` (candidates per stride, DFL reach, shared anchors). It adds the
runs of columns and rows that hold each gt's candidates (:func:`~.geometry.inside_span`), so a
page can draw the candidate anchor centres, and a status per gt.

A gt whose box is not finite is left out of the geometry, as ``measure`` leaves it out: its
counts are 0 and its status :data:`NOT_FINITE`.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..readers.verdicts import DROPPED, FileVerdict
from .check import CheckSetting, FileCheck, letterbox_boxes, problem_key
from .counts import size_bucket, xyxy_area
from .geometry import AxisGrid, Span, candidate_runs, gt_geometry, inside_span

#: Status codes, worst first: what a gt can get under a setting, from its box alone.
NO_CANDIDATE, BEYOND_REACH, FEWER_THAN_TOPK, FINE, NOT_FINITE = range(5)
#: Their keys, by code.
STATUSES = ("no-candidate", "beyond-reach", "fewer-than-topk", "fine", "not-finite")


@dataclass(frozen=True)
class FileGts:
    """The gts of one kept file under one setting (N gts, L levels), in ultralytics' order.

    Attributes:
        boxes: ``Tensor[N, 4] float32, xyxy px`` in the network input, letterboxed as
            ``tal check`` letterboxes them (may hold non-finite values, see ``finite``).
        finite: ``Tensor[N] bool``, the gts measured (a box that is not finite is left out).
        candidate_boxes: ``Tensor[N, 4] float32, xyxy px``, the boxes the candidate test uses:
            ``boxes`` widened by the small-box floor (variant ``ultralytics``), else ``boxes``.
        candidates: ``Tensor[N, L] int64``, candidate anchors per level (0 for gts left out).
        within_reach: ``Tensor[N, L] int64``, of those, the ones within the DFL reach; None without DFL.
        shared: ``Tensor[N] int64``, candidates that are candidates of another gt of the file too.
        image_shared: anchors of the file that are candidates of two or more gts.
        inside: the run of columns (axis 0) and rows (axis 1) of each gt's candidates per level:
            ``Span.first``, ``Span.stop`` are ``Tensor[N, 2, L] int64``; its cells are ``candidates``.
        reach: the part of ``inside`` within the DFL reach (None without DFL); its cells are ``within_reach``.
        in_box: the centres strictly inside the gt's own box (None without the small-box floor):
            candidates outside it are candidates only through the floor.
        size: ``Tensor[N] int64``, the COCO size bucket of each letterboxed box
            (:func:`~.counts.size_bucket`).
        status: ``Tensor[N] int64``, :data:`NO_CANDIDATE` ... :data:`NOT_FINITE` (the worst that applies).
    """

    boxes: Tensor
    finite: Tensor
    candidate_boxes: Tensor
    candidates: Tensor
    within_reach: Tensor | None
    shared: Tensor
    image_shared: int
    inside: Span
    reach: Span | None
    in_box: Span | None
    size: Tensor
    status: Tensor

    @property
    def total(self) -> Tensor:
        """``Tensor[N] int64``: candidates over every level."""
        return self.candidates.sum(1)

    @property
    def zero_candidate(self) -> int:
        """Measured gts without a candidate (``FileCheck.zero_candidate`` of this setting)."""
        return int((self.status == NO_CANDIDATE).sum())


def _scatter(values: Tensor, ok: Tensor, n: int) -> Tensor:
    """``values`` of the measured gts back at their places among ``n`` gts, zeros elsewhere."""
    out = torch.zeros((n, *values.shape[1:]), dtype=values.dtype)
    out[ok] = values
    return out


def _scatter_span(span: Span, ok: Tensor, n: int) -> Span:
    return Span(_scatter(span.first, ok, n), _scatter(span.stop, ok, n))


def file_gts(verdict: FileVerdict, setting: CheckSetting) -> FileGts:
    """Letterbox one kept file's gts under ``setting`` and measure each, as :func:`~.check.measure` does.

    Args:
        verdict: a kept file (:func:`~tal_cli.readers.verdicts.verify_pair`) with its size.
        setting: the input size and variant.

    Returns:
        :class:`FileGts`; with no gts every tensor is empty.
    """
    assert verdict.size_hw is not None, "a kept file has a size"
    n, levels = len(verdict.gts), setting.levels
    norm = torch.tensor(verdict.gts.boxes, dtype=torch.float64).view(-1, 4).to(torch.float32)  # (N, 4), as measure
    boxes = letterbox_boxes(norm, [verdict.size_hw], torch.tensor([n]), setting.imgsz)  # (N, 4)
    finite = torch.isfinite(boxes).all(1)  # (N,)
    ok = finite.nonzero().squeeze(1)
    measured = boxes[ok]
    floor = setting.floor_side
    grid = AxisGrid.of(levels)
    geo = gt_geometry(measured, torch.zeros(ok.numel(), dtype=torch.long), 1, levels, floor, setting.reg_max, grid)
    cand, inside, reach = candidate_runs(grid, measured, floor, setting.reg_max)  # the runs gt_geometry counts
    in_box = None if floor is None else inside_span(grid, measured[:, :2], measured[:, 2:])
    total = geo.total  # (N',)
    status = torch.full((ok.numel(),), FINE, dtype=torch.long)
    status[total < setting.topk] = FEWER_THAN_TOPK
    if geo.within_reach is not None:
        status[(total > 0) & (geo.within_reach.sum(1) == 0)] = BEYOND_REACH
    status[total == 0] = NO_CANDIDATE
    size = size_bucket(xyxy_area(measured))
    all_status = torch.full((n,), NOT_FINITE, dtype=torch.long)
    all_status[ok] = status
    return FileGts(
        boxes=boxes, finite=finite, candidate_boxes=_scatter(cand, ok, n),
        candidates=_scatter(geo.candidates, ok, n),
        within_reach=None if geo.within_reach is None else _scatter(geo.within_reach, ok, n),
        shared=_scatter(geo.shared, ok, n), image_shared=int(geo.image_shared.sum()),
        inside=_scatter_span(inside, ok, n), reach=None if reach is None else _scatter_span(reach, ok, n),
        in_box=None if in_box is None else _scatter_span(in_box, ok, n),
        size=_scatter(size, ok, n), status=all_status)


#: Dropped files, and files with duplicate rows, listed by name at most (the rest are counted).
MAX_LISTED = 1000


@dataclass
class PageFiles:
    """What the ``--html`` page keeps of a check's files; fed every file's record in order (an ``on_file`` hook).

    Memory stays bounded whatever the dataset: the ``images`` files most worth a look among those
    training sees, and at most :data:`MAX_LISTED` dropped files and files with duplicate rows (the
    rest only counted). Dropped files never enter the drill-down: training never sees them, and
    their reason, file and line are all there is to show (the page lists them).

    Attributes:
        images: how many files the drill-down shows (at most; fewer when fewer files are kept).
        dropped, duplicates: the first dropped files and files with duplicate rows, in file order.
        dropped_total, duplicates_total: how many there are in all.
    """

    images: int
    dropped: list[FileCheck] = field(default_factory=list)
    duplicates: list[FileCheck] = field(default_factory=list)
    dropped_total: int = 0
    duplicates_total: int = 0
    _seen: int = 0
    _best: list[tuple[tuple, int, FileCheck]] = field(default_factory=list)

    def __call__(self, f: FileCheck) -> None:
        self._seen += 1
        if f.status == DROPPED:
            self.dropped_total += 1
            if len(self.dropped) < MAX_LISTED:
                self.dropped.append(f)
        if f.duplicates_removed:
            self.duplicates_total += 1
            if len(self.duplicates) < MAX_LISTED:
                self.duplicates.append(f)
        if self.images and f.status != DROPPED:
            self._best.append((problem_key(f), self._seen, f))
            if len(self._best) > 4 * self.images + 64:
                self._best = heapq.nsmallest(self.images, self._best)

    def worst(self) -> list[FileCheck]:
        """The ``images`` files most worth a look that training sees, worst first: the order of ``tal check``'s
        list of files worth a look (:func:`~.check.problem_key`, then file order), then the other files in file
        order. Dropped files are left out (see :attr:`dropped`)."""
        return [f for _, _, f in heapq.nsmallest(self.images, self._best)]
