"""The training record's chart: per branch, gts without positives by size and positives per gt, over epochs.

Pillow only (no matplotlib), in the style of :mod:`tal_cli.views.plot`. Builds a PIL image;
:mod:`tal_cli.workflows.train_report` saves it. Readable on its own: each line is named in
the legend and carries its last value at its right end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..analysis.training import BUCKETS, EpochRecord
from .plot import BACKGROUND, GRID, INK, MEAN_BAR, MUTED, ZERO_ALL, ZERO_SIZES, nice_max, number_text, text_font

RGB = tuple[int, int, int]

#: Line colours of the zero-positive rates: all gts, then each bucket of
#: :data:`~tal_cli.analysis.training.BUCKETS`.
RATE_COLOURS: dict[str, RGB] = {"all": ZERO_ALL, **ZERO_SIZES, "lt16px": (150, 90, 170), "lt8px": (90, 60, 120)}
RATE_LABELS: dict[str, str] = {"all": "all gts", "small": "small", "medium": "medium", "large": "large",
                               "lt16px": "side < 16 px", "lt8px": "side < 8 px"}
MEDIAN_LINE: RGB = INK


def _epoch_ticks(first: int, last: int, most: int = 10) -> list[int]:
    """Integer epochs to label on the x axis: ``first``, the multiples of a round step, and ``last``
    (at most about ``most``; a multiple too close to ``first`` or ``last`` gives way)."""
    span = last - first
    if span <= 0:
        return [first]
    step = next((s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if span / s <= most - 1),
                10 ** math.ceil(math.log10(span)))
    inner = [e for e in range(first + 1, last) if e % step == 0 and e - first >= step / 2 and last - e >= step / 2]
    return [first, *inner, last]


Points = list[tuple[int, float]]


def _series(records: Sequence[EpochRecord]) -> tuple[dict[str, Points], dict[str, Points]]:
    """Zero-positive rates (percent) and positives per gt as (epoch, value) points, per line (no gts: no point)."""
    rates: dict[str, list[tuple[int, float]]] = {"all": [], **{name: [] for name, _ in BUCKETS}}
    per_gt: dict[str, list[tuple[int, float]]] = {"mean": [], "median": []}
    for r in records:
        if r.gts:
            rates["all"].append((r.epoch, 100 * r.gts_without_positives / r.gts))
            per_gt["mean"].append((r.epoch, r.positives_per_gt.mean))
            per_gt["median"].append((r.epoch, r.positives_per_gt.median))
        for name, _ in BUCKETS:
            s = r.by_size[name]
            if s.gts:
                rates[name].append((r.epoch, 100 * s.zero / s.gts))
    return {k: v for k, v in rates.items() if v}, {k: v for k, v in per_gt.items() if v}


@dataclass(frozen=True)
class _Chart:
    """What every panel of the chart shares: the drawing, fonts, panel size and the epoch axis."""

    draw: object  # PIL.ImageDraw.ImageDraw
    f_text: object
    f_small: object
    panel_w: int
    panel_h: int
    first: int
    last: int
    ticks: list[int]

    def width(self, text: str, font) -> int:
        return int(math.ceil(self.draw.textlength(text, font=font)))


@dataclass(frozen=True)
class _Panel:
    """One panel's lines and looks.

    Attributes:
        lines: line key -> (epoch, value) points, drawn in reverse order (the first on top).
        colours, names: per line key.
        floor: the value axis ends at least here; fmt: axis labels; end_fmt: the last values.
        heading: the panel's title; dashed: keys drawn dashed.
    """

    lines: dict[str, Points]
    colours: dict[str, RGB]
    names: dict[str, str]
    floor: float
    fmt: Callable[[float], str]
    end_fmt: Callable[[float], str]
    heading: str
    dashed: frozenset[str] = frozenset()


def train_chart(records: Sequence[EpochRecord], title: str = "tal train", subtitle: str = ""):
    """A PNG-ready RGB image: one row per branch; left, the share of gts without positives
    (all gts and each size bucket) per epoch; right, positives per gt (mean and median)."""
    from PIL import Image, ImageDraw

    f_title = text_font(22)
    branches = list(dict.fromkeys(r.branch for r in records)) or ["one2many"]
    epochs = [r.epoch for r in records] or [1]
    first, last = min(epochs), max(epochs)

    margin, gap = 24, 40
    panel_w, panel_h = 470, 230
    label_w = 96  # room for the last value and its name right of a panel
    header_h = 78
    row_h = 28 + 50 + panel_h + 62
    w = margin + 44 + panel_w + label_w + gap + 44 + panel_w + label_w + margin
    h = header_h + len(branches) * row_h + margin
    img = Image.new("RGB", (w, h), BACKGROUND)
    d = ImageDraw.Draw(img)
    chart = _Chart(d, text_font(15), text_font(13), panel_w, panel_h, first, last, _epoch_ticks(first, last))

    d.text((margin, 14), title, fill=INK, font=f_title)
    if subtitle:
        d.text((margin, 44), subtitle, fill=MUTED, font=chart.f_small)
    for i, branch in enumerate(branches):
        rows = sorted((r for r in records if r.branch == branch), key=lambda r: r.epoch)
        y = header_h + i * row_h
        rates, per_gt = _series(rows)
        d.text((margin, y), f"{branch}", fill=INK, font=f_title)
        x1 = margin + 44
        x2 = x1 + panel_w + label_w + gap + 44
        _draw_panel(chart, x1, y + 28, _Panel(
            rates, RATE_COLOURS, RATE_LABELS, 10.0, lambda v: f"{number_text(v)}%", lambda v: f"{v:.1f}%",
            "Gts without positives (% of the gts)", frozenset({"lt16px", "lt8px"})))
        _draw_panel(chart, x2, y + 28, _Panel(
            per_gt, {"mean": MEAN_BAR, "median": MEDIAN_LINE}, {"mean": "mean", "median": "median"},
            1.0, number_text, lambda v: f"{v:.2f}", "Positives per gt (anchors)", frozenset({"median"})))
    return img


def _draw_panel(chart: _Chart, x0: int, y0: int, panel: _Panel) -> None:
    """One panel at ``(x0, y0)``: heading, legend, axes, the lines and their last values."""
    d, f_small = chart.draw, chart.f_small
    values = [v for pts in panel.lines.values() for _, v in pts]
    top = nice_max(max(values + [0.0]), panel.floor)
    d.text((x0, y0), panel.heading, fill=INK, font=chart.f_text)
    lx, ly = x0, y0 + 22
    for key in panel.lines:
        colour = panel.colours[key]
        d.line((lx, ly + 7, lx + 18, ly + 7), fill=colour, width=3)
        d.text((lx + 23, ly), panel.names[key], fill=MUTED, font=f_small)
        lx += 23 + chart.width(panel.names[key], f_small) + 14
    py0, py1 = y0 + 50, y0 + 50 + chart.panel_h

    def px(epoch: int) -> float:
        first, last = chart.first, chart.last
        return x0 + (chart.panel_w / 2 if last == first else (epoch - first) / (last - first) * chart.panel_w)

    def py(v: float) -> float:
        return py1 - v / top * chart.panel_h

    _draw_axes(chart, x0, py0, py1, top, panel.fmt, px, py)
    if not panel.lines:
        d.text((x0 + 12, py0 + 8), "no gts", fill=MUTED, font=chart.f_text)
    ends = []
    for key, pts in reversed(panel.lines.items()):  # the first line (all gts, the mean) drawn last, on top
        colour = panel.colours[key]
        xy = [(px(e), py(v)) for e, v in pts]
        _draw_line(d, xy, colour, key in panel.dashed, 3 if key in ("all", "mean") else 2)
        ends.append((xy[-1][1], panel.end_fmt(pts[-1][1]), colour))
    _draw_end_labels(chart, x0 + chart.panel_w + 8, py0, py1, ends)


def _draw_axes(chart: _Chart, x0: int, py0: int, py1: int, top: float, fmt: Callable[[float], str],
               px: Callable[[int], float], py: Callable[[float], float]) -> None:
    """Value grid lines with their labels, epoch ticks, and the two axis lines."""
    d, f_small, panel_w = chart.draw, chart.f_small, chart.panel_w
    for i in range(6):
        t = top * i / 5
        y = py(t)
        d.line((x0, y, x0 + panel_w, y), fill=GRID, width=1)
        text = fmt(t)
        d.text((x0 - 6 - chart.width(text, f_small), y - 8), text, fill=MUTED, font=f_small)
    for e in chart.ticks:
        x = px(e)
        d.line((x, py1, x, py1 + 4), fill=MUTED, width=1)
        d.text((x - chart.width(str(e), f_small) / 2, py1 + 6), str(e), fill=MUTED, font=f_small)
    d.text((x0 + panel_w - chart.width("epoch", f_small), py1 + 22), "epoch", fill=MUTED, font=f_small)
    d.line((x0, py0 - 4, x0, py1), fill=MUTED, width=1)
    d.line((x0, py1, x0 + panel_w, py1), fill=MUTED, width=1)


def _draw_line(d, xy: list[tuple[float, float]], colour: RGB, dashed: bool, width: int) -> None:
    """A series: solid (``width`` px) or dashed (2 px), with dots at the points when there are at most 60."""
    if len(xy) > 1:
        if dashed:
            for (xa, ya), (xb, yb) in zip(xy[:-1], xy[1:]):
                steps = max(1, int(math.hypot(xb - xa, yb - ya) // 8))
                for k in range(0, steps, 2):
                    f0, f1 = k / steps, min(1.0, (k + 1) / steps)
                    d.line((xa + (xb - xa) * f0, ya + (yb - ya) * f0, xa + (xb - xa) * f1, ya + (yb - ya) * f1),
                           fill=colour, width=2)
        else:
            d.line(xy, fill=colour, width=width, joint="curve")
    if len(xy) <= 60:
        for x, y in xy:
            d.ellipse((x - 3, y - 3, x + 3, y + 3), fill=colour)


def _draw_end_labels(chart: _Chart, x: int, py0: int, py1: int, ends: list[tuple[float, str, RGB]]) -> None:
    """Last values at ``x``, 15 px apart: pushed up from the bottom, or down from the top when that would
    leave the panel. ``ends``: (y of the last point, text, colour) per line."""
    ends.sort(key=lambda e: -e[0])
    ys, below = [], py1 + 15.0
    for y, _, _ in ends:
        below = min(y, below - 15)
        ys.append(below)
    if ys and ys[-1] < py0:
        ys, above = [], py0 - 15.0
        for y, _, _ in reversed(ends):
            above = max(y, above + 15)
            ys.append(above)
        ys.reverse()
    for y, (_, text, colour) in zip(ys, ends):
        chart.draw.text((x, y - 8), text, fill=colour, font=chart.f_small)
