"""The page of ``tal check --html``: the check's summary and tables, the zero-candidate rates by
size and by class, the loader's verdicts, and a drill-down into the files most worth a look.

Every number at the top is the terminal's: the header lines are :func:`~tal_cli.views.check.check_header`'s,
the settings and class tables are built by :mod:`tal_cli.views.check` and shipped as the strings
it prints (:func:`.assign_page.table_cells`). The drill-down shows each file under every setting,
gt by gt, from :func:`~tal_cli.analysis.check_gts.file_gts` (the functions ``tal check`` counts
with): its status, its candidates per stride and the runs of anchor centres that are its
candidates. A check reads no predictions: the page shows candidates only, never positives or
metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...analysis.check import CheckRow, CheckSetting, FileCheck, is_problem
from ...analysis.check_gts import (
    BEYOND_REACH,
    FEWER_THAN_TOPK,
    FINE,
    NO_CANDIDATE,
    NOT_FINITE,
    STATUSES,
    FileGts,
    PageFiles,
)
from ...analysis.counts import SIZE_BUCKETS
from ...analysis.geometry import dfl_reach
from ...readers.labels import Labels
from ...readers.paths import display_path
from ..check import check_header, class_table, file_problems, limits_table, never_table
from .assets import html_page, version
from .assign_page import table_cells
from .encode import pack_views
from .sweep_page import rate_bars

#: Each status (:data:`~tal_cli.analysis.check_gts.STATUSES` order): its words, and the colour of its gts.
STATUS_LOOK = (("no candidate", "#ff4b4b"), ("beyond DFL reach", "#c77dff"), ("fewer than topk", "#ffb020"),
               ("fine", "#3ccf8e"), ("box not finite", "#a0a4aa"))


@dataclass(frozen=True)
class CheckImage:
    """One file of the drill-down.

    Attributes:
        key: unique short name (the image stem; ``stem~2`` on a repeated stem), the page's ``data-file``.
        check: the file's record in the check.
        picture: the image resized as training sees it (no padding), a ``data:`` URL; thumb: a small
            one; both None for a dropped file.
        views: per setting, :func:`check_view`'s ``(meta, columns)``; empty for a dropped file.
    """

    key: str
    check: FileCheck
    picture: str | None
    thumb: str | None
    views: Sequence[tuple[dict, dict]]


def status_text(fg: FileGts, g: int, setting: CheckSetting) -> str:
    """Gt ``g``'s status in words, with the reason: ``"no anchor centre inside the box (2.2x4.4 px; cells
    are 8 px at the finest stride)"``."""
    code = int(fg.status[g])
    total = int(fg.candidates[g].sum())
    finest = min(setting.strides)
    if code == NOT_FINITE:
        return "box not finite: left out of every count, as tal check leaves it out"
    if code == NO_CANDIDATE:
        x1, y1, x2, y2 = fg.candidate_boxes[g].tolist()
        widened = " widened by the small-box floor" if setting.floor_side is not None else ""
        return (f"no candidate: no anchor centre inside the box{widened} ({x2 - x1:.1f}x{y2 - y1:.1f} px; cells are "
                f"{finest} px at the finest stride): no topk, alpha or beta gives it a positive")
    if code == BEYOND_REACH:
        return (f"beyond DFL reach: each of its {total} candidates is more than {dfl_reach(setting.reg_max):g} cells "
                f"(reg_max {setting.reg_max}) from a side of the box: every box target is clipped")
    if code == FEWER_THAN_TOPK:
        cands = f"{total} candidate{'s' if total != 1 else ''}"
        return f"fewer than topk: {cands}, topk {setting.topk}: at most {total} positives"
    assert code == FINE
    return f"fine: {total} candidates, topk {setting.topk}"


def _spans(span, n: int) -> np.ndarray:
    """A span's runs as ``int32[N * L * 4]``: per gt and level, first column, stop column, first row, stop row."""
    first, stop = span.first.numpy(), span.stop.numpy()  # (N, 2, L)
    out = np.stack([first[:, 0], stop[:, 0], first[:, 1], stop[:, 1]], -1)  # (N, L, 4)
    return out.reshape(n * first.shape[2] * 4).astype(np.int32) if n else np.zeros(0, dtype=np.int32)


def check_view(fg: FileGts, gts: Labels, setting: CheckSetting, image: str, names: Mapping[int, str],
               placement: Sequence[int]) -> tuple[dict, dict]:
    """The data of one file's view under one setting: ``(meta, columns)`` for :func:`~.encode.pack`.

    Args:
        fg: the file's gts measured under ``setting`` (:func:`~tal_cli.analysis.check_gts.file_gts`).
        gts: the same gts as read (lines, classes), in ultralytics' order.
        image: the image path as shown.
        names: class id -> name.
        placement: ``[left, top, width, height]`` of the resized image in the network input
            (:class:`~tal_cli.readers.images.Letterbox`); the page pads the rest with grey 114.

    Returns:
        ``meta``: the grid, the summary lines, the gt table and per-gt facts; ``columns``: the runs
        of candidate centres per gt and level (``span``), those within the DFL reach (``reach``)
        and those inside the gt's own box (``in_box``, when the small-box floor applies).
    """
    n = len(gts)
    status = fg.status.tolist()
    table = _gt_table(fg, gts, setting, names)
    table.update({"cls": list(gts.classes), "size": fg.size.tolist(), "kind": status,
                  "title": [status_text(fg, g, setting) for g in range(n)],
                  "problems": sorted((g for g in range(n) if status[g] != FINE), key=lambda g: (status[g], g))})
    meta = {
        "image": image,
        "imgsz": list(setting.imgsz),
        "placement": list(placement),
        "levels": [[lv.stride, lv.height, lv.width, lv.start] for lv in setting.levels],
        "summary": _view_summary(fg, n, setting, image, status),
        "gts": table,
        "size_bins": list(SIZE_BUCKETS),
        "reason_kinds": [[key, words] for key, (words, _) in zip(STATUSES, STATUS_LOOK)],
        "colours": [colour for _, colour in STATUS_LOOK],
        "names": {str(c): names.get(c, str(c)) for c in sorted(set(gts.classes))},
    }
    columns = {"span": _spans(fg.inside, n)}
    if fg.reach is not None:
        columns["reach"] = _spans(fg.reach, n)
    if fg.in_box is not None:
        columns["in_box"] = _spans(fg.in_box, n)
    return meta, columns


def _gt_table(fg: FileGts, gts: Labels, setting: CheckSetting, names: Mapping[int, str]) -> dict[str, Any]:
    """The view's gt table: ``headers``, the ``cells`` as shown, the sort ``keys`` of each cell, each gt's
    ``box`` (None when not finite) and ``cand_box`` (gt -> its floored box, where the floor changed it)."""
    n = len(gts)
    has_reach = fg.reach is not None
    headers = ["gt", "line", "class", "box x1,y1,x2,y2", "w x h px", "size", *(f"stride {s}" for s in setting.strides),
               "candidates", *(["within reach"] if has_reach else []), "shared", "status"]
    cells, keys, boxes, cand_box = [], [], [], {}
    within = fg.within_reach.sum(1).tolist() if has_reach else [0] * n
    for g in range(n):
        code = int(fg.status[g])
        cls = gts.classes[g]
        name = names.get(cls, str(cls))
        x1, y1, x2, y2 = fg.boxes[g].tolist()
        ok = code != NOT_FINITE
        counts = fg.candidates[g].tolist()
        total = sum(counts)
        bucket = SIZE_BUCKETS[int(fg.size[g])]
        cells.append([str(g), str(gts.lines[g]), name,
                      ",".join(f"{v:.1f}" for v in (x1, y1, x2, y2)) if ok else "not finite",
                      f"{x2 - x1:.1f}x{y2 - y1:.1f}" if ok else "-", bucket if ok else "-",
                      *(str(c) if ok else "-" for c in counts), str(total) if ok else "-",
                      *([str(within[g]) if ok else "-"] if has_reach else []), str(int(fg.shared[g])) if ok else "-",
                      STATUS_LOOK[code][0]])
        keys.append([g, gts.lines[g], name, round(y1, 3) * 100000 + round(x1, 3) if ok else -1,
                     round((x2 - x1) * (y2 - y1), 3) if ok else -1, int(fg.size[g]) if ok else -1,
                     *(c if ok else -1 for c in counts), total if ok else -1, *([within[g]] if has_reach else []),
                     int(fg.shared[g]), code])
        boxes.append([round(v, 3) for v in (x1, y1, x2, y2)] if ok else None)
        cb = fg.candidate_boxes[g].tolist()
        if ok and max(abs(a - b) for a, b in zip(cb, (x1, y1, x2, y2))) > 1e-3:
            cand_box[str(g)] = [round(v, 3) for v in cb]
    return {"headers": headers, "cells": cells, "keys": keys, "box": boxes, "cand_box": cand_box}


def _view_summary(fg: FileGts, n: int, setting: CheckSetting, image: str, status: list[int]) -> list[str]:
    """The view's three summary lines: the file and setting, the gts by status, what a check cannot show."""
    counts_by = [status.count(code) for code in range(len(STATUSES))]
    floor = f"small-box floor {setting.floor_side:g} px" if setting.floor_side is not None else "no small-box floor"
    h, w = setting.imgsz
    return [
        f"{image} under {setting.label}: {n} gt{'s' if n != 1 else ''}; input {w}x{h}, strides "
        f"{'/'.join(map(str, setting.strides))}, topk {setting.topk}, reg_max {setting.reg_max}, {floor}",
        f"{counts_by[NO_CANDIDATE]} with no candidate, {counts_by[BEYOND_REACH]} beyond the DFL reach, "
        f"{counts_by[FEWER_THAN_TOPK]} with fewer candidates than topk, {counts_by[FINE]} fine"
        + (f", {counts_by[NOT_FINITE]} not finite" if counts_by[NOT_FINITE] else "")
        + f"; {fg.image_shared} anchor{' is a candidate' if fg.image_shared == 1 else 's are candidates'} of two or "
        "more gts",
        "From the boxes alone: a candidate is an anchor centre inside a gt. tal check reads no predictions, so "
        "no positives, scores or metrics exist here.",
    ]


def chart_rows(rows: Sequence[CheckRow]) -> list[dict[str, Any]]:
    """The zero-candidate rates the chart draws, per setting, with the ``--plot`` chart's texts."""
    return [{"label": r.label,
             "zero": rate_bars([("all", r.zero_candidate_rate, r.zero_candidate, r.gts),
                                *((k, s.rate, s.zero, s.gts) for k, s in r.by_size.items())])}
            for r in rows]


def _file_entry(item: CheckImage, labels: Sequence[str]) -> dict[str, Any]:
    f = item.check
    image = str(display_path(Path(f.image)))
    return {"key": item.key, "image": image, "labels": str(display_path(Path(f.labels))) if f.labels else f.labels,
            "verdict": f.status, "line": f.line,
            "text": file_problems(f, labels) if is_problem(f) else f"{image}: nothing to flag", "gts": f.gts,
            "zero": list(f.zero_candidate),
            "picture": item.picture, "thumb": item.thumb,
            "views": pack_views(item.views) if item.views else None}


def check_page(result, files: PageFiles, shown: Sequence[CheckImage], inputs: Mapping[str, str | None]) -> str:
    """The ``tal check --html`` page.

    Args:
        result: the finished check (:class:`~tal_cli.workflows.check.CheckResult`).
        files: what was kept of its files (dropped files, files with duplicates).
        shown: the drill-down files, most worth a look first.
        inputs: what the header lists (source, config; None values are left out).
    """
    rows = result.rows
    labels = [r.label for r in rows]
    headers, cells = table_cells(never_table(rows), limits_table(rows))
    class_headers, class_cells = table_cells(class_table(rows, result.class_names))
    data = {
        "kind": "check",
        "version": version(),
        "inputs": {k: str(v) for k, v in inputs.items() if v is not None},
        "header": [line.plain for line in check_header(result)],
        "settings": {"headers": headers, "cells": cells, "labels": labels},
        "chart": chart_rows(rows),
        "classes": {"headers": class_headers, "cells": class_cells},
        "splits": [{"split": s.split, "images": s.images, "kept": s.kept, "backgrounds": s.backgrounds,
                    "dropped": s.dropped, "duplicates": s.duplicates, "duplicate_files": s.duplicate_files,
                    "rewritten": s.rewritten, "gts": s.gts} for s in result.splits],
        "dropped": [file_problems(f, labels) for f in files.dropped],
        "dropped_total": files.dropped_total,
        "duplicates": [file_problems(f, labels) for f in files.duplicates],
        "duplicates_total": files.duplicates_total,
        "problem_files": result.problem_files - files.dropped_total,  # files training sees, worth a look
        "html_images": files.images,
        "size_bins": list(SIZE_BUCKETS),
        "statuses": [[key, words, colour] for key, (words, colour) in zip(STATUSES, STATUS_LOOK)],
        "files": [_file_entry(item, labels) for item in shown],
    }
    return html_page(title="tal check", kind="check", data=data,
                     scripts=("gt_view.js", "check_view.js", "settings_pages.js", "check.js"))
