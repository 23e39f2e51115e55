"""The page of ``tal train-report --html``: a training run's record, per branch, over its epochs.

Built from the record only (``{run}/tal/epochs.json``, schema ``tal.train/1``): the run's header
lines, per branch the charts of ``epochs.png`` (gts without positives by size bucket, positives
per gt) with every epoch's numbers on hover, the terminal's three per-epoch tables (every
epoch), and for the epoch picked on the page its per-class table and its worst images.

Every number the page shows is a string Python printed: the table cells are those of
:mod:`tal_cli.views.train_table` (what ``tal train-report`` prints), the tooltips are made of
those same cells, and the per-class shares travel as the digits Python prints
(:func:`~.encode.fixed_digits`). The chart lines' positions are the only floats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...analysis.reasons import REASONS
from ...analysis.training import BUCKETS, EpochRecord, RunInfo
from ...readers.paths import display_path
from ..plot import MEAN_BAR
from ..train_chart import MEDIAN_LINE, RATE_COLOURS, RATE_LABELS
from ..train_table import (
    BUCKET_HEADS,
    class_table,
    header_lines,
    positives_table,
    rerun_table,
    settings_text,
    worst_table,
    zero_table,
)
from .assets import html_page, version
from .encode import fixed_digits, pack

#: What each reason is called on the page (the terminal's column heads, on one line).
REASON_TEXT = {"no_candidate": "no candidate", "zero_metric": "zero metric", "conflict": "lost conflict",
               "topk2": "topk2"}


def rich_cells(table) -> tuple[list[str], list[list[str]], list[bool]]:
    """``(headers, rows of cells, row marked)`` of a rich table: the strings the terminal prints,
    headers on one line (``"unex-\\nplained"`` -> ``"unexplained"``), and which rows it prints red."""
    headers = [str(c.header).replace("-\n", "").replace("\n", " ") for c in table.columns]
    columns = [[str(v) for v in c.cells] for c in table.columns]
    marked = [row.style is not None for row in table.rows]
    return headers, [list(row) for row in zip(*columns)], marked


def _hex(rgb: Sequence[int]) -> str:
    return "#" + "".join(f"{v:02x}" for v in rgb)


def epoch_tip(r: EpochRecord, zero: Mapping[str, str], pos: Mapping[str, str],
              rerun: Mapping[str, str] | None) -> list[list[str]]:
    """The tooltip of one epoch: ``[label, value]`` rows, the values the terminal tables' cells.

    Args:
        zero, pos, rerun: the epoch's row of :func:`zero_table`, :func:`positives_table` and
            :func:`rerun_table` as ``{header: cell}`` (rerun None: not re-run that epoch).
    """
    rows = [["batches, images", f"{r.batches}, {r.images}"], ["gts", zero["gts"]],
            ["without positives", str(r.gts_without_positives)], ["rate", zero["all"]]]
    for name, _ in BUCKETS:
        s = r.by_size[name]
        rows.append([RATE_LABELS[name], f"{zero[BUCKET_HEADS[name]]} ({s.zero}/{s.gts})"])
    rows += [["positives", pos["positives"]],
             ["per gt mean, median, max", f"{pos['mean']}, {pos['median']}, {pos['max']}"],
             ["contested", pos["contested"]], ["handed", pos["handed"]], ["mean target score", pos["mean target"]]]
    if rerun is None:
        rows.append(["tal's re-run", "none this epoch"])
    else:
        rows += [["tal's re-run: no positive", rerun["no pos"]],
                 ["why", ", ".join(f"{REASON_TEXT[k]} {rerun[REASON_TEXT[k]]}" for k in REASONS)],
                 ["agreement", f"{rerun['differ anchors']} differing anchors, {rerun['unexplained']} unexplained"]]
    return rows


def _table(headers: list[str], cells: list[list[str]], marked: list[bool], epochs: list[int]) -> dict[str, Any]:
    return {"headers": headers, "cells": cells, "marked": marked, "epochs": epochs}


def branch_data(name: str, records: Sequence[EpochRecord], run: RunInfo) -> dict[str, Any]:
    """One branch's part of the page: settings line, per-epoch tables, chart series, tooltips, worst images.

    Args:
        records: the branch's records, one per epoch, in epoch order.
    """
    zh, zc, zm = rich_cells(zero_table(records, name))
    ph, pc, pm = rich_cells(positives_table(records, name))
    rr = rerun_table(records, name)
    rh, rc, rm = rich_cells(rr) if rr is not None else ([], [], [])
    epochs = [r.epoch for r in records]
    rerun_epochs = [r.epoch for r in records if r.rerun is not None]
    rerun_rows = dict(zip(rerun_epochs, rc))
    tips = [epoch_tip(r, dict(zip(zh, z)), dict(zip(ph, p)),
                      dict(zip(rh, rerun_rows[r.epoch])) if r.epoch in rerun_rows else None)
            for r, z, p in zip(records, zc, pc)]
    rates: dict[str, list[float | None]] = {"all": [r.zero_positive_rate for r in records]}
    for bucket, _ in BUCKETS:
        rates[bucket] = [r.by_size[bucket].rate for r in records]
    worst = []
    for r in records:
        _, cells, _ = rich_cells(worst_table(r, len(r.worst_images)))
        worst.append(cells)
    return {
        "name": name,
        "settings": settings_text(name, run.branches.get(name)),
        "epochs": epochs,
        "tables": [
            {"title": f"{name}: gts without positives", **_table(zh, zc, zm, epochs)},
            {"title": f"{name}: positives (per gt: mean, median, max)", **_table(ph, pc, pm, epochs)},
            *([{"title": f"{name}: why no positive (tal's re-run)", **_table(rh, rc, rm, rerun_epochs)}]
              if rr is not None else []),
        ],
        "rates": {k: [None if v is None else 100 * v for v in vs] for k, vs in rates.items()
                  if any(v is not None for v in vs)},
        "per_gt": {"mean": [r.positives_per_gt.mean for r in records],
                   "median": [r.positives_per_gt.median for r in records]},
        "tips": tips,
        "worst": worst,
        "reasons": [None if r.rerun is None else [[REASON_TEXT[k], str(r.rerun.reasons[k])] for k in REASONS]
                    for r in records],
        "classes": class_blob(records, run.names),
        "class_headers": rich_cells(class_table(records[0], run.names))[0] if records else [],
        "worst_headers": rich_cells(worst_table(records[0], 0))[0] if records else [],
    }


def class_blob(records: Sequence[EpochRecord], names: Mapping[int, str]) -> str:
    """Every epoch's per-class counts, packed (:func:`~.encode.pack`): one row per (epoch, class with gts).

    Columns: ``epoch`` (index into the branch's epochs), ``cls``, ``gts``, ``without``, ``share``
    (``format(100 * without / gts, ".1f")`` as the integer its digits spell). Meta: ``names``, the
    class label :func:`class_table` prints per class id (``"0 cat"``).
    """
    cols: dict[str, list[int]] = {"epoch": [], "cls": [], "gts": [], "without": []}
    for i, r in enumerate(records):
        for c, s in sorted(r.by_class.items()):
            cols["epoch"].append(i)
            cols["cls"].append(c)
            cols["gts"].append(s.gts)
            cols["without"].append(s.zero)
    share = fixed_digits([100 * w / g for w, g in zip(cols["without"], cols["gts"])], 1)
    seen = sorted(set(cols["cls"]))
    labels = {str(c): f"{c} {names[c]}" if c in names else str(c) for c in seen}
    return pack({"names": labels}, {**cols, "share": share})


def train_page(run: RunInfo, records: Sequence[EpochRecord], record_path: Path | str,
               branches: Sequence[str], selected: int | None = None) -> str:
    """The ``tal train-report --html`` page.

    Args:
        run: the run the record belongs to.
        records: every (epoch, branch) record.
        record_path: the ``epochs.json`` read, as the terminal shows it.
        branches: the branches to show, in order.
        selected: the epoch the page opens on (default: the last recorded).
    """
    epochs = sorted({r.epoch for r in records})
    header = [line.plain for line in header_lines(run, str(record_path), len(epochs), len(epochs), branches)]
    title_dir = display_path(Path(run.save_dir))
    data = {
        "kind": "train",
        "version": version(),
        "record": str(record_path),
        "title": f"tal train-report: {title_dir}",
        "header": header,
        "epochs": epochs,
        "selected": selected if selected is not None else (epochs[-1] if epochs else None),
        "colours": {**{k: _hex(v) for k, v in RATE_COLOURS.items()}, "mean": _hex(MEAN_BAR),
                    "median": _hex(MEDIAN_LINE)},
        "labels": dict(RATE_LABELS),
        "branches": [branch_data(name, sorted((r for r in records if r.branch == name), key=lambda r: r.epoch), run)
                     for name in branches],
    }
    return html_page(title=data["title"], kind="train", data=data, scripts=("train.js",), styles=("train.css",))
