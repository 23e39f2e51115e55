"""The ``tal sweep --plot`` chart: positives per gt and gts without positives, one row per setting.

Pillow only (no matplotlib). Builds a PIL image; ``cli.py`` saves it. Readable on its own:
every bar carries its value, each row names its setting, the legend says what bars and
ticks mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ..analysis.counts import SIZE_BUCKETS
from ..analysis.sweep import SweepRow

RGB = tuple[int, int, int]

BACKGROUND: RGB = (255, 255, 255)
STRIPE: RGB = (242, 244, 247)
INK: RGB = (30, 30, 30)
MUTED: RGB = (110, 110, 110)
GRID: RGB = (215, 218, 222)
MEAN_BAR: RGB = (58, 110, 165)
MAX_WHISKER: RGB = (120, 150, 185)
ZERO_ALL: RGB = (190, 45, 45)
ZERO_SIZES: dict[str, RGB] = {"small": (230, 120, 60), "medium": (225, 175, 50), "large": (120, 160, 90)}


def text_font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def nice_max(value: float, floor: float) -> float:
    """A round axis end >= ``value`` (1, 2, 2.5, 5 x 10^k), at least ``floor``."""
    value = max(value, floor)
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * exp >= value - 1e-12:
            return step * exp
    return 10 * exp


def axis_ticks(top: float) -> list[float]:
    return [i * top / 5 for i in range(6)]


def number_text(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


def chart_canvas(width: int, height: int, title: str, subtitle: str = ""):
    """A white ``width x height`` RGB image with the chart's title and subtitle; returns ``(image, draw)``."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), BACKGROUND)
    d = ImageDraw.Draw(img)
    d.text((24, 14), title, fill=INK, font=text_font(22))
    if subtitle:
        d.text((24, 44), subtitle, fill=MUTED, font=text_font(13))
    return img, d


def setting_label(row: SweepRow) -> str:
    """``"topk 10  alpha 0.5  beta 6  yolov8"``."""
    return f"topk {row.topk}  alpha {row.alpha:g}  beta {row.beta:g}  {row.variant}"


def text_width(draw, text: str, font) -> int:
    """Width of ``text`` in ``font`` on ``draw``, whole pixels rounded up."""
    return int(math.ceil(draw.textlength(text, font=font)))


def width_probe():
    """A 1 x 1 drawing to measure text on before the canvas exists."""
    from PIL import Image, ImageDraw

    return ImageDraw.Draw(Image.new("RGB", (1, 1)))


def draw_rate_legend(d, x: int, y: int, sizes: Sequence[str], font) -> None:
    """The legend of the zero-positive (or zero-candidate) bars: all gts, then each size, from ``(x, y)``."""
    for name, colour in (("all gts", ZERO_ALL), *((k, ZERO_SIZES[k]) for k in sizes)):
        d.rectangle((x, y + 2, x + 14, y + 12), fill=colour)
        d.text((x + 19, y), name, fill=MUTED, font=font)
        x += 19 + text_width(d, name, font) + 14


def draw_stripes(d, x0: int, x1: int, top: int, row_h: int, rows: int) -> None:
    """A light band behind every other row, from the first."""
    for i in range(rows):
        if i % 2 == 0:
            d.rectangle((x0, top + i * row_h, x1, top + (i + 1) * row_h - 1), fill=STRIPE)


def draw_value_grid(d, x0: int, top: int, bottom: int, scale: float, span: int, fmt: Callable[[float], str],
                    font) -> None:
    """Vertical grid lines at :func:`axis_ticks` of ``scale`` (``span`` px long from ``x0``), labelled
    below ``bottom``."""
    for t in axis_ticks(scale):
        x = x0 + int(round(t / scale * span))
        d.line((x, top - 4, x, bottom), fill=GRID, width=1)
        text = fmt(t)
        d.text((x - text_width(d, text, font) // 2, bottom + 6), text, fill=MUTED, font=font)


#: One bar of :func:`draw_rate_bars`: name, rate (None: no gts), count, of how many gts, colour.
RateBar = tuple[str, float | None, int, int, RGB]


def draw_rate_bars(d, x0: int, y: int, row_h: int, bars: Sequence[RateBar], scale: float, span: int, gap: int,
                   font) -> None:
    """Rate bars (12 px high, ``gap`` apart) centred in the row at ``y``, each with its value and counts;
    a rate of ``scale`` percent is ``span`` px long."""
    bh = 12
    by = y + (row_h - (len(bars) * bh + (len(bars) - 1) * gap)) // 2
    for name, rate, zero, total, colour in bars:
        if rate is None:
            d.text((x0 + 4, by - 2), f"{name}: no gts", fill=MUTED, font=font)
        else:
            xe = x0 + int(round(100 * rate / scale * span))
            d.rectangle((x0, by, max(xe, x0 + 1), by + bh - 1), fill=colour)
            text = f"{name} {100 * rate:.1f}% ({zero}/{total})"
            d.text((xe + 6, by - 2), text, fill=INK if name == "all" else MUTED, font=font)
        by += bh + gap


def sweep_chart(rows: Sequence[SweepRow], title: str = "tal sweep", subtitle: str = ""):
    """A PNG-ready RGB image: per setting, positives per gt (mean bar, median tick, max whisker)
    and the share of gts without positives, overall and by size (small/medium/large)."""
    f_text, f_small = text_font(15), text_font(13)
    probe = width_probe()
    labels = [setting_label(r) for r in rows]
    margin, gap = 24, 36
    label_w = max([text_width(probe, t, f_text) for t in labels] + [120]) + 16
    panel_w = 470
    row_h = 74
    header_h = 118
    axis_h = 44
    n = max(len(rows), 1)
    w = margin + label_w + panel_w + gap + panel_w + margin
    h = header_h + n * row_h + axis_h + margin
    img, d = chart_canvas(w, h, title, subtitle)
    x1 = margin + label_w
    x2 = x1 + panel_w + gap
    plot_top = header_h
    plot_bottom = header_h + n * row_h

    d.text((x1, 68), "Positives per gt (anchors)", fill=INK, font=f_text)
    d.text((x2, 68), "Gts without positives (% of the gts)", fill=INK, font=f_text)
    _draw_positives_legend(d, x1, 92, f_small)
    draw_rate_legend(d, x2, 92, list(SIZE_BUCKETS), f_small)

    # Scales: bars use 70 % of a panel so that the value text fits beside them.
    bar_span = int(panel_w * 0.70)
    top1 = nice_max(max([r.positives_per_gt.max or 0 for r in rows] + [0]), 1)
    rates = [v for r in rows for v in (r.zero_positive_rate, *(s.rate for s in r.by_size.values())) if v is not None]
    top2 = nice_max(100 * max(rates + [0]), 10)
    draw_stripes(d, margin - 8, w - margin + 8, plot_top, row_h, len(rows))
    draw_value_grid(d, x1, plot_top, plot_bottom, top1, bar_span, number_text, f_small)
    draw_value_grid(d, x2, plot_top, plot_bottom, top2, bar_span, lambda t: f"{number_text(t)}%", f_small)

    for i, (row, label) in enumerate(zip(rows, labels)):
        y = plot_top + i * row_h
        d.text((margin, y + row_h // 2 - 9), label, fill=INK, font=f_text)
        _draw_positives_bar(d, x1, y + row_h // 2, row.positives_per_gt, top1, bar_span, f_text, f_small)
        # Zero-positive rates: all gts, then each size class.
        bars = [("all", row.zero_positive_rate, row.gts_without_positives, row.gts, ZERO_ALL)]
        bars += [(k, s.rate, s.zero, s.gts, ZERO_SIZES[k]) for k, s in row.by_size.items()]
        draw_rate_bars(d, x2, y, row_h, bars, top2, bar_span, 3, f_small)
    d.line((x1, plot_top - 4, x1, plot_bottom), fill=MUTED, width=1)
    d.line((x2, plot_top - 4, x2, plot_bottom), fill=MUTED, width=1)
    return img


def _draw_positives_legend(d, lx: int, ly: int, font) -> None:
    """The legend of the positives panel: mean bar, median tick, max whisker."""
    d.rectangle((lx, ly + 2, lx + 18, ly + 12), fill=MEAN_BAR)
    d.text((lx + 24, ly), "mean", fill=MUTED, font=font)
    lx += 24 + text_width(d, "mean", font) + 14
    d.line((lx + 6, ly, lx + 6, ly + 14), fill=INK, width=3)
    d.text((lx + 14, ly), "median", fill=MUTED, font=font)
    lx += 14 + text_width(d, "median", font) + 14
    d.line((lx, ly + 7, lx + 18, ly + 7), fill=MAX_WHISKER, width=2)
    d.line((lx + 18, ly + 1, lx + 18, ly + 13), fill=MAX_WHISKER, width=2)
    d.text((lx + 24, ly), "max", fill=MUTED, font=font)


def _draw_positives_bar(d, x1: int, cy: int, per, top: float, span: int, f_text, f_small) -> None:
    """One setting's positives per gt on the row centred at ``cy``: max whisker, mean bar, median tick, text."""
    if per.mean is None:
        d.text((x1 + 4, cy - 8), "no gts", fill=MUTED, font=f_text)
        return
    xm = x1 + int(round(per.mean / top * span))
    xmed = x1 + int(round(per.median / top * span))
    xmax = x1 + int(round(per.max / top * span))
    d.line((x1, cy, xmax, cy), fill=MAX_WHISKER, width=2)
    d.line((xmax, cy - 9, xmax, cy + 9), fill=MAX_WHISKER, width=2)
    d.rectangle((x1, cy - 13, max(xm, x1 + 1), cy + 13), fill=MEAN_BAR)
    d.line((xmed, cy - 17, xmed, cy + 17), fill=INK, width=3)
    text = f"{per.mean:.2f}  (median {number_text(per.median)}, max {per.max})"
    d.text((max(xm, xmax, xmed) + 8, cy - 9), text, fill=INK, font=f_small)
