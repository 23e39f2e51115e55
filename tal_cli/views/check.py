"""What ``tal check`` shows: header lines, tables, the files worth a look, the ``tal.check/1`` JSON and CSV rows.

Builds objects and plain data only; the command prints them. Tables stay readable at 80
columns: percentages sit under their counts, every column folds instead of cutting a value.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from ..analysis.check import CheckRow, ExposedGt, FileCheck
from ..analysis.counts import SIZE_BINS, SIZE_BUCKETS, Count
from ..analysis.sweep import rounded
from ..readers.paths import display_path
from ..readers.verdicts import DROPPED

SCHEMA = "tal.check/1"


def _shown(path: str | None) -> str:
    """A path as the user reads it best: relative to the working folder when below it."""
    from pathlib import Path

    return str(display_path(Path(path))) if path else "-"


def _count_rate(part: int | None, total: int) -> str:
    """``"217\\n63.6%"`` (count over rate); ``"-"`` without gts or without a value."""
    if part is None or not total:
        return "-"
    return f"{part}\n{100 * part / total:.1f}%"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def check_header(result) -> list[Text]:
    """The lines above the tables: the source, ultralytics' scan per split, classes, the settings.

    Args:
        result: a :class:`~tal_cli.workflows.check.CheckResult`.
    """
    plan = result.plan
    lines = [Text(result.description, style="bold")]
    for s in result.splits:
        where = f"{s.split}: " if s.split is not None else ""
        extra = f", {_plural(s.rewritten, 'JPEG')} ultralytics would re-save in place" if s.rewritten else ""
        lines.append(Text(f"{where}{s.summary()}{extra} (ultralytics' loader)",
                          style="bold red" if s.dropped else None))
    if plan.num_classes is not None:
        classes = f"class ids checked against the {plan.num_classes} classes of {plan.classes_of}"
    else:
        classes = "class ids not checked (no class count: give --names data.yaml or a dataset YAML with names)"
    pose = f"; pose rows, kpt_shape {list(plan.kpt_shape)}" if plan.kpt_shape else ""
    images = "images decoded and verified as ultralytics does" if plan.verify_images else "image headers read"
    lines.append(Text(f"{classes}{pose}; {images}"))
    cfg = plan.config
    total = result.total
    reach = f"reg_max {cfg.reg_max}" + ("" if cfg.reg_max > 1 else " (no DFL)")
    lines.append(Text(f"{_plural(total.gts, 'gt')} in {_plural(total.kept, 'image')} with gts; strides "
                      f"{'/'.join(map(str, cfg.strides))}, {reach}, topk {cfg.topk}; small/medium/large: "
                      "letterboxed area < 32², < 96², larger"))
    return lines


#: The lines above each table (printed as text, so that they wrap at the terminal's width, not the table's).
NEVER_TITLE = "Gts that can never get a positive: no anchor centre inside the box at any stride"
LIMITS_TITLE = ("Gts whose positives are capped (fewer candidates than topk), clipped (every candidate beyond the "
                "DFL reach) or contested (every candidate shared with another gt)")
CLASS_TITLE = "Gts with no candidate, by class"


def never_table(rows: Sequence[CheckRow]) -> Table:
    """Gts with no candidate anchor at any stride, per setting: overall and by size (:data:`NEVER_TITLE`)."""
    table = Table(header_style="bold")
    for name, justify in (("setting", "left"), ("gts", "right"), ("no\ncandidate", "right"),
                          *((name, "right") for name in SIZE_BUCKETS)):
        table.add_column(name, justify=justify, overflow="fold")
    for r in rows:
        table.add_row(r.label, str(r.gts), _count_rate(r.zero_candidate, r.gts),
                      *(f"{s.zero} of {s.gts}\n{100 * s.rate:.1f}%" if s.gts else "-" for s in r.by_size.values()),
                      style="red" if r.zero_candidate else None)
    return table


def limits_table(rows: Sequence[CheckRow]) -> Table:
    """Where positives are capped, clipped or contested, and the anchors shared by gts (:data:`LIMITS_TITLE`)."""
    table = Table(header_style="bold")
    topk = rows[0].setting.topk if rows else 0
    for name in ("setting", f"fewer than\ntopk {topk}", "beyond\nDFL reach", "every\ncandidate\nshared",
                 "shared\nanchors"):
        table.add_column(name, justify="left" if name == "setting" else "right", overflow="fold")
    for r in rows:
        table.add_row(r.label, _count_rate(r.fewer_than_topk, r.gts), _count_rate(r.beyond_reach, r.gts),
                      _count_rate(r.fully_shared, r.gts), str(r.shared_anchors))
    return table


def class_table(rows: Sequence[CheckRow], names: dict[int, str]) -> Table:
    """``--by-class``: per class, gts without a candidate under each setting, count over rate (:data:`CLASS_TITLE`)."""
    table = Table(header_style="bold")
    table.add_column("class", overflow="fold")
    table.add_column("gts", justify="right", overflow="fold")
    for r in rows:
        table.add_column(r.label.replace(" ", "\n"), justify="right", overflow="fold")
    classes = sorted({c for r in rows for c in r.by_class})
    first = rows[0].by_class if rows else {}
    for c in classes:
        counts = [r.by_class.get(c, Count(0, 0)) for r in rows]
        table.add_row(
            f"{c} {names[c]}" if c in names else str(c),
            str(first.get(c, Count(0, 0)).gts),
            *(_count_rate(s.zero, s.gts) for s in counts),
            style="red" if any(s.zero for s in counts) else None,
        )
    return table


def file_problems(f: FileCheck, labels: Sequence[str]) -> str:
    """What is wrong with one file, in one line (the image named once)."""
    if f.status == DROPPED:
        return _shown_reason(f)
    parts = []
    worst = max(range(len(labels)), key=lambda i: f.zero_candidate[i], default=None)
    if worst is not None and f.zero_candidate[worst]:
        parts.append(f"{f.zero_candidate[worst]} of {_plural(f.gts, 'gt')} with no candidate ({labels[worst]})")
    if f.duplicates_removed:
        parts.append(f"{_plural(f.duplicates_removed, 'duplicate row')} removed (ultralytics reorders the gts)")
    if f.rewritten:
        parts.append("corrupt JPEG: ultralytics re-saves it in place")
    if f.not_finite:
        parts.append(f"{_plural(f.not_finite, 'gt')} with a box that is not finite")
    return f"{_shown(f.image)}: {'; '.join(parts)}"


def _shown_reason(f: FileCheck) -> str:
    """The drop reason, the file it names (the image or the label file) shown as :func:`_shown` shows paths."""
    reason = f.reason or f"{f.image}: dropped"
    for path in (f.labels, f.image):
        if path and reason.startswith(str(path)):
            return _shown(path) + reason[len(str(path)):]
    return reason


def problem_lines(result, limit: int) -> list[str]:
    """The files worth a look, worst first: a heading and one line each (at most ``limit``; 0: all kept)."""
    if not result.problem_files:
        return []
    labels = [r.label for r in result.rows]
    lines = [f"{_plural(result.problem_files, 'file')} worth a look (dropped, gts with no candidate, duplicates), "
             "worst first:"]
    lines += [f"  {file_problems(f, labels)}" for f in result.problems]
    if len(result.problems) < result.problem_files:
        lines.append(f"  ... {result.problem_files - len(result.problems)} more; --limit 0 shows all, --json lists "
                     "every file.")
    return lines


def exposed_lines(row: CheckRow, names: dict[int, str], limit: int = 5) -> list[str]:
    """The gts of one setting most exposed to conflicts (their candidates are other gts' candidates too)."""
    if not row.exposed:
        return []
    lines = [f"gts most exposed to conflicts ({row.label}; {row.fully_shared} with every candidate shared):"]
    for e in row.exposed[:limit]:
        lines.append(f"  {_shown(e.image)} line {e.line} (gt {e.gt}, {_class(e.class_id, names)}, "
                     f"{e.box[2] - e.box[0]:.0f}x{e.box[3] - e.box[1]:.0f} px): {e.shared} of "
                     f"{_plural(e.candidates, 'candidate')} shared")
    return lines


def _class(class_id: int, names: dict[int, str]) -> str:
    return names.get(class_id, f"class {class_id}")


# --- JSON and CSV ----------------------------------------------------------------------------


def _exposed_json(e: ExposedGt, names: dict[int, str]) -> dict[str, object]:
    return {"image": e.image, "line": e.line, "gt": e.gt, "class_id": e.class_id,
            "class_name": names.get(e.class_id, str(e.class_id)), "box": list(e.box), "candidates": e.candidates,
            "shared": e.shared}


def row_to_json(row: CheckRow, names: dict[int, str]) -> dict[str, object]:
    """One entry of the document's ``settings`` list."""
    s = row.setting
    return {
        "imgsz": list(s.imgsz), "variant": s.variant, "small_box_floor": s.floor_side is not None,
        "floor_px": s.floor_side, "topk": s.topk, "strides": list(s.strides), "reg_max": s.reg_max,
        "images": row.images, "gts": row.gts,
        "zero_candidate": {"all": row.zero_candidate, **{k: v.zero for k, v in row.by_size.items()}},
        "zero_candidate_rate": {"all": rounded(row.zero_candidate_rate),
                                **{k: rounded(v.rate) for k, v in row.by_size.items()}},
        "gts_by_size": {k: v.gts for k, v in row.by_size.items()},
        "by_class": [{"class_id": c, "class_name": names.get(c, str(c)), "gts": v.gts, "zero_candidate": v.zero,
                      "zero_candidate_rate": rounded(v.rate)} for c, v in row.by_class.items()],
        "candidates_per_stride": {str(k): v for k, v in row.candidates_per_stride.items()},
        "fewer_than_topk": row.fewer_than_topk, "beyond_reach": row.beyond_reach,
        "dfl_reach": s.reg_max - 1 - 0.01 if s.reg_max > 1 else None,
        "shared_anchors": row.shared_anchors, "fully_shared": row.fully_shared,
        "most_exposed": [_exposed_json(e, names) for e in row.exposed],
    }


def check_to_json(result) -> dict[str, object]:
    """The ``tal.check/1`` document without its ``files`` list (the command streams that one)."""
    plan, cfg = result.plan, result.plan.config
    return {
        "schema": SCHEMA, "source": result.description,
        "splits": [{"split": s.split, "images": s.images, "kept": s.kept, "backgrounds": s.backgrounds,
                    "dropped": s.dropped, "duplicates": s.duplicates, "duplicate_files": s.duplicate_files,
                    "rewritten": s.rewritten, "gts": s.gts, "label_files": s.label_files, "summary": s.summary()}
                   for s in result.splits],
        "classes": {"checked_against": plan.num_classes, "of": plan.classes_of or None,
                    "names": {str(k): v for k, v in sorted(result.class_names.items())}},
        "kpt_shape": list(plan.kpt_shape) if plan.kpt_shape else None, "verify_images": plan.verify_images,
        "fixed": {"strides": list(cfg.strides), "reg_max": cfg.reg_max, "topk": cfg.topk,
                  "small_box_floor": cfg.small_box_floor,
                  "config": str(display_path(cfg.source)) if cfg.source else None},
        "size_bins_px2": {"small": [0, SIZE_BINS[0][1]], "medium": [SIZE_BINS[0][1], SIZE_BINS[1][1]],
                          "large": [SIZE_BINS[1][1], None]},
        "settings": [row_to_json(r, result.class_names) for r in result.rows],
        "problem_files": result.problem_files, "notes": list(result.notes),
    }


def file_to_json(f: FileCheck) -> dict[str, object]:
    """One entry of the document's ``files`` list."""
    return {"image": f.image, "labels": f.labels, "split": f.split, "verdict": f.status, "reason": f.reason,
            "line": f.line, "duplicates_removed": f.duplicates_removed,
            "size": list(f.size_hw) if f.size_hw is not None else None, "format": f.format, "gts": f.gts,
            "zero_candidate": list(f.zero_candidate), "notes": list(f.notes)}


def csv_columns(rows: Sequence[CheckRow]) -> list[str]:
    """The CSV header: the JSON numbers of a setting, flattened (candidates per stride of the first row's strides)."""
    strides = rows[0].setting.strides if rows else ()
    return ["imgsz_h", "imgsz_w", "variant", "small_box_floor", "topk", "reg_max", "images", "gts",
            "zero_candidate", "zero_candidate_rate",
            *(f"{b}_{what}" for b in SIZE_BUCKETS for what in ("gts", "zero_candidate", "rate")),
            "fewer_than_topk", "beyond_reach", "shared_anchors", "fully_shared",
            *(f"candidates_stride_{s}" for s in strides)]


def csv_rows(rows: Sequence[CheckRow]) -> list[list[object]]:
    """One row per setting under :func:`csv_columns` (None becomes an empty cell, booleans true/false)."""
    out = []
    for r in rows:
        s = r.setting
        cells = [s.imgsz[0], s.imgsz[1], s.variant, s.floor_side is not None, s.topk, s.reg_max, r.images, r.gts,
                 r.zero_candidate, rounded(r.zero_candidate_rate)]
        for b in SIZE_BUCKETS:
            v = r.by_size[b]
            cells += [v.gts, v.zero, rounded(v.rate)]
        cells += [r.fewer_than_topk, r.beyond_reach, r.shared_anchors, r.fully_shared,
                  *r.candidates_per_stride.values()]
        out.append(["" if c is None else ("true" if c is True else "false" if c is False else c) for c in cells])
    return out
