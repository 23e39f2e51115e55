"""Rich renderables for reports: terminal tables that fit the terminal. Builds objects only; the
commands print them.

Every table is built by :func:`fit_table` from columns with a priority: the columns that fit
the width are shown (most important first, in their natural order), a value is never cut or
folded into pieces, and the columns left out are named so that ``--wide`` (every column) or a
wider terminal can show them. Only free text (the "why no positive" reason) wraps, at word
boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich import box
from rich.table import Table
from rich.text import Text

from ..analysis.sweep import SweepRow
from .report import CandidateRow, GtRow, Report

#: Characters between two table columns (padding, an invisible rule, padding).
GAP = 3
#: The narrowest a wrapping text column is made before it is left out instead.
MIN_TEXT = 24


@dataclass(frozen=True)
class Column:
    """One column of a fitted table.

    Attributes:
        header: its header (``\\n`` splits it over lines).
        values: one string per row.
        priority: 0 is always shown; higher numbers are left out first when the width is short.
        justify: ``"left"`` or ``"right"``.
        wraps: free text that may wrap at word boundaries (takes the width that is left).
    """

    header: str
    values: list[str]
    priority: int = 1
    justify: str = "right"
    wraps: bool = False

    @property
    def natural(self) -> int:
        """Width that shows every value and header line on one line."""
        cells = [len(v) for v in self.values] + [len(h) for h in self.header.split("\n")]
        return max(cells) if cells else 0

    @property
    def least(self) -> int:
        """The narrowest it may be: its natural width, or for text its longest word (at least MIN_TEXT)."""
        if not self.wraps:
            return self.natural
        words = [len(w) for v in self.values for w in v.split()] + [len(h) for h in self.header.split("\n")]
        return min(self.natural, max([MIN_TEXT, *words]))


@dataclass(frozen=True)
class FittedTable:
    """A table fitted to a width: the rich table, the headers of the columns it left out, and
    every column it was given (shown or not)."""

    table: Table
    hidden: tuple[str, ...] = field(default_factory=tuple)
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def __rich__(self) -> Table:
        return self.table

    def note(self, width: int | None) -> str | None:
        """``"not shown at 80 columns: best s, max target; --wide shows every column"``, or None."""
        if not self.hidden:
            return None
        names = ", ".join(h.replace("/\n", "/").replace("\n", " ") for h in self.hidden)
        return f"not shown at {width} columns: {names}; --wide shows every column"


def fit_table(columns: Sequence[Column], width: int | None, title: str | None = None,
              row_styles: Sequence[str | None] = ()) -> FittedTable:
    """The columns that fit in ``width`` (all when None), most important first, kept in their order.

    No value is ever cut: a column is either shown whole or left out (and named in
    :attr:`FittedTable.hidden`); only ``wraps`` columns wrap, between words.
    """
    chosen: set[int] = set()
    if width is None:
        chosen = set(range(len(columns)))
    else:
        used = 0
        for i in sorted(range(len(columns)), key=lambda i: (columns[i].priority, i)):
            need = columns[i].least + (GAP if chosen else 0)
            if columns[i].priority == 0 or used + need <= width:
                chosen.add(i)
                used += need
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False, collapse_padding=False)
    shown = [c for i, c in enumerate(columns) if i in chosen]
    for c in shown:
        if c.wraps and width is not None:
            table.add_column(c.header, justify=c.justify, overflow="fold", min_width=c.least, ratio=1)
        else:
            table.add_column(c.header, justify=c.justify, no_wrap=True, min_width=c.natural)
    for r in range(len(columns[0].values) if columns else 0):
        table.add_row(*(c.values[r] for c in shown), style=row_styles[r] if r < len(row_styles) else None)
    hidden = tuple(c.header for i, c in enumerate(columns) if i not in chosen)
    return FittedTable(table, hidden, tuple(columns))


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
    text.append(
        f"{s.gts_without_positives} gts without positives", style="bold red" if s.gts_without_positives else "green"
    )
    text.append(
        f", {s.contested_anchors} contested anchors, {s.handed_anchors} handed to a gt that did not select them, "
        f"{s.tied_candidates} candidates in zero-metric ties"
    )
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


def _loss_shares(r: GtRow, report: Report | None, ts_total: float) -> str:
    if report is None or report.losses is None or r.positives == 0:
        return "-"
    ls = report.losses
    text = "/".join((_share(r.box_loss, ls.raw["box"]), _share(r.dfl_loss, ls.raw[ls.third]),
                     _share(r.target_score_sum, ts_total)))
    return text + (f" ({r.beyond_reach} > reach)" if r.beyond_reach else "")


def gt_table(rows: Sequence[GtRow], strides: Sequence[int], title: str | None = None,
             report: Report | None = None, width: int | None = None) -> FittedTable:
    """One row per gt, fitted to ``width``; with ``report`` (for its losses) a column of loss shares.

    Always shown: gt, candidates and positives per stride, and why a gt has no positive; then
    class, lost/taken, size, best t and IoU; the box, the best score, the largest target and the
    loss shares when the width allows.
    """
    st = "/".join(map(str, strides))
    third = report.losses.third if report is not None and report.losses is not None else "dfl"
    ts_total = sum(g.target_score_sum for g in report.gts) if report is not None else 0.0  # once, not per row
    lost_taken = []
    for r in rows:
        lost = f"{r.lost}" + (f"→{','.join(map(str, r.lost_to))}" if r.lost_to else "")
        taken = f"{r.taken}" + (f"←{','.join(map(str, r.taken_from))}" if r.taken_from else "")
        lost_taken.append(f"{lost}/{taken}")
    columns = [
        Column("gt", [str(r.index) for r in rows], 0),
        Column("class", [r.class_name for r in rows], 2, "left"),
        Column("box x1,y1,x2,y2 px", [",".join(_px(v) for v in r.box) for r in rows], 6, "left"),
        Column("size", [f"{r.width:.0f}x{r.height:.0f}" for r in rows], 3),
        Column(f"cand\n{st}", [_per_stride(r.candidates_per_stride) for r in rows], 0),
        Column(f"pos\n{st}", [_per_stride(r.positives_per_stride) for r in rows], 0),
        Column("best t", [_f(r.best_metric) for r in rows], 4),
        Column("best\nIoU", [_f(r.best_iou) for r in rows], 4),
        Column("best s", [_f(r.best_score) for r in rows], 7),
        Column("max\ntarget", [_f(r.max_target_score) for r in rows], 7),
        Column("lost/\ntaken", lost_taken, 2),
        Column(f"%box/\n{third}/ts", [_loss_shares(r, report, ts_total) for r in rows], 5),
        Column("why no positive", [r.reason or "" for r in rows], 1, "left", wraps=True),
    ]
    styles = ["red" if r.positives == 0 else ("yellow" if r.lost else None) for r in rows]
    return fit_table(columns, width, title, styles)


def candidate_table(rows: Sequence[CandidateRow], gt: GtRow, third: str = "dfl",
                    width: int | None = None) -> FittedTable:
    """One row per candidate anchor of one gt (``--gt N``), fitted to ``width``; ``third``: dfl or l1."""
    title = (f"gt {gt.index} ({gt.class_name}) box {','.join(f'{v:.1f}' for v in gt.box)}: "
             f"{gt.candidates} candidates, {gt.selected} selected, {gt.positives} positives")
    selected, positive, contested = [], [], []
    for r in rows:
        text = "yes" if r.selected else "no"
        if r.tied:
            text += " (tie)"
        if not r.in_box:
            text += " (floor)" if r.rank is not None else " (not inside)"
        selected.append(text)
        positive.append("yes" if r.positive else (f"→ gt {r.holder}" if r.holder is not None else "no"))
        others = [g for g in r.choosers if g != gt.index]
        contested.append(f"also chosen by {','.join(map(str, others))}" if others else "")
    columns = [
        Column("anchor", [str(r.anchor) for r in rows], 0),
        Column("stride", [str(r.stride) for r in rows], 1),
        Column("cell\ncol,row", [f"{r.cell[0]},{r.cell[1]}" for r in rows], 2),
        Column("s", [f"{r.score:.4f}" for r in rows], 0),
        Column("IoU u", [f"{r.iou:.4f}" for r in rows], 0),
        Column("metric\nt", [f"{r.metric:.3g}" for r in rows], 0),
        Column("rank", ["-" if r.rank is None else str(r.rank) for r in rows], 1),
        Column("selected", selected, 0, "left"),
        Column("positive", positive, 0, "left"),
        Column("contested", contested, 3, "left"),
        Column("target\nscore", [f"{r.target_score:.4f}" if r.positive else "" for r in rows], 1),
        Column("box\nterm", [_f(r.box_loss, ".5f") if r.positive else "" for r in rows], 4),
        Column(f"{third}\nterm", [_f(r.dfl_loss, ".5f") if r.positive else "" for r in rows], 4),
    ]
    styles = ["green" if r.positive else ("yellow" if r.selected else "dim") for r in rows]
    return fit_table(columns, width, title, styles)


# --- tal sweep -------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _count_pct(zero: int, total: int) -> str:
    """``"3 (1.2%)"``; ``"-"`` without gts."""
    return "-" if not total else f"{zero} ({100 * zero / total:.1f}%)"


def _setting_columns(rows: Sequence[SweepRow]) -> list[Column]:
    """One column per setting value that varies between rows (topk first); all four when none varies."""
    values = {"topk": [str(r.topk) for r in rows], "alpha": [f"{r.alpha:g}" for r in rows],
              "beta": [f"{r.beta:g}" for r in rows], "variant": [r.variant for r in rows]}
    varying = [k for k, v in values.items() if len(set(v)) > 1] or list(values)
    return [Column(k, values[k], 0, "left" if k == "variant" else "right") for k in varying]


def sweep_table(rows: Sequence[SweepRow], width: int | None = None) -> FittedTable:
    """Outcome per setting of ``tal sweep``: gts, positives, positives per gt, gts without positives by size.

    The setting columns show only the values that vary (the header lines name the rest).
    """
    sizes = rows[0].by_size if rows else {}
    columns = [
        *_setting_columns(rows),
        Column("images", [str(r.images) for r in rows], 5),
        Column("gts", [str(r.gts) for r in rows], 1),
        Column("positives", [str(r.positives) for r in rows], 2),
        Column("pos/gt\nmean", [_f(r.positives_per_gt.mean, ".2f") for r in rows], 0),
        Column("pos/gt\nmedian", [_f(r.positives_per_gt.median, "g") for r in rows], 3),
        Column(
            "pos/gt\nmax", ["-" if r.positives_per_gt.max is None else str(r.positives_per_gt.max) for r in rows], 4
        ),
        Column("no positive\nall gts", [_count_pct(r.gts_without_positives, r.gts) for r in rows], 0),
        *(
            Column(
                f"{name}\n({s.gts} gts)",
                [_count_pct(r.by_size[name].zero, r.by_size[name].gts) for r in rows],
                1,
            )
            for name, s in sizes.items()
        ),
    ]
    return fit_table(columns, width, None, ["red" if r.gts_without_positives else None for r in rows])


def sweep_detail_table(rows: Sequence[SweepRow], width: int | None = None) -> FittedTable:
    """The second sweep table: conflicts, mean IoU and target, the target-score sum, Jaccard, losses."""
    columns = [
        *_setting_columns(rows),
        Column("contested\nanchors", [str(r.contested_anchors) for r in rows], 1),
        Column("handed\nanchors", [str(r.handed_anchors) for r in rows], 2),
        Column("mean\nIoU", [_f(r.mean_iou) for r in rows], 1),
        Column("mean\ntarget", [_f(r.mean_target_score) for r in rows], 1),
        Column("target\nsum", [f"{r.target_scores_sum:.2f}" for r in rows], 2),
        Column("Jaccard\nvs 1st", [_f(r.jaccard_vs_first) for r in rows], 1),
    ]
    if rows and rows[0].losses:
        columns.append(Column(f"gained loss\nbox/cls/{rows[0].losses.get('third', 'dfl')}",
                              [_loss_triple(r.losses) for r in rows], 1))
    return fit_table(columns, width)


def _loss_triple(losses: dict) -> str:
    return "/".join(_f(losses[k], ".3f") for k in ("box", "cls", losses.get("third", "dfl")))


def sweep_class_table(rows: Sequence[SweepRow], class_id: int, class_name: str | None,
                      width: int | None = None) -> FittedTable:
    """``tal sweep --by-class``: one class, one row per setting."""
    first = next((r.by_class[class_id] for r in rows if class_id in r.by_class), None)
    gts = first.gts if first is not None else 0
    name = f" ({class_name})" if class_name and class_name != str(class_id) else ""
    title = f"class {class_id}{name}: {gts} gt" + ("" if gts == 1 else "s")
    kept = [r for r in rows if class_id in r.by_class]
    stats = [r.by_class[class_id] for r in kept]
    columns = [
        *_setting_columns(kept),
        Column("positives", [str(c.positives) for c in stats], 1),
        Column("pos/gt", [_f(c.positives_per_gt, ".2f") for c in stats], 0),
        Column("no pos", [str(c.gts_without_positives) for c in stats], 0),
        Column("no pos %", [_pct(c.zero_positive_rate) for c in stats], 0),
        Column("mean IoU", [_f(c.mean_iou) for c in stats], 2),
        Column("mean target", [_f(c.mean_target_score) for c in stats], 2),
    ]
    return fit_table(columns, width, title, ["red" if c.gts_without_positives else None for c in stats])


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
        Text(
            f"{result.description}: {plural(r0.images, 'image')} assigned, {left_out}, {plural(r0.gts, 'gt')}",
            style="bold",
        ),
        Text(
            f"{inputs}; every setting: iou {cfg.iou}, conflict {cfg.conflict}, eps {cfg.eps:g}"
            + (f", topk2 {cfg.topk2}" if cfg.topk2 is not None else "")
            + (
                f", small-box floor forced {'on' if cfg.small_box_floor else 'off'}"
                if cfg.small_box_floor is not None
                else ""
            )
            + (f", head {head}" if head else "")
            + (f" (config {label})" if cfg.source else "")
        ),
        Text(
            f"{plural(len(rows), 'setting')}: {lists}. small/medium/large: gts of that size (letterboxed area "
            "< 32², < 96², larger) without positives; Jaccard: overlap of the positive (image, anchor, gt) set with "
            "the first row's."
        ),
    ]
