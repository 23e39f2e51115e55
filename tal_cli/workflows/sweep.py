"""``tal sweep`` as library calls: plan (settings and source), run (assign every image under
every setting), and write the CSV, the chart and the page (:class:`SweepOutputs`).

A script calls these without Typer::

    from tal_cli.workflows.sweep import plan_sweep, run_sweep
    plan = plan_sweep(["data/"], topk=[5, 10, 13])
    result = run_sweep(plan)
    [(row.topk, row.zero_positive_rate) for row in result.rows]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..analysis.gates import Gate, GateResult, check, outcome_of_row
from ..analysis.sweep import LossTotals, SweepRow, SweepSetting, settings_grid, sweep
from ..core.assignment import Assignment
from ..core.errors import TalError
from ..core.losses import Gains
from ..core.settings import HEAD_PRESETS, AssignerSettings
from ..readers.config import Config, load_config, read_names_yaml
from ..readers.paths import display_path
from ..readers.scene import Scene
from ..readers.sources import DROPPED, Skipped, Source, iter_scenes, resolve_source
from ..writers.files import atomic_write, check_writable, save_image
from .assign import class_names


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will do, known before any image is read.

    Attributes:
        config: the config with the head preset and ``--imgsz`` applied.
        points: the varying values of each setting, in row order.
        settings: the assigner settings of each point.
        source: the images, and those already known to be skipped.
        head: the branch of end-to-end outputs to inspect (None: the default).
        names: class names from ``--names`` (None: not given).
        kpt_shape: ``(K, D)`` from ``--names`` or the dataset YAML (pose data), else None.
        imgsz: the ``--imgsz`` flag (None: not given).
        outputs: files the sweep will write (checked up front).
    """

    config: Config
    points: tuple[SweepSetting, ...]
    settings: tuple[AssignerSettings, ...]
    source: Source
    head: str | None = None
    names: dict[int, str] | None = None
    imgsz: int | None = None
    outputs: tuple[Path, ...] = ()
    kpt_shape: tuple[int, int] | None = None
    model_run: object | None = None


@dataclass(frozen=True)
class InputSize:
    """One network input the swept PREDS files were made at.

    Attributes:
        imgsz: ``(height, width)`` px; strides, reg_max: of the head.
        images: how many images were assigned at it.
        from_meta: the files say so (their metadata), else the config's values were assumed.
    """

    imgsz: tuple[int, int]
    strides: tuple[int, ...]
    reg_max: int
    images: int
    from_meta: bool

    def text(self) -> str:
        return (f"{self.imgsz[0]}x{self.imgsz[1]} (strides {'/'.join(map(str, self.strides))}, reg_max "
                f"{self.reg_max}; {self.images} image{'s' if self.images != 1 else ''}, "
                f"{'from the PREDS metadata' if self.from_meta else 'the config, no PREDS metadata'})")


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep.

    Attributes:
        plan: what was asked.
        config: the settings every row shares; input size, strides and reg_max are the PREDS
            files' own when they carry metadata.
        rows: one per setting, with their losses.
        skipped: every image left out, and why (``kind`` ``"dropped"``: ultralytics' loader
            drops it; ``"skipped"``: no or unreadable predictions).
        class_names: class id -> name.
        gate_results: each gate checked on each setting.
        notes: remarks for a warning line (e.g. an ``--imgsz`` the files overrule).
        inputs: the input sizes the images were assigned at (several when the files disagree).
    """

    plan: SweepPlan
    config: Config
    rows: tuple[SweepRow, ...]
    skipped: tuple[Skipped, ...]
    class_names: dict[int, str]
    gate_results: tuple[GateResult, ...]
    notes: tuple[str, ...] = ()
    inputs: tuple[InputSize, ...] = ()

    @property
    def description(self) -> str:
        return self.plan.source.description

    @property
    def dropped(self) -> int:
        """Images ultralytics' loader drops (left out of the sweep as out of training)."""
        return sum(1 for s in self.skipped if s.kind == DROPPED)


def plan_sweep(source: Sequence[str | Path] = (), *, config: str | Path | None = None,
               topk: Sequence[int] = (), alpha: Sequence[float] = (), beta: Sequence[float] = (),
               variant: Sequence[str] = (), preds: str | Path | None = None, split: str = "val",
               imgsz: int | None = None, names: str | Path | None = None, head: str | None = None,
               outputs: Sequence[str | Path | None] = (), model: str | Path | None = None, device: str = "cpu",
               seed: int = 0, batch: int | None = None, save_preds: str | Path | None = None) -> SweepPlan:
    """Resolve the settings grid and the source; check that ``outputs`` can be written; load ``model``.

    Args:
        source: nothing (the config's samples), a dataset folder, a dataset YAML, or IMAGE LABELS
            PREDS (IMAGE LABELS with ``model``).
        topk, alpha, beta, variant: values to sweep (empty: the config's).
        preds: the folder of ``<stem>.pt`` files for a dataset YAML (or instead of a folder's preds/).
        outputs: files to be written after the sweep (None entries are ignored).
        model: an ultralytics model (weights you trust, or a model YAML) that makes the
            predictions instead of PREDS files; ``device``, ``seed``, ``batch`` and
            ``save_preds`` (a folder to keep the PREDS files in, as ``tal export`` writes them)
            go with it (:func:`~tal_cli.ultralytics.stream.prepare_model_run`).

    Raises:
        TalError: bad settings, an unwritable output, a source that cannot be read, or a model
            that does not fit the source.
    """
    cfg = load_config(config).override(**HEAD_PRESETS[head or "one2many"]).override(imgsz=imgsz)
    points = tuple(settings_grid(list(topk) or [cfg.topk], list(alpha) or [cfg.alpha], list(beta) or [cfg.beta],
                                 list(variant) or [cfg.variant]))
    settings = tuple(cfg.override(topk=p.topk, alpha=p.alpha, beta=p.beta, variant=p.variant).assigner_settings(1)
                     for p in points)
    samples = cfg.samples or (load_config(None).samples if config is not None else ())
    written = tuple(Path(p) for p in outputs if p is not None)
    for out_path in written:  # fail before the work, not after it
        check_writable(out_path, picture=out_path.suffix.lower() != ".csv")
    src = resolve_source([Path(p) for p in source], samples, display_path(cfg.source),
                         Path(preds) if preds is not None else None, split, need_preds=model is None)
    given_names, kpt_shape = read_names_yaml(Path(names)) if names is not None else (None, None)
    model_run = None
    if model is not None:
        from ..ultralytics.stream import prepare_model_run

        model_run = prepare_model_run(model, src, cfg.imgsz, what="tal sweep --model", head=head, device=device,
                                      seed=seed, batch=batch, save_preds=save_preds)
    elif save_preds is not None or batch is not None:
        raise TalError(f"{'--save-preds' if save_preds is not None else '--batch'} goes with --model MODEL")
    return SweepPlan(cfg, points, settings, src, head, given_names, imgsz, written, kpt_shape or src.kpt_shape,
                     model_run)


def run_sweep(plan: SweepPlan, gates: Sequence[Gate] = (), *, on_skip: Callable[[Skipped], None] | None = None,
              on_batch: Callable[[int], None] | None = None,
              on_note: Callable[[str], None] | None = None,
              on_assignment: Callable[[int, Assignment, Sequence[Scene]], None] | None = None) -> SweepResult:
    """Read every image once, assign it under every setting, total the rows and their losses.

    Args:
        gates: CI gates, checked on every setting.
        on_skip: called with each image left out while reading (dropped by ultralytics' loader,
            or unreadable PREDS).
        on_batch: called with the number of images after each batch (a progress bar).
        on_note: called with each remark about an image (duplicate label rows removed, ...).
        on_assignment: also called with ``(setting index, assignment, batch scenes)`` for every
            batch and setting (e.g. :class:`~tal_cli.analysis.gt_status.GtCounts` for ``--html``).

    Raises:
        TalError: no image could be assigned.
    """
    cfg, src = plan.config, plan.source
    skipped = list(src.skipped)
    sizes: dict[tuple, list[int]] = {}
    metas = []

    def skip(item: Skipped) -> None:
        skipped.append(item)
        if on_skip is not None:
            on_skip(item)

    def noting(scenes):
        for scene in scenes:
            head = scene.head
            key = (head.imgsz, head.strides, head.reg_max, head.meta is not None)
            sizes.setdefault(key, [0])[0] += 1
            if not metas and head.meta is not None:
                metas.append(head.meta)
            if on_note is not None:
                for note in scene.notes:
                    on_note(note)
            yield scene

    if plan.model_run is not None:
        from ..ultralytics.stream import model_scenes

        run = plan.model_run
        produced = model_scenes(src.items, run.model, cfg.imgsz, run.batch, head=plan.head,
                                names=plan.names or src.names, num_classes=src.num_classes, kpt_shape=plan.kpt_shape,
                                on_skip=skip, strict=src.strict, save_preds=run.save_preds, workers=run.workers)
    else:
        produced = iter_scenes(src.items, cfg.imgsz, cfg.strides, cfg.reg_max, skip, strict=src.strict,
                               head=plan.head, num_classes=src.num_classes, kpt_shape=plan.kpt_shape,
                               imgsz_flag=plan.imgsz)
    scenes = noting(produced)
    loss_totals = LossTotals(len(plan.settings), Gains(**cfg.gains))

    def per_assignment(k: int, assignment: Assignment, batch: Sequence[Scene]) -> None:
        loss_totals(k, assignment, batch)
        if on_assignment is not None:
            on_assignment(k, assignment, batch)

    rows = sweep(scenes, plan.settings, plan.points, skipped=lambda: len(skipped), on_batch=on_batch,
                 on_assignment=per_assignment)
    rows = loss_totals.attach(rows)
    if rows[0].images == 0:
        first = f"; first: {skipped[0].text}" if skipped else ""
        raise TalError(f"no image to assign in {src.description}: {len(skipped)} left out{first}")
    inputs = tuple(InputSize(k[0], k[1], k[2], n[0], k[3]) for k, n in sizes.items())
    notes = list(_input_notes(inputs))
    if metas:  # the files' own input size, strides and reg_max (the first file's, if they differ)
        cfg = replace(cfg, imgsz=metas[0].imgsz, strides=metas[0].strides, reg_max=metas[0].reg_max)
    names_of = class_names(plan.names, src.names, metas[0] if metas else None, cfg)
    results = tuple(r for row in rows for r in check(
        gates, outcome_of_row(row), f"setting topk {row.topk} alpha {row.alpha:g} beta {row.beta:g} {row.variant}"))
    return SweepResult(plan, cfg, tuple(rows), tuple(skipped), names_of, results, tuple(notes), inputs)


def _input_notes(inputs: Sequence[InputSize]) -> list[str]:
    """Warnings when the files were not all made at one input size, or some carry no metadata."""
    if len(inputs) <= 1:
        return []
    notes = [f"the PREDS files were made at {len(inputs)} different inputs; each image is assigned at its own: "
             + "; ".join(i.text() for i in inputs)]
    guessed = [i for i in inputs if not i.from_meta]
    if guessed and len(guessed) < len(inputs):
        n = sum(i.images for i in guessed)
        notes.append(f"{n} PREDS file{'s have' if n != 1 else ' has'} no metadata among files that have it: read at "
                     "the config's input size, strides and reg_max, which may not be what they were made at")
    return notes


def fixed_settings(result: SweepResult) -> dict[str, object]:
    """The settings every row shares, for the JSON document's ``fixed``."""
    cfg = result.config
    label = display_path(cfg.source)
    mixed = len(result.inputs) > 1
    return {"eps": cfg.eps, "topk2": cfg.topk2, "iou": cfg.iou, "conflict": cfg.conflict,
            "small_box_floor": cfg.small_box_floor, "imgsz": None if mixed else list(cfg.imgsz),
            "strides": None if mixed else list(cfg.strides), "reg_max": None if mixed else cfg.reg_max,
            "head": result.plan.head, "config": str(label) if cfg.source else None,
            "model": result.plan.model_run.model.source if result.plan.model_run is not None else None,
            "inputs": [{"imgsz": list(i.imgsz), "strides": list(i.strides), "reg_max": i.reg_max, "images": i.images,
                        "from": "meta" if i.from_meta else "config"} for i in result.inputs]}


def write_sweep_csv(path: str | Path, rows: Sequence[SweepRow]) -> Path:
    """Write the rows as CSV (:data:`~tal_cli.views.sweep_json.CSV_COLUMNS`).

    Raises:
        InputFileError: the file cannot be written.
    """
    import csv

    from ..views.sweep_json import CSV_COLUMNS, csv_rows

    path = Path(path)
    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_rows(rows))
    return path


def write_sweep_plot(path: str | Path, result: SweepResult) -> Path:
    """Write the chart of positives per gt and gts without positives (PNG, or JPEG / WebP by suffix).

    Raises:
        InputFileError: the file cannot be written, or its suffix is not a picture's.
    """
    from ..views.plot import sweep_chart

    path, cfg, r0 = Path(path), result.config, result.rows[0]
    subtitle = (f"{result.description}: {r0.images} assigned, {r0.gts} gts; input {cfg.imgsz[0]}x{cfg.imgsz[1]}, "
                f"iou {cfg.iou}, conflict {cfg.conflict}")
    image = sweep_chart(result.rows, title="tal sweep: positives per gt and gts without positives", subtitle=subtitle)
    return save_image(path, image)


@dataclass(frozen=True)
class SweepOutputs:
    """The files ``tal sweep`` writes besides its tables; None: not written.

    Attributes:
        csv: the rows as CSV (:func:`write_sweep_csv`).
        plot: the chart (:func:`write_sweep_plot`).
        html: the page (:func:`~tal_cli.workflows.html.write_sweep_html`); it needs the counts of
            :meth:`gt_counts` fed by :func:`run_sweep`'s ``on_assignment`` hook.
        html_images: images in the page's drill-down.
    """

    csv: Path | None = None
    plot: Path | None = None
    html: Path | None = None
    html_images: int = 50

    def gt_counts(self, plan: SweepPlan):
        """The ``on_assignment`` hook the page needs (a :class:`~tal_cli.analysis.gt_status.GtCounts`), else None."""
        if self.html is None:
            return None
        from ..analysis.gt_status import GtCounts

        return GtCounts(len(plan.settings))


def write_sweep_outputs(outputs: SweepOutputs, result: SweepResult, counts=None) -> list[Path]:
    """Write the CSV, the chart and the page that ``outputs`` asks for, in that order; returns their paths.

    Args:
        counts: :meth:`SweepOutputs.gt_counts` after the run (needed for the page).

    Raises:
        InputFileError: a file cannot be written.
    """
    written = []
    if outputs.csv is not None:
        written.append(write_sweep_csv(outputs.csv, result.rows))
    if outputs.plot is not None:
        written.append(write_sweep_plot(outputs.plot, result))
    if outputs.html is not None:
        from .html import write_sweep_html

        written.append(write_sweep_html(outputs.html, result, counts, outputs.html_images))
    return written
