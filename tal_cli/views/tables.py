"""Rich renderables for reports. Builds objects only; ``cli.py`` prints them."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from .report import CandidateRow, GtRow, Report


def _f(x: float | None, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def _px(v: float) -> str:
    text = f"{v:.0f}"
    return "0" if text == "-0" else text


def _per_stride(d: dict[int, int]) -> str:
    return "/".join(str(v) for v in d.values())


def summary_text(report: Report) -> Text:
    """Settings and totals, a few lines."""
    s, st = report.summary, report.settings
    floor = "on" if st["small_box_floor"] else "off"
    strides = "/".join(map(str, report.strides))
    text = Text()
    text.append(f"{report.image}", style="bold")
    text.append(f"  input {report.imgsz[0]}x{report.imgsz[1]}, strides {strides}, preds layout {report.layout}")
    if len(report.heads) > 1 or report.head != "one2many":
        text.append(f", head {report.head} (file holds {', '.join(report.heads)})")
    text.append("\n")
    text.append(f"variant {st['variant']}: topk {st['topk']}, alpha {st['alpha']:g}, beta {st['beta']:g}, "
                f"iou {st['iou']}, conflict {st['conflict']}, small-box floor {floor}"
                + (f", topk2 {st['topk2']}" if st["topk2"] is not None else "") + "\n")
    text.append(f"{s.gts} gts, {s.positives} positives ({_per_stride(s.positives_per_stride)} at strides {strides}), "
                f"target-score sum {s.target_scores_sum:.3f}\n")
    text.append(f"{s.gts_without_positives} gts without positives", style="bold red" if s.gts_without_positives else "green")
    text.append(f", {s.contested_anchors} contested anchors, {s.handed_anchors} handed to a gt that did not select them, "
                f"{s.tied_candidates} candidates in zero-metric ties")
    ls = report.losses
    if ls is not None:
        g, r = ls.gained, ls.raw
        gains = "/".join(f"{v:g}" for v in ls.gains.values())
        t = ls.third
        text.append(f"\nloss (gains {gains}): box {_f(g['box'], '.4f')}, cls {_f(g['cls'], '.4f')}, "
                    f"{t} {_f(g[t], '.4f')}; raw box {_f(r['box'], '.4f')}, cls {_f(r['cls'], '.4f')} "
                    f"(positives {ls.cls_positive:.4f}, background {ls.cls_background:.4f}), {t} {_f(r[t], '.4f')}")
        if ls.dfl_unavailable_reason:
            text.append(f" (DFL not available: {ls.dfl_unavailable_reason})")
        if ls.beyond_reach:
            text.append(f"\n{ls.beyond_reach} positives have a target side beyond the DFL reach "
                        f"({ls.dfl_reach:g} cells): objects too large for the head", style="bold yellow")
    return text


def _share(part: float | None, total: float | None) -> str:
    if part is None or not total:
        return "-"
    return f"{100 * part / total:.0f}"


def _loss_shares(r: GtRow, report: Report | None) -> str:
    if report is None or report.losses is None or r.positives == 0:
        return "-"
    ls = report.losses
    ts_total = sum(g.target_score_sum for g in report.gts)
    text = "/".join((_share(r.box_loss, ls.raw["box"]), _share(r.dfl_loss, ls.raw[ls.third]),
                     _share(r.target_score_sum, ts_total)))
    return text + (f" ({r.beyond_reach} > reach)" if r.beyond_reach else "")


def gt_table(rows: Sequence[GtRow], strides: Sequence[int], title: str | None = None,
             report: Report | None = None) -> Table:
    """One row per gt; with ``report`` (for its losses) a column of loss shares."""
    st = "/".join(map(str, strides))
    third = report.losses.third if report is not None and report.losses is not None else "dfl"
    table = Table(title=title, title_justify="left", show_lines=False, header_style="bold")
    for name, justify in (("gt", "right"), ("class", "left"), ("box x1,y1,x2,y2 px", "left"), ("size", "right"),
                          (f"cand {st}", "right"), (f"pos {st}", "right"), ("best t", "right"), ("best IoU", "right"),
                          ("best s", "right"), ("max target", "right"), ("lost/taken", "right"),
                          (f"% box/{third}/ts", "right"), ("why no positive", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for r in rows:
        lost = f"{r.lost}" + (f"→{','.join(map(str, r.lost_to))}" if r.lost_to else "")
        taken = f"{r.taken}" + (f"←{','.join(map(str, r.taken_from))}" if r.taken_from else "")
        style = "red" if r.positives == 0 else ("yellow" if r.lost else None)
        table.add_row(
            str(r.index), r.class_name, ",".join(_px(v) for v in r.box), f"{r.width:.0f}x{r.height:.0f}",
            _per_stride(r.candidates_per_stride), _per_stride(r.positives_per_stride),
            _f(r.best_metric), _f(r.best_iou), _f(r.best_score), _f(r.max_target_score),
            f"{lost}/{taken}", _loss_shares(r, report), r.reason or "", style=style)
    return table


def candidate_table(rows: Sequence[CandidateRow], gt: GtRow, third: str = "dfl") -> Table:
    """One row per candidate anchor of one gt (``--gt N``); ``third``: the loss term after box (dfl or l1)."""
    title = (f"gt {gt.index} ({gt.class_name}) box {','.join(f'{v:.1f}' for v in gt.box)}: "
             f"{gt.candidates} candidates, {gt.selected} selected, {gt.positives} positives")
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in ("anchor", "stride", "cell col,row", "s", "IoU u", "metric t", "rank", "selected", "positive",
                 "contested", "target score", "box term", f"{third} term"):
        table.add_column(name, justify="left" if name in ("selected", "positive", "contested") else "right")
    for r in rows:
        selected = "yes" if r.selected else "no"
        if r.tied:
            selected += " (tie)"
        if not r.in_box:
            selected += " (floor)" if r.rank is not None else " (not inside)"
        positive = "yes" if r.positive else (f"→ gt {r.holder}" if r.holder is not None else "no")
        others = [g for g in r.choosers if g != gt.index]
        contested = f"also chosen by {','.join(map(str, others))}" if others else ""
        style = "green" if r.positive else ("yellow" if r.selected else "dim")
        table.add_row(str(r.anchor), str(r.stride), f"{r.cell[0]},{r.cell[1]}", f"{r.score:.4f}", f"{r.iou:.4f}",
                      f"{r.metric:.3g}", "-" if r.rank is None else str(r.rank), selected, positive, contested,
                      f"{r.target_score:.4f}" if r.positive else "", _f(r.box_loss, ".5f") if r.positive else "",
                      _f(r.dfl_loss, ".5f") if r.positive else "", style=style)
    return table


# --- tal sweep -------------------------------------------------------------------------------

from ..analysis.sweep import SIZE_BINS, SweepRow  # noqa: E402  (kept beside the sweep tables)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _count_pct(zero: int, total: int) -> str:
    """``"3 (1.2%)"``; ``"-"`` without gts."""
    return "-" if not total else f"{zero} ({100 * zero / total:.1f}%)"


def sweep_table(rows: Sequence[SweepRow]) -> Table:
    """One row per setting of ``tal sweep``: totals, positives per gt, zero-positive gts by size."""
    table = Table(title_justify="left", header_style="bold")
    sizes = rows[0].by_size if rows else {}
    columns = (
        ("topk", "right"), ("alpha", "right"), ("beta", "right"), ("variant", "left"), ("images", "right"),
        ("gts", "right"), ("positives", "right"), ("pos/gt\nmean", "right"), ("pos/gt\nmedian", "right"),
        ("pos/gt\nmax", "right"), ("gts without\npositives", "right"),
        *((f"{name}\n({s.gts} gts)", "right") for name, s in sizes.items()),
        ("contested\nanchors", "right"), ("handed\nanchors", "right"), ("mean\nIoU", "right"),
        ("mean\ntarget", "right"), ("target\nsum", "right"), ("Jaccard\nvs 1st", "right"),
        *(((f"gained loss\nbox/cls/{rows[0].losses.get('third', 'dfl')}", "right"),) if rows and rows[0].losses else ()),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=name.startswith("gained loss"))
    for r in rows:
        per = r.positives_per_gt
        table.add_row(
            str(r.topk), f"{r.alpha:g}", f"{r.beta:g}", r.variant, str(r.images), str(r.gts), str(r.positives),
            _f(per.mean, ".2f"), _f(per.median, "g"), "-" if per.max is None else str(per.max),
            _count_pct(r.gts_without_positives, r.gts),
            *(_count_pct(s.without_positives, s.gts) for s in r.by_size.values()),
            str(r.contested_anchors), str(r.handed_anchors), _f(r.mean_iou), _f(r.mean_target_score),
            f"{r.target_scores_sum:.2f}", _f(r.jaccard_vs_first),
            *((_loss_triple(r.losses),) if r.losses else ()),
            style="red" if r.gts_without_positives else None)
    return table


def _loss_triple(losses: dict) -> str:
    return "/".join(_f(losses[k], ".3f") for k in ("box", "cls", losses.get("third", "dfl")))


def sweep_class_table(rows: Sequence[SweepRow], class_id: int, class_name: str) -> Table:
    """``tal sweep --by-class``: one class, one row per setting."""
    first = next((r.by_class[class_id] for r in rows if class_id in r.by_class), None)
    gts = first.gts if first is not None else 0
    title = f"class {class_id} ({class_name}): {gts} gt" + ("" if gts == 1 else "s")
    table = Table(title=title, title_justify="left", header_style="bold")
    for name, justify in (("topk", "right"), ("alpha", "right"), ("beta", "right"), ("variant", "left"),
                          ("positives", "right"), ("pos/gt", "right"), ("no pos", "right"), ("no pos %", "right"),
                          ("mean IoU", "right"), ("mean target", "right")):
        table.add_column(name, justify=justify)
    for r in rows:
        c = r.by_class.get(class_id)
        if c is None:
            continue
        table.add_row(str(r.topk), f"{r.alpha:g}", f"{r.beta:g}", r.variant, str(c.positives),
                      _f(c.positives_per_gt, ".2f"), str(c.gts_without_positives), _pct(c.zero_positive_rate),
                      _f(c.mean_iou), _f(c.mean_target_score), style="red" if c.gts_without_positives else None)
    return table


def sweep_header(result) -> list[Text]:
    """The lines above the sweep table: what was swept, the shared settings, the varying ones.

    Args:
        result: a :class:`~tal_cli.workflows.sweep.SweepResult`.
    """
    from ..readers.paths import display_path
    from ..readers.sources import plural

    cfg, rows, points, head = result.config, result.rows, result.plan.points, result.plan.head
    r0 = rows[0]
    lists = " x ".join(f"{name} {'/'.join(vals)}" for name, vals in (
        ("topk", [str(v) for v in dict.fromkeys(p.topk for p in points)]),
        ("alpha", [f"{v:g}" for v in dict.fromkeys(p.alpha for p in points)]),
        ("beta", [f"{v:g}" for v in dict.fromkeys(p.beta for p in points)]),
        ("variant", list(dict.fromkeys(p.variant for p in points)))))
    label = display_path(cfg.source)
    dropped = result.dropped
    left_out = (f"{dropped} dropped by ultralytics' loader, " if dropped else "") + \
        f"{len(result.skipped) - dropped} skipped"
    if len(result.inputs) > 1:
        inputs = "inputs " + "; ".join(i.text() for i in result.inputs)
    else:
        inputs = f"input {cfg.imgsz[0]}x{cfg.imgsz[1]}, strides {'/'.join(map(str, cfg.strides))}"
    return [
        Text(f"{result.description}: {plural(r0.images, 'image')} assigned, {left_out}, {plural(r0.gts, 'gt')}",
             style="bold"),
        Text(f"{inputs}; every setting: iou {cfg.iou}, conflict {cfg.conflict}, eps {cfg.eps:g}"
             + (f", topk2 {cfg.topk2}" if cfg.topk2 is not None else "")
             + (f", small-box floor forced {'on' if cfg.small_box_floor else 'off'}" if cfg.small_box_floor is not None else "")
             + (f", head {head}" if head else "")
             + (f" (config {label})" if cfg.source else "")),
        Text(f"{len(rows)} settings: {lists}. small/medium/large: gts of that size (letterboxed area < 32², < 96², "
             "larger) without positives; Jaccard: overlap of the positive (image, anchor, gt) set with the first row's."),
    ]
