"""What the training monitor counts: per assigner call, per batch, per epoch.

Pure torch, no ultralytics. :mod:`tal_cli.ultralytics.monitor` hands each hooked assigner
call's tensors to :func:`count_outputs` (from the five outputs), :func:`count_conflicts`
(at the conflict step) and :func:`count_rerun` (``tal``'s own :func:`~tal_cli.core.assigner.assign`
on the same inputs); the results are :class:`Counts` on the training device, added up
without a host synchronisation, and turned into one :class:`EpochRecord` per epoch and
branch by :meth:`Counts.record` (one synchronisation; under DDP after
:func:`all_reduce_counts`).

Dimension names: B images, M gt slots, A anchors, C classes, K the :data:`INT_FIELDS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ..core.assignment import Assignment
from ..core.settings import AssignerSettings
from .counts import SIZE_BUCKETS, Count, size_bucket
from .reasons import REASONS, no_positive_reasons
from .sweep import PerGt

#: Size buckets of gts, in network-input pixels after augmentation (the boxes the loss gives
#: the assigner): COCO's by area (:func:`~tal_cli.analysis.counts.size_bucket`), and two
#: sub-stride ones by the longer side. A gt counts in one COCO bucket and in every side
#: bucket it fits (``lt8px`` gts are also ``lt16px`` and ``small``).
BUCKETS: tuple[tuple[str, str], ...] = (
    *zip(SIZE_BUCKETS, ("area < 32² px", "32² <= area < 96² px", "area >= 96² px")),
    ("lt16px", "longer side < 16 px"), ("lt8px", "longer side < 8 px"),
)
_SIDE_LIMITS = (16.0, 8.0)

#: Histogram of positives per gt: bins 0..HIST_BINS-2 exact, the last one "that many or more".
HIST_BINS = 256

#: The integer counters, in the order of :attr:`Counts.ints`: those from an assigner call's
#: outputs, those from its conflict step, those from ``tal``'s re-run (three runs of fields).
OUTPUT_FIELDS: tuple[str, ...] = (
    "batches", "images", "gts", "gts_without_positives", "positives",
    *(f"gts_{name}" for name, _ in BUCKETS), *(f"without_{name}" for name, _ in BUCKETS),
)
CONFLICT_FIELDS: tuple[str, ...] = ("conflict_batches", "contested", "handed")
RERUN_FIELDS: tuple[str, ...] = (
    "rerun_batches", "rerun_gts", "rerun_without_positives", *(f"reason_{r}" for r in REASONS),
    "rerun_differing_anchors", "rerun_tied_candidates", "rerun_unexplained_anchors",
)
INT_FIELDS: tuple[str, ...] = OUTPUT_FIELDS + CONFLICT_FIELDS + RERUN_FIELDS
_IDX = {name: i for i, name in enumerate(INT_FIELDS)}


def _ints(part: Tensor, before: int, after: int) -> Tensor:
    """``Tensor[K] int64``: ``part`` with ``before`` zeros ahead and ``after`` behind (no host copy)."""
    z = dict(dtype=torch.long, device=part.device)
    return torch.cat((torch.zeros(before, **z), part.long(), torch.zeros(after, **z)))


def _float_dtype(device: torch.device) -> torch.dtype:
    """float64 where the device has it (MPS does not)."""
    return torch.float32 if device.type == "mps" else torch.float64


def gt_buckets(gt_bboxes: Tensor) -> Tensor:
    """Which :data:`BUCKETS` each gt slot falls in.

    Args:
        gt_bboxes: ``Tensor[B, M, 4] float, xyxy px``.

    Returns:
        ``Tensor[len(BUCKETS), B, M] bool`` (padding slots included: mask them).
    """
    boxes = gt_bboxes.to(_float_dtype(gt_bboxes.device))
    w, h = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]  # (B, M)
    size = size_bucket(w * h)  # (B, M)
    out = [size == i for i in range(len(SIZE_BUCKETS))]
    out += [torch.maximum(w, h) < limit for limit in _SIDE_LIMITS]
    return torch.stack(out)


@dataclass
class Counts:
    """Counters of a stretch of training (one call, a batch, an epoch) on one device; ``add_`` sums.

    Attributes:
        ints: ``Tensor[K] int64``, the :data:`INT_FIELDS`.
        target_score_sum: ``Tensor[] float64`` (float32 on MPS), sum of the positives' target scores.
        hist: ``Tensor[HIST_BINS] int64``, gts by their number of positives.
        class_gts, class_without: ``Tensor[C] int64``, gts and gts without positives per class.
        images: per committed call, ``(Tensor[B, 2] int64, files)``: each image's gts without
            positives and gts, and its files (None when the trainer's batch had none).
    """

    ints: Tensor
    target_score_sum: Tensor
    hist: Tensor
    class_gts: Tensor
    class_without: Tensor
    images: list[tuple[Tensor, Sequence[str] | None]] = field(default_factory=list)

    @classmethod
    def zeros(cls, num_classes: int, device: torch.device | str = "cpu") -> "Counts":
        device = torch.device(device)
        z = dict(dtype=torch.long, device=device)
        return cls(torch.zeros(len(INT_FIELDS), **z), torch.zeros((), dtype=_float_dtype(device), device=device),
                   torch.zeros(HIST_BINS, **z), torch.zeros(num_classes, **z), torch.zeros(num_classes, **z))

    def add_(self, other: "Counts") -> "Counts":
        """Add ``other`` in place (no host synchronisation); returns self."""
        self.ints += other.ints
        self.target_score_sum += other.target_score_sum
        self.hist += other.hist
        if other.class_gts.numel() > self.class_gts.numel():  # a wider head than expected: grow
            grow = other.class_gts.numel() - self.class_gts.numel()
            self.class_gts = torch.cat((self.class_gts, self.class_gts.new_zeros(grow)))
            self.class_without = torch.cat((self.class_without, self.class_without.new_zeros(grow)))
        n = other.class_gts.numel()
        self.class_gts[:n] += other.class_gts
        self.class_without[:n] += other.class_without
        self.images.extend(other.images)
        return self

    def value(self, name: str) -> Tensor:
        """One counter of :data:`INT_FIELDS` (a 0-d tensor on the device)."""
        return self.ints[_IDX[name]]

    def record(self, epoch: int, branch: str, worst: int = 10,
               worst_images: Sequence["ImageStat"] | None = None) -> "EpochRecord":
        """The epoch's record (synchronises with the device once).

        Args:
            worst: how many of the worst images to keep (most gts without positives).
            worst_images: already chosen (under DDP, merged from every rank); None: from
                :attr:`images`.
        """
        ints = dict(zip(INT_FIELDS, self.ints.tolist()))
        hist = self.hist.tolist()
        gts = ints["gts"]
        by_size = {name: Count(ints[f"gts_{name}"], ints[f"without_{name}"]) for name, _ in BUCKETS}
        pairs = zip(self.class_gts.tolist(), self.class_without.tolist())
        by_class = {c: Count(g, z) for c, (g, z) in enumerate(pairs) if g}
        rerun = None
        if ints["rerun_batches"]:
            rerun = RerunStats(ints["rerun_batches"], ints["rerun_gts"], ints["rerun_without_positives"],
                               {r: ints[f"reason_{r}"] for r in REASONS}, ints["rerun_differing_anchors"],
                               ints["rerun_tied_candidates"], ints["rerun_unexplained_anchors"])
        conflicts = ints["conflict_batches"] == ints["batches"] and ints["batches"] > 0
        if worst_images is None:
            worst_images = worst_of(self.images, worst)
        return EpochRecord(
            epoch=epoch, branch=branch, batches=ints["batches"], images=ints["images"], gts=gts,
            gts_without_positives=ints["gts_without_positives"], positives=ints["positives"],
            positives_per_gt=histogram_stats(hist, ints["positives"], gts),
            contested=ints["contested"] if conflicts else None, handed=ints["handed"] if conflicts else None,
            target_score_sum=float(self.target_score_sum), by_size=by_size, by_class=by_class, rerun=rerun,
            worst_images=tuple(worst_images))


def histogram_stats(hist: Sequence[int], positives: int, gts: int) -> PerGt:
    """Mean, median (mean of the middle two for an even count) and max positives per gt.

    ``hist[k]``: gts with k positives (the last bin: that many or more, so a median or max
    landing there is a lower bound). ``positives``: their exact total (for the mean).
    """
    if not gts:
        return PerGt(None, None, None)

    def nth(n: int) -> int:  # the n-th smallest count, 0-based
        seen = 0
        for k, c in enumerate(hist):
            seen += c
            if seen > n:
                return k
        return len(hist) - 1

    mid = gts // 2
    median = float(nth(mid)) if gts % 2 else (nth(mid - 1) + nth(mid)) / 2
    top = max((k for k, c in enumerate(hist) if c), default=0)
    return PerGt(positives / gts, median, top)


def count_outputs(gt_labels: Tensor, gt_bboxes: Tensor, mask_gt: Tensor, target_labels: Tensor,
                  target_scores: Tensor, fg_mask: Tensor, target_gt_idx: Tensor, num_classes: int,
                  files: Sequence[str] | None = None) -> Counts:
    """Count one assigner call from its inputs' gts and its five outputs, on their device, without a sync.

    Args:
        gt_labels: ``Tensor[B, M, 1]`` (or ``[B, M]``), class per slot.
        gt_bboxes: ``Tensor[B, M, 4] float, xyxy px``.
        mask_gt: ``Tensor[B, M, 1]`` (or ``[B, M]``), real slots.
        target_labels: ``Tensor[B, A] int``; target_scores: ``Tensor[B, A, C] float`` (any
            float dtype: counted as it is); fg_mask: ``Tensor[B, A]``; target_gt_idx: ``Tensor[B, A] int``.
        num_classes: C.
        files: the batch's image files (B of them), for the worst images.

    Returns:
        :class:`Counts` with ``batches`` 1 and every output-based counter set; the conflict and
        re-run counters 0.
    """
    b, m = gt_bboxes.shape[:2]
    dev = fg_mask.device
    mask = mask_gt.reshape(b, m).bool()  # (B, M)
    fg = fg_mask.bool()  # (B, A)
    if m:
        pos = torch.zeros((b, m), dtype=torch.int32, device=dev).scatter_add_(
            1, target_gt_idx.long(), fg.to(torch.int32))  # (B, M) positives per gt
    else:
        pos = torch.zeros((b, 0), dtype=torch.int32, device=dev)
    zero = mask & (pos == 0)  # (B, M)
    buckets = gt_buckets(gt_bboxes) & mask  # (len(BUCKETS), B, M)
    values = torch.cat((torch.full((2,), b, dtype=torch.long, device=dev),  # batches (set to 1 below), images
                        torch.stack((mask.sum(), zero.sum(), fg.sum())),
                        buckets.sum((1, 2)), (buckets & zero).sum((1, 2))))
    values[0] = 1
    ints = _ints(values, 0, len(CONFLICT_FIELDS) + len(RERUN_FIELDS))

    # A positive's row of target_scores holds one class, its target label: read that score only.
    c = target_scores.shape[-1]
    if not target_scores.is_contiguous():
        label = target_labels.long().clamp(0, c - 1)  # (B, A)
        score = target_scores.gather(-1, label[..., None]).squeeze(-1)  # (B, A)
        score_sum = torch.where(fg, score, 0).to(_float_dtype(dev)).sum()
    elif dev.type == "cpu":  # the positives only (an index per anchor into B*A*C misses the cache)
        at = fg.reshape(-1).nonzero().squeeze(1)  # (F,) b * A + a
        label = target_labels.reshape(-1).index_select(0, at).long().clamp_(0, c - 1)  # (F,)
        score_sum = target_scores.view(-1).index_select(0, at * c + label).to(_float_dtype(dev)).sum()
    else:  # no host synchronisation on an accelerator
        label = target_labels.long().clamp(0, c - 1)  # (B, A)
        at = torch.arange(label.numel(), device=dev).view(label.shape) * c + label  # (B, A)
        score = target_scores.view(-1).index_select(0, at.reshape(-1)).view(label.shape)  # (B, A)
        score_sum = torch.where(fg, score, 0).to(_float_dtype(dev)).sum()

    hist = torch.zeros(HIST_BINS, dtype=torch.long, device=dev).scatter_add_(
        0, pos.clamp(max=HIST_BINS - 1).reshape(-1).long(), mask.reshape(-1).long())
    classes = gt_labels.reshape(b, m).long().clamp(0, num_classes - 1).reshape(-1)  # padding: class 0, weight 0
    class_gts = torch.zeros(num_classes, dtype=torch.long, device=dev).scatter_add_(0, classes, mask.reshape(-1).long())
    class_without = torch.zeros(num_classes, dtype=torch.long, device=dev).scatter_add_(
        0, classes, zero.reshape(-1).long())
    per_image = torch.stack((zero.sum(1), mask.sum(1)), 1)  # (B, 2)
    names = list(files) if files is not None and len(files) == b else None
    return Counts(ints, score_sum, hist, class_gts, class_without, [(per_image, names)])


def count_conflicts(choosers: Tensor, mask_pos: Tensor, target_gt_idx: Tensor, fg_mask: Tensor) -> Tensor:
    """Contested and handed anchors of one call of the conflict step.

    Args:
        choosers: ``Tensor[B, A]``, how many gts selected each anchor (``mask_pos`` summed over
            the gt axis *before* the step; sum it with ``dtype=torch.int16``: the default
            int64 sum costs ~20x more).
        mask_pos: ``Tensor[B, M, A]``, the step's input (selected candidates, any dtype), unchanged.
        target_gt_idx: ``Tensor[B, A] int``, fg_mask: ``Tensor[B, A]``: the step's outputs.

    Returns:
        ``Tensor[2] int64``: anchors selected by more than one gt; positives whose gt did not
        select them (handed to it by the IoU rule).
    """
    contested = (choosers > 1).sum()
    fg = fg_mask.bool()
    if fg.device.type == "cpu" and mask_pos.is_contiguous():  # the positives only
        _, m, a = mask_pos.shape
        at = fg.reshape(-1).nonzero().squeeze(1)  # (F,) b * A + a
        gt = target_gt_idx.reshape(-1).index_select(0, at).long()  # (F,)
        own = mask_pos.view(-1).index_select(0, (at // a * m + gt) * a + at % a)  # (F,) selected by its gt
        handed = (own == 0).sum()
    else:  # no host synchronisation on an accelerator
        own = mask_pos.gather(1, target_gt_idx.long().unsqueeze(1)).squeeze(1)  # (B, A) selected by its final gt
        handed = (fg & (own == 0)).sum()
    return torch.stack((contested, handed))


def conflict_counts(values: Tensor) -> Counts:
    """:class:`Counts` holding one call's :func:`count_conflicts` (``conflict_batches`` 1)."""
    part = torch.cat((torch.ones(1, dtype=torch.long, device=values.device), values.long()))
    return _only_ints(_ints(part, len(OUTPUT_FIELDS), len(RERUN_FIELDS)))


def count_rerun(assignment: Assignment, fg_mask: Tensor, target_gt_idx: Tensor) -> Counts:
    """``tal``'s assignment of the same inputs beside the hooked assigner's outputs.

    Counts the reason of each gt without positives in ``tal``'s assignment
    (:func:`~tal_cli.analysis.reasons.no_positive_reasons`), and the anchors where the two
    differ (foreground, or gt of a foreground anchor). ``tal`` flags candidates whose top-k
    order rests on equal zero metrics (``pair_tied``); differing anchors in images without
    such a candidate are *unexplained* (expected: 0).

    Args:
        assignment: ``tal``'s assignment of the call's inputs.
        fg_mask: ``Tensor[B, A]``; target_gt_idx: ``Tensor[B, A] int``: the hooked outputs.
    """
    a = assignment
    dev = a.fg_mask.device
    codes = no_positive_reasons(a)  # (B, M)
    reasons = torch.bincount(codes.reshape(-1), minlength=len(REASONS) + 1)[1:]
    fg = fg_mask.bool().to(dev)
    gidx = target_gt_idx.long().to(dev)
    differ = (a.fg_mask != fg) | (a.fg_mask & fg & (a.target_gt_idx != gidx))  # (B, A)
    image_tied = torch.zeros(a.batch_size, dtype=torch.long, device=dev).index_add_(
        0, a.pair_image, a.pair_tied.long()) > 0  # (B,)
    unexplained = (differ & ~image_tied[:, None]).sum()
    part = torch.cat((torch.stack((torch.ones((), dtype=torch.long, device=dev), a.gt_mask.sum(), (codes > 0).sum())),
                      reasons, torch.stack((differ.sum(), a.pair_tied.sum(), unexplained))))
    return _only_ints(_ints(part, len(OUTPUT_FIELDS) + len(CONFLICT_FIELDS), 0))


def _only_ints(ints: Tensor) -> Counts:
    dev = ints.device
    empty = torch.zeros(0, dtype=torch.long, device=dev)
    return Counts(ints, torch.zeros((), dtype=_float_dtype(dev), device=dev),
                  torch.zeros(HIST_BINS, dtype=torch.long, device=dev), empty, empty)


@dataclass(frozen=True)
class ImageStat:
    """One image of an epoch: its file, its gts and how many of them had no positive.

    An image seen several times in an epoch (a dataset listing it twice) is one row per time.
    """

    file: str
    gts: int
    without_positives: int


def worst_of(images: Sequence[tuple[Tensor, Sequence[str] | None]], n: int) -> list[ImageStat]:
    """The ``n`` images with the most gts without positives (ties: higher share, then file name).

    Args:
        images: :attr:`Counts.images` (one host synchronisation for all of them).
    """
    named = [(t, files) for t, files in images if files is not None]
    if not named or n <= 0:
        return []
    table = torch.cat([t for t, _ in named]).cpu().tolist()  # (N, 2): without, gts
    files = [f for _, fs in named for f in fs]
    rows = [ImageStat(str(f), g, z) for f, (z, g) in zip(files, table) if z]
    return merge_worst([rows], n)


def merge_worst(lists: Sequence[Sequence[ImageStat]], n: int) -> list[ImageStat]:
    """The ``n`` worst of several lists (e.g. one per DDP rank), same order as :func:`worst_of`."""
    rows = [r for rows in lists for r in rows]
    rows.sort(key=lambda r: (-r.without_positives, -r.without_positives / max(r.gts, 1), r.file))
    return rows[:n]


def all_reduce_counts(counts: Counts, worst: int) -> list[ImageStat]:
    """Sum ``counts`` over the ranks of the default process group, in place; returns the merged worst images.

    Every rank must call it (a collective). ``counts.images`` stays the rank's own.
    """
    import torch.distributed as dist

    dev = counts.ints.device
    for name in ("ints", "target_score_sum", "hist", "class_gts", "class_without"):
        t = getattr(counts, name)
        if dev.type == "cpu" or dist.get_backend() != "gloo" or t.is_cpu:
            dist.all_reduce(t)
        else:  # gloo reduces CPU tensors only
            host = t.cpu()
            dist.all_reduce(host)
            t.copy_(host)
    gathered: list = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, worst_of(counts.images, worst))
    return merge_worst(gathered, worst)


@dataclass(frozen=True)
class RerunStats:
    """``tal``'s own assignment of the hooked tensors (every ``every``-th batch).

    Attributes:
        batches: batches re-run; gts, without_positives: their gts, and those without a
            positive in ``tal``'s assignment.
        reasons: :data:`~tal_cli.analysis.reasons.REASONS` -> gts without positives for that reason.
        differing_anchors: anchors where ``tal`` and the hooked assigner disagree (foreground or gt).
        tied_candidates: candidates whose top-k order rests on equal zero metrics (``pair_tied``).
        unexplained_anchors: differing anchors in images without a tied candidate (expected 0).
    """

    batches: int
    gts: int
    without_positives: int
    reasons: dict[str, int]
    differing_anchors: int
    tied_candidates: int
    unexplained_anchors: int


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of one branch of a training run, as recorded.

    Attributes:
        epoch: 1-based, as ultralytics' ``results.csv``.
        branch: ``one2many`` (an ordinary head's only assigner) or ``one2one``.
        batches, images: assigner calls counted and the images they held.
        gts: real gts; gts_without_positives: those no anchor was assigned to.
        positives: foreground anchors; positives_per_gt: mean, median and max over the gts.
        contested: anchors selected by more than one gt; handed: positives whose gt did not
            select them (None when the conflict step could not be watched).
        target_score_sum: the positives' target scores summed (each batch's loss normaliser,
            before ``max(., 1)``, summed over the epoch).
        by_size: :data:`BUCKETS` name -> gts and gts without positives.
        by_class: class id -> gts and gts without positives (classes with gts only).
        rerun: ``tal``'s re-run, or None when no batch was re-run.
        worst_images: the images with the most gts without positives.
    """

    epoch: int
    branch: str
    batches: int
    images: int
    gts: int
    gts_without_positives: int
    positives: int
    positives_per_gt: PerGt
    contested: int | None
    handed: int | None
    target_score_sum: float
    by_size: dict[str, Count]
    by_class: dict[int, Count]
    rerun: RerunStats | None = None
    worst_images: tuple[ImageStat, ...] = ()

    @property
    def zero_positive_rate(self) -> float | None:
        """``gts_without_positives / gts`` (0..1), None without gts."""
        return self.gts_without_positives / self.gts if self.gts else None

    @property
    def target_score_mean(self) -> float | None:
        """Mean target score of a positive, None without positives."""
        return self.target_score_sum / self.positives if self.positives else None


@dataclass(frozen=True)
class RunInfo:
    """The training run a record belongs to.

    Attributes:
        save_dir: the run's folder; model, data: as given to the trainer.
        imgsz: the training input size (ultralytics' ``imgsz``); epochs, batch: as planned.
        world_size: processes training (1 without DDP).
        every: ``tal``'s re-run every N batches (0: never).
        names: class names by id.
        branches: branch -> the settings ``tal`` re-runs it with (None: counted, not re-run).
        versions: ``ultralytics``, ``torch``, ``tal``.
    """

    save_dir: str
    model: str
    data: str
    imgsz: object
    epochs: int
    batch: int
    world_size: int
    every: int
    names: dict[int, str]
    branches: dict[str, AssignerSettings | None]
    versions: dict[str, str]


@dataclass(frozen=True)
class TrainRecord:
    """A run's record as read back (:func:`tal_cli.workflows.train_report.read_train_record`).

    Attributes:
        path: the ``epochs.json`` read.
        run: the run it belongs to.
        epochs: one record per (epoch, branch), in recorded order.
    """

    path: Path
    run: RunInfo
    epochs: tuple[EpochRecord, ...]

    @property
    def branches(self) -> list[str]:
        """Branch names, in first-recorded order."""
        return list(dict.fromkeys(r.branch for r in self.epochs)) or list(self.run.branches)

    def of_branch(self, branch: str) -> list[EpochRecord]:
        return [r for r in self.epochs if r.branch == branch]
