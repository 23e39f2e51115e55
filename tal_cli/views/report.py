"""What ``tal assign`` reports about one image, as plain rows: per gt, per positive, per candidate.

Builds data only; :mod:`tal_cli.views.tables` turns it into terminal tables and ``cli.py`` prints.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import torch

from ..analysis.reasons import CONFLICT, NO_CANDIDATE, ZERO_METRIC, no_positive_reasons
from ..core.anchors import Level, anchor_cell
from ..core.assignment import Assignment
from ..core.losses import Losses
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


def _level_of(anchors: torch.Tensor, levels: Sequence[Level]) -> torch.Tensor:
    """Level index of each anchor. ``Tensor[N] int64``."""
    stops = torch.tensor([lv.stop for lv in levels], dtype=torch.long)
    return torch.bucketize(anchors, stops, right=True)


def settings_dict(assignment: Assignment) -> dict[str, object]:
    """The settings as JSON-ready values."""
    s = assignment.settings
    return {"variant": s.variant, "topk": s.topk, "alpha": s.alpha, "beta": s.beta, "eps": s.eps,
            "topk2": s.topk2, "iou": s.iou, "conflict": s.conflict, "small_box_floor": s.uses_floor,
            "num_classes": s.num_classes, "strides": list(s.strides)}


def _no_positive_reason(code: int, row: dict, assignment: Assignment, pair_metrics: list[float],
                        smallest_stride: int) -> str:
    """The words for reason ``code`` (:func:`tal_cli.analysis.reasons.no_positive_reasons`) of one gt row."""
    s = assignment.settings
    if code == NO_CANDIDATE:
        text = (f"no anchor centre inside the box ({row['width']:.1f}x{row['height']:.1f} px; "
                f"cells are {smallest_stride} px at the finest stride)")
        if not s.uses_floor and min(row["width"], row["height"]) < s.floor_side:
            text += f"; the small-box floor (variant ultralytics) would widen it to {s.floor_side:g} px"
        return text
    if code == ZERO_METRIC:
        n = len(pair_metrics)
        why = ("the predicted boxes there miss it (CIoU <= 0)" if row["_all_iou_zero"]
               else "class score or IoU is 0 there")
        return (f"all {n} candidates have metric 0: {why}; the top-k slots went to zero-valued anchors "
                "outside the box (tie rule: lower anchor index first)")
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
    """
    b = image_index
    names = names or {}
    levels = scene.head.levels
    n_levels = len(levels)
    strides = tuple(lv.stride for lv in levels)
    m = scene.num_gts
    a_ = assignment

    sel = a_.pair_image == b
    pg, pa = a_.pair_gt[sel], a_.pair_anchor[sel]
    p_sel, p_tied, p_in = a_.pair_selected[sel], a_.pair_tied[sel], a_.pair_in_box[sel]
    p_metric = a_.pair_metric[sel]
    p_lvl = _level_of(pa, levels)
    fg, gidx, winner = a_.fg_mask[b], a_.target_gt_idx[b], a_.winner[b]
    contested, handed, tscore = a_.contested[b], a_.handed[b], a_.target_score[b]

    def per_gt(index: torch.Tensor) -> list[int]:
        return torch.bincount(index, minlength=m)[:m].tolist() if m else []

    def per_gt_stride(index: torch.Tensor, lvl: torch.Tensor) -> list[list[int]]:
        return (
            torch.bincount(index * n_levels + lvl, minlength=m * n_levels)[: m * n_levels].view(m, n_levels).tolist()
            if m
            else []
        )

    fg_anchors = fg.nonzero().squeeze(1)
    fg_gt = gidx[fg_anchors]
    fg_lvl = _level_of(fg_anchors, levels)
    classes = scene.gt_classes
    fg_score = scene.head.scores[fg_anchors, classes[fg_gt]] if m else torch.zeros(0)

    def per_gt_max(values: torch.Tensor) -> list[float | None]:
        best = torch.full((m,), -1.0, dtype=torch.float64).scatter_reduce(0, fg_gt, values.double(), "amax")
        return [None if v < 0 else v for v in best.tolist()]

    holder_wins = winner[pa]
    lost_mask = p_sel & (holder_wins != pg)
    dropped_mask = p_sel & (holder_wins == pg) & ~fg[pa]
    lost_to: dict[int, set[int]] = defaultdict(set)
    for g, w in zip(pg[lost_mask].tolist(), holder_wins[lost_mask].tolist()):
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

    cand, cand_stride = per_gt(pg), per_gt_stride(pg, p_lvl)
    floor_added, selected, tied = per_gt(pg[~p_in]), per_gt(pg[p_sel]), per_gt(pg[p_tied])
    pos, pos_stride = per_gt(fg_gt), per_gt_stride(fg_gt, fg_lvl)
    lost, dropped = per_gt(pg[lost_mask]), per_gt(pg[dropped_mask])
    taken = per_gt(fg_gt[contested[fg_anchors]])
    handed_n = per_gt(fg_gt[handed[fg_anchors]])
    best_score = per_gt_max(fg_score)
    best_ts = per_gt_max(tscore[fg_anchors])
    best_metric, best_iou = a_.gt_best_metric[b].tolist(), a_.gt_best_iou[b].tolist()
    metrics_by_gt: dict[int, list[float]] = defaultdict(list)
    for g, t in zip(pg.tolist(), p_metric.tolist()):
        metrics_by_gt[g].append(t)
    iou_positive = per_gt(pg[a_.pair_iou[sel] > 0])
    reason_codes = no_positive_reasons(assignment)[b].tolist()

    rows = []
    boxes = scene.gt_boxes.tolist()
    for j in range(m):
        x1, y1, x2, y2 = boxes[j]
        row = dict(
            index=j, class_id=int(classes[j]), class_name=names.get(int(classes[j]), str(int(classes[j]))),
            line=scene.label_lines[j] if j < len(scene.label_lines) else 0,
            box=(x1, y1, x2, y2), width=x2 - x1, height=y2 - y1,
            candidates=cand[j], candidates_per_stride=dict(zip(strides, cand_stride[j])),
            floor_added=floor_added[j], selected=selected[j], positives=pos[j],
            positives_per_stride=dict(zip(strides, pos_stride[j])),
            best_metric=best_metric[j] if pos[j] else None, best_iou=best_iou[j] if pos[j] else None,
            best_score=best_score[j], max_target_score=best_ts[j],
            lost=lost[j], lost_to=tuple(sorted(lost_to.get(j, ()))), taken=taken[j],
            taken_from=tuple(sorted(taken_from.get(j, ()))), handed=handed_n[j],
            dropped_topk2=dropped[j], tied=tied[j], reason=None)
        if losses is not None:
            row["box_loss"] = float(losses.gt_box[b, j])
            row["dfl_loss"] = float(losses.gt_dfl[b, j]) if losses.gt_dfl is not None else None
            row["target_score_sum"] = float(losses.gt_target_score[b, j])
            row["beyond_reach"] = int(losses.gt_beyond_reach[b, j])
        if pos[j] == 0:
            row["_all_iou_zero"] = iou_positive[j] == 0
            row["reason"] = _no_positive_reason(reason_codes[j], row, assignment, metrics_by_gt.get(j, []),
                                                min(strides))
            del row["_all_iou_zero"]
        rows.append(GtRow(**row))

    positives = []
    fg_iou, fg_metric = a_.positive_iou[b][fg_anchors].tolist(), a_.positive_metric[b][fg_anchors].tolist()
    for k, (an, g) in enumerate(zip(fg_anchors.tolist(), fg_gt.tolist())):
        stride, col, row = anchor_cell(an, levels)
        positives.append(
            PositiveRow(
                anchor=an,
                stride=stride,
                cell=(col, row),
                gt=g,
                score=float(fg_score[k]),
                iou=fg_iou[k],
                metric=fg_metric[k],
                target_score=float(tscore[an]),
                contested=bool(contested[an]),
                handed=bool(handed[an]),
                choosers=tuple(sorted(choosers.get(an, [g] if not handed[an] else []))),
                **_anchor_losses(losses, b, an),
            )
        )

    summary = Summary(
        gts=m,
        positives=len(positives),
        positives_per_stride=dict(zip(strides, torch.bincount(fg_lvl, minlength=n_levels).tolist())),
        gts_without_positives=sum(1 for r in rows if r.positives == 0),
        contested_anchors=int(contested.sum()),
        handed_anchors=int(handed.sum()),
        tied_candidates=int(p_tied.sum()),
        target_scores_sum=float(tscore.sum()),
    )
    return Report(image=str(scene.image), imgsz=scene.letterbox.input_hw, strides=strides, layout=scene.head.layout,
                  settings=settings_dict(assignment), summary=summary, gts=tuple(rows), positives=tuple(positives),
                  losses=_loss_summary(losses, b) if losses is not None else None,
                  head=scene.head.head, heads=scene.head.heads)


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
