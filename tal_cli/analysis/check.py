"""``tal check``: ultralytics' verdict per file and, per setting, what the boxes alone allow.

Pure aggregation over what the readers found: each image/label pair's
:class:`~tal_cli.readers.verdicts.FileVerdict` in, per-file records and per-setting totals
out; no files read, nothing printed. A *setting* is an input size and a variant (strides,
reg_max and topk from the config). Its numbers come from :mod:`.geometry`: gts letterboxed
exactly as ``tal assign`` letterboxes them (:meth:`~tal_cli.readers.images.Letterbox.boxes_to_input`,
the same float32 operations over a batch of images), then candidates per stride, DFL reach
and shared anchors.

Totals are plain numbers and lists (:class:`SettingTotals`), so that parts computed in worker
processes add up in any grouping: :meth:`SettingTotals.merge`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..core.anchors import Level, grid_levels
from ..core.settings import AssignerSettings
from ..readers.images import Letterbox
from ..readers.labels import concat_labels
from ..readers.verdicts import BACKGROUND, DROPPED, KEPT, FileVerdict
from .counts import SIZE_BUCKETS, Count, size_bucket, xyxy_area
from .gates import Outcome
from .geometry import GtGeometry, gt_geometry

#: Most exposed gts kept per setting.
EXPOSED = 10
#: Upper bound on images x anchors per geometry call (the shared-anchor grids).
BATCH_CELLS = 1 << 23


@dataclass(frozen=True)
class CheckSetting:
    """One input size and variant; the rest of the assigner's settings come from the config.

    Attributes:
        imgsz: network input ``(height, width)`` px.
        settings: the assigner settings (variant, topk, strides, small-box floor).
        reg_max: R, DFL bins of the head (1: no DFL, no reach check).
    """

    imgsz: tuple[int, int]
    settings: AssignerSettings
    reg_max: int

    @property
    def variant(self) -> str:
        return self.settings.variant

    @property
    def topk(self) -> int:
        return self.settings.topk

    @property
    def strides(self) -> tuple[int, ...]:
        return self.settings.strides

    @property
    def floor_side(self) -> float | None:
        """The small-box floor in px, or None when it does not apply."""
        return self.settings.floor_side if self.settings.uses_floor else None

    @property
    def levels(self) -> list[Level]:
        return grid_levels(self.imgsz, self.strides)

    @property
    def size_text(self) -> str:
        """``"640"`` for a square input, else ``"480x640"`` (height x width)."""
        h, w = self.imgsz
        return f"{h}" if h == w else f"{h}x{w}"

    @property
    def label(self) -> str:
        """``"640 yolov8"``."""
        return f"{self.size_text} {self.variant}"


def check_settings(imgsz: Sequence[tuple[int, int]], variants: Sequence[str], base: AssignerSettings,
                   reg_max: int) -> list[CheckSetting]:
    """Every input size with every variant (size outermost), repeated values once."""
    return [CheckSetting(size, base.with_(variant=variant), reg_max)
            for size, variant in itertools.product(dict.fromkeys(imgsz), dict.fromkeys(variants))]


@dataclass(frozen=True)
class FileCheck:
    """One image/label pair: ultralytics' verdict, and what its gts can get under each setting.

    Attributes:
        image, labels: the files (labels None: none was looked for).
        split: the dataset split it was listed in (None for other sources).
        status: ``"kept"``, ``"background"`` or ``"dropped"`` (ultralytics' loader).
        reason: why it is background or dropped, naming the file (and line); None when kept.
        line: the label line a drop points at, or None.
        duplicates_removed: duplicate rows ultralytics removes (the rest are then reordered).
        size_hw: ``(height, width)`` px after EXIF orientation (None when unreadable).
        format: Pillow's format name, or None.
        notes: remarks (duplicates removed, a JPEG ultralytics would rewrite, gts left out).
        gts: the gts that train.
        zero_candidate: per setting, gts with no candidate anchor at any stride.
        not_finite: gts left out of the geometry because their box is not finite.
        labels_found: the label file exists.
    """

    image: str
    labels: str | None
    split: str | None
    status: str
    reason: str | None
    line: int | None
    duplicates_removed: int
    size_hw: tuple[int, int] | None
    format: str | None
    notes: tuple[str, ...]
    gts: int
    zero_candidate: tuple[int, ...]
    not_finite: int = 0
    labels_found: bool = True

    @property
    def rewritten(self) -> bool:
        """ultralytics re-saves this JPEG in place when it builds its label cache."""
        return any("corrupt JPEG" in n for n in self.notes)


@dataclass(frozen=True)
class ExposedGt:
    """A gt whose candidates other gts hold too (where top-k picks meet and conflicts happen).

    Attributes:
        image: its image; line: its label line; gt: its slot (ultralytics' order).
        class_id: its class; box: ``(x1, y1, x2, y2)`` network-input px.
        candidates: its candidate anchors; shared: those that are candidates of other gts too.
    """

    image: str
    line: int
    gt: int
    class_id: int
    box: tuple[float, float, float, float]
    candidates: int
    shared: int

    @property
    def exposure(self) -> float:
        """``shared / candidates``."""
        return self.shared / self.candidates

    def rank_key(self) -> tuple:
        """Most exposed first: every candidate shared, then fewer candidates, then file order."""
        return (-self.exposure, self.candidates, self.image, self.gt)


@dataclass
class SettingTotals:
    """Running sums of one setting (plain numbers; :meth:`merge` adds another part).

    Attributes:
        images: kept images measured; gts: their gts (finite boxes).
        size_gts, size_zero: per size bucket (:data:`~.counts.SIZE_BUCKETS`), gts and gts without a candidate.
        class_gts, class_zero: per class id, the same.
        candidates: candidate anchors per level (summed over gts).
        fewer_than_topk: gts with at least one candidate but fewer than topk.
        beyond_reach: gts with candidates, none of them within DFL reach (None without DFL).
        shared_anchors: anchors (over all images) that are candidates of two or more gts.
        fully_shared: gts with candidates, every one of them shared with another gt.
        exposed: the most exposed gts (at most :data:`EXPOSED`).
    """

    levels: int
    images: int = 0
    gts: int = 0
    size_gts: list[int] = field(default_factory=lambda: [0] * len(SIZE_BUCKETS))
    size_zero: list[int] = field(default_factory=lambda: [0] * len(SIZE_BUCKETS))
    class_gts: dict[int, int] = field(default_factory=dict)
    class_zero: dict[int, int] = field(default_factory=dict)
    candidates: list[int] = field(default_factory=list)
    fewer_than_topk: int = 0
    beyond_reach: int | None = 0
    shared_anchors: int = 0
    fully_shared: int = 0
    exposed: list[ExposedGt] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.candidates:
            self.candidates = [0] * self.levels

    @property
    def zero(self) -> int:
        return sum(self.size_zero)

    def merge(self, other: "SettingTotals") -> "SettingTotals":
        """Add ``other`` (another part of the same setting) into this one; returns self."""
        self.images += other.images
        self.gts += other.gts
        self.size_gts = [a + b for a, b in zip(self.size_gts, other.size_gts)]
        self.size_zero = [a + b for a, b in zip(self.size_zero, other.size_zero)]
        for mine, theirs in ((self.class_gts, other.class_gts), (self.class_zero, other.class_zero)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        self.candidates = [a + b for a, b in zip(self.candidates, other.candidates)]
        self.fewer_than_topk += other.fewer_than_topk
        self.beyond_reach = None if self.beyond_reach is None or other.beyond_reach is None \
            else self.beyond_reach + other.beyond_reach
        self.shared_anchors += other.shared_anchors
        self.fully_shared += other.fully_shared
        self.exposed = most_exposed(self.exposed + other.exposed)
        return self


def most_exposed(gts: Sequence[ExposedGt], n: int = EXPOSED) -> list[ExposedGt]:
    """The ``n`` most exposed gts (:meth:`ExposedGt.rank_key`)."""
    return heapq.nsmallest(n, gts, key=ExposedGt.rank_key)


@dataclass(frozen=True)
class Measured:
    """The geometry of a batch of kept files under every setting.

    Attributes:
        totals: one :class:`SettingTotals` per setting.
        zero_candidate: per file, per setting, gts without a candidate.
        not_finite: per file, gts left out (box not finite).
    """

    totals: list[SettingTotals]
    zero_candidate: list[tuple[int, ...]]
    not_finite: list[int]


def measure(verdicts: Sequence[FileVerdict], settings: Sequence[CheckSetting]) -> Measured:
    """Letterbox the gts of kept files under each setting and total what their boxes allow.

    Args:
        verdicts: the files to measure (background and dropped ones count nothing).
        settings: input sizes and variants.

    Returns:
        :class:`Measured`, per file in the order given.
    """
    totals = [SettingTotals(len(s.strides)) for s in settings]
    zero = [[0] * len(settings) for _ in verdicts]
    not_finite = [0] * len(verdicts)
    kept = [i for i, v in enumerate(verdicts) if v.status == KEPT and len(v.gts) and v.size_hw is not None]
    if not kept:
        return Measured(totals, [tuple(z) for z in zero], not_finite)
    counts = torch.tensor([len(verdicts[i].gts) for i in kept], dtype=torch.long)  # (F,)
    file_of = torch.repeat_interleave(torch.arange(len(kept)), counts)  # (G,)
    norm, classes = concat_labels([verdicts[i].gts for i in kept])  # (G, 4), (G,)
    norm = norm.to(torch.float32)  # as make_scene rounds
    lines = list(itertools.chain.from_iterable(verdicts[i].gts.lines for i in kept))
    slot = torch.arange(file_of.numel()) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)  # (G,)
    for si, setting in enumerate(settings):
        boxes = letterbox_boxes(norm, [verdicts[i].size_hw for i in kept], counts, setting.imgsz)  # (G, 4)
        finite = torch.isfinite(boxes).all(1)  # (G,)
        if si == 0:
            for f in file_of[~finite].tolist():
                not_finite[kept[f]] += 1
        ok = finite.nonzero().squeeze(1)
        t = totals[si]
        t.images += len(kept)
        geometry = _batched_geometry(boxes[ok], file_of[ok], len(kept), setting)
        _add(t, geometry, boxes[ok], classes[ok], setting)
        no_candidate = geometry.total == 0  # (G',)
        per_file = torch.bincount(file_of[ok][no_candidate], minlength=len(kept)).tolist()
        for f, n in enumerate(per_file):
            zero[kept[f]][si] = n
        t.exposed = most_exposed(t.exposed + _exposed(geometry, ok, file_of, slot, classes, boxes, lines,
                                                      [str(verdicts[i].image) for i in kept]))
    return Measured(totals, [tuple(z) for z in zero], not_finite)


def gt_candidates(verdict: FileVerdict, setting: CheckSetting) -> torch.Tensor:
    """Candidates per stride of each gt of one kept file, counted as :func:`measure` counts them.

    Returns:
        ``Tensor[N, L] int64``, the gts in ultralytics' order (``verdict.gts``), the levels in
        stride order; ``tal assign --json`` reports the same numbers as ``candidates_per_stride``.
    """
    n = len(verdict.gts)
    norm = torch.tensor(verdict.gts.boxes, dtype=torch.float64).view(-1, 4).to(torch.float32)
    boxes = letterbox_boxes(norm, [verdict.size_hw], torch.tensor([n]), setting.imgsz)
    return _batched_geometry(boxes, torch.zeros(n, dtype=torch.long), 1, setting).candidates


def letterbox_boxes(norm: torch.Tensor, sizes: Sequence[tuple[int, int]], counts: torch.Tensor,
                    imgsz: tuple[int, int]) -> torch.Tensor:
    """Normalised gts of several images to network-input px, as ``tal assign`` letterboxes each image.

    Args:
        norm: ``Tensor[G, 4] float32``, normalised xyxy, images concatenated.
        sizes: ``(height, width)`` of each image.
        counts: ``Tensor[F] int64``, gts of each image.
        imgsz: the network input ``(height, width)``.

    Returns:
        ``Tensor[G, 4] float32, xyxy px``: per image ``norm * scale + shift`` with the scale and
        shift of :meth:`~tal_cli.readers.images.Letterbox.scale_shift` rounded to float32.
    """
    fits = {hw: Letterbox.fit(hw, imgsz).scale_shift() for hw in set(sizes)}
    scale = torch.tensor([fits[hw][0] for hw in sizes], dtype=torch.float32)  # (F, 4)
    shift = torch.tensor([fits[hw][1] for hw in sizes], dtype=torch.float32)
    return norm * scale.repeat_interleave(counts, 0) + shift.repeat_interleave(counts, 0)


def _batched_geometry(boxes: torch.Tensor, image: torch.Tensor, num_images: int, setting: CheckSetting) -> GtGeometry:
    """:func:`~.geometry.gt_geometry` over groups of images small enough for the shared-anchor grids."""
    levels = setting.levels
    per_image = sum((lv.height + 1) * (lv.width + 1) for lv in levels)
    step = max(1, BATCH_CELLS // per_image)
    if num_images <= step:
        return gt_geometry(boxes, image, num_images, levels, setting.floor_side, setting.reg_max)
    parts = []
    for start in range(0, num_images, step):
        sel = ((image >= start) & (image < start + step)).nonzero().squeeze(1)
        parts.append(gt_geometry(boxes[sel], image[sel] - start, min(step, num_images - start), levels,
                                 setting.floor_side, setting.reg_max))
    # image is ascending (gts are grouped by file), so the parts are in gt order
    within = None if parts[0].within_reach is None else torch.cat([p.within_reach for p in parts])
    return GtGeometry(torch.cat([p.candidates for p in parts]), within, torch.cat([p.shared for p in parts]),
                      torch.cat([p.image_shared for p in parts]))


def _add(t: SettingTotals, geo: GtGeometry, boxes: torch.Tensor, classes: torch.Tensor, setting: CheckSetting) -> None:
    """Add a batch's geometry to the totals (``boxes``, ``classes``: the measured gts)."""
    total = geo.total  # (G,)
    zero = total == 0
    sizes = size_bucket(xyxy_area(boxes))  # (G,)
    t.gts += int(total.numel())
    buckets = len(SIZE_BUCKETS)
    t.size_gts = [a + b for a, b in zip(t.size_gts, torch.bincount(sizes, minlength=buckets).tolist())]
    t.size_zero = [a + b for a, b in zip(t.size_zero, torch.bincount(sizes[zero], minlength=buckets).tolist())]
    for target, chosen in ((t.class_gts, classes), (t.class_zero, classes[zero])):
        ids, n = torch.unique(chosen, return_counts=True)
        for k, v in zip(ids.tolist(), n.tolist()):
            target[k] = target.get(k, 0) + v
    t.candidates = [a + b for a, b in zip(t.candidates, geo.candidates.sum(0).tolist())]
    t.fewer_than_topk += int(((total > 0) & (total < setting.topk)).sum())
    if geo.within_reach is None:
        t.beyond_reach = None
    elif t.beyond_reach is not None:
        t.beyond_reach += int(((total > 0) & (geo.within_reach.sum(1) == 0)).sum())
    t.shared_anchors += int(geo.image_shared.sum())
    t.fully_shared += int(((total > 0) & (geo.shared == total)).sum())


def _exposed(geo: GtGeometry, ok: torch.Tensor, file_of: torch.Tensor, slot: torch.Tensor, classes: torch.Tensor,
             boxes: torch.Tensor, lines: Sequence[int], images: Sequence[str]) -> list[ExposedGt]:
    """The batch's most exposed gts (``ok``: the measured gts among all of the batch)."""
    total = geo.total
    hit = (geo.shared > 0).nonzero().squeeze(1)  # (H,)
    if hit.numel() == 0:
        return []
    exposure = geo.shared[hit].double() / total[hit].double()
    # most exposed first, then fewer candidates: a stable sort on the second key, then on the first
    order = torch.argsort(total[hit], stable=True)
    order = order[torch.argsort(-exposure[order], stable=True)][:EXPOSED]
    out = []
    for h in hit[order].tolist():
        g = int(ok[h])
        out.append(ExposedGt(images[int(file_of[g])], lines[g], int(slot[g]), int(classes[g]),
                             tuple(round(v, 3) for v in boxes[g].tolist()), int(total[h]), int(geo.shared[h])))
    return out


@dataclass(frozen=True)
class CheckRow:
    """What the boxes allow under one setting, over every kept image.

    Attributes:
        setting: the input size and variant (and the config's strides, reg_max, topk).
        images: kept images measured; gts: their gts.
        zero_candidate: gts with no candidate anchor at any stride: no topk, alpha or beta gives
            them a positive.
        by_size: size bucket (:data:`~.counts.SIZE_BUCKETS`) -> its gts and those without a candidate.
        by_class: class id -> the same, in id order.
        candidates_per_stride: candidate anchors per stride, summed over gts.
        fewer_than_topk: gts with 1..topk-1 candidates (their positives are capped below topk).
        beyond_reach: gts whose every candidate has a DFL target beyond reach (every box target
            is clipped); None without DFL (reg_max 1).
        shared_anchors: anchors that are candidates of two or more gts of their image.
        fully_shared: gts every one of whose candidates another gt holds too.
        exposed: the most exposed gts, most first.
    """

    setting: CheckSetting
    images: int
    gts: int
    zero_candidate: int
    by_size: dict[str, Count]
    by_class: dict[int, Count]
    candidates_per_stride: dict[int, int]
    fewer_than_topk: int
    beyond_reach: int | None
    shared_anchors: int
    fully_shared: int
    exposed: tuple[ExposedGt, ...]

    @property
    def zero_candidate_rate(self) -> float | None:
        return self.zero_candidate / self.gts if self.gts else None

    @property
    def label(self) -> str:
        return self.setting.label

    def outcome(self) -> Outcome:
        """What the zero-candidate gate looks at."""
        return Outcome(0, {}, without_candidates={None: Count(self.gts, self.zero_candidate), **self.by_size})


def check_row(setting: CheckSetting, t: SettingTotals) -> CheckRow:
    """The finished row of one setting."""
    return CheckRow(
        setting=setting, images=t.images, gts=t.gts, zero_candidate=t.zero,
        by_size={b: Count(t.size_gts[i], t.size_zero[i]) for i, b in enumerate(SIZE_BUCKETS)},
        by_class={k: Count(t.class_gts[k], t.class_zero.get(k, 0)) for k in sorted(t.class_gts)},
        candidates_per_stride=dict(zip(setting.strides, t.candidates)), fewer_than_topk=t.fewer_than_topk,
        beyond_reach=t.beyond_reach, shared_anchors=t.shared_anchors, fully_shared=t.fully_shared,
        exposed=tuple(t.exposed))


@dataclass
class SplitCounts:
    """ultralytics' scan of one split: images, and how many are backgrounds, dropped, with duplicates.

    Attributes:
        split: the split's name (None for sources without splits).
        images: image files listed; kept: with gts that train; backgrounds: no or an empty
            label file; dropped: left out of training ("corrupt" in ultralytics' log).
        duplicates: duplicate label rows removed; duplicate_files: files with any.
        rewritten: JPEGs ultralytics re-saves in place when it builds its cache.
        gts: gts that train.
        label_files: images whose label file exists.
    """

    split: str | None
    images: int = 0
    kept: int = 0
    backgrounds: int = 0
    dropped: int = 0
    duplicates: int = 0
    duplicate_files: int = 0
    rewritten: int = 0
    gts: int = 0
    label_files: int = 0

    def add(self, f: FileCheck) -> None:
        self.images += 1
        self.kept += f.status == KEPT
        self.backgrounds += f.status == BACKGROUND
        self.dropped += f.status == DROPPED
        self.duplicates += f.duplicates_removed
        self.duplicate_files += f.duplicates_removed > 0
        self.rewritten += f.rewritten
        self.gts += f.gts
        self.label_files += f.labels_found

    def summary(self) -> str:
        """ultralytics' terms: ``"N images, M backgrounds, K dropped, D duplicates"``."""
        return (f"{self.images} images, {self.backgrounds} backgrounds, {self.dropped} dropped, "
                f"{self.duplicates} duplicates")


def problem_key(f: FileCheck) -> tuple:
    """Order of the files worth a look: dropped first, then most gts without a candidate, then duplicates."""
    return (f.status != DROPPED, -max(f.zero_candidate, default=0), -f.duplicates_removed, -f.rewritten,
            -f.not_finite)


def is_problem(f: FileCheck) -> bool:
    """A file worth listing: dropped, or gts without a candidate, duplicates, a rewrite, gts left out."""
    return (f.status == DROPPED or max(f.zero_candidate, default=0) > 0 or f.duplicates_removed > 0 or f.rewritten
            or f.not_finite > 0)
