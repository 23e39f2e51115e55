"""Overlay renderer: one picture per stride of which anchor cells each gt gets, and why.

Annotator style: the look lives in :class:`OverlayStyle` (given once to the constructor), the
data in :meth:`OverlayRenderer.render`. Rendering is pure: it never draws on the caller's
image, prints or writes files; it returns new images for the caller to save or show.

What a per-stride picture shows (the legend strip under the image says the same):

- the letterboxed network input, upsampled ``scale`` times, dimmed and desaturated, with that
  stride's grid in faint lines (one cell per anchor);
- each real gt box in its own colour (the palette cycles over gt slots), tagged
  ``"slot:class"``; a trailing ``!`` marks a gt with no positive anchor at any level;
- per gt, the anchor cells of *this* level by stage: **candidate** (centre inside the gt): a dot
  (a plus sign when only the small-box floor made it a candidate; the widened box is drawn
  dotted); **selected** by top-k but not a final positive: a hollow square; **final positive**:
  the cell filled in its gt's colour with an edge, opacity proportional to the target score
  normalised by the image's largest one (never below a minimum); **contested** (selected by
  several gts): a white X over the winner's fill; **handed** (positive for a gt that did not
  select it): a white corner triangle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..core.anchors import Level
from ..core.assignment import Assignment

if TYPE_CHECKING:
    from PIL.Image import Image

#: Bright colours that stay distinct on a dimmed photo; gt slot ``j`` gets ``palette[j % n]``.
DEFAULT_PALETTE: tuple[str, ...] = (
    "#ff3b30", "#00c7ff", "#ffcc00", "#c86bff", "#34e05c", "#ff8a00",
    "#ff5cc8", "#5e8bff", "#b8f53c", "#00e0b0", "#ff9e9e", "#b0a0ff",
)

RGB = tuple[int, int, int]


def _rgb(colour: str | Sequence[int]) -> RGB:
    from PIL import ImageColor

    if isinstance(colour, str):
        return ImageColor.getrgb(colour)[:3]
    c = tuple(int(v) for v in colour)
    if len(c) != 3 or not all(0 <= v <= 255 for v in c):
        raise ValueError(f"colour must be '#rrggbb' or three ints in 0..255, got {colour!r}")
    return c  # type: ignore[return-value]


@dataclass(frozen=True)
class OverlayStyle:
    """How overlays look. All sizes are in output pixels (after ``scale``).

    Attributes:
        scale: integer upsampling of the network input (2: a 640 px input gives 1280 px
            images, so stride-8 cells are 16 px and legible).
        dim: how much darker the photo is drawn, 0 (as is) .. 1 (black).
        desaturate: how much colour the photo loses, 0 .. 1, so marks stand out.
        grid_colour: colour of the grid lines (``"#rrggbb"`` or an RGB triple).
        grid_alpha: opacity of the grid lines, 0 .. 1 (keep it faint).
        box_width: line width of gt boxes (boxes smaller than 16 px get 1 px).
        mark_width: line width of cell marks (hollow squares, edges, crosses) in cells of
            24 px and more; smaller cells get 1 px.
        palette: gt colours, cycled over gt slots.
        fill_alpha: ``(min, max)`` opacity of a positive cell's fill; the target score,
            normalised by the image's largest one, maps linearly onto it, so weak positives
            stay visible.
        font_size: tag and legend text size in px (needs Pillow >= 10.1 for sizes other
            than the bitmap default).
        legend: append the legend strip under the image.
        legend_background: colour of the legend strip.
        max_labels: at most this many gt tags per image (gts with no positive first, then
            by slot); tags that would overlap an earlier one are skipped too.
        show_floor: draw the box the small-box floor widened (dotted) where it differs.
        dot_alpha: opacity of candidate dots (many on big gts: keep them quiet).
    """

    scale: int = 2
    dim: float = 0.4
    desaturate: float = 0.5
    grid_colour: str | tuple[int, int, int] = "#ffffff"
    grid_alpha: float = 0.16
    box_width: int = 2
    mark_width: int = 2
    palette: tuple[str | tuple[int, int, int], ...] = DEFAULT_PALETTE
    fill_alpha: tuple[float, float] = (0.3, 0.8)
    font_size: int = 14
    legend: bool = True
    legend_background: str | tuple[int, int, int] = "#1e1e1e"
    max_labels: int = 30
    show_floor: bool = True
    dot_alpha: float = 0.7

    def __post_init__(self) -> None:
        if isinstance(self.scale, bool) or not isinstance(self.scale, int) or self.scale < 1:
            raise ValueError(f"scale must be an integer >= 1, got {self.scale!r}")
        for name in ("dim", "desaturate", "grid_alpha", "dot_alpha"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ValueError(f"{name} must be in 0..1, got {v!r}")
        lo, hi = self.fill_alpha
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"fill_alpha must be (min, max) with 0 <= min <= max <= 1, got {self.fill_alpha!r}")
        for name in ("box_width", "mark_width", "font_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.max_labels < 0:
            raise ValueError(f"max_labels must be >= 0, got {self.max_labels!r}")
        if not self.palette:
            raise ValueError("palette must hold at least one colour")
        for c in (*self.palette, self.grid_colour, self.legend_background):
            _rgb(c)

    def colours(self) -> np.ndarray:
        """The palette as ``uint8[n, 3]``."""
        return np.array([_rgb(c) for c in self.palette], dtype=np.uint8)


@dataclass(frozen=True)
class LevelSummary:
    """Counts for one stride of one image, over the shown gts (what the legend states).

    Attributes:
        stride: px per cell.
        grid_hw: ``(rows, cols)`` of the grid.
        positives: final positive anchors at this level.
        positives_all: final positive anchors at all levels.
        candidates: candidate (gt, anchor) pairs at this level.
        selected: selected pairs at this level (top-k, before conflicts).
        contested: anchors at this level selected by several gts.
        handed: positives at this level handed to a gt that did not select them.
        gts: real gts shown.
        gts_total: real gts of the image.
        gts_without_positive: shown gts with no positive at any level.
    """

    stride: int
    grid_hw: tuple[int, int]
    positives: int
    positives_all: int
    candidates: int
    selected: int
    contested: int
    handed: int
    gts: int
    gts_total: int
    gts_without_positive: int


@dataclass(frozen=True)
class _ImageData:
    """One image's slice of an Assignment as numpy, restricted to the shown gts."""

    shown: np.ndarray  # int64[G] shown gt slots, ascending
    real: int  # real gts of the image
    boxes: np.ndarray  # float[M, 4] xyxy px
    cand_boxes: np.ndarray  # float[M, 4]
    labels: np.ndarray  # int64[M]
    no_positive: np.ndarray  # bool[M]
    pair_gt: np.ndarray  # int64[P'] pairs of shown gts
    pair_anchor: np.ndarray
    pair_in_box: np.ndarray
    pair_selected: np.ndarray
    pair_positive: np.ndarray
    fg: np.ndarray  # bool[A] positives held by shown gts
    gt_idx: np.ndarray  # int64[A]
    score: np.ndarray  # float[A] target score / image max, 0..1
    contested: np.ndarray  # bool[A] contested and involving a shown gt
    handed: np.ndarray  # bool[A]


def _image_data(a: Assignment, b: int, gts: Sequence[int] | None) -> _ImageData:
    if not 0 <= b < a.batch_size:
        raise IndexError(f"image_index {b} is outside the batch of {a.batch_size} images")

    def np_(t):
        return t.detach().cpu().numpy()

    mask = np_(a.gt_mask[b]).astype(bool)
    real = np.flatnonzero(mask)
    if gts is None:
        shown = real
    else:
        shown = np.unique(np.asarray(list(gts), dtype=np.int64))
        bad = [int(j) for j in shown if not (0 <= j < mask.size and mask[j])]
        if bad:
            raise ValueError(f"gts {bad} are not real gt slots of image {b} (it has {real.size}: 0..{real.size - 1})")
    m = mask.size
    is_shown = np.zeros(m + 1, dtype=bool)
    is_shown[shown] = True

    fg_all = np_(a.fg_mask[b]).astype(bool)
    gt_idx = np_(a.target_gt_idx[b]).astype(np.int64)
    counts = np.bincount(gt_idx[fg_all], minlength=m)[:m]
    score = np_(a.target_score[b]).astype(np.float64)
    top = score[fg_all].max() if fg_all.any() else 0.0
    score = score / top if top > 0 else np.zeros_like(score)

    pi = np_(a.pair_image)
    keep = pi == b
    pg = np_(a.pair_gt)[keep]
    keep_shown = is_shown[pg]
    pg = pg[keep_shown]
    pa = np_(a.pair_anchor)[keep][keep_shown]
    sel = np_(a.pair_selected)[keep][keep_shown].astype(bool)
    pos = fg_all[pa] & (gt_idx[pa] == pg)

    fg = fg_all & is_shown[gt_idx]
    winner = np_(a.winner[b]).astype(np.int64)
    involved = np.zeros_like(fg_all)
    involved[pa[sel]] = True
    involved |= (winner >= 0) & is_shown[np.where(winner >= 0, winner, m)]
    contested = np_(a.contested[b]).astype(bool) & involved
    handed = np_(a.handed[b]).astype(bool) & fg

    return _ImageData(
        shown=shown, real=int(real.size),
        boxes=np_(a.gt_bboxes[b]).astype(np.float64), cand_boxes=np_(a.candidate_bboxes[b]).astype(np.float64),
        labels=np_(a.gt_labels[b]).astype(np.int64), no_positive=mask & (counts == 0),
        pair_gt=pg, pair_anchor=pa, pair_in_box=np_(a.pair_in_box)[keep][keep_shown].astype(bool),
        pair_selected=sel, pair_positive=pos, fg=fg, gt_idx=gt_idx, score=score,
        contested=contested, handed=handed,
    )


def _summary(d: _ImageData, lv: Level) -> LevelSummary:
    at = (d.pair_anchor >= lv.start) & (d.pair_anchor < lv.stop)
    return LevelSummary(
        stride=lv.stride, grid_hw=(lv.height, lv.width),
        positives=int(d.fg[lv.start:lv.stop].sum()), positives_all=int(d.fg.sum()),
        candidates=int(at.sum()), selected=int((at & d.pair_selected).sum()),
        contested=int(d.contested[lv.start:lv.stop].sum()), handed=int(d.handed[lv.start:lv.stop].sum()),
        gts=int(d.shown.size), gts_total=d.real, gts_without_positive=int(d.no_positive[d.shown].sum()),
    )


def level_summaries(assignment: Assignment, levels: Sequence[Level], image_index: int = 0,
                    gts: Sequence[int] | None = None) -> dict[int, LevelSummary]:
    """The counts each legend states, per stride (key), over the shown gts (None: all)."""
    d = _image_data(assignment, image_index, gts)
    return {lv.stride: _summary(d, lv) for lv in levels}


def _namer(names: Sequence[str] | Mapping[int, str] | None):
    """class id -> display name; the id itself where ``names`` has none."""
    if names is None:
        return str
    if isinstance(names, Mapping):
        return lambda k: str(names.get(k, k))
    seq = list(names)
    return lambda k: str(seq[k]) if 0 <= k < len(seq) else str(k)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def _text_colour(bg: Sequence[int]) -> RGB:
    lum = 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2]
    return (0, 0, 0) if lum > 140 else (255, 255, 255)


def _disk(radius: int, plus: bool) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets ``(dy, dx)`` of a filled disk, or of a plus sign of arm ``radius + 1``."""
    if plus:
        r = radius + 1
        k = np.arange(-r, r + 1)
        z = np.zeros_like(k)
        return np.concatenate((k, z)), np.concatenate((z, k))
    k = np.arange(-radius, radius + 1)
    dy, dx = np.meshgrid(k, k, indexing="ij")
    inside = dy * dy + dx * dx <= (radius + 0.5) ** 2
    return dy[inside], dx[inside]


def _stamp(arr: np.ndarray, cy: np.ndarray, cx: np.ndarray, colours: np.ndarray, offsets) -> None:
    """Paint opaque ``colours[i]`` at ``(cy[i], cx[i]) + offsets`` into ``arr`` (H, W, 3|4), clipped."""
    if cy.size == 0:
        return
    dy, dx = offsets
    ys = (cy[:, None] + dy[None]).ravel()
    xs = (cx[:, None] + dx[None]).ravel()
    cols = np.repeat(colours, dy.size, axis=0)
    ok = (ys >= 0) & (ys < arr.shape[0]) & (xs >= 0) & (xs < arr.shape[1])
    arr[ys[ok], xs[ok], :3] = cols[ok]
    if arr.shape[2] == 4:
        arr[ys[ok], xs[ok], 3] = 255


def _dotted_rect(draw, box: Sequence[float], colour, step: int = 4) -> None:
    """A 1 px dotted rectangle outline (dots every ``step`` px)."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    pts = [(x, y1) for x in range(x1, x2 + 1, step)] + [(x, y2) for x in range(x1, x2 + 1, step)]
    pts += [(x1, y) for y in range(y1, y2 + 1, step)] + [(x2, y) for y in range(y1, y2 + 1, step)]
    draw.point(pts, fill=colour)


def settings_text(settings) -> str:
    """``"variant ultralytics: topk 10, alpha 0.5, beta 6, iou ciou, small-box floor on"`` (and topk2, conflict)."""
    text = (f"variant {settings.variant}: topk {settings.topk}, alpha {settings.alpha:g}, beta {settings.beta:g}, "
            f"iou {settings.iou}, small-box floor {'on' if settings.uses_floor else 'off'}")
    if settings.uses_topk2:
        text += f", topk2 {settings.topk2}"
    if settings.conflict != "all-gts":
        text += f", conflict {settings.conflict}"
    return text


class OverlayRenderer:
    """Draws an :class:`~tal_cli.core.assignment.Assignment` over its network-input image.

    Example::

        renderer = OverlayRenderer(OverlayStyle(scale=2))
        pictures = renderer.render(img, assignment, scene.head.levels, names=["person", ...])
        for stride, picture in pictures.items():
            picture.save(f"overlay_s{stride}.png")
    """

    def __init__(self, style: OverlayStyle = OverlayStyle()) -> None:
        self.style = style
        self._palette = style.colours()
        self._font = _font(style.font_size)

    # -- public -------------------------------------------------------------------------------

    def render(self, image, assignment: Assignment, levels: Sequence[Level],
               names: Sequence[str] | Mapping[int, str] | None = None, image_index: int = 0,
               gts: Sequence[int] | None = None) -> dict[int, Image]:
        """One overlay per stride.

        Args:
            image: the letterboxed network-input image (``PIL.Image``, ``input_hw`` size, any
                mode; converted to RGB). Never modified.
            assignment: the assignment of the batch holding this image.
            levels: ``Sequence[Level]``, the scene's grid (``scene.head.levels``).
            names: class id -> name, as a sequence or a mapping; None (or a missing id)
                shows the id.
            image_index: which image of the batch, ``b``.
            gts: gt slots to draw (e.g. one for ``--gt N``); None draws every real gt. Cells
                and counts then concern only those gts.

        Returns:
            ``dict[int, PIL.Image.Image]``, stride -> a new RGB image of
            ``(W * scale, H * scale + legend height)`` px, in the order of ``levels``.

        Raises:
            ValueError: the image size does not match the grid, or ``gts`` names a slot that
                is not a real gt; IndexError: ``image_index`` outside the batch.
        """
        from PIL import Image

        w, h = image.size
        for lv in levels:
            if (-(-h // lv.stride), -(-w // lv.stride)) != (lv.height, lv.width):
                raise ValueError(
                    f"image is {w}x{h} px but the stride-{lv.stride} grid is {lv.width}x{lv.height} cells; "
                    "pass the letterboxed network-input image")
        if levels and assignment.num_anchors != max(lv.stop for lv in levels):
            raise ValueError(
                f"levels hold {max(lv.stop for lv in levels)} anchors, the assignment {assignment.num_anchors}"
            )
        d = _image_data(assignment, image_index, gts)
        base = self._base(image)  # uint8[H*s, W*s, 3]
        top, tagged = self._gt_layer(d, (base.shape[1], base.shape[0]), _namer(names))  # same at every stride
        out = {}
        for lv in levels:
            picture = Image.alpha_composite(self._cells(base, d, lv), top).convert("RGB")
            if self.style.legend:
                floor = bool(assignment.settings.uses_floor and (~d.pair_in_box).any())
                picture = self._with_legend(picture, _summary(d, lv), tagged, floor, settings_text(assignment.settings))
            out[lv.stride] = picture
        return out

    # -- steps --------------------------------------------------------------------------------

    def _base(self, image) -> np.ndarray:
        """The upsampled, dimmed, desaturated photo: ``uint8[H*s, W*s, 3]``."""
        from PIL import Image

        st = self.style
        rgb = image.convert("RGB")  # always a copy
        if st.scale != 1:
            rgb = rgb.resize((rgb.width * st.scale, rgb.height * st.scale), Image.BILINEAR)
        if st.desaturate:
            rgb = Image.blend(rgb, rgb.convert("L").convert("RGB"), st.desaturate)
        if st.dim:
            rgb = rgb.point([int(v * (1 - st.dim) + 0.5) for v in range(256)] * 3)
        return np.array(rgb)

    def _gt_colours(self, slots: np.ndarray) -> np.ndarray:
        return self._palette[np.asarray(slots) % len(self._palette)]

    def _cells(self, base: np.ndarray, d: _ImageData, lv: Level):
        """The photo with one stride's grid and cell marks, RGBA ``(W*s, H*s)``."""
        from PIL import Image, ImageDraw

        st = self.style
        s = st.scale
        c = lv.stride * s  # cell side in output px
        hh, ww = base.shape[:2]
        arr = base.copy()

        # Grid lines, faint.
        ga, gc = st.grid_alpha, np.array(_rgb(st.grid_colour), dtype=np.float32)
        rows = np.arange(c, hh, c)
        cols = np.arange(c, ww, c)
        arr[rows] = (arr[rows] * (1 - ga) + gc * ga + 0.5).astype(np.uint8)
        arr[:, cols] = (arr[:, cols] * (1 - ga) + gc * ga + 0.5).astype(np.uint8)

        # Positive fills: one RGBA per cell, opacity from the normalised target score.
        sl = slice(lv.start, lv.stop)
        fg = d.fg[sl].reshape(lv.height, lv.width)
        cells = np.zeros((lv.height, lv.width, 4), dtype=np.uint8)
        lo, hi = st.fill_alpha
        alpha = lo + (hi - lo) * np.clip(d.score[sl], 0, 1)
        gidx = d.gt_idx[sl].reshape(lv.height, lv.width)
        cells[fg, :3] = self._gt_colours(gidx[fg])
        cells[fg, 3] = np.round(alpha.reshape(lv.height, lv.width)[fg] * 255).astype(np.uint8)
        overlay = np.repeat(np.repeat(cells, c, axis=0), c, axis=1)[:hh, :ww]
        picture = Image.alpha_composite(Image.fromarray(arr).convert("RGBA"), Image.fromarray(overlay, "RGBA"))

        # Candidate dots (pairs neither selected nor positive); plus signs for floor-only pairs.
        pa, pg = d.pair_anchor, d.pair_gt
        at = (pa >= lv.start) & (pa < lv.stop)
        local = pa - lv.start
        prow, pcol = np.divmod(local, lv.width)
        centre_y = prow * c + c // 2
        centre_x = pcol * c + c // 2
        radius = int(np.clip(c // 12, 1, 3))
        dots = at & ~d.pair_selected & ~d.pair_positive
        if dots.any():
            layer = np.zeros((hh, ww, 4), dtype=np.uint8)
            for plus in (False, True):
                m = dots & (d.pair_in_box != plus)
                _stamp(layer, centre_y[m], centre_x[m], self._gt_colours(pg[m]), _disk(radius, plus))
            layer[..., 3] = (layer[..., 3].astype(np.float32) * st.dot_alpha).astype(np.uint8)
            picture = Image.alpha_composite(picture, Image.fromarray(layer, "RGBA"))
        draw = ImageDraw.Draw(picture, "RGBA")

        # Cell marks.
        mw = st.mark_width if c >= 24 else 1
        inset = mw + 1
        pos_cells = np.flatnonzero(fg.ravel())
        for k in pos_cells:  # edge of every positive cell, in the winner's colour
            r, q = divmod(int(k), lv.width)
            col = tuple(int(v) for v in self._gt_colours(gidx[r, q])) + (255,)
            draw.rectangle((q * c, r * c, q * c + c - 1, r * c + c - 1), outline=col, width=1)
        hollow = np.flatnonzero(at & d.pair_selected & ~d.pair_positive)
        order = hollow[np.argsort(pa[hollow], kind="stable")]
        first = np.searchsorted(pa[order], pa[order])  # several losers in one cell: nested squares
        for i, nth in zip(order, np.arange(order.size) - first):  # selected but not a final positive of this gt
            x0, y0 = int(pcol[i]) * c, int(prow[i]) * c
            col = tuple(int(v) for v in self._gt_colours(pg[i])) + (255,)
            g = min(inset * (1 + int(nth)), c // 2 - mw - 1)
            if g < 0:
                continue
            draw.rectangle((x0 + g, y0 + g, x0 + c - 1 - g, y0 + c - 1 - g), outline=col, width=mw)
        marks_w = max(1, mw)
        e = max(2, c // 5)
        for k in np.flatnonzero(d.contested[sl]):  # white X with a dark rim
            r, q = divmod(int(k), lv.width)
            x0, y0 = q * c, r * c
            for colr, wd in (((0, 0, 0, 255), marks_w + 2), ((255, 255, 255, 255), marks_w)):
                draw.line((x0 + e, y0 + e, x0 + c - 1 - e, y0 + c - 1 - e), fill=colr, width=wd)
                draw.line((x0 + e, y0 + c - 1 - e, x0 + c - 1 - e, y0 + e), fill=colr, width=wd)
        t = max(4, c // 3)
        for k in np.flatnonzero(d.handed[sl]):  # white corner triangle
            r, q = divmod(int(k), lv.width)
            x0, y0 = q * c + 1, r * c + 1
            draw.polygon([(x0, y0), (x0 + t, y0), (x0, y0 + t)], fill=(255, 255, 255, 255), outline=(0, 0, 0, 255))
        return picture

    def _gt_layer(self, d: _ImageData, size: tuple[int, int], name_of):
        """Boxes, floored boxes and tags on a transparent RGBA layer of ``size = (W*s, H*s)``,
        and how many gts got a tag. The same at every stride, so drawn once per render."""
        from PIL import Image, ImageDraw

        st = self.style
        s = st.scale
        layer = Image.new("RGBA", size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer, "RGBA")
        shown = d.shown
        colours = [tuple(int(v) for v in col) for col in self._gt_colours(shown)]
        if st.show_floor:  # dotted: the box the small-box floor widened, where it differs
            for j, col in zip(shown, colours):
                if np.abs(d.cand_boxes[j] - d.boxes[j]).max() > 1e-3:
                    _dotted_rect(draw, d.cand_boxes[j] * s, col + (255,))
        # Gt boxes, with a dark rim so they show on fills of their own colour.
        for j, col in zip(shown, colours):
            x1, y1, x2, y2 = d.boxes[j] * s
            x2, y2 = max(x1, x2 - 1), max(y1, y2 - 1)
            width = st.box_width if min(x2 - x1, y2 - y1) >= 16 else 1
            draw.rectangle((x1 - 1, y1 - 1, x2 + 1, y2 + 1), outline=(0, 0, 0, 150), width=width + 2)
            if d.no_positive[j]:  # a white ring: no positive anywhere
                g = width + 2
                draw.rectangle((x1 - g, y1 - g, x2 + g, y2 + g), outline=(255, 255, 255, 255), width=1)
            draw.rectangle((x1, y1, x2, y2), outline=col + (255,), width=width)

        return layer, self._tags(draw, d, name_of, size)

    def _tags(self, draw, d: _ImageData, name_of, size: tuple[int, int]) -> int:
        """Tags ``"slot:class"`` for up to ``max_labels`` gts, no-positive gts first, no overlaps."""
        st = self.style
        s = st.scale
        ww, hh = size
        order = sorted(d.shown.tolist(), key=lambda j: (not d.no_positive[j], j))
        placed: list[tuple[float, float, float, float]] = []
        font = self._font
        for j in order:
            if len(placed) >= st.max_labels:
                break
            text = f"{j}:{name_of(int(d.labels[j]))}" + (" !" if d.no_positive[j] else "")
            left, t, r, b = draw.textbbox((0, 0), text, font=font)
            tw, th = r - left + 4, b - t + 2
            x1, y1, x2, y2 = d.boxes[j] * s
            tx = min(max(0.0, x1), ww - tw)
            spots = [(tx, y1 - th), (tx, y1), (tx, y2)]  # above, inside top, below
            for sx, sy in spots:
                if sy < 0 or sy + th > hh:
                    continue
                rect = (sx, sy, sx + tw, sy + th)
                if any(rect[0] < p[2] and p[0] < rect[2] and rect[1] < p[3] and p[1] < rect[3] for p in placed):
                    continue
                col = tuple(int(v) for v in self._gt_colours(j))
                draw.rectangle((sx, sy, sx + tw - 1, sy + th - 1), fill=col + (255,))
                draw.text((sx + 2 - left, sy + 1 - t), text, fill=_text_colour(col) + (255,), font=font)
                placed.append(rect)
                break
        return len(placed)

    def _with_legend(self, picture, summary: LevelSummary, tagged: int, floor_used: bool, settings: str = ""):
        """``picture`` with the legend strip appended below; ``floor_used``: explain the floor marks;
        ``settings``: the assigner settings that made it (a shared picture says what it shows)."""
        from PIL import Image, ImageDraw

        st = self.style
        font = self._font
        ww, hh = picture.size
        bg = _rgb(st.legend_background)
        fg_text = (230, 230, 230)
        dim_text = (170, 170, 170)
        pad = max(4, st.font_size // 2)
        line_h = st.font_size + 8
        sw = line_h - 4  # swatch side

        sm = summary
        header = [f"stride {sm.stride}: {sm.grid_hw[1]}x{sm.grid_hw[0]} cells of {sm.stride} px, one anchor per cell."]
        if settings:
            header.append(settings)
        gts_text = f"{sm.gts} gts" if sm.gts == sm.gts_total else f"{sm.gts} of {sm.gts_total} gts shown"
        counts = [
            f"at this stride: {sm.positives} positives (all strides: {sm.positives_all}),",
            f"{sm.candidates} candidates,", f"{sm.selected} selected,",
            f"{sm.contested} contested,", f"{sm.handed} handed.",
            f"{gts_text}, {sm.gts_without_positive} without any positive.",
        ]
        if tagged < sm.gts:
            counts.append(f"Tags on {tagged} (no-positive gts first).")
        items = [
            ("box", "gt box, tag slot:class"),
            ("dot", "candidate: anchor centre inside the gt"),
        ]
        if sm.gts_without_positive:
            items.insert(1, ("lost", "white ring, tag ending in !: gt with no positive at any stride"))
        if floor_used:
            items.append(("plus", "candidate only via the small-box floor (widened box dotted)"))
        items += [
            ("hollow", "selected by top-k, not a final positive"),
            ("fill", "final positive, opacity = target score (max in image = opaque)"),
            ("cross", "contested: chosen by several gts, fill = winner"),
            ("handed", "handed: positive for a gt that did not choose it"),
        ]

        # Flow layout: (kind, text) runs wrapped to the strip width.
        runs: list[tuple[str | None, str, tuple[int, int, int]]] = []
        runs += [(None, t, fg_text) for t in header]
        runs += [("break", "", fg_text)]
        runs += [(None, t, dim_text) for t in counts]
        runs += [("break", "", fg_text)]
        runs += [(k, t, fg_text) for k, t in items]
        gap = st.font_size
        placed, x, y = [], pad, pad
        for kind, text, colour in runs:
            if kind == "break":
                x, y = pad, y + line_h
                continue
            width = int(font.getlength(text)) + (sw + 6 if kind else 0)
            if x > pad and x + width > ww - pad:
                x, y = pad, y + line_h
            placed.append((kind, text, colour, x, y))
            x += width + (gap if kind else int(font.getlength(" ")) + 1)
        height = y + line_h + pad
        canvas = Image.new("RGB", (ww, hh + height), bg)
        canvas.paste(picture, (0, 0))
        draw = ImageDraw.Draw(canvas, "RGBA")
        sample = tuple(int(v) for v in self._palette[0])
        cell_bg = (70, 70, 70)
        for kind, text, colour, x, y in placed:
            yy = hh + y
            tx = x
            if kind:
                self._swatch(draw, kind, (x, yy + 2, x + sw - 1, yy + 2 + sw - 1), sample, cell_bg)
                tx = x + sw + 6
            draw.text((tx, yy + 2), text, fill=colour, font=font)
        return canvas

    def _swatch(self, draw, kind: str, box: tuple[int, int, int, int], col: RGB, cell_bg: RGB) -> None:
        x0, y0, x1, y1 = box
        side = x1 - x0 + 1
        draw.rectangle(box, fill=cell_bg)
        opaque = col + (255,)
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        if kind == "box":
            draw.rectangle((x0 + 2, y0 + 5, x1 - 2, y1 - 2), outline=opaque, width=2)
            draw.rectangle((x0 + 2, y0 + 1, x0 + side // 2, y0 + 5), fill=opaque)
        elif kind == "lost":
            draw.rectangle((x0 + 1, y0 + 1, x1 - 1, y1 - 1), outline=(255, 255, 255, 255), width=1)
            draw.rectangle((x0 + 4, y0 + 4, x1 - 4, y1 - 4), outline=(0, 0, 0, 150), width=3)
            draw.rectangle((x0 + 5, y0 + 5, x1 - 5, y1 - 5), outline=opaque, width=1)
        elif kind == "dot":
            draw.ellipse((cx - 2, cy - 2, cx + 2, cy + 2), fill=opaque)
        elif kind == "plus":
            draw.line((cx - 3, cy, cx + 3, cy), fill=opaque, width=1)
            draw.line((cx, cy - 3, cx, cy + 3), fill=opaque, width=1)
            _dotted_rect(draw, (x0 + 1, y0 + 1, x1 - 1, y1 - 1), opaque, step=3)
        elif kind == "hollow":
            draw.rectangle((x0 + 3, y0 + 3, x1 - 3, y1 - 3), outline=opaque, width=2)
        elif kind == "fill":
            lo, hi = self.style.fill_alpha
            third = side // 3
            for i, a in enumerate((lo, (lo + hi) / 2, hi)):
                draw.rectangle((x0 + i * third, y0, x0 + (i + 1) * third - 1 if i < 2 else x1, y1),
                               fill=col + (int(a * 255),))
            draw.rectangle(box, outline=opaque, width=1)
        elif kind == "cross":
            draw.rectangle(box, fill=col + (int(self.style.fill_alpha[1] * 255),), outline=opaque)
            e = 4
            for colr, wd in (((0, 0, 0, 255), 4), ((255, 255, 255, 255), 2)):
                draw.line((x0 + e, y0 + e, x1 - e, y1 - e), fill=colr, width=wd)
                draw.line((x0 + e, y1 - e, x1 - e, y0 + e), fill=colr, width=wd)
        elif kind == "handed":
            draw.rectangle(box, fill=col + (int(self.style.fill_alpha[1] * 255),), outline=opaque)
            t = side // 2
            draw.polygon([(x0 + 1, y0 + 1), (x0 + 1 + t, y0 + 1), (x0 + 1, y0 + 1 + t)],
                         fill=(255, 255, 255, 255), outline=(0, 0, 0, 255))
