"""The training monitor's files as data: the ``tal.train/1`` JSON document, the CSV rows and the chart.

Builds and parses plain objects only: :func:`record_files` gives the contents of a run's
``epochs.csv`` / ``epochs.json`` / ``epochs.png`` (:func:`tal_cli.writers.files.write_files`
writes them), :func:`train_record` reads the JSON back (as
:func:`tal_cli.readers.train_record.read_record_json` loads it). One record per (epoch,
branch), in the order they were recorded.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path

from ..analysis.counts import Count
from ..analysis.reasons import REASONS
from ..analysis.sweep import PerGt
from ..analysis.training import BUCKETS, EpochRecord, ImageStat, RerunStats, RunInfo, TrainRecord
from ..core.errors import InputFileError
from ..core.settings import AssignerSettings
from ..readers.paths import display_path
from ..readers.train_record import CHART_NAME, CSV_NAME, JSON_NAME

SCHEMA = "tal.train/1"

#: ``epochs.csv`` columns: one row per epoch and branch (by-class counts and worst images are in the JSON only).
CSV_COLUMNS: tuple[str, ...] = (
    "epoch", "branch", "batches", "images", "gts", "gts_without_positives", "zero_positive_rate", "positives",
    "positives_per_gt_mean", "positives_per_gt_median", "positives_per_gt_max", "contested", "handed",
    "target_score_mean", "target_score_sum",
    *(col for name, _ in BUCKETS for col in (f"gts_{name}", f"without_{name}")),
    "rerun_batches", "rerun_gts", "rerun_without_positives", *(f"reason_{r}" for r in REASONS),
    "rerun_differing_anchors", "rerun_tied_candidates", "rerun_unexplained_anchors",
)


def _round(x: float | None, nd: int = 6) -> float | None:
    return None if x is None else round(x, nd)


def _size_json(s: Count) -> dict[str, object]:
    return {"gts": s.gts, "without_positives": s.zero, "rate": _round(s.rate)}


def record_to_json(r: EpochRecord) -> dict[str, object]:
    """One entry of the document's ``epochs`` list (rates and means included for readers)."""
    per = r.positives_per_gt
    return {
        "epoch": r.epoch, "branch": r.branch, "batches": r.batches, "images": r.images, "gts": r.gts,
        "gts_without_positives": r.gts_without_positives, "zero_positive_rate": _round(r.zero_positive_rate),
        "positives": r.positives,
        "positives_per_gt": {"mean": _round(per.mean), "median": per.median, "max": per.max},
        "contested": r.contested, "handed": r.handed,
        "target_score_sum": _round(r.target_score_sum), "target_score_mean": _round(r.target_score_mean),
        "by_size": {name: _size_json(s) for name, s in r.by_size.items()},
        "by_class": {str(c): _size_json(s) for c, s in r.by_class.items()},
        "rerun": None if r.rerun is None else asdict(r.rerun),
        "worst_images": [asdict(w) for w in r.worst_images],
    }


def _size(d: dict) -> Count:
    return Count(int(d["gts"]), int(d["without_positives"]))


def _opt_int(x: object) -> int | None:
    return None if x is None else int(x)


def record_from_json(d: dict) -> EpochRecord:
    """The inverse of :func:`record_to_json`.

    Raises:
        KeyError, TypeError, ValueError: a malformed entry (the caller names the file).
    """
    per = d["positives_per_gt"]
    rerun = d.get("rerun")
    if rerun is not None:
        rerun = RerunStats(**{f.name: rerun[f.name] for f in fields(RerunStats)})
        if set(rerun.reasons) != set(REASONS):
            raise ValueError(f"rerun.reasons: expected {', '.join(REASONS)}")
    return EpochRecord(
        epoch=int(d["epoch"]), branch=str(d["branch"]), batches=int(d["batches"]), images=int(d["images"]),
        gts=int(d["gts"]), gts_without_positives=int(d["gts_without_positives"]), positives=int(d["positives"]),
        positives_per_gt=PerGt(per["mean"], per["median"], per["max"]),
        contested=_opt_int(d["contested"]), handed=_opt_int(d["handed"]),
        target_score_sum=float(d["target_score_sum"]),
        by_size={name: _size(d["by_size"][name]) for name, _ in BUCKETS},
        by_class={int(c): _size(s) for c, s in d["by_class"].items()},
        rerun=rerun, worst_images=tuple(ImageStat(str(w["file"]), int(w["gts"]), int(w["without_positives"]))
                                        for w in d["worst_images"]))


def settings_json(s: AssignerSettings | None) -> dict[str, object] | None:
    """A branch's settings as written (None: the branch is counted, not re-run)."""
    if s is None:
        return None
    return {"variant": s.variant, "topk": s.topk, "topk2": s.topk2, "alpha": s.alpha, "beta": s.beta, "eps": s.eps,
            "num_classes": s.num_classes, "strides": list(s.strides), "small_box_floor": s.uses_floor,
            "iou": s.iou, "conflict": s.conflict}


def settings_from_json(d: dict | None) -> AssignerSettings | None:
    if d is None:
        return None
    return AssignerSettings(topk=int(d["topk"]), num_classes=int(d["num_classes"]), alpha=float(d["alpha"]),
                            beta=float(d["beta"]), eps=float(d["eps"]), variant=str(d["variant"]),
                            strides=tuple(int(s) for s in d["strides"]), topk2=_opt_int(d["topk2"]),
                            iou=str(d["iou"]), conflict=str(d["conflict"]), small_box_floor=bool(d["small_box_floor"]))


def run_to_json(run: RunInfo) -> dict[str, object]:
    return {"save_dir": run.save_dir, "model": run.model, "data": run.data, "imgsz": run.imgsz, "epochs": run.epochs,
            "batch": run.batch, "world_size": run.world_size, "every": run.every,
            "names": {str(k): v for k, v in run.names.items()}, "versions": dict(run.versions)}


def document(run: RunInfo, records: Sequence[EpochRecord]) -> dict[str, object]:
    """The whole ``epochs.json``."""
    return {"schema": SCHEMA, "run": run_to_json(run),
            "branches": {name: settings_json(s) for name, s in run.branches.items()},
            "epochs": [record_to_json(r) for r in records]}


def document_from_json(doc: dict) -> tuple[RunInfo, list[EpochRecord]]:
    """The inverse of :func:`document`.

    Raises:
        ValueError: another schema; KeyError, TypeError, ValueError: a malformed document.
    """
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"not a tal training record (schema {found!r}, expected {SCHEMA!r})")
    r = doc["run"]
    run = RunInfo(save_dir=str(r["save_dir"]), model=str(r["model"]), data=str(r["data"]), imgsz=r["imgsz"],
                  epochs=int(r["epochs"]), batch=int(r["batch"]), world_size=int(r["world_size"]),
                  every=int(r["every"]),
                  names={int(k): str(v) for k, v in r["names"].items()},
                  branches={str(k): settings_from_json(v) for k, v in doc["branches"].items()},
                  versions={str(k): str(v) for k, v in r["versions"].items()})
    return run, [record_from_json(e) for e in doc["epochs"]]


def _cell(x: object) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def csv_rows(records: Sequence[EpochRecord]) -> list[list[str]]:
    """The ``epochs.csv`` rows under :data:`CSV_COLUMNS` (empty cells: not known)."""
    rows = []
    for r in records:
        per, re = r.positives_per_gt, r.rerun
        values = {
            "epoch": r.epoch, "branch": r.branch, "batches": r.batches, "images": r.images, "gts": r.gts,
            "gts_without_positives": r.gts_without_positives, "zero_positive_rate": r.zero_positive_rate,
            "positives": r.positives, "positives_per_gt_mean": per.mean, "positives_per_gt_median": per.median,
            "positives_per_gt_max": per.max, "contested": r.contested, "handed": r.handed,
            "target_score_mean": r.target_score_mean, "target_score_sum": r.target_score_sum,
        }
        for name, _ in BUCKETS:
            values[f"gts_{name}"] = r.by_size[name].gts
            values[f"without_{name}"] = r.by_size[name].zero
        if re is not None:
            values.update({"rerun_batches": re.batches, "rerun_gts": re.gts,
                           "rerun_without_positives": re.without_positives,
                           **{f"reason_{k}": v for k, v in re.reasons.items()},
                           "rerun_differing_anchors": re.differing_anchors,
                           "rerun_tied_candidates": re.tied_candidates,
                           "rerun_unexplained_anchors": re.unexplained_anchors})
        rows.append([_cell(values.get(c)) for c in CSV_COLUMNS])
    return rows


def train_record(file: Path, doc: object) -> TrainRecord:
    """The record in ``doc``, the JSON of ``file`` (:func:`~tal_cli.readers.train_record.read_record_json`).

    Raises:
        InputFileError: another schema, or malformed (naming the file).
    """
    try:
        run, records = document_from_json(doc)
    except KeyError as exc:
        raise InputFileError(f"{file}: malformed training record (missing {exc})") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputFileError(f"{file}: malformed training record ({exc})") from None
    return TrainRecord(file, run, tuple(records))


def csv_text(records: Sequence[EpochRecord]) -> str:
    """The whole ``epochs.csv``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(records))
    return buf.getvalue()


def run_subtitle(run: RunInfo) -> str:
    """``"yolov8n.yaml on data.yaml, imgsz 320, batch 16, ultralytics 8.4.190"``."""
    parts = [f"{Path(run.model).name} on {Path(run.data).name}", f"imgsz {run.imgsz}", f"batch {run.batch}"]
    if run.world_size > 1:
        parts.append(f"{run.world_size} processes")
    parts.append(f"ultralytics {run.versions.get('ultralytics', '?')}")
    return ", ".join(parts)


def record_chart(run: RunInfo, records: Sequence[EpochRecord]):
    """The record's chart (a PIL image), titled with the run's folder and :func:`run_subtitle`."""
    from .train_chart import train_chart

    return train_chart(records, title=f"tal train: {display_path(Path(run.save_dir))}", subtitle=run_subtitle(run))


def record_files(run: RunInfo, records: Sequence[EpochRecord], chart: bool = True) -> dict[str, object]:
    """A run's record as files: name -> content (``epochs.csv`` and ``epochs.json`` text; with
    ``chart`` and records, the ``epochs.png`` image), for :func:`tal_cli.writers.files.write_files`."""
    files: dict[str, object] = {CSV_NAME: csv_text(records),
                                JSON_NAME: json.dumps(document(run, records), indent=1) + "\n"}
    if chart and records:
        files[CHART_NAME] = record_chart(run, records)
    return files
