"""The ``tal check --plot`` chart: gts that can never get a positive, by size and by class, per setting.

Pillow only. Builds a PIL image; the workflow saves it. Left: one row per setting, bars of the
zero-candidate rate of all gts and of each size bucket, every bar with its value and counts.
Right: a grid of classes x settings, each cell the zero-candidate rate of that class (shaded
by it), the classes with the highest rates first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..analysis.check import CheckRow
from ..analysis.counts import Count
from .plot import (
    INK,
    MUTED,
    ZERO_ALL,
    ZERO_SIZES,
    chart_canvas,
    draw_rate_bars,
    draw_rate_legend,
    draw_stripes,
    draw_value_grid,
    nice_max,
    number_text,
    text_font,
    text_width,
    width_probe,
)

#: Most classes drawn in the grid (the rest are counted below it).
MAX_CLASSES = 30


def _shade(rate: float | None) -> tuple[int, int, int]:
    """White (0 %) to the zero-positive red (100 %); light grey without gts."""
    if rate is None:
        return (236, 236, 236)
    t = min(max(rate, 0.0), 1.0) ** 0.5  # small rates stay visible
    return tuple(int(round(255 + (c - 255) * t)) for c in ZERO_ALL)


@dataclass(frozen=True)
class _ClassGrid:
    """The right panel's layout: the classes shown (highest rate first) and the cell sizes.

    Attributes:
        classes: every class id, highest rate first; shown: the first :data:`MAX_CLASSES`; names: theirs.
        name_w, gts_w, cell_w, cell_h: widths of the name, gts and setting columns, row height (px).
    """

    classes: list[int]
    shown: list[int]
    names: list[str]
    name_w: int
    gts_w: int
    cell_w: int
    cell_h: int

    @classmethod
    def plan(cls, rows: Sequence[CheckRow], labels: Sequence[str], names: dict[int, str], probe, font) -> "_ClassGrid":
        classes = sorted({c for r in rows for c in r.by_class},
                         key=lambda c: (-max((r.by_class.get(c, Count(0, 0)).rate or 0) for r in rows), c))
        shown = classes[:MAX_CLASSES]
        class_names = [names.get(c, str(c)) for c in shown]
        name_w = max([text_width(probe, t, font) for t in class_names] + [60]) + 12
        cell_w = max([text_width(probe, t, font) for t in labels] + [64]) + 14
        return cls(classes, shown, class_names, name_w, 56, cell_w, 22)

    def width(self, settings: int) -> int:
        return self.name_w + self.gts_w + self.cell_w * settings if self.shown else 0

    def height(self) -> int:
        return (1 + len(self.shown)) * self.cell_h + (self.cell_h if len(self.classes) > len(self.shown) else 0) + 8


def check_chart(rows: Sequence[CheckRow], names: dict[int, str], title: str = "tal check", subtitle: str = ""):
    """A PNG-ready RGB image of the zero-candidate rates per setting: by size (bars) and by class (a grid)."""
    f_text, f_small = text_font(15), text_font(13)
    probe = width_probe()
    margin, gap = 24, 40
    labels = [r.label for r in rows]
    label_w = max([text_width(probe, t, f_text) for t in labels] + [110]) + 16
    panel_w = 430
    row_h = 78
    header_h = 118
    axis_h = 44
    grid = _ClassGrid.plan(rows, labels, names, probe, f_small)
    grid_w = grid.width(len(rows))
    left_h = max(len(rows), 1) * row_h + axis_h
    w = margin + label_w + panel_w + (gap + grid_w if grid_w else 0) + margin
    h = header_h + max(left_h, grid.height()) + margin
    img, d = chart_canvas(w, h, title, subtitle)
    x1 = margin + label_w
    d.text((x1, 68), "Gts with no candidate (% of the gts of that size)", fill=INK, font=f_text)
    draw_rate_legend(d, x1, 92, list(ZERO_SIZES), f_small)
    _draw_size_bars(d, rows, labels, margin, x1, header_h, row_h, panel_w, f_text, f_small)
    if grid.shown:
        _draw_class_grid(d, rows, labels, grid, x1 + panel_w + gap, header_h, f_text, f_small)
    return img


def _draw_size_bars(d, rows: Sequence[CheckRow], labels: Sequence[str], margin: int, x1: int, top: int, row_h: int,
                    panel_w: int, f_text, f_small) -> None:
    """The left panel: per setting, bars of the zero-candidate rate of all gts and of each size bucket."""
    bar_span = int(panel_w * 0.62)
    rates = [v for r in rows for v in (r.zero_candidate_rate, *(s.rate for s in r.by_size.values())) if v is not None]
    scale = nice_max(100 * max(rates + [0]), 10)
    bottom = top + max(len(rows), 1) * row_h
    draw_stripes(d, margin - 8, x1 + panel_w, top, row_h, len(rows))
    draw_value_grid(d, x1, top, bottom, scale, bar_span, lambda t: f"{number_text(t)}%", f_small)
    for i, (row, label) in enumerate(zip(rows, labels)):
        y = top + i * row_h
        d.text((margin, y + row_h // 2 - 9), label, fill=INK, font=f_text)
        counts = [("all", row.zero_candidate, row.gts, ZERO_ALL)]
        counts += [(k, s.zero, s.gts, ZERO_SIZES[k]) for k, s in row.by_size.items()]
        bars = [(name, zero / total if total else None, zero, total, colour) for name, zero, total, colour in counts]
        draw_rate_bars(d, x1, y, row_h, bars, scale, bar_span, 4, f_small)
    d.line((x1, top - 4, x1, bottom), fill=MUTED, width=1)


def _draw_class_grid(d, rows: Sequence[CheckRow], labels: Sequence[str], grid: _ClassGrid, x2: int, top: int,
                     f_text, f_small) -> None:
    """The right panel: classes x settings, each cell the class's zero-candidate rate, shaded by it."""
    def right(text: str, x: int, y: int, fill) -> None:  # right-aligned 8 px before x
        d.text((x - 8 - text_width(d, text, f_small), y), text, fill=fill, font=f_small)

    def centred(text: str, cx: int, y: int, fill) -> None:  # centred in the cell at cx
        d.text((cx + (grid.cell_w - text_width(d, text, f_small)) // 2, y), text, fill=fill, font=f_small)

    d.text((x2, 68), "By class (% of the class's gts)", fill=INK, font=f_text)
    d.text((x2, 92), "classes with the highest rates first", fill=MUTED, font=f_small)
    cells_x = x2 + grid.name_w + grid.gts_w
    d.text((x2, top + 3), "class", fill=MUTED, font=f_small)
    right("gts", cells_x, top + 3, MUTED)
    for j, label in enumerate(labels):
        centred(label, cells_x + j * grid.cell_w, top + 3, MUTED)
    for i, (c, name) in enumerate(zip(grid.shown, grid.names)):
        y = top + (i + 1) * grid.cell_h
        d.text((x2, y + 3), name, fill=INK, font=f_small)
        right(str(max(r.by_class.get(c, Count(0, 0)).gts for r in rows)), cells_x, y + 3, INK)
        for j, r in enumerate(rows):
            s = r.by_class.get(c)
            rate = s.rate if s is not None else None
            cx = cells_x + j * grid.cell_w
            d.rectangle((cx + 1, y + 1, cx + grid.cell_w - 2, y + grid.cell_h - 2), fill=_shade(rate))
            ink = (255, 255, 255) if rate is not None and rate > 0.45 else INK
            centred("-" if rate is None else f"{100 * rate:.1f}%", cx, y + 3, ink)
    if len(grid.classes) > len(grid.shown):
        y = top + (len(grid.shown) + 1) * grid.cell_h + 4
        d.text((x2, y), f"... {len(grid.classes) - len(grid.shown)} more classes (--json lists every one)", fill=MUTED,
               font=f_small)
