"""What ``tal assign`` reports about one image, as plain rows: per gt, per positive, per candidate.

The numbers are counted in :mod:`tal_cli.analysis.accounting` (per gt and per positive) and
:mod:`tal_cli.analysis.reasons` (why a gt has no positive); this module lays them out as
:class:`GtRow`, :class:`PositiveRow` and :class:`CandidateRow` records, words the reasons and
writes the ``tal.assign/1`` JSON document. Builds data only: :mod:`tal_cli.views.tables` makes
terminal tables of it and :mod:`tal_cli.commands.assign` prints them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import torch

from ..analysis.accounting import GtAccounts, gt_accounts
from ..analysis.reasons import CONFLICT, NO_CANDIDATE, ZERO_METRIC
from ..core.anchors import Level, anchor_cell
from ..core.assignment import Assignment
from ..core.losses import Losses
from ..core.settings import AssignerSettings
from ..readers.scene import Scene

SCHEMA = "tal.assign/1"


@dataclass(frozen=True)
class GtRow:
    """One gt of the image and what it got.

    Attributes:
        index: gt slot (the row order of the label file). class_id / class_name: its class.
        line: 1-based line in the label file (0 when unknown).
        box: ``(x1, y1, x2, y2)`` network-input px; width / height: its size in px.
        candidates: anchors whose centre lies inside the (floored) box; per stride in
            ``candidates_per_stride``; ``floor_added`` of them only thanks to the small-box floor.
        selected: anchors in its top-k (positives before conflicts).
        positives: final positive anchors; per stride in ``positives_per_stride``.
        best_metric, best_iou, best_score: max t, u and class score over its positives (None without).
        max_target_score: largest normalised target score among its positives (None without).
        lost: selected anchors that ended with another gt (``lost_to``: those gts).
        taken: positives at contested anchors, i.e. anchors another gt selected too
            (``taken_from``: those gts); ``handed`` of them it never selected itself.
        dropped_topk2: selected anchors it won but dropped by ``topk2``.
        tied: candidates in a zero-value tie at its top-k boundary (order set by the tie rule).
        reason: why it has no positive, in words; None when it has some.
        box_loss, dfl_loss: its positives' part of the raw box and DFL losses (after dividing by
            the target-score sum, before gains; None without losses or without DFL).
        target_score_sum: sum of its positives' target scores (its part of the normaliser).
        beyond_reach: positives whose target distance exceeds the DFL reach (too large for the head).
    """

    index: int
    class_id: int
    class_name: str
    line: int
    box: tuple[float, float, float, float]
    width: float
    height: float
    candidates: int
    candidates_per_stride: dict[int, int]
    floor_added: int
    selected: int
    positives: int
    positives_per_stride: dict[int, int]
    best_metric: float | None
    best_iou: float | None
    best_score: float | None
    max_target_score: float | None
    lost: int
    lost_to: tuple[int, ...]
    taken: int
    taken_from: tuple[int, ...]
    handed: int
    dropped_topk2: int
    tied: int
    reason: str | None
    box_loss: float | None = None
    dfl_loss: float | None = None
    target_score_sum: float = 0.0
    beyond_reach: int = 0

    @property
    def problem(self) -> bool:
        """No positive, or anchors lost to other gts."""
        return self.positives == 0 or self.lost > 0


@dataclass(frozen=True)
class PositiveRow:
    """A final positive anchor. ``cell`` is ``(col, row)`` in its stride's grid; ``choosers``: gts that selected it."""

    anchor: int
    stride: int
    cell: tuple[int, int]
    gt: int
    score: float
    iou: float
    metric: float
    target_score: float
    contested: bool
    handed: bool
    choosers: tuple[int, ...]
    box_loss: float | None = None
    dfl_loss: float | None = None
    beyond_reach: bool = False


@dataclass(frozen=True)
class CandidateRow:
    """A candidate anchor of one gt (``tal assign --gt N``).

    ``rank`` is its place among all anchors for this gt (0 = best, None for an anchor handed
    to the gt without being inside it); ``holder`` the gt holding it at the end (None: background);
    ``choosers`` every gt that selected it; ``box_loss`` / ``dfl_loss`` its terms when it is a
    positive of this gt and losses were computed.
    """

    anchor: int
    stride: int
    cell: tuple[int, int]
    in_box: bool
    score: float
    iou: float
    metric: float
    rank: int | None
    selected: bool
    tied: bool
    positive: bool
    holder: int | None
    choosers: tuple[int, ...]
    target_score: float
    box_loss: float | None = None
    dfl_loss: float | None = None


@dataclass(frozen=True)
class Summary:
    """Image totals."""

    gts: int
    positives: int
    positives_per_stride: dict[int, int]
    gts_without_positives: int
    contested_anchors: int
    handed_anchors: int
    tied_candidates: int
    target_scores_sum: float


@dataclass(frozen=True)
class LossSummary:
    """The image's losses: ``raw`` and ``gained`` map box, cls and ``third`` to floats (None when unavailable).

    ``third`` is ``"dfl"``, or ``"l1"`` for reg_max 1 heads (the L1 distance term, which takes
    DFL's place and its gain ``gains["dfl"]``, as in ultralytics).

    ``cls_positive`` / ``cls_background``: the raw cls loss split by anchor kind; ``beyond_reach``:
    positives the DFL bins cannot express (``dfl_reach`` grid units).
    """

    raw: dict[str, float | None]
    gained: dict[str, float | None]
    gains: dict[str, float]
    target_scores_sum: float
    cls_positive: float
    cls_background: float
    dfl_reach: float | None
    beyond_reach: int
    dfl_unavailable_reason: str | None
    third: str = "dfl"


@dataclass(frozen=True)
class Report:
    """Everything ``tal assign`` shows about one image.

    ``head`` is the branch inspected (``one2many`` for an ordinary head) and ``heads`` the
    branches the PREDS file holds.
    """

    image: str
    imgsz: tuple[int, int]
    strides: tuple[int, ...]
    layout: str
    settings: dict[str, object]
    summary: Summary
    gts: tuple[GtRow, ...]
    positives: tuple[PositiveRow, ...]
    losses: LossSummary | None = None
    head: str = "one2many"
    heads: tuple[str, ...] = ("one2many",)


def settings_dict(assignment: Assignment) -> dict[str, object]:
    """The settings as JSON-ready values."""
    s = assignment.settings
    return {"variant": s.variant, "topk": s.topk, "alpha": s.alpha, "beta": s.beta, "eps": s.eps,
            "topk2": s.topk2, "iou": s.iou, "conflict": s.conflict, "small_box_floor": s.uses_floor,
            "num_classes": s.num_classes, "strides": list(s.strides)}


def _no_positive_reason(code: int, row: dict, acc: GtAccounts, settings: AssignerSettings,
                        smallest_stride: int) -> str:
    """The words for reason ``code`` (:func:`tal_cli.analysis.reasons.no_positive_reasons`) of one gt row."""
    s, j = settings, row["index"]
    if code == NO_CANDIDATE:
        text = (f"no anchor centre inside the box ({row['width']:.1f}x{row['height']:.1f} px; "
                f"cells are {smallest_stride} px at the finest stride)")
        if not s.uses_floor and min(row["width"], row["height"]) < s.floor_side:
            text += f"; the small-box floor (variant ultralytics) would widen it to {s.floor_side:g} px"
        return text
    if code == ZERO_METRIC:
        why = ("the predicted boxes there miss it (CIoU <= 0)" if acc.iou_zero[j]
               else "class score or IoU is 0 there")
        return (f"all {acc.candidates[j]} candidates have metric 0: {why}; the top-k slots went to zero-valued "
                "anchors outside the box (tie rule: lower anchor index first)")
    parts = []  # CONFLICT or TOPK2: anchors lost to other gts, dropped by topk2, or both
    if row["lost"]:
        who = ", ".join(str(g) for g in row["lost_to"])
        parts.append(f"every selected anchor went to another gt with higher IoU (gt {who})"
                     if code == CONFLICT else f"{row['lost']} selected anchors went to gt {who}")
    if row["dropped_topk2"]:
        parts.append(f"{row['dropped_topk2']} dropped by topk2 = {s.topk2}")
    return "; ".join(parts)


def _loss_summary(losses: Losses, b: int) -> LossSummary:
    raw, gained = losses.raw.floats(), losses.gained.floats()
    g = losses.gains
    return LossSummary(
        raw=dict(zip(("box", "cls", losses.third), raw)), gained=dict(zip(("box", "cls", losses.third), gained)),
        gains={"box": g.box, "cls": g.cls, "dfl": g.dfl}, target_scores_sum=float(losses.target_scores_sum),
        cls_positive=float(losses.image_cls_positive[b]), cls_background=float(losses.image_cls_background[b]),
        dfl_reach=losses.dfl_reach, beyond_reach=int(losses.anchor_beyond_reach[b].sum()),
        dfl_unavailable_reason=losses.dfl_unavailable_reason, third=losses.third)


def build_report(scene: Scene, assignment: Assignment, image_index: int = 0,
                 names: Mapping[int, str] | None = None, losses: Losses | None = None) -> Report:
    """Rows for image ``image_index`` of ``assignment``, which was computed from ``scene``.

    With ``losses`` (of the same assignment) the rows carry each gt's and positive's loss terms.
    The numbers are :func:`~tal_cli.analysis.accounting.gt_accounts`'; this lays them out.
    """
    b, levels = image_index, scene.head.levels
    strides = tuple(lv.stride for lv in levels)
    acc = gt_accounts(assignment, b, scene.num_gts, levels, scene.head.scores, scene.gt_classes)
    rows = _gt_rows(scene, assignment, acc, names or {}, losses, b)
    positives = tuple(_positive_row(acc, k, levels, losses, b) for k in range(len(acc.positive_anchor)))
    per_level = torch.bincount(torch.tensor(acc.positive_level, dtype=torch.long), minlength=len(levels))
    summary = Summary(
        gts=scene.num_gts, positives=len(positives), positives_per_stride=dict(zip(strides, per_level.tolist())),
        gts_without_positives=sum(1 for r in rows if r.positives == 0), contested_anchors=acc.contested_anchors,
        handed_anchors=acc.handed_anchors, tied_candidates=sum(acc.tied), target_scores_sum=acc.target_score_sum)
    return Report(image=str(scene.image), imgsz=scene.letterbox.input_hw, strides=strides, layout=scene.head.layout,
                  settings=settings_dict(assignment), summary=summary, gts=rows, positives=positives,
                  losses=_loss_summary(losses, b) if losses is not None else None,
                  head=scene.head.head, heads=scene.head.heads)


def _gt_rows(scene: Scene, assignment: Assignment, acc: GtAccounts, names: Mapping[int, str],
             losses: Losses | None, b: int) -> tuple[GtRow, ...]:
    """One :class:`GtRow` per gt of the image, in slot order."""
    strides = tuple(lv.stride for lv in scene.head.levels)
    classes = scene.gt_classes.tolist()
    rows = []
    for j, (x1, y1, x2, y2) in enumerate(scene.gt_boxes.tolist()):
        row = dict(
            index=j, class_id=classes[j], class_name=names.get(classes[j], str(classes[j])),
            line=scene.label_lines[j] if j < len(scene.label_lines) else 0,
            box=(x1, y1, x2, y2), width=x2 - x1, height=y2 - y1,
            candidates=acc.candidates[j], candidates_per_stride=dict(zip(strides, acc.candidates_per_level[j])),
            floor_added=acc.floor_added[j], selected=acc.selected[j], positives=acc.positives[j],
            positives_per_stride=dict(zip(strides, acc.positives_per_level[j])),
            best_metric=acc.best_metric[j], best_iou=acc.best_iou[j],
            best_score=acc.best_score[j], max_target_score=acc.max_target_score[j],
            lost=acc.lost[j], lost_to=acc.lost_to[j], taken=acc.taken[j], taken_from=acc.taken_from[j],
            handed=acc.handed[j], dropped_topk2=acc.dropped_topk2[j], tied=acc.tied[j], reason=None)
        if losses is not None:
            row["box_loss"] = float(losses.gt_box[b, j])
            row["dfl_loss"] = float(losses.gt_dfl[b, j]) if losses.gt_dfl is not None else None
            row["target_score_sum"] = float(losses.gt_target_score[b, j])
            row["beyond_reach"] = int(losses.gt_beyond_reach[b, j])
        if acc.positives[j] == 0:
            row["reason"] = _no_positive_reason(acc.reason[j], row, acc, assignment.settings, min(strides))
        rows.append(GtRow(**row))
    return tuple(rows)


def _positive_row(acc: GtAccounts, k: int, levels: Sequence[Level], losses: Losses | None, b: int) -> PositiveRow:
    """The row of the image's ``k``-th final positive (anchor order)."""
    an = acc.positive_anchor[k]
    stride, col, row = anchor_cell(an, levels)
    return PositiveRow(anchor=an, stride=stride, cell=(col, row), gt=acc.positive_gt[k], score=acc.positive_score[k],
                       iou=acc.positive_iou[k], metric=acc.positive_metric[k],
                       target_score=acc.positive_target_score[k], contested=acc.positive_contested[k],
                       handed=acc.positive_handed[k], choosers=acc.positive_choosers[k],
                       **_anchor_losses(losses, b, an))


def _anchor_losses(losses: Losses | None, b: int, anchor: int) -> dict[str, object]:
    """Box / DFL terms and reach flag of one positive anchor (empty without losses)."""
    if losses is None:
        return {}
    return {"box_loss": float(losses.anchor_box[b, anchor]),
            "dfl_loss": float(losses.anchor_dfl[b, anchor]) if losses.anchor_dfl is not None else None,
            "beyond_reach": bool(losses.anchor_beyond_reach[b, anchor])}


def candidate_rows(scene: Scene, assignment: Assignment, gt: int, image_index: int = 0,
                   losses: Losses | None = None) -> list[CandidateRow]:
    """One row per candidate anchor of gt ``gt`` (plus any anchor handed to it from outside), best rank first."""
    b, a_ = image_index, assignment
    levels = scene.head.levels
    sel = (a_.pair_image == b) & (a_.pair_gt == gt)
    pa = a_.pair_anchor[sel]
    fg, gidx = a_.fg_mask[b], a_.target_gt_idx[b]
    all_sel = (a_.pair_image == b) & a_.pair_selected
    chosen_by: dict[int, list[int]] = defaultdict(list)
    anchors_of_interest = set(pa.tolist())
    for g, an in zip(a_.pair_gt[all_sel].tolist(), a_.pair_anchor[all_sel].tolist()):
        if an in anchors_of_interest:
            chosen_by[an].append(g)
    rows = []
    cols = zip(pa.tolist(), a_.pair_in_box[sel].tolist(), a_.pair_score[sel].tolist(), a_.pair_iou[sel].tolist(),
               a_.pair_metric[sel].tolist(), a_.pair_rank[sel].tolist(), a_.pair_selected[sel].tolist(),
               a_.pair_tied[sel].tolist())
    for an, in_box, s, u, t, rank, selected, tied in cols:
        stride, col, row = anchor_cell(an, levels)
        cell = (col, row)
        holder = int(gidx[an]) if bool(fg[an]) else None
        terms = _anchor_losses(losses, b, an) if holder == gt else {}
        terms.pop("beyond_reach", None)
        rows.append(
            CandidateRow(
                an,
                stride,
                cell,
                in_box,
                s,
                u,
                t,
                rank,
                selected,
                tied,
                holder == gt,
                holder,
                tuple(sorted(chosen_by.get(an, []))),
                float(a_.target_score[b, an]) if holder == gt else 0.0,
                **terms,
            )
        )
    outside = ((fg & (gidx == gt)).nonzero().squeeze(1)).tolist()
    for an in sorted(set(outside) - anchors_of_interest):
        stride, col, row = anchor_cell(an, levels)
        cell = (col, row)
        score = float(scene.head.scores[an, scene.gt_classes[gt]])
        terms = _anchor_losses(losses, b, an)
        terms.pop("beyond_reach", None)
        rows.append(CandidateRow(an, stride, cell, False, score, 0.0, 0.0, None, False, False, True, gt, (),
                                 float(a_.target_score[b, an]), **terms))
    rows.sort(key=lambda r: (r.rank is None, r.rank if r.rank is not None else 0, r.anchor))
    return rows


def order_gt_rows(rows: Sequence[GtRow], sort: str) -> list[GtRow]:
    """``index``: file order; ``problems``: no positives first, then most anchors lost, then index."""
    if sort == "index":
        return list(rows)
    return sorted(rows, key=lambda r: (r.positives > 0, -r.lost, r.index))


def _round(x: object, nd: int = 6) -> object:
    return round(x, nd) if isinstance(x, float) else x


def _shallow(obj: object) -> dict[str, object]:
    """A dataclass's fields as a dict, without :func:`dataclasses.asdict`'s deep copies (linear and
    cheap on 100,000 rows)."""
    return {name: getattr(obj, name) for name in _field_names(type(obj))}


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    if cls not in _FIELDS:
        _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return _FIELDS[cls]


def report_to_json(report: Report) -> dict[str, object]:
    """The ``tal.assign/1`` document."""
    gts = []
    for r in report.gts:
        d = _shallow(r)
        d["box"] = [_round(v, 3) for v in r.box]
        d["width"], d["height"] = _round(r.width, 3), _round(r.height, 3)
        d["candidates_per_stride"] = {str(k): v for k, v in r.candidates_per_stride.items()}
        d["positives_per_stride"] = {str(k): v for k, v in r.positives_per_stride.items()}
        d["lost_to"], d["taken_from"] = list(r.lost_to), list(r.taken_from)
        for k in ("best_metric", "best_iou", "best_score", "max_target_score"):
            d[k] = _round(d[k])
        gts.append(d)
    positives = []
    for p in report.positives:
        d = _shallow(p)
        d["cell"], d["choosers"] = list(p.cell), list(p.choosers)
        for k in ("score", "iou", "metric", "target_score"):
            d[k] = _round(d[k], 7)
        positives.append(d)
    for d in gts + positives:
        for k in ("box_loss", "dfl_loss", "target_score_sum"):
            if k in d:
                d[k] = _round(d[k], 8)
    summary = _shallow(report.summary)
    summary["positives_per_stride"] = {str(k): v for k, v in report.summary.positives_per_stride.items()}
    summary["target_scores_sum"] = _round(summary["target_scores_sum"])
    return {"schema": SCHEMA, "image": report.image, "imgsz": list(report.imgsz), "strides": list(report.strides),
            "layout": report.layout, "head": {"inspected": report.head, "available": list(report.heads)},
            "settings": report.settings, "summary": summary, "gts": gts, "positives": positives,
            "losses": _losses_json(report)}


def _losses_json(report: Report) -> dict[str, object] | None:
    """The ``losses`` object of the document: totals, and per gt its terms and shares of the totals."""
    ls = report.losses
    if ls is None:
        return None

    def share(part: float | None, total: float | None) -> float | None:
        return None if part is None or not total else _round(part / total, 6)

    t = ls.third
    ts_total = sum(g.target_score_sum for g in report.gts)  # once: per gt it would be quadratic
    per_gt = [{"index": r.index, "box": _round(r.box_loss, 8), t: _round(r.dfl_loss, 8),
               "target_score_sum": _round(r.target_score_sum, 6),
               "box_share": share(r.box_loss, ls.raw["box"]), f"{t}_share": share(r.dfl_loss, ls.raw[t]),
               "target_score_share": share(r.target_score_sum, ts_total),
               "beyond_reach": r.beyond_reach} for r in report.gts]
    rounded = {k: {n: _round(v, 8) for n, v in d.items()} for k, d in (("raw", ls.raw), ("gained", ls.gained))}
    return {**rounded, "third": t, "gains": ls.gains, "target_scores_sum": _round(ls.target_scores_sum, 6),
            "cls_positive": _round(ls.cls_positive, 8), "cls_background": _round(ls.cls_background, 8),
            "dfl_reach": ls.dfl_reach, "beyond_reach": ls.beyond_reach,
            "dfl_unavailable_reason": ls.dfl_unavailable_reason, "per_gt": per_gt}


def candidates_to_json(rows: Sequence[CandidateRow]) -> list[dict[str, object]]:
    out = []
    for r in rows:
        d = _shallow(r)
        d["cell"], d["choosers"] = list(r.cell), list(r.choosers)
        for k in ("score", "iou", "metric", "target_score"):
            d[k] = _round(d[k], 7)
        out.append(d)
    return out
