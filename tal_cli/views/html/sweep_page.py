"""The page of ``tal sweep --html``: the settings table, the charts, what changed between
settings per gt, and the worst images with their one-image view under every setting.

The settings table's cells are the terminal table's (:func:`~tal_cli.views.tables.sweep_table`),
the chart's texts the ``--plot`` chart's; per-gt positives come from the sweep's own
assignments (:class:`~tal_cli.analysis.gt_status.GtStatus`); each worst image's view is built
as ``tal assign --html`` builds its page (:func:`.assign_page.image_view`), one per setting,
packed together and unpacked by the page when the image is opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...analysis.counts import SIZE_BUCKETS
from ...analysis.gt_status import GtStatus
from ...analysis.sweep import SweepRow
from ..overlay import DEFAULT_PALETTE
from ..plot import number_text, setting_label
from ..sweep_json import row_to_json
from ..tables import sweep_detail_table, sweep_table
from .assets import html_page, version
from .assign_page import REASON_KINDS, table_cells
from .encode import fixed_digits, pack, pack_views

#: At most this many gts whose status changes between settings are listed (the pattern counts cover all).
MAX_CHANGED = 20000


@dataclass(frozen=True)
class WorstImage:
    """One image of the drill-down list.

    Attributes:
        key: unique short name (the image stem; ``stem~2`` on a repeated stem), the page's ``data-image``.
        image: the image path as shown.
        picture: the letterboxed network input, a ``data:`` URL; thumb: a small one.
        views: per setting, :func:`~.assign_page.image_view`'s ``(meta, columns)``.
        zero: gts without positives under each setting; gts: its gts.
    """

    key: str
    image: str
    picture: str
    thumb: str
    views: Sequence[tuple[dict, dict]]
    zero: Sequence[int]
    gts: int


def rate_bars(bars: Iterable[tuple[str, float | None, int, int]]) -> list[dict[str, Any]]:
    """One setting's bars of a rate chart (``TAL.rateBars``): ``(name, rate, part, total)`` each, with the
    ``--plot`` charts' text ``"small 65.4% (217/332)"`` (None without gts)."""
    return [{"name": name, "rate": rate, "text": None if rate is None else f"{name} {100 * rate:.1f}% ({part}/{total})"}
            for name, rate, part, total in bars]


def chart_rows(rows: Sequence[SweepRow]) -> list[dict[str, Any]]:
    """What the two charts draw, per setting, with the ``--plot`` chart's texts."""
    out = []
    for row in rows:
        per = row.positives_per_gt
        bars = [("all", row.zero_positive_rate, row.gts_without_positives, row.gts)]
        bars += [(k, s.rate, s.zero, s.gts) for k, s in row.by_size.items()]
        out.append({
            "label": setting_label(row),
            "mean": per.mean, "median": per.median, "max": per.max,
            "text": None if per.mean is None else f"{per.mean:.2f}  (median {number_text(per.median)}, max {per.max})",
            "zero": rate_bars(bars),
        })
    return out


def status_blob(status: GtStatus, keys: Sequence[str]) -> str:
    """The gts whose status (any positive or none) changes between settings, packed; and the patterns.

    Args:
        keys: a short name per image of ``status.images`` (what the page lists gts by).
    """
    changed = status.changed().nonzero().squeeze(1)
    listed = changed[:MAX_CHANGED]
    s = status.num_settings
    meta = {
        "settings": s,
        "gts": int(status.image.numel()),
        "changed": int(changed.numel()),
        "listed": int(listed.numel()),
        "patterns": [[list(bits), n] for bits, n in status.patterns()],
        "images": list(keys),
    }
    cols = {
        "image": status.image[listed].numpy(), "slot": status.slot[listed].numpy(),
        "cls": status.cls[listed].numpy(), "size": status.size[listed].numpy(),
        "w": fixed_digits(status.width[listed].tolist(), 0), "h": fixed_digits(status.height[listed].tolist(), 0),
        "positives": status.positives[:, listed].reshape(-1).numpy(),  # setting-major
    }
    return pack(meta, cols)


def sweep_page(rows: Sequence[SweepRow], header: Sequence[str], status: GtStatus, keys: Sequence[str],
               names: Mapping[int, str], worst: Sequence[WorstImage], inputs: Mapping[str, str | None]) -> str:
    """The ``tal sweep --html`` page.

    Args:
        rows: the sweep's rows (one per setting).
        header: the lines above the terminal table (:func:`~tal_cli.views.tables.sweep_header`, as text).
        status: each gt's positives per setting; keys: a short name per image of ``status.images``.
        names: class id -> name.
        worst: the drill-down images, worst first.
        inputs: what the header lists (source, config, ...; None values are left out).
    """
    headers, cells = table_cells(sweep_table(rows), sweep_detail_table(rows))
    data = {
        "kind": "sweep",
        "version": version(),
        "inputs": {k: str(v) for k, v in inputs.items() if v is not None},
        "header": list(header),
        "settings": {"headers": headers, "cells": cells, "labels": [setting_label(r) for r in rows],
                     "json": [row_to_json(r) for r in rows]},
        "chart": chart_rows(rows),
        "size_bins": list(SIZE_BUCKETS),
        "reason_kinds": [list(k) for k in REASON_KINDS],
        "names": {str(k): v for k, v in names.items()},
        "palette": list(DEFAULT_PALETTE),
        "status": status_blob(status, keys),
        "worst": [{"key": w.key, "image": w.image, "thumb": w.thumb, "picture": w.picture, "zero": list(w.zero),
                   "gts": w.gts, "views": pack_views(w.views)} for w in worst],
    }
    return html_page(title="tal sweep", kind="sweep", data=data,
                     scripts=("gt_view.js", "image_view.js", "settings_pages.js", "sweep.js"))
