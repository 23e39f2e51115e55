"""The ``tal`` command line: a thin layer over the library. The only module that prints.

Heavy modules (torch, the assigner, Pillow) are imported inside commands so that
``tal --help`` and ``tal --version`` answer at once.
"""

from __future__ import annotations

import functools
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__

EXIT_ERROR = 1


class Variant(str, Enum):
    yolov8 = "yolov8"
    ultralytics = "ultralytics"


class GtOrder(str, Enum):
    problems = "problems"
    index = "index"


ImageArg = Annotated[Path, typer.Argument(help="Image file (anything Pillow reads).", show_default=False)]
LabelsArg = Annotated[Path, typer.Argument(help="YOLO label file: 'class cx cy w h' rows, normalised.", show_default=False)]
PredsArg = Annotated[Path, typer.Argument(help="Saved head output (.pt), loaded with weights_only=True.", show_default=False)]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="Settings YAML (default: configs/default.yaml).", show_default=False)]
VariantOpt = Annotated[Optional[Variant], typer.Option(help="yolov8: YOLOv8-era releases; ultralytics: current releases (small-box floor).", show_default=False)]
TopkOpt = Annotated[Optional[int], typer.Option(help="K: anchors each gt selects.", min=1, show_default=False)]
AlphaOpt = Annotated[Optional[float], typer.Option(help="Exponent of the class score in the metric.", min=0, show_default=False)]
BetaOpt = Annotated[Optional[float], typer.Option(help="Exponent of the IoU in the metric.", min=0, show_default=False)]
ImgszOpt = Annotated[Optional[int], typer.Option(help="Network input size N (NxN).", min=32, show_default=False)]
NamesOpt = Annotated[Optional[Path], typer.Option(help="Dataset YAML with class 'names' (list or mapping).", show_default=False)]
GtOpt = Annotated[Optional[int], typer.Option("--gt", help="Show every candidate anchor of gt N.", min=0, show_default=False)]
OutOpt = Annotated[Optional[Path], typer.Option(help="Write overlay PNGs, one per stride, to this folder.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document (schema tal.assign/1) instead of tables.")]
SortOpt = Annotated[GtOrder, typer.Option(help="Row order: problems (no positives, lost anchors) first, or index.")]
LimitOpt = Annotated[Optional[int], typer.Option(help="Show at most N gt rows (0: all). Default: all up to 40 gts, else 25.", min=0, show_default=False)]

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    no_args_is_help=True,
    help="See how task-aligned assignment (TAL) turns ground-truth boxes into positive anchors, "
    "exactly as YOLOv8 / ultralytics training computes it.",
    epilog="\b\nExample:\n  tal assign samples/images/astronaut.png samples/labels/astronaut.txt samples/preds/astronaut.pt",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tal {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    pass


def _fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(EXIT_ERROR)


def reports_errors(func):
    """Turn library errors into one ``Error: ...`` line on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .errors import TalError

        try:
            return func(*args, **kwargs)
        except TalError as exc:
            _fail(str(exc))

    return wrapper


def _console(stderr: bool = False):
    from rich.console import Console

    tty = (sys.stderr if stderr else sys.stdout).isatty()
    return Console(stderr=stderr, width=None if tty else 200, highlight=False)


@app.command(
    epilog="\b\nExamples:\n"
    "  tal assign samples/images/astronaut.png samples/labels/astronaut.txt samples/preds/astronaut.pt\n"
    "  tal assign IMG LBL PREDS --variant ultralytics --topk 13 --gt 4\n"
    "  tal assign IMG LBL PREDS --json > assignment.json\n"
    "  tal assign IMG LBL PREDS --out overlays/",
)
@reports_errors
def assign(
    image: ImageArg,
    labels: LabelsArg,
    preds: PredsArg,
    config: ConfigOpt = None,
    variant: VariantOpt = None,
    topk: TopkOpt = None,
    alpha: AlphaOpt = None,
    beta: BetaOpt = None,
    imgsz: ImgszOpt = None,
    names: NamesOpt = None,
    gt: GtOpt = None,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    sort: SortOpt = GtOrder.problems,
    limit: LimitOpt = None,
) -> None:
    """Assign one image and explain every gt: candidates, top-k, conflicts, positives.

    IMAGE and LABELS are letterboxed to the network input exactly as training does; PREDS is
    the head output saved from your model for that image.
    """
    from .config import load_config, read_dataset_names
    from .losses import Gains, losses_from_heads
    from .report import build_report, candidate_rows, candidates_to_json, order_gt_rows, report_to_json
    from .scene import assign_scenes, load_scene

    cfg = load_config(config).override(variant=variant.value if variant else None, topk=topk, alpha=alpha, beta=beta, imgsz=imgsz)
    class_names = read_dataset_names(names) if names is not None else cfg.names
    scene = load_scene(image, labels, preds, cfg.imgsz, cfg.strides, cfg.reg_max)
    if gt is not None and gt >= scene.num_gts:
        _fail(f"--gt {gt}: {labels} has {scene.num_gts} gts (0..{scene.num_gts - 1})" if scene.num_gts
              else f"--gt {gt}: {labels} has no gts")
    assignment = assign_scenes([scene], cfg.assigner_settings(scene.head.num_classes))
    losses = losses_from_heads(assignment, [scene.head], Gains(**cfg.gains))
    report = build_report(scene, assignment, 0, class_names, losses)

    written = []
    if out is not None:
        written = _write_overlays(scene, assignment, class_names, out, [gt] if gt is not None else None)

    if as_json:
        doc = report_to_json(report)
        if gt is not None:
            doc["candidates"] = {"gt": gt, "rows": candidates_to_json(candidate_rows(scene, assignment, gt, losses=losses))}
        if out is not None:
            doc["overlays"] = [str(p) for p in written]
        typer.echo(json.dumps(doc, indent=1))
        return

    from .tables import candidate_table, gt_table, summary_text

    console = _console()
    console.print(summary_text(report))
    if gt is not None:
        console.print(gt_table([report.gts[gt]], report.strides, report=report))
        console.print(candidate_table(candidate_rows(scene, assignment, gt, losses=losses), report.gts[gt]))
    elif not report.gts:
        console.print("No gts: a background image; every anchor is background.")
    else:
        rows = order_gt_rows(report.gts, sort.value)
        shown = limit if limit is not None else (0 if len(rows) <= 40 else 25)
        if shown:
            rows = rows[:shown]
        console.print(gt_table(rows, report.strides, report=report))
        if len(rows) < len(report.gts):
            console.print(f"{len(report.gts) - len(rows)} more gts not shown (sorted {sort.value} first); "
                          "--limit 0 shows all, --json lists every gt.")
    for path in written:
        console.print(f"wrote {path}")


def _write_overlays(scene, assignment, class_names, out: Path, gts) -> list[Path]:
    from .errors import InputFileError
    from .images import letterbox_image, load_image
    from .render import OverlayRenderer

    image = letterbox_image(load_image(scene.image), scene.letterbox)
    pictures = OverlayRenderer().render(image, assignment, scene.head.levels, class_names, image_index=0, gts=gts)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(f"{out}: cannot create output folder ({exc.strerror})") from None
    written = []
    for stride, picture in pictures.items():
        path = out / f"{scene.image.stem}_stride{stride}.png"
        try:
            picture.save(path, compress_level=3)
        except OSError as exc:
            raise InputFileError(f"{path}: cannot write ({exc.strerror})") from None
        written.append(path)
    return written


def main() -> None:
    app()


if __name__ == "__main__":
    main()
