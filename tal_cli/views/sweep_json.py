"""The ``tal.sweep/1`` JSON document and the CSV rows of ``tal sweep``, from ``SweepRow`` records.

Builds plain data only; the command writes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..analysis.counts import SIZE_BINS, SIZE_BUCKETS
from ..analysis.sweep import SweepRow, rounded

SCHEMA = "tal.sweep/1"

def row_to_json(row: SweepRow, names: dict[int, str] | None = None, by_class: bool = False) -> dict[str, object]:
    """One entry of the ``tal.sweep/1`` document's ``settings`` list."""
    s = row.settings
    d: dict[str, object] = {
        "topk": row.topk, "alpha": row.alpha, "beta": row.beta, "variant": row.variant,
        "small_box_floor": s.uses_floor,
        "images": row.images, "skipped": row.skipped, "gts": row.gts, "positives": row.positives,
        "positives_per_gt": {"mean": rounded(row.positives_per_gt.mean), "median": row.positives_per_gt.median,
                             "max": row.positives_per_gt.max},
        "gts_without_positives": row.gts_without_positives, "zero_positive_rate": rounded(row.zero_positive_rate),
        "by_size": {name: {"gts": v.gts, "without_positives": v.zero, "rate": rounded(v.rate)}
                    for name, v in row.by_size.items()},
        "contested_anchors": row.contested_anchors, "handed_anchors": row.handed_anchors,
        "mean_iou": rounded(row.mean_iou), "mean_target_score": rounded(row.mean_target_score),
        "target_scores_sum": rounded(row.target_scores_sum), "jaccard_vs_first": rounded(row.jaccard_vs_first),
    }
    if by_class:
        names = names or {}
        d["by_class"] = [
            {
                "class_id": c.class_id,
                "class_name": names.get(c.class_id, str(c.class_id)),
                "gts": c.gts,
                "positives": c.positives,
                "gts_without_positives": c.gts_without_positives,
                "positives_per_gt": rounded(c.positives_per_gt),
                "zero_positive_rate": rounded(c.zero_positive_rate),
                "mean_iou": rounded(c.mean_iou),
                "mean_target_score": rounded(c.mean_target_score),
            }
            for c in row.by_class.values()
        ]
    if row.losses is not None:
        d["losses"] = row.losses
    return d


def sweep_to_json(rows: Sequence[SweepRow], *, source: str, fixed: dict[str, object], skipped: Sequence = (),
                  names: dict[int, str] | None = None, by_class: bool = False) -> dict[str, object]:
    """The ``tal.sweep/1`` document.

    Args:
        source: what was swept, in words.
        fixed: the settings every row shares (eps, iou, conflict, imgsz, ...).
        skipped: :class:`~tal_cli.readers.sources.Skipped` records (image, reason).
    """
    return {"schema": SCHEMA, "source": source, "fixed": fixed,
            "size_bins_px2": {"small": [0, SIZE_BINS[0][1]], "medium": [SIZE_BINS[0][1], SIZE_BINS[1][1]],
                              "large": [SIZE_BINS[1][1], None]},
            "settings": [row_to_json(r, names, by_class) for r in rows],
            "skipped": [{"image": str(s.image), "reason": s.reason, "kind": s.kind} for s in skipped]}


CSV_COLUMNS = (
    "topk", "alpha", "beta", "variant", "small_box_floor", "images", "skipped", "gts", "positives",
    "positives_per_gt_mean", "positives_per_gt_median", "positives_per_gt_max", "gts_without_positives",
    "zero_positive_rate",
    *(f"{name}_{what}" for name in SIZE_BUCKETS for what in ("gts", "without_positives", "rate")),
    "contested_anchors", "handed_anchors", "mean_iou", "mean_target_score", "target_scores_sum", "jaccard_vs_first",
    "loss_box", "loss_cls", "loss_dfl", "loss_l1",
)


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_rows(rows: Sequence[SweepRow]) -> list[list[object]]:
    """The JSON rows flattened to :data:`CSV_COLUMNS` (None becomes an empty cell, booleans true/false)."""
    out = []
    for row in rows:
        d = row_to_json(row)
        flat = dict(d)
        for k in ("mean", "median", "max"):
            flat[f"positives_per_gt_{k}"] = d["positives_per_gt"][k]
        for name, v in d["by_size"].items():
            for what in ("gts", "without_positives", "rate"):
                flat[f"{name}_{what}"] = v[what]
        losses = row.losses or {}
        for what in ("box", "cls", "dfl", "l1"):  # one of dfl / l1 is empty: the JSON's key names the term
            flat[f"loss_{what}"] = losses.get(what)
        out.append([_csv_cell(flat[c]) for c in CSV_COLUMNS])
    return out
