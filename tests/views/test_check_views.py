"""tal_cli.views.check and check_plot: tables readable at 80 columns, CSV rows, the chart."""

from __future__ import annotations

from pathlib import Path

import torch
from rich.console import Console

from tal_cli.analysis.check import CheckRow, check_row, check_settings, measure
from tal_cli.analysis.counts import Count
from tal_cli.core.settings import AssignerSettings
from tal_cli.readers.labels import Labels
from tal_cli.readers.verdicts import KEPT, FileVerdict
from tal_cli.views.check import class_table, csv_columns, csv_rows, limits_table, never_table
from tal_cli.views.check_plot import check_chart


def rows() -> list[CheckRow]:
    gen = torch.Generator().manual_seed(0)
    files = []
    for i in range(3):
        xy = torch.rand(40, 2, generator=gen, dtype=torch.float64) * 0.9
        boxes = torch.cat((xy, xy + torch.rand(40, 2, generator=gen, dtype=torch.float64) * 0.05), 1).tolist()
        files.append(
            FileVerdict(
                Path(f"{i}.png"),
                None,
                KEPT,
                None,
                Labels(tuple(range(40)), tuple(map(tuple, boxes)), tuple(range(1, 41))),
                0,
                (720, 1280),
            )
        )
    settings = check_settings([(736, 1280), (640, 640)], ["yolov8", "ultralytics"], AssignerSettings(topk=10), 16)
    m = measure(files, settings)
    out = [check_row(s, t) for s, t in zip(settings, m.totals)]
    # numbers as wide as a COCO-sized run would print
    big = out[0]
    return out + [CheckRow(big.setting, 118287, 860001, 123456, {k: Count(860001, 123456) for k in big.by_size},
                           big.by_class, big.candidates_per_stride, 400000, 12345, 9999999, 100000, big.exposed)]


def test_tables_fit_80_columns_and_never_cut_a_value() -> None:
    names = {i: f"class-with-a-long-name-{i}" for i in range(40)}
    for table in (never_table(rows()), limits_table(rows()), class_table(rows()[:4], names)):
        console = Console(width=80, record=True, color_system=None)
        console.print(table)
        text = console.export_text()
        assert "…" not in text
        assert max(len(line) for line in text.splitlines()) <= 80
    console = Console(width=80, record=True, color_system=None)
    console.print(never_table(rows()))
    words = console.export_text().split()
    assert {"123456", "860001", "14.4%", "736x1280", "ultralytics"} <= set(words)  # wrapped between words only


def test_csv_rows_follow_the_columns() -> None:
    r = rows()
    columns = csv_columns(r)
    assert columns[-3:] == ["candidates_stride_8", "candidates_stride_16", "candidates_stride_32"]
    for values in csv_rows(r):
        assert len(values) == len(columns)
    first = dict(zip(columns, csv_rows(r)[0]))
    assert (first["imgsz_h"], first["imgsz_w"], first["variant"], first["small_box_floor"]) == (
        736,
        1280,
        "yolov8",
        "false",
    )
    assert first["gts"] == 120


def test_chart_draws_every_setting_and_class() -> None:
    image = check_chart(rows()[:4], {i: f"c{i}" for i in range(40)}, title="t", subtitle="s")
    assert image.mode == "RGB" and image.width > 1000 and image.height > 400
