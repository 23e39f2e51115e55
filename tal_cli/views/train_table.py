"""``tal train-report`` as rich tables and lines. Builds objects only; the command prints them.

Every table fits 80 columns: one row per epoch, a few columns each; a run with two branches
gets the tables once per branch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.table import Table
from rich.text import Text

from ..analysis.counts import Count
from ..analysis.reasons import REASONS
from ..analysis.training import BUCKETS, EpochRecord, RunInfo
from ..core.settings import AssignerSettings
from ..readers.paths import display_path

#: Column heads of the size buckets.
BUCKET_HEADS = {"small": "small", "medium": "medium", "large": "large", "lt16px": "<16 px", "lt8px": "<8 px"}


def _pct(stats: Count) -> str:
    return "-" if not stats.gts else f"{100 * stats.zero / stats.gts:.1f}%"


def _f(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def _n(x: int | None) -> str:
    return "-" if x is None else str(x)


def epoch_summary(r: EpochRecord) -> str:
    """One line: ``"epoch 3 one2many: 79/332 gts without positives (23.8%), 2.41 positives per gt"``."""
    rate = "" if r.zero_positive_rate is None else f" ({100 * r.zero_positive_rate:.1f}%)"
    per = r.positives_per_gt.mean
    return (f"epoch {r.epoch} {r.branch}: {r.gts_without_positives}/{r.gts} gts without positives{rate}"
            + ("" if per is None else f", {per:.2f} positives per gt"))


def settings_text(branch: str, s: AssignerSettings | None) -> str:
    """``"one2many: topk 10, alpha 0.5, beta 6, variant ultralytics (small-box floor 16 px)"``."""
    if s is None:
        return f"{branch}: not a plain task-aligned assigner; counted, not re-run"
    floor = f" (small-box floor {s.floor_side:g} px)" if s.uses_floor else ""
    topk2 = f", topk2 {s.topk2}" if s.topk2 is not None else ""
    classes = f"{s.num_classes} class{'es' if s.num_classes != 1 else ''}"
    return (f"{branch}: topk {s.topk}{topk2}, alpha {s.alpha:g}, beta {s.beta:g}, {classes}, "
            f"variant {s.variant}{floor}")


def header_lines(run: RunInfo, record_path: str, shown: int, total: int,
                 branches: Sequence[str] | None = None) -> list[Text]:
    """The lines above the tables: the run, the settings of each branch shown (default: all), what is shown."""
    every = ("every batch" if run.every == 1 else f"every {run.every} batches") if run.every else "never"
    procs = f", {run.world_size} processes" if run.world_size > 1 else ""
    lines = [
        Text(f"{record_path}: {Path(run.model).name} on {run.data}, imgsz {run.imgsz}, batch {run.batch}{procs}, "
             f"ultralytics {run.versions.get('ultralytics', '?')}", style="bold"),
        *(Text(settings_text(b, s)) for b, s in run.branches.items() if branches is None or b in branches),
        Text(f"{total} epoch{'s' if total != 1 else ''} recorded of {run.epochs} planned"
             + (f", the last {shown} shown" if shown < total else "") + f"; tal re-run {every}."),
    ]
    return lines


def zero_table(records: Sequence[EpochRecord], branch: str) -> Table:
    """Gts without positives per epoch: all of them, then by size (network-input px after augmentation)."""
    table = Table(title=f"{branch}: gts without positives", title_justify="left", header_style="bold")
    for name in ("epoch", "gts", "all", *(BUCKET_HEADS[n] for n, _ in BUCKETS)):
        table.add_column(name, justify="right", overflow="fold")
    for r in records:
        table.add_row(str(r.epoch), str(r.gts), _pct(Count(r.gts, r.gts_without_positives)),
                      *(_pct(r.by_size[n]) for n, _ in BUCKETS),
                      style="red" if r.gts_without_positives else None)
    return table


def positives_table(records: Sequence[EpochRecord], branch: str) -> Table:
    """Positives, positives per gt, conflicts and target scores per epoch."""
    table = Table(title=f"{branch}: positives (per gt: mean, median, max)", title_justify="left",
                  header_style="bold")
    for name in ("epoch", "positives", "mean", "median", "max", "contested", "handed", "mean\ntarget"):
        table.add_column(name, justify="right", overflow="fold")
    for r in records:
        per = r.positives_per_gt
        table.add_row(str(r.epoch), str(r.positives), _f(per.mean, ".2f"), _f(per.median, "g"), _n(per.max),
                      _n(r.contested), _n(r.handed), _f(r.target_score_mean, ".3g"))
    return table


def rerun_table(records: Sequence[EpochRecord], branch: str) -> Table | None:
    """``tal``'s re-run per epoch: why gts got no positive, and the agreement (None if never re-run)."""
    rows = [r for r in records if r.rerun is not None]
    if not rows:
        return None
    table = Table(title=f"{branch}: why no positive (tal's re-run)", title_justify="left", header_style="bold")
    heads = {"no_candidate": "no\ncandidate", "zero_metric": "zero\nmetric", "conflict": "lost\nconflict",
             "topk2": "topk2"}
    for name in ("epoch", "no\npos", *(heads[k] for k in REASONS), "differ\nanchors", "unex-\nplained"):
        table.add_column(name, justify="right", overflow="fold")
    for r in rows:
        rr = r.rerun
        table.add_row(str(r.epoch), str(rr.without_positives), *(str(rr.reasons[k]) for k in REASONS),
                      str(rr.differing_anchors), str(rr.unexplained_anchors),
                      style="red" if rr.unexplained_anchors else None)
    return table


def worst_table(record: EpochRecord, limit: int) -> Table:
    """The worst images of one epoch and branch."""
    title = f"{record.branch}, epoch {record.epoch}: worst images"
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("image", justify="left", overflow="fold")
    for name in ("gts", "no pos", "share"):
        table.add_column(name, justify="right", overflow="fold")
    for w in record.worst_images[:limit]:
        table.add_row(str(display_path(Path(w.file))), str(w.gts), str(w.without_positives),
                      _pct(Count(w.gts, w.without_positives)))
    return table


def class_table(record: EpochRecord, names: Mapping[int, str]) -> Table:
    """Gts without positives per class, one epoch and branch (``--by-class``)."""
    table = Table(title=f"{record.branch}, epoch {record.epoch}: by class", title_justify="left", header_style="bold")
    table.add_column("class", justify="left", overflow="fold")
    for name in ("gts", "no pos", "share"):
        table.add_column(name, justify="right", overflow="fold")
    for c, s in sorted(record.by_class.items()):
        table.add_row(f"{c} {names[c]}" if c in names else str(c), str(s.gts), str(s.zero), _pct(s),
                      style="red" if s.zero else None)
    return table
