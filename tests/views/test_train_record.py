"""The training record as data (``tal.train/1`` JSON, CSV rows) and as a chart."""

from __future__ import annotations

import json

import pytest

from tal_cli.analysis.counts import Count
from tal_cli.analysis.reasons import REASONS
from tal_cli.analysis.sweep import PerGt
from tal_cli.analysis.training import BUCKETS, EpochRecord, ImageStat, RerunStats, RunInfo
from tal_cli.core.settings import AssignerSettings
from tal_cli.views.train_chart import RATE_COLOURS, _epoch_ticks, train_chart
from tal_cli.views.train_record import (
    CSV_COLUMNS,
    SCHEMA,
    csv_rows,
    document,
    document_from_json,
    record_from_json,
    record_to_json,
)

SETTINGS = AssignerSettings(topk=10, num_classes=2, alpha=0.5, beta=6.0, variant="ultralytics", small_box_floor=True)
ONE2ONE = AssignerSettings(topk=7, topk2=1, num_classes=2, alpha=0.5, beta=6.0, variant="ultralytics",
                           small_box_floor=True)


def make_run(branches=("one2many",), **changes) -> RunInfo:
    fields = dict(save_dir="runs/detect/train", model="yolov8n.yaml", data="data.yaml", imgsz=320, epochs=5, batch=16,
                  world_size=1, every=1, names={0: "cat", 1: "dog"},
                  branches={b: (SETTINGS if b == "one2many" else ONE2ONE) for b in branches},
                  versions={"ultralytics": "8.4.190", "torch": "2.14.1", "tal": "0.2.0"})
    fields.update(changes)
    return RunInfo(**fields)


def make_record(epoch: int, branch: str = "one2many", rerun: bool = True, gts: int = 40) -> EpochRecord:
    """A made-up epoch whose numbers move with the epoch (fewer gts without positives later)."""
    zero = max(0, 12 - 3 * epoch)
    sizes = {"small": (20, zero), "medium": (15, 0), "large": (5, 0), "lt16px": (12, zero), "lt8px": (6, min(zero, 6))}
    return EpochRecord(
        epoch=epoch, branch=branch, batches=3, images=48, gts=gts, gts_without_positives=zero,
        positives=gts * 2 + epoch, positives_per_gt=PerGt((gts * 2 + epoch) / gts, 2.0, 7), contested=5 + epoch,
        handed=epoch % 2, target_score_sum=12.5 + epoch,
        by_size={name: Count(*sizes[name]) for name, _ in BUCKETS},
        by_class={0: Count(25, zero), 1: Count(15, 0)},
        rerun=RerunStats(3, gts, zero, {"no_candidate": 0, "zero_metric": zero, "conflict": 0, "topk2": 0}, 2, 30, 0)
        if rerun else None,
        worst_images=(ImageStat("images/a.jpg", 9, min(zero, 4)), ImageStat("images/b.jpg", 3, 1)))


def test_record_round_trip() -> None:
    for rec in (make_record(1), make_record(2, "one2one", rerun=False)):
        doc = json.loads(json.dumps(record_to_json(rec)))
        assert record_from_json(doc) == rec
    d = record_to_json(make_record(1))
    assert (d["zero_positive_rate"], d["target_score_mean"]) == (round(9 / 40, 6), round(13.5 / 81, 6))
    assert d["by_size"]["lt8px"] == {"gts": 6, "without_positives": 6, "rate": 1.0}
    assert set(d["rerun"]["reasons"]) == set(REASONS)


def test_document_round_trip() -> None:
    run = make_run(("one2many", "one2one"))
    records = [make_record(e, b) for e in (1, 2) for b in ("one2many", "one2one")]
    doc = json.loads(json.dumps(document(run, records)))
    assert doc["schema"] == SCHEMA and [e["epoch"] for e in doc["epochs"]] == [1, 1, 2, 2]
    assert doc["branches"]["one2one"]["topk2"] == 1
    assert document_from_json(doc) == (run, records)


@pytest.mark.parametrize("change,message", [
    (lambda d: d.update(schema="tal.sweep/1"), "not a tal training record (schema 'tal.sweep/1'"),
    (lambda d: d["epochs"][0].pop("gts"), "'gts'"),
    (lambda d: d["epochs"][0]["rerun"]["reasons"].pop("topk2"), "rerun.reasons"),
    (lambda d: d["run"].update(epochs="many"), "invalid literal"),
])
def test_malformed_documents(change, message) -> None:
    doc = json.loads(json.dumps(document(make_run(), [make_record(1)])))
    change(doc)
    with pytest.raises((KeyError, ValueError, TypeError)) as info:
        document_from_json(doc)
    assert message in str(info.value)


def test_csv_rows() -> None:
    rows = csv_rows([make_record(1), make_record(2, rerun=False)])
    assert len(CSV_COLUMNS) == len(set(CSV_COLUMNS)) and all(len(r) == len(CSV_COLUMNS) for r in rows)
    first = dict(zip(CSV_COLUMNS, rows[0]))
    assert first["epoch"] == "1" and first["branch"] == "one2many" and first["gts"] == "40"
    assert first["gts_without_positives"] == "9" and first["zero_positive_rate"] == "0.225"
    assert first["positives"] == "81" and first["contested"] == "6" and first["handed"] == "1"
    assert (first["gts_lt8px"], first["without_lt8px"]) == ("6", "6")
    assert first["reason_zero_metric"] == "9" and first["rerun_unexplained_anchors"] == "0"
    second = dict(zip(CSV_COLUMNS, rows[1]))
    assert second["rerun_batches"] == "" and second["reason_conflict"] == ""
    nothing = EpochRecord(1, "one2many", 0, 0, 0, 0, 0, PerGt(None, None, None), None, None, 0.0,
                          {n: Count(0, 0) for n, _ in BUCKETS}, {})
    unknown = dict(zip(CSV_COLUMNS, csv_rows([nothing])[0]))
    assert unknown["contested"] == "" and unknown["zero_positive_rate"] == "" and unknown["positives_per_gt_mean"] == ""


@pytest.mark.parametrize("first,last,expected", [
    (1, 1, [1]), (1, 3, [1, 2, 3]), (1, 10, list(range(1, 11))), (1, 30, [1, 5, 10, 15, 20, 25, 30]),
    (3, 12, [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), (1, 300, [1, 50, 100, 150, 200, 250, 300]),
])
def test_epoch_ticks(first, last, expected) -> None:
    assert _epoch_ticks(first, last) == expected


def _colours(img) -> set:
    return {c for _, c in img.getcolors(maxcolors=1 << 20)}


def test_chart_draws_every_line() -> None:
    records = [make_record(e, b) for e in range(1, 6) for b in ("one2many", "one2one")]
    one = train_chart([r for r in records if r.branch == "one2many"])
    two = train_chart(records, title="t", subtitle="s")
    assert two.width == one.width and two.height > one.height + 200
    colours = _colours(two)
    for name in ("all", "small", "lt16px", "lt8px"):
        assert RATE_COLOURS[name] in colours, name


def test_chart_of_one_epoch_and_of_no_gts() -> None:
    img = train_chart([make_record(1)])
    assert img.mode == "RGB" and img.width > 1000
    empty = EpochRecord(1, "one2many", 1, 16, 0, 0, 0, PerGt(None, None, None), 0, 0, 0.0,
                        {n: Count(0, 0) for n, _ in BUCKETS}, {})
    img = train_chart([empty])
    assert RATE_COLOURS["all"] not in _colours(img)
