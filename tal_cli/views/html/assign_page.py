"""The one-image page of ``tal assign --html``, and the image view data the sweep page reuses.

Every number on the page is one :mod:`tal_cli.views.report` reports for the same assignment:
the gt table's cells are the terminal table's (:mod:`tal_cli.views.tables` formats them), the
selection panel's candidate table and the tooltip are built from the same candidate pairs
``--gt N`` lists (``Assignment.pair_*``) and the same positives ``--json`` lists
(``Report.positives``), shipped as the digits the terminal prints (:mod:`.encode`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...analysis.counts import SIZE_BUCKETS, size_bucket
from ...core.assignment import Assignment
from ...readers.scene import Scene
from ..overlay import DEFAULT_PALETTE
from ..report import GtRow, Report, order_gt_rows
from ..tables import gt_table, summary_text
from .assets import html_page, version
from .encode import fixed_digits, g3_digits, pack

#: Printed precision of each value, as ``tal assign --gt N`` prints it: decimals of ``s``,
#: ``u`` and the target score; ``t`` is printed with 3 significant digits; loss terms with 5.
SCORE_DIGITS, IOU_DIGITS, TARGET_DIGITS, TERM_DIGITS = 4, 4, 4, 5

#: Why a gt has no positive, as a filter chip: (key, label). ``ok``: it has positives.
REASON_KINDS = (("ok", "has positives"), ("no-candidate", "no anchor inside"), ("metric-0", "all metrics 0"),
                ("lost", "lost to other gts"), ("topk2", "dropped by topk2"))

#: Pair flags (``pair_flags`` bits) and positive flags (``pos_flags`` bits).
PAIR_SELECTED, PAIR_TIED, PAIR_IN_BOX = 1, 2, 4
POS_CONTESTED, POS_HANDED, POS_BEYOND, POS_HAS_BOX, POS_HAS_THIRD = 1, 2, 4, 8, 16


def reason_kind(row: GtRow) -> str:
    """The :data:`REASON_KINDS` key of a gt, the code :func:`tal_cli.analysis.reasons.no_positive_reasons`
    gives it: no candidate, no selected anchor, no selected anchor won in conflicts (every one
    lost), else dropped by topk2."""
    if row.positives:
        return "ok"
    if row.candidates == 0:
        return "no-candidate"
    if row.selected == 0:
        return "metric-0"
    return "lost" if row.lost == row.selected else "topk2"


def table_cells(*tables) -> tuple[list[str], list[list[str]]]:
    """``(headers, rows of cells)`` of tables built by :mod:`tal_cli.views.tables`, side by side: the
    page shows exactly the strings the terminal prints. Headers go on one line; a header already
    taken (the setting columns a second sweep table repeats) is not repeated. Reads rich tables'
    columns (``header``, ``cells``) and fitted tables' (``header``, ``values``) alike."""
    headers: list[str] = []
    columns: list[list[str]] = []
    for table in tables:
        for c in table.columns:
            header = str(c.header).replace("/\n", "/").replace("\n", " ")
            if header in headers:
                continue
            headers.append(header)
            columns.append([str(v) for v in (c.values if hasattr(c, "values") else c.cells)])
    return headers, [list(row) for row in zip(*columns)]


def gt_sort_keys(row: GtRow, report: Report) -> list[Any]:
    """What each column sorts by: numbers (missing values -1) or text."""
    ls = report.losses
    share = -1.0 if ls is None or row.box_loss is None or not ls.raw["box"] or not row.positives \
        else row.box_loss / ls.raw["box"]

    def num(x: float | None) -> float:
        return -1.0 if x is None else round(x, 6)

    return [row.index, row.class_name, round(row.box[1], 3) * 100000 + round(row.box[0], 3),
            round(row.width * row.height, 3), row.candidates, row.positives, num(row.best_metric), num(row.best_iou),
            num(row.best_score), num(row.max_target_score), row.lost * 100000 + row.taken, round(share, 6),
            row.reason or ""]


def candidate_title(row: GtRow) -> str:
    """The ``--gt N`` table's title: ``gt 5 (patch) box 350.0,...: 60 candidates, 10 selected, 10 positives``."""
    return (f"gt {row.index} ({row.class_name}) box {','.join(f'{v:.1f}' for v in row.box)}: "
            f"{row.candidates} candidates, {row.selected} selected, {row.positives} positives")


def _gts_meta(report: Report, assignment: Assignment, image_index: int) -> dict[str, Any]:
    """The gt table and the per-gt facts the view draws and filters by."""
    rows = report.gts
    boxes = assignment.gt_bboxes[image_index, :len(rows)].double()
    cand = assignment.candidate_bboxes[image_index, :len(rows)].double()
    floored = ((cand - boxes).abs().amax(1) > 1e-3).tolist() if rows else []
    kinds = [k for k, _ in REASON_KINDS]
    headers, cells = table_cells(gt_table(rows, report.strides, report=report))
    return {
        "headers": headers,
        "cells": cells if rows else [],
        "keys": [gt_sort_keys(r, report) for r in rows],
        "box": [[round(v, 3) for v in r.box] for r in rows],
        "cand_box": {str(j): [round(v, 3) for v in cand[j].tolist()] for j, f in enumerate(floored) if f},
        "cls": [r.class_id for r in rows],
        "size": [size_bucket(r.width * r.height) for r in rows],
        "kind": [kinds.index(reason_kind(r)) for r in rows],
        "positives": [r.positives for r in rows],
        "lost_to": [list(r.lost_to) for r in rows],
        "taken_from": [list(r.taken_from) for r in rows],
        "title": [candidate_title(r) for r in rows],
        "problems": [r.index for r in order_gt_rows(rows, "problems") if r.problem],
    }


def image_view(scene: Scene, assignment: Assignment, report: Report, image_index: int = 0) -> tuple[dict, dict]:
    """The data of one image's view: ``(meta, columns)`` for :func:`~.encode.pack`.

    Args:
        scene: the image the assignment was computed from.
        assignment: its assignment (image ``image_index`` of the batch).
        report: :func:`~tal_cli.views.report.build_report` of the same assignment and image.

    Returns:
        ``meta``: JSON-ready facts (grid, settings, summary lines, gt table, class names);
        ``columns``: the candidate pairs (sorted by gt, then anchor; anchors as deltas within a
        gt) and the positives, as printed digits (:mod:`.encode`).
    """
    b, a_ = image_index, assignment
    levels = scene.head.levels
    sel = a_.pair_image == b
    pg, pa = a_.pair_gt[sel], a_.pair_anchor[sel]
    m = len(report.gts)
    order = _pair_order(pg, pa, a_.num_anchors)
    pg_l, pa_l = pg[order].tolist(), pa[order].tolist()

    def col(t) -> list:
        return t[sel][order].tolist()

    flags = (np.array(col(a_.pair_selected), dtype=np.uint8) * PAIR_SELECTED
             | np.array(col(a_.pair_tied), dtype=np.uint8) * PAIR_TIED
             | np.array(col(a_.pair_in_box), dtype=np.uint8) * PAIR_IN_BOX)
    t_mant, t_exp = g3_digits(col(a_.pair_metric))
    pa_np = np.array(pa_l, dtype=np.int64)
    pg_np = np.array(pg_l, dtype=np.int64)
    first = np.ones(pa_np.size, dtype=bool)
    first[1:] = pg_np[1:] != pg_np[:-1]
    delta = np.where(first, pa_np, pa_np - np.roll(pa_np, 1))  # anchors within a gt ascend
    columns: dict[str, Any] = {
        "gt_pairs": np.bincount(pg_np, minlength=m)[:m] if m else np.zeros(0, dtype=np.int64),
        "pair_anchor": delta,
        "pair_s": fixed_digits(col(a_.pair_score), SCORE_DIGITS),
        "pair_u": fixed_digits(col(a_.pair_iou), IOU_DIGITS),
        "pair_t_mant": t_mant,
        "pair_t_exp": t_exp,
        "pair_rank": np.array(col(a_.pair_rank), dtype=np.int64),
        "pair_flags": flags,
    }
    pos = report.positives
    columns.update({
        "pos_anchor": np.array([p.anchor for p in pos], dtype=np.int64),
        "pos_gt": np.array([p.gt for p in pos], dtype=np.int64),
        "pos_s": fixed_digits([p.score for p in pos], SCORE_DIGITS),
        "pos_ts": fixed_digits([p.target_score for p in pos], TARGET_DIGITS),
        "pos_box": fixed_digits([p.box_loss or 0.0 for p in pos], TERM_DIGITS),
        "pos_third": fixed_digits([p.dfl_loss or 0.0 for p in pos], TERM_DIGITS),
        "pos_flags": np.array([POS_CONTESTED * p.contested | POS_HANDED * p.handed | POS_BEYOND * p.beyond_reach
                               | POS_HAS_BOX * (p.box_loss is not None) | POS_HAS_THIRD * (p.dfl_loss is not None)
                               for p in pos], dtype=np.uint8),
        "contested": a_.contested[b].nonzero().squeeze(1).numpy(),
    })
    st = report.settings
    meta = {
        "image": report.image,
        "imgsz": list(report.imgsz),
        "levels": [[lv.stride, lv.height, lv.width, lv.start] for lv in levels],
        "anchors": a_.num_anchors,
        "layout": report.layout,
        "head": report.head,
        "heads": list(report.heads),
        "settings": st,
        "third": report.losses.third if report.losses is not None else "dfl",
        "summary": summary_text(report).plain.split("\n"),
        "gts": _gts_meta(report, a_, b),
        "size_bins": list(SIZE_BUCKETS),
        "reason_kinds": [list(k) for k in REASON_KINDS],
        "digits": {"s": SCORE_DIGITS, "u": IOU_DIGITS, "target": TARGET_DIGITS, "term": TERM_DIGITS},
        "palette": list(DEFAULT_PALETTE),
        "names": class_names_of(report),
    }
    return meta, columns


def _pair_order(pair_gt, pair_anchor, num_anchors: int):
    """Indices that sort pairs by gt, then anchor (the order the Assignment documents; kept if already so)."""
    key = pair_gt * (num_anchors + 1) + pair_anchor
    return key.argsort(stable=True)


def class_names_of(report: Report) -> dict[str, str]:
    """Class id (as text) -> the name the report shows, for the classes present."""
    return {str(r.class_id): r.class_name for r in report.gts}


def assign_page(scene: Scene, assignment: Assignment, report: Report, picture_url: str,
                inputs: Mapping[str, str | None], image_index: int = 0, selected: int | None = None) -> str:
    """The ``tal assign --html`` page.

    Args:
        picture_url: the letterboxed network input as a ``data:`` URL (:func:`~.assets.jpeg_data_url`).
        inputs: what the header lists, e.g. ``{"image": ..., "labels": ..., "preds": ..., "config": ...}``
            (None values are left out).
        selected: the gt selected when the page opens (``--gt N``), None: none.
    """
    meta, columns = image_view(scene, assignment, report, image_index)
    data = {
        "kind": "assign",
        "version": version(),
        "inputs": {k: str(v) for k, v in inputs.items() if v is not None},
        "picture": picture_url,
        "view": pack(meta, columns),
        "selected": selected,
    }
    return html_page(title=f"tal assign: {report.image}", kind="assign", data=data,
                     scripts=("gt_view.js", "image_view.js", "assign.js"))

