"""``tal sweep``: the same images under several assigner settings, one row of totals per setting.

Pure aggregation: scenes and settings in, :class:`SweepRow` records out; no files, no
printing. Scenes are consumed lazily, in batches of scenes that share the anchor grid and
the class count; each batch goes through the assigner once per setting, so every image is
read and decoded once for all settings (:func:`tal_cli.readers.sources.iter_scenes` reads them).

Every total is the sum of what ``tal assign --json`` reports for each image under the same
setting (``summary`` and ``gts`` of :func:`tal_cli.views.report.build_report`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import torch

from ..core.assigner import assign
from ..core.assignment import Assignment
from ..core.errors import TalError
from ..core.losses import Gains, HeadBatch
from ..core.settings import AssignerSettings
from ..readers.scene import Scene, batch_inputs
from .counts import SIZE_BUCKETS, Count, size_bucket, xyxy_area

#: Most scenes per assigner call.
MAX_BATCH = 16
#: Batches hold at most this many class scores (B x A x C), so that heads with many classes
#: do not hold several GB per call (80 classes at 640 px: 16 scenes; 1000 classes: 1).
BATCH_SCORES = 1 << 24

# Positive-set keys: (image << 40) | (anchor << 20) | gt slot.
_ANCHOR_BITS, _GT_BITS = 20, 20


@dataclass(frozen=True)
class SweepSetting:
    """One point of the sweep: the values that vary. The rest comes from the config."""

    topk: int
    alpha: float
    beta: float
    variant: str


def settings_grid(topk: Sequence[int], alpha: Sequence[float], beta: Sequence[float],
                  variant: Sequence[str]) -> list[SweepSetting]:
    """The cartesian product, in that nesting order (topk outermost); repeated values once."""
    def unique(values):
        return list(dict.fromkeys(values))

    return [SweepSetting(k, float(a), float(b), v)
            for k, a, b, v in itertools.product(unique(topk), unique(alpha), unique(beta), unique(variant))]


@dataclass(frozen=True)
class PerGt:
    """Positives per gt over every gt of every image: mean, median (mean of the middle two for an
    even count) and max; None without gts."""

    mean: float | None
    median: float | None
    max: int | None


@dataclass(frozen=True)
class ClassStats:
    """One class under one setting (``tal sweep --by-class``).

    Attributes:
        class_id: the class.
        gts, positives, gts_without_positives: totals over the images for gts of this class.
        positives_per_gt: ``positives / gts``; zero_positive_rate: ``gts_without_positives / gts``.
        mean_iou, mean_target_score: over the positives of its gts (None without positives).
    """

    class_id: int
    gts: int
    positives: int
    gts_without_positives: int
    positives_per_gt: float | None
    zero_positive_rate: float | None
    mean_iou: float | None
    mean_target_score: float | None


@dataclass(frozen=True)
class SweepRow:
    """Totals of one setting over every assigned image.

    Attributes:
        setting: the values that vary (``topk``, ``alpha``, ``beta``, ``variant``; also as properties).
        settings: the full assigner settings (``num_classes`` is that of the first batch).
        images: images assigned; skipped: images left out (no predictions, unreadable files).
        gts: real gts; positives: final positive anchors (each belongs to exactly one gt).
        positives_per_gt: mean / median / max of each gt's positive count.
        gts_without_positives: gts with no positive; zero_positive_rate: that over ``gts`` (0..1,
            None without gts).
        by_size: ``small`` / ``medium`` / ``large`` (:func:`~tal_cli.analysis.counts.size_bucket`
            of the letterboxed box in network px) -> gts and those without positives.
        contested_anchors: anchors selected by more than one gt.
        handed_anchors: positives handed to a gt that did not select them (conflict rule ``all-gts``).
        mean_iou: mean IoU ``u`` of the positives with their gt (None without positives).
        mean_target_score: mean normalised target score of the positives (None without positives).
        target_scores_sum: sum of all target scores, the loss normaliser (before ``max(., 1)``).
        jaccard_vs_first: ``|P ∩ P0| / |P ∪ P0|`` of the positive set P = {(image, anchor, gt)}
            with the first setting's P0 (1.0 for the first row and when both are empty).
        by_class: class id -> :class:`ClassStats`, classes in id order.
        losses: per-setting gained losses, for the losses integration to fill, e.g. from
            ``sweep(..., on_assignment=...)`` and :func:`dataclasses.replace` (None: not
            computed; ``row_to_json`` adds a ``losses`` key when set).
    """

    setting: SweepSetting
    settings: AssignerSettings
    images: int
    skipped: int
    gts: int
    positives: int
    positives_per_gt: PerGt
    gts_without_positives: int
    zero_positive_rate: float | None
    by_size: dict[str, Count]
    contested_anchors: int
    handed_anchors: int
    mean_iou: float | None
    mean_target_score: float | None
    target_scores_sum: float
    jaccard_vs_first: float
    by_class: dict[int, ClassStats] = field(default_factory=dict)
    losses: dict[str, object] | None = None

    @property
    def topk(self) -> int:
        return self.setting.topk

    @property
    def alpha(self) -> float:
        return self.setting.alpha

    @property
    def beta(self) -> float:
        return self.setting.beta

    @property
    def variant(self) -> str:
        return self.setting.variant


class _Totals:
    """Running sums of one setting."""

    def __init__(self) -> None:
        self.images = self.gts = self.positives = self.contested = self.handed = 0
        self.iou_sum = self.score_sum = self.target_scores_sum = 0.0
        self.counts: list[torch.Tensor] = []  # positives per gt, per batch
        self.size_gts = torch.zeros(len(SIZE_BUCKETS), dtype=torch.long)
        self.size_zero = torch.zeros(len(SIZE_BUCKETS), dtype=torch.long)
        self.cls: dict[str, torch.Tensor] = {}  # per-class sums, grown as ids appear
        self.inter = self.union = 0

    def add_class(self, name: str, index: torch.Tensor, weights: torch.Tensor | None = None) -> None:
        dtype = torch.float64 if weights is not None else torch.long
        n = int(index.max()) + 1 if index.numel() else 0
        add = torch.bincount(index, weights=weights, minlength=n).to(dtype)
        cur = self.cls.get(name, torch.zeros(0, dtype=dtype))
        if add.numel() > cur.numel():
            cur = torch.cat((cur, torch.zeros(add.numel() - cur.numel(), dtype=dtype)))
        cur[: add.numel()] += add
        self.cls[name] = cur


def _median(sorted_values: torch.Tensor) -> float:
    n = sorted_values.numel()
    mid = n // 2
    if n % 2:
        return float(sorted_values[mid])
    return (float(sorted_values[mid - 1]) + float(sorted_values[mid])) / 2


def _keys(fg: torch.Tensor, gidx: torch.Tensor, first_image: int) -> torch.Tensor:
    """Sorted int64 keys of the positive set {(image, anchor, gt)} of a batch."""
    b, a = fg.nonzero().unbind(1)
    g = gidx[fg]
    return (((b + first_image) << (_ANCHOR_BITS + _GT_BITS)) | (a << _GT_BITS) | g)


def _accumulate(t: _Totals, a, sizes: torch.Tensor, classes: torch.Tensor, first_image: int,
                first_keys: torch.Tensor | None) -> torch.Tensor:
    """Add one batch's assignment to ``t``; returns the batch's positive-set keys."""
    b, m = a.gt_mask.shape
    fg, gidx = a.fg_mask, a.target_gt_idx
    t.images += b
    g = int(classes.numel())
    t.gts += g
    t.positives += int(fg.sum())
    if m:
        slot = (torch.arange(b)[:, None] * m + gidx)[fg]
        counts = torch.bincount(slot, minlength=b * m).view(b, m)[a.gt_mask]  # (G,) image order, then slot
    else:
        counts = torch.zeros(0, dtype=torch.long)
    t.counts.append(counts)
    zero = counts == 0
    t.size_gts += torch.bincount(sizes, minlength=len(SIZE_BUCKETS))
    t.size_zero += torch.bincount(sizes[zero], minlength=len(SIZE_BUCKETS))
    t.contested += int((a.choosers > 1).sum())
    t.handed += int(a.handed.sum())
    pos_iou, pos_score = a.positive_iou[fg].double(), a.target_score[fg].double()
    t.iou_sum += float(pos_iou.sum())
    t.score_sum += float(pos_score.sum())
    t.target_scores_sum += float(a.target_score.sum(1).double().sum())  # per image, as tal assign sums
    pos_class = a.target_labels[fg]
    t.add_class("gts", classes)
    t.add_class("zero", classes[zero])
    t.add_class("positives", pos_class)
    t.add_class("iou", pos_class, pos_iou)
    t.add_class("score", pos_class, pos_score)
    keys = _keys(fg, gidx, first_image)
    if first_keys is None:
        t.inter += keys.numel()
        t.union += keys.numel()
    else:
        inter = int(torch.isin(keys, first_keys).sum())
        t.inter += inter
        t.union += keys.numel() + first_keys.numel() - inter
    return keys


def _finish(t: _Totals, setting: SweepSetting, settings: AssignerSettings, skipped: int) -> SweepRow:
    counts = torch.cat(t.counts) if t.counts else torch.zeros(0, dtype=torch.long)
    sorted_counts = counts.sort().values
    per_gt = (PerGt(t.positives / t.gts, _median(sorted_counts), int(sorted_counts[-1])) if t.gts
              else PerGt(None, None, None))
    zero = int((counts == 0).sum())
    by_size = {name: Count(int(t.size_gts[i]), int(t.size_zero[i])) for i, name in enumerate(SIZE_BUCKETS)}

    def cls_value(name: str, k: int) -> float:
        v = t.cls.get(name)
        return float(v[k]) if v is not None and k < v.numel() else 0

    by_class = {}
    gts_per_class = t.cls.get("gts", torch.zeros(0, dtype=torch.long))
    for k in gts_per_class.nonzero().squeeze(1).tolist():
        n, pos, z = int(cls_value("gts", k)), int(cls_value("positives", k)), int(cls_value("zero", k))
        by_class[k] = ClassStats(
            k,
            n,
            pos,
            z,
            pos / n,
            z / n,
            cls_value("iou", k) / pos if pos else None,
            cls_value("score", k) / pos if pos else None,
        )
    return SweepRow(
        setting=setting, settings=settings, images=t.images, skipped=skipped, gts=t.gts, positives=t.positives,
        positives_per_gt=per_gt, gts_without_positives=zero, zero_positive_rate=zero / t.gts if t.gts else None,
        by_size=by_size, contested_anchors=t.contested, handed_anchors=t.handed,
        mean_iou=t.iou_sum / t.positives if t.positives else None,
        mean_target_score=t.score_sum / t.positives if t.positives else None,
        target_scores_sum=t.target_scores_sum,
        jaccard_vs_first=t.inter / t.union if t.union else 1.0, by_class=by_class)


def _group_key(scene: Scene) -> tuple:
    head = scene.head
    return (head.num_classes, head.levels)


def auto_batch_size(num_anchors: int, num_classes: int) -> int:
    """Scenes per assigner call: as many as keep ``B x A x C`` under :data:`BATCH_SCORES`, 1..:data:`MAX_BATCH`."""
    return max(1, min(MAX_BATCH, BATCH_SCORES // max(1, num_anchors * num_classes)))


def sweep(
    scenes: Iterable[Scene],
    settings: Sequence[AssignerSettings],
    setting_points: Sequence[SweepSetting] | None = None,
    *,
    skipped: int | Callable[[], int] = 0,
    batch_size: int | None = None,
    on_batch: Callable[[int], None] | None = None,
    on_assignment: Callable[[int, Assignment, Sequence[Scene]], None] | None = None,
) -> list[SweepRow]:
    """Assign every scene under every setting; one :class:`SweepRow` per setting, in order.

    Args:
        scenes: consumed once, lazily; scenes sharing the anchor grid and the class count are
            batched, each batch assigned under every setting (the same inputs as
            :func:`~tal_cli.readers.scene.assign_scenes` gives the assigner, built once per batch).
        batch_size: scenes per assigner call; None: :func:`auto_batch_size` of each group.
        settings: assigner settings; ``num_classes`` is replaced by each batch's class count.
        setting_points: the varying values of each setting (default: read from ``settings``).
        skipped: images the caller left out, or a function returning that count once the
            scenes are consumed (reported in every row).
        on_batch: called with the number of scenes after each batch (e.g. a progress bar).
        on_assignment: called with ``(setting index, assignment, batch scenes)`` for every
            batch and setting, for per-setting extras computed from the same assignment (e.g.
            losses, which the caller then puts into :attr:`SweepRow.losses`).

    Raises:
        ValueError: no settings, or points that do not match them.
        TalError: a sweep too large to key its positive sets (over 2^20 anchors or gts per image).
    """
    if not settings:
        raise ValueError("sweep needs at least one setting")
    points = list(setting_points) if setting_points is not None else [
        SweepSetting(s.topk, float(s.alpha), float(s.beta), s.variant) for s in settings]
    if len(points) != len(settings):
        raise ValueError(f"{len(points)} setting points for {len(settings)} settings")
    totals = [_Totals() for _ in settings]
    used = list(settings)
    first_batch = [True]
    n_images = [0]

    def run(batch: list[Scene]) -> None:
        c, strides = batch[0].head.num_classes, batch[0].head.strides
        if first_batch[0]:
            used[:] = [s.with_(num_classes=c, strides=strides) for s in settings]
            first_batch[0] = False
        if n_images[0] + len(batch) >= 1 << (63 - _ANCHOR_BITS - _GT_BITS):
            raise TalError("too many images for one sweep")
        sizes = torch.cat([size_bucket(xyxy_area(s.gt_boxes)) for s in batch])
        classes = torch.cat([s.gt_classes for s in batch])
        inputs = batch_inputs(batch)
        first_keys = None
        with torch.no_grad():
            for k, s in enumerate(settings):
                a = assign(*inputs, s.with_(num_classes=c, strides=strides))
                keys = _accumulate(totals[k], a, sizes, classes, n_images[0], first_keys)
                if on_assignment is not None:
                    on_assignment(k, a, batch)
                if k == 0:
                    first_keys = keys
        n_images[0] += len(batch)
        if on_batch is not None:
            on_batch(len(batch))

    pending: dict[tuple, list[Scene]] = {}
    for scene in scenes:
        if scene.head.num_anchors >= 1 << _ANCHOR_BITS or scene.num_gts >= 1 << _GT_BITS:
            raise TalError(
                f"{scene.image}: too many anchors or gts for a sweep (at most {(1 << _ANCHOR_BITS) - 1} each)"
            )
        group = pending.setdefault(_group_key(scene), [])
        group.append(scene)
        if len(group) >= (batch_size or auto_batch_size(scene.head.num_anchors, scene.head.num_classes)):
            run(group)
            pending[_group_key(scene)] = []
    for group in pending.values():
        if group:
            run(group)
    n_skipped = skipped() if callable(skipped) else skipped
    return [_finish(t, p, s, n_skipped) for t, p, s in zip(totals, points, used)]


class LossTotals:
    """Mean per-image gained losses of each setting, fed by :func:`sweep`'s ``on_assignment`` hook.

    Each image's losses are normalised by its own target-score sum, as ``tal assign`` computes
    them for that image alone; the rows get ``losses = {"box", "cls", THIRD, "third": THIRD,
    "per": "image mean"}`` where THIRD is ``"dfl"``, or ``"l1"`` for reg_max 1 heads (``None``,
    with ``dfl_unavailable_reason``, when any image lacks box distributions or the heads mix both).
    """

    def __init__(self, num_settings: int, gains: Gains) -> None:
        self.gains = gains
        self.sums = torch.zeros(num_settings, 3, dtype=torch.float64)  # box, cls, dfl (gained)
        self.images = [0] * num_settings
        self.reason: str | None = None
        self.third: str | None = None
        self._batch: Sequence[Scene] | None = None
        self._inputs: HeadBatch | None = None

    def __call__(self, k: int, assignment: Assignment, batch: Sequence[Scene]) -> None:
        if batch is not self._batch:  # stacked once per batch, reused for every setting
            self._batch, self._inputs = batch, HeadBatch.stack([s.head for s in batch])
        losses = self._inputs.losses(assignment, self.gains)
        if self.third is None:
            self.third = losses.third
        elif self.third != losses.third:
            self.reason = "the heads mix reg_max 1 (L1 term) and DFL heads"
        tss = losses.target_scores_sum.double()
        per_image = assignment.target_score.double().sum(1).clamp(min=1)  # (B,) each image's normaliser
        scale = tss / per_image  # (B,) undo the batch normaliser, apply the image's
        terms = [losses.anchor_box, losses.anchor_cls, losses.anchor_dfl]
        gains = (self.gains.box, self.gains.cls, self.gains.dfl)
        for j, (term, gain) in enumerate(zip(terms, gains)):
            if term is None:
                self.reason = losses.dfl_unavailable_reason
                continue
            self.sums[k, j] += float((term.double().sum(1) * scale).sum() * gain)
        self.images[k] += len(batch)

    def attach(self, rows: Sequence[SweepRow]) -> list[SweepRow]:
        """The rows with their ``losses`` filled in."""
        out = []
        for k, row in enumerate(rows):
            n = self.images[k]
            mean = [float(v) / n if n else None for v in self.sums[k]]
            if self.reason is not None:
                mean[2] = None
            third = self.third or "dfl"
            out.append(
                replace(
                    row,
                    losses={
                        "box": rounded(mean[0], 8),
                        "cls": rounded(mean[1], 8),
                        third: rounded(mean[2], 8),
                        "third": third,
                        "per": "image mean",
                        "dfl_unavailable_reason": self.reason,
                    },
                )
            )
        return out


def rounded(x: float | None, nd: int = 6) -> float | None:
    """``round(x, nd)``, None kept."""
    return None if x is None else round(x, nd)
