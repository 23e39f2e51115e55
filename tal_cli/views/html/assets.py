"""The page shell every HTML page shares: its CSS and scripts read from ``static/`` and inlined.

The JavaScript and CSS are real files in ``tal_cli/views/html/static/`` (package data), so they
can be read, linted and reviewed; :func:`html_page` inlines them at build time. A page is one
file with no network request of any kind: no CDN, no remote font, images as ``data:`` URLs,
and a Content-Security-Policy that forbids the browser to fetch anything else.

Scripts, in load order (``common.js`` first on every page, then the ones a page lists):

- ``common.js``: decoding (:mod:`.encode`'s container), exact number formatting, DOM helpers,
  a virtualised sortable table, the tooltip and the key help.
- ``gt_view.js``: the one-image view the assign, sweep and check pages share (canvas, zoom,
  gt boxes, gt table, selection panel), ``TAL.GtView``; ``image_view.js`` (``TAL.ImageView``:
  an assignment's anchors and positives) and ``check_view.js`` (``TAL.CheckView``: ``tal
  check``'s candidates and statuses) extend it.
- ``settings_pages.js``: what the pages of several settings share (``sweep.js``, ``check.js``): the page
  top, the settings table whose rows choose a setting, the setting buttons, the image tiles and the
  drill-down (``TAL.Drill``: one image under one setting, zoom and selection kept across settings).
- ``assign.js``: ``tal assign --html``; ``sweep.js``: ``tal sweep --html``; ``check.js``: ``tal
  check --html``; ``train.js``: ``tal train-report --html``.

Styles: ``page.css`` on every page; ``train.css`` after it on the train page.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from html import escape
from importlib import resources
from typing import Any

from ... import __version__

#: Blocks every fetch: only inline scripts and styles, and images from data: / blob: URLs.
CSP = ("default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")
#: JPEG quality of the embedded network-input pictures (thumbnails use :data:`THUMB_QUALITY`).
JPEG_QUALITY = 85
THUMB_QUALITY = 70
#: Longest side of a thumbnail, px.
THUMB_SIDE = 96


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    """The text of ``static/<name>`` (package data)."""
    return resources.files(__package__).joinpath("static").joinpath(name).read_text(encoding="utf-8")


def version() -> str:
    """The tal version a page records."""
    return __version__


def script_json(obj: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: every ``<`` (only ever inside a string) is
    written ``\\u003c``, so nothing in the data can close the element or open a comment."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c")


def jpeg_data_url(image, quality: int = JPEG_QUALITY, max_side: int | None = None) -> str:
    """A ``data:image/jpeg;base64,...`` URL of a Pillow image (RGB), shrunk to ``max_side`` if given."""
    picture = image.convert("RGB")
    if max_side is not None and max(picture.size) > max_side:
        from PIL import Image

        scale = max_side / max(picture.size)
        picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))),
                                 Image.BILINEAR)
    buf = io.BytesIO()
    picture.save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def html_page(*, title: str, kind: str, data: Mapping[str, Any], scripts: Sequence[str],
              styles: Sequence[str] = ()) -> str:
    """One self-contained page: the shared CSS and ``styles``, ``data`` as JSON, then ``common.js`` and ``scripts``.

    Args:
        title: the document title (escaped here).
        kind: ``"assign"``, ``"sweep"``, ``"check"`` or ``"train"`` (``<html data-kind>``), for the CSS and tests.
        data: JSON-ready; the entry script reads it from ``#tal-data``.
        scripts: file names in ``static/`` after ``common.js``, in order.
        styles: CSS file names in ``static/`` after ``page.css``, in order.
    """
    parts = [
        "<!doctype html>",
        f'<html lang="en" data-kind="{escape(kind)}">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="tal {escape(__version__)}">',
        f"<title>{escape(title)}</title>",
        *(f"<style>\n{asset(name)}</style>" for name in ("page.css", *styles)),
        "</head>",
        "<body>",
        '<noscript>This page needs JavaScript: it draws the assignment from the data embedded in it.</noscript>',
        '<div id="app"></div>',
        f'<script type="application/json" id="tal-data">{script_json(data)}</script>',
    ]
    parts += [f"<script>\n{asset(name)}</script>" for name in ("common.js", *scripts)]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
