"""The ``tal check --plot`` chart: gts that can never get a positive, by size and by class, per setting.

Pillow only. Builds a PIL image; the workflow saves it. Left: one row per setting, bars of the
zero-candidate rate of all gts and of each size bucket, every bar with its value and counts.
Right: a grid of classes x settings, each cell the zero-candidate rate of that class (shaded
by it), the classes with the highest rates first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..analysis.check import CheckRow
from ..analysis.counts import Count
from .plot import (
    GRID,
    INK,
    MUTED,
    STRIPE,
    ZERO_ALL,
    ZERO_SIZES,
    axis_ticks,
    chart_canvas,
    nice_max,
    number_text,
    text_font,
)

#: Most classes drawn in the grid (the rest are counted below it).
MAX_CLASSES = 30


def _shade(rate: float | None) -> tuple[int, int, int]:
    """White (0 %) to the zero-positive red (100 %); light grey without gts."""
    if rate is None:
        return (236, 236, 236)
    t = min(max(rate, 0.0), 1.0) ** 0.5  # small rates stay visible
    return tuple(int(round(255 + (c - 255) * t)) for c in ZERO_ALL)


def check_chart(rows: Sequence[CheckRow], names: dict[int, str], title: str = "tal check", subtitle: str = ""):
    """A PNG-ready RGB image of the zero-candidate rates per setting: by size (bars) and by class (a grid)."""
    from PIL import Image, ImageDraw

    f_text, f_small = text_font(15), text_font(13)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def width(text: str, font) -> int:
        return int(math.ceil(probe.textlength(text, font=font)))

    margin, gap = 24, 40
    labels = [r.label for r in rows]
    label_w = max([width(t, f_text) for t in labels] + [110]) + 16
    panel_w = 430
    row_h = 78
    header_h = 118
    axis_h = 44
    classes = sorted({c for r in rows for c in r.by_class},
                     key=lambda c: (-max((r.by_class.get(c, Count(0, 0)).rate or 0) for r in rows), c))
    shown = classes[:MAX_CLASSES]
    class_names = [names.get(c, str(c)) for c in shown]
    name_w = max([width(t, f_small) for t in class_names] + [60]) + 12
    cell_w = max([width(t, f_small) for t in labels] + [64]) + 14
    gts_w = 56
    cell_h = 22
    grid_w = name_w + gts_w + cell_w * len(rows) if shown else 0
    n = max(len(rows), 1)
    left_h = n * row_h + axis_h
    grid_h = (1 + len(shown)) * cell_h + (cell_h if len(classes) > len(shown) else 0) + 8
    w = margin + label_w + panel_w + (gap + grid_w if grid_w else 0) + margin
    h = header_h + max(left_h, grid_h) + margin
    img, d = chart_canvas(w, h, title, subtitle)
    x1 = margin + label_w
    x2 = x1 + panel_w + gap
    top = header_h
    d.text((x1, 68), "Gts with no candidate (% of the gts of that size)", fill=INK, font=f_text)
    lx, ly = x1, 92
    for name, colour in (("all gts", ZERO_ALL), *((k, ZERO_SIZES[k]) for k in ZERO_SIZES)):
        d.rectangle((lx, ly + 2, lx + 14, ly + 12), fill=colour)
        d.text((lx + 19, ly), name, fill=MUTED, font=f_small)
        lx += 19 + width(name, f_small) + 14

    # Left: bars per setting.
    bar_span = int(panel_w * 0.62)
    rates = [v for r in rows for v in (r.zero_candidate_rate, *(s.rate for s in r.by_size.values())) if v is not None]
    scale = nice_max(100 * max(rates + [0]), 10)
    bottom = top + n * row_h
    for i in range(len(rows)):
        if i % 2 == 0:
            d.rectangle((margin - 8, top + i * row_h, x1 + panel_w, top + (i + 1) * row_h - 1), fill=STRIPE)
    for t in axis_ticks(scale):
        x = x1 + int(round(t / scale * bar_span))
        d.line((x, top - 4, x, bottom), fill=GRID, width=1)
        text = f"{number_text(t)}%"
        d.text((x - width(text, f_small) // 2, bottom + 6), text, fill=MUTED, font=f_small)
    for i, (row, label) in enumerate(zip(rows, labels)):
        y = top + i * row_h
        d.text((margin, y + row_h // 2 - 9), label, fill=INK, font=f_text)
        bars = [("all", row.zero_candidate, row.gts, ZERO_ALL)]
        bars += [(k, s.zero, s.gts, ZERO_SIZES[k]) for k, s in row.by_size.items()]
        bh, bgap = 12, 4
        by = y + (row_h - (len(bars) * bh + (len(bars) - 1) * bgap)) // 2
        for name, zero, total, colour in bars:
            if not total:
                d.text((x1 + 4, by - 2), f"{name}: no gts", fill=MUTED, font=f_small)
            else:
                rate = zero / total
                xe = x1 + int(round(100 * rate / scale * bar_span))
                d.rectangle((x1, by, max(xe, x1 + 1), by + bh - 1), fill=colour)
                d.text((xe + 6, by - 2), f"{name} {100 * rate:.1f}% ({zero}/{total})",
                       fill=INK if name == "all" else MUTED, font=f_small)
            by += bh + bgap
    d.line((x1, top - 4, x1, bottom), fill=MUTED, width=1)

    # Right: classes x settings.
    if shown:
        d.text((x2, 68), "By class (% of the class's gts)", fill=INK, font=f_text)
        d.text((x2, 92), "classes with the highest rates first", fill=MUTED, font=f_small)
        y = top
        d.text((x2, y + 3), "class", fill=MUTED, font=f_small)
        d.text((x2 + name_w + gts_w - 8 - width("gts", f_small), y + 3), "gts", fill=MUTED, font=f_small)
        for j, label in enumerate(labels):
            cx = x2 + name_w + gts_w + j * cell_w
            d.text((cx + (cell_w - width(label, f_small)) // 2, y + 3), label, fill=MUTED, font=f_small)
        for i, (c, name) in enumerate(zip(shown, class_names)):
            y = top + (i + 1) * cell_h
            d.text((x2, y + 3), name, fill=INK, font=f_small)
            gts = max(r.by_class.get(c, Count(0, 0)).gts for r in rows)
            text = str(gts)
            d.text((x2 + name_w + gts_w - 8 - width(text, f_small), y + 3), text, fill=INK, font=f_small)
            for j, r in enumerate(rows):
                s = r.by_class.get(c)
                rate = s.rate if s is not None else None
                cx = x2 + name_w + gts_w + j * cell_w
                d.rectangle((cx + 1, y + 1, cx + cell_w - 2, y + cell_h - 2), fill=_shade(rate))
                text = "-" if rate is None else f"{100 * rate:.1f}%"
                ink = (255, 255, 255) if rate is not None and rate > 0.45 else INK
                d.text((cx + (cell_w - width(text, f_small)) // 2, y + 3), text, fill=ink, font=f_small)
        if len(classes) > len(shown):
            y = top + (len(shown) + 1) * cell_h + 4
            d.text((x2, y), f"... {len(classes) - len(shown)} more classes (--json lists every one)", fill=MUTED,
                   font=f_small)
    return img
