"""``tal assign`` as a library call: one image, its labels and its head output, explained.

:func:`assign_image` does everything between parsing options and printing: it loads the
config, applies the flags and the head preset, reads the scene, assigns, computes the losses,
builds the report and checks the gates. :func:`write_overlays` renders and saves the PNGs;
:func:`write_assign_outputs` writes them and the page that :class:`AssignOutputs` asks for.
A script calls these without Typer::

    from tal_cli.workflows.assign import assign_image
    result = assign_image("img.jpg", "img.txt", "img.pt", variant="ultralytics", topk=13)
    result.report.summary.gts_without_positives
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..analysis.gates import Gate, GateResult, check, outcome_of_gts
from ..core.assignment import Assignment
from ..core.errors import InputFileError, TalError
from ..core.losses import Gains, Losses, losses_from_heads
from ..core.settings import HEAD_PRESETS
from ..readers.config import Config, load_config, read_names_yaml
from ..readers.preds import PredsMeta
from ..readers.scene import Scene, assign_scenes, load_scene
from ..views.report import CandidateRow, Report, build_report, candidate_rows


@dataclass(frozen=True)
class AssignResult:
    """Everything ``tal assign`` shows, computed.

    Attributes:
        config: the settings used: config file, then the head's preset, then the flags.
        scene: the image's gts and head output in network pixels.
        assignment: every stage of the assignment (B = 1).
        losses: the losses of that assignment.
        report: per-gt and per-positive rows.
        class_names: class id -> name (``--names``, else the PREDS metadata, else the user's
            config; empty: class ids are shown).
        gate_results: each gate checked on this image.
        candidates: ``--gt N``'s candidate rows, else None.
        notes: remarks worth a warning (duplicate label rows ultralytics removes, ...).
    """

    config: Config
    scene: Scene
    assignment: Assignment
    losses: Losses
    report: Report
    class_names: dict[int, str]
    gate_results: tuple[GateResult, ...]
    candidates: tuple[CandidateRow, ...] | None = None
    notes: tuple[str, ...] = ()


def class_names(given: Mapping[int, str] | None, source_names: Mapping[int, str] | None,
                meta: PredsMeta | None, cfg: Config) -> dict[int, str]:
    """Class names of the user's data: ``--names`` (already read), else the source's (its dataset YAML), else
    the PREDS file's, else the user's config's; empty (class ids are shown) when none gives them."""
    if given is not None:
        return dict(given)
    if source_names is not None:
        return dict(source_names)
    if meta is not None and meta.names:
        return dict(meta.names)
    return dict(cfg.names)


def assign_image(image: str | Path, labels: str | Path, preds: str | Path | None = None, *,
                 config: str | Path | None = None, variant: str | None = None, topk: int | None = None,
                 alpha: float | None = None, beta: float | None = None, imgsz: int | None = None,
                 head: str | None = None, names: str | Path | None = None, gt: int | None = None,
                 gates: Sequence[Gate] = (), model: str | Path | None = None, device: str = "cpu",
                 seed: int = 0) -> AssignResult:
    """Assign one image as training would and explain it.

    Args:
        image, labels, preds: the image, its YOLO label file and its saved head output.
        model: instead of ``preds``, an ultralytics model (weights you trust, or a model YAML
            with ``seed``) run on the image on ``device``, exactly as ``tal export`` runs it.
        config: settings YAML (None: ``configs/default.yaml``).
        variant, topk, alpha, beta, imgsz: flags over the config and the head preset (None: not given).
        head: ``"one2many"`` or ``"one2one"`` branch of an end-to-end output (None: the default).
        names: a dataset YAML with class names (and ``kpt_shape`` for pose data).
        gt: also list every candidate of this gt slot.
        gates: CI gates to check (:func:`~tal_cli.analysis.gates.parse_gates`).

    Raises:
        DroppedImageError: ultralytics' loader would leave the image out of training (a bad
            label row, a bad image); the message names the file, the line and the reason.
        TalError: other bad input (files, settings, ``gt`` out of range); the message is one line.
    """
    if (preds is None) == (model is None):
        raise TalError("give PREDS or --model MODEL (the model makes the predictions), not both" if preds is not None
                       else "give PREDS (the saved head output) or --model MODEL")
    image, labels = Path(image), Path(labels)
    base = load_config(config)
    flags = dict(variant=variant, topk=topk, alpha=alpha, beta=beta, imgsz=imgsz)
    cfg = base.override(**flags)
    given, kpt_shape = read_names_yaml(Path(names)) if names is not None else (None, None)
    if model is not None:
        scene = _model_scene(image, labels, model, cfg, head, kpt_shape, given, device, seed)
    else:
        scene = load_scene(image, labels, Path(preds), cfg.imgsz, cfg.strides, cfg.reg_max, head, kpt_shape=kpt_shape,
                           explicit=True, imgsz_flag=imgsz)
    cfg = base.override(**HEAD_PRESETS[scene.head.head]).override(**flags)
    names_of = class_names(given, None, scene.head.meta, cfg)
    if gt is not None and gt >= scene.num_gts:
        raise TalError(f"--gt {gt}: {labels} has {scene.num_gts} gts (0..{scene.num_gts - 1})" if scene.num_gts
                       else f"--gt {gt}: {labels} has no gts")
    assignment = assign_scenes([scene], cfg.assigner_settings(scene.head.num_classes))
    losses = losses_from_heads(assignment, [scene.head], Gains(**cfg.gains))
    report = build_report(scene, assignment, 0, names_of, losses)
    results = tuple(check(gates, outcome_of_gts(report.gts), str(image)))
    candidates = tuple(candidate_rows(scene, assignment, gt, losses=losses)) if gt is not None else None
    return AssignResult(cfg, scene, assignment, losses, report, names_of, results, candidates, scene.notes)


def _model_scene(image: Path, labels: Path, model: str | Path, cfg: Config, head: str | None,
                 kpt_shape: tuple[int, int] | None, names: dict[int, str] | None, device: str, seed: int) -> Scene:
    """The scene of one image whose head output the model computes now (batch 1, as ``tal export``)."""
    from ..readers.images import image_size
    from ..readers.labels import read_text
    from ..readers.sources import Item, Source
    from ..ultralytics.stream import model_scenes, prepare_model_run

    image_size(image)  # a missing or unreadable image or label file is said before the model loads
    if not labels.is_file():
        read_text(labels)
    source = Source("triple", str(image), (Item(image, labels, None),), strict=True)
    run = prepare_model_run(model, source, cfg.imgsz, what="tal assign --model", head=head, device=device, seed=seed,
                            batch=1)
    return next(model_scenes(source.items, run.model, cfg.imgsz, 1, head=head, names=names, kpt_shape=kpt_shape,
                             strict=True))


def write_overlays(result: AssignResult, out: str | Path, gts: Sequence[int] | None = None) -> list[Path]:
    """Render the overlay of every stride and save ``OUT/<image stem>_stride<s>.png``.

    Args:
        gts: draw only these gt slots (None: all).

    Returns:
        the files written, finest stride first.

    Raises:
        InputFileError: the folder cannot be created or a file cannot be written.
    """
    from ..readers.images import letterbox_image, load_image
    from ..views.overlay import OverlayRenderer
    from ..writers.files import check_folder, save_image

    scene, out = result.scene, Path(out)
    image = letterbox_image(load_image(scene.image), scene.letterbox)
    pictures = OverlayRenderer().render(image, result.assignment, scene.head.levels, result.class_names,
                                        image_index=0, gts=gts)
    check_folder(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(f"{out}: cannot create output folder ({exc.strerror})") from None
    return [save_image(out / f"{scene.image.stem}_stride{stride}.png", picture, compress_level=3)
            for stride, picture in pictures.items()]


@dataclass(frozen=True)
class AssignOutputs:
    """The files ``tal assign`` writes besides its tables; None: not written.

    Attributes:
        out: folder of the overlay PNGs (:func:`write_overlays`).
        html: the page (:func:`~tal_cli.workflows.html.write_assign_html`).
        gt: the gt slot asked for (``--gt``): the only one drawn, and selected when the page opens.
    """

    out: Path | None = None
    html: Path | None = None
    gt: int | None = None


def write_assign_outputs(outputs: AssignOutputs, result: AssignResult,
                         inputs: Mapping[str, str | Path | None]) -> list[Path]:
    """Write the overlays, then the page, that ``outputs`` asks for; returns their paths.

    Args:
        inputs: what the page's header lists (see :func:`~tal_cli.workflows.html.write_assign_html`).

    Raises:
        InputFileError: a folder or file cannot be written.
    """
    written = []
    if outputs.out is not None:
        written = write_overlays(result, outputs.out, [outputs.gt] if outputs.gt is not None else None)
    if outputs.html is not None:
        from .html import write_assign_html

        written.append(write_assign_html(result, outputs.html, inputs, outputs.gt))
    return written
