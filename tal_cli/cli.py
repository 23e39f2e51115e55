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


class Head(str, Enum):
    one2many = "one2many"
    one2one = "one2one"


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
HeadOpt = Annotated[Optional[Head], typer.Option(
    help="Branch of an end-to-end head (YOLO26, YOLOv10): one2many, or one2one with its own preset "
         "(topk 7, topk2 1, variant ultralytics; flags still win). Default: one2many, or the file's only branch.",
    show_default=False)]
ImgszOpt = Annotated[Optional[int], typer.Option(help="Network input size N (NxN).", min=32, show_default=False)]
NamesOpt = Annotated[Optional[Path], typer.Option(help="Dataset YAML with class 'names' (list or mapping).", show_default=False)]
GtOpt = Annotated[Optional[int], typer.Option("--gt", help="Show every candidate anchor of gt N.", min=0, show_default=False)]
OutOpt = Annotated[Optional[Path], typer.Option(help="Write overlay PNGs, one per stride, to this folder.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document (schema tal.assign/1) instead of tables.")]
SortOpt = Annotated[GtOrder, typer.Option(help="Row order: problems (no positives, lost anchors) first, or index.")]
MaxZeroOpt = Annotated[Optional[list[str]], typer.Option(
    "--max-zero-positive-rate", metavar="[BUCKET=]RATE",
    help="CI gate: fail (exit 3) when more than RATE (0..1) of the gts get no positive; BUCKET small, "
         "medium or large limits it to that COCO size. Repeatable.", show_default=False)]
MinPosOpt = Annotated[Optional[list[str]], typer.Option(
    "--min-positives-per-gt", metavar="N",
    help="CI gate: fail (exit 3) when the mean number of positives per gt is below N.", show_default=False)]
LimitOpt = Annotated[Optional[int], typer.Option(help="Show at most N gt rows (0: all). Default: all up to 40 gts, else 25.", min=0, show_default=False)]
# tal sweep: list options take several values (--topk 5 10 13, --topk 5 --topk 10, --topk 5,10).
SourceArg = Annotated[Optional[list[Path]], typer.Argument(help="Nothing (the config's samples), a folder with images/ labels/ preds/, a dataset YAML (with --preds), or IMAGE LABELS PREDS.", show_default=False)]
TopkListOpt = Annotated[Optional[list[str]], typer.Option("--topk", metavar="K...", help="Values of K to sweep (integers >= 1). Default: the config's.", show_default=False)]
AlphaListOpt = Annotated[Optional[list[str]], typer.Option("--alpha", metavar="A...", help="Values of alpha to sweep (>= 0). Default: the config's.", show_default=False)]
BetaListOpt = Annotated[Optional[list[str]], typer.Option("--beta", metavar="B...", help="Values of beta to sweep (>= 0). Default: the config's.", show_default=False)]
VariantListOpt = Annotated[Optional[list[str]], typer.Option("--variant", metavar="V...", help="Variants to sweep: yolov8, ultralytics. Default: the config's.", show_default=False)]
PredsDirOpt = Annotated[Optional[Path], typer.Option("--preds", help="Folder of <image stem>.pt predictions (dataset YAML; replaces a folder's preds/).", show_default=False)]
SplitOpt = Annotated[str, typer.Option("--split", help="Split of a dataset YAML (train, val, test).")]
SweepJsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document (schema tal.sweep/1) instead of tables.")]
CsvOpt = Annotated[Optional[Path], typer.Option("--csv", help="Also write the rows to this CSV file.", show_default=False)]
PlotOpt = Annotated[Optional[Path], typer.Option("--plot", help="Also write a PNG chart of positives per gt and gts without positives.", show_default=False)]
ByClassOpt = Annotated[bool, typer.Option("--by-class", help="Add a table per class (and by_class to the JSON rows).")]

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


def _display_path(path: Path | None) -> Path | None:
    """``path`` relative to the working folder when it lies below it (stable, short output)."""
    if path is None:
        return None
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(EXIT_ERROR)


def _gates(max_zero_positive_rate, min_positives_per_gt):
    """Parse the gate options up front; a bad value is a usage error (exit 2)."""
    from .errors import ConfigError
    from .gates import parse_gates

    try:
        return parse_gates(max_zero_positive_rate or (), min_positives_per_gt or ())
    except ConfigError as exc:
        _usage_error(str(exc))


def _gates_json(results) -> list[dict[str, object]]:
    return [{"gate": r.gate.text, "subject": r.subject, "value": r.value, "limit": r.gate.limit, "passed": r.passed}
            for r in results]


def _emit_json(doc: dict, gates, results) -> None:
    """Print the one JSON document (with its ``gates`` list when gates were given), then enforce them."""
    if gates:
        doc["gates"] = _gates_json(results)
    typer.echo(json.dumps(doc, indent=1))
    _enforce_gates(results)


def _enforce_gates(results) -> None:
    """After the full result is out: name each violated gate on stderr and exit with EXIT_GATE."""
    from .gates import EXIT_GATE

    failed = [r for r in results if not r.passed]
    for r in failed:
        typer.echo(f"Gate failed: {r.message()}", err=True)
    if failed:
        raise typer.Exit(EXIT_GATE)


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


class _ProgressBar:
    """A transient rich progress bar on ``console`` when ``show``, else nothing; the same calls either way."""

    def __init__(self, console, label: str, total: int, show: bool) -> None:
        self._bar = self._task = None
        if show:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                 console=console, transient=True)
            self._task = self._bar.add_task(label, total=total)

    def __enter__(self) -> "_ProgressBar":
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)


def _console(stderr: bool = False, width: int = 200):
    """A rich console; ``width`` columns when not a terminal (so piped output is stable)."""
    from rich.console import Console

    tty = (sys.stderr if stderr else sys.stdout).isatty()
    return Console(stderr=stderr, width=None if tty else width, highlight=False)


@app.command(
    epilog="\b\nExit codes: 0 done, 1 bad input, 2 bad usage, 3 a CI gate was violated.\n\n\b\nExamples:\n"
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
    head: HeadOpt = None,
    max_zero_positive_rate: MaxZeroOpt = None,
    min_positives_per_gt: MinPosOpt = None,
) -> None:
    """Assign one image and explain every gt: candidates, top-k, conflicts, positives.

    IMAGE and LABELS are letterboxed to the network input exactly as training does; PREDS is
    the head output saved from your model for that image (tal export writes it). A PREDS file
    that records its input size, strides and reg_max (tal export's do) is read with those.
    """
    from .config import load_config, read_dataset_names
    from .losses import Gains, losses_from_heads
    from .report import build_report, candidate_rows, candidates_to_json, order_gt_rows, report_to_json
    from .scene import assign_scenes, load_scene

    from .gates import check, outcome_of_gts

    from .settings import HEAD_PRESETS

    gates = _gates(max_zero_positive_rate, min_positives_per_gt)
    base = load_config(config)
    flags = dict(variant=variant.value if variant else None, topk=topk, alpha=alpha, beta=beta, imgsz=imgsz)
    cfg = base.override(**flags)
    scene = load_scene(image, labels, preds, cfg.imgsz, cfg.strides, cfg.reg_max, head.value if head else None)
    if imgsz is not None and scene.head.meta is not None and scene.head.imgsz != cfg.imgsz:
        _fail(f"--imgsz {imgsz}: {preds} was made at input {scene.head.imgsz[0]}x{scene.head.imgsz[1]} "
              "(its metadata says); drop --imgsz or export again at that size")
    cfg = base.override(**HEAD_PRESETS[scene.head.head]).override(**flags)
    class_names = _class_names(read_dataset_names(names) if names is not None else None, None, scene.head.meta, cfg)
    if gt is not None and gt >= scene.num_gts:
        _fail(f"--gt {gt}: {labels} has {scene.num_gts} gts (0..{scene.num_gts - 1})" if scene.num_gts
              else f"--gt {gt}: {labels} has no gts")
    assignment = assign_scenes([scene], cfg.assigner_settings(scene.head.num_classes))
    losses = losses_from_heads(assignment, [scene.head], Gains(**cfg.gains))
    report = build_report(scene, assignment, 0, class_names, losses)
    gate_results = check(gates, outcome_of_gts(report.gts), str(image))

    written = []
    if out is not None:
        written = _write_overlays(scene, assignment, class_names, out, [gt] if gt is not None else None)

    if as_json:
        doc = report_to_json(report)
        if gt is not None:
            doc["candidates"] = {"gt": gt, "rows": candidates_to_json(candidate_rows(scene, assignment, gt, losses=losses))}
        if out is not None:
            doc["overlays"] = [str(p) for p in written]
        _emit_json(doc, gates, gate_results)
        return

    from .tables import candidate_table, gt_table, summary_text

    console = _console()
    console.print(summary_text(report))
    if gt is not None:
        console.print(gt_table([report.gts[gt]], report.strides, report=report))
        console.print(candidate_table(candidate_rows(scene, assignment, gt, losses=losses), report.gts[gt],
                                      report.losses.third if report.losses else "dfl"))
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
    _enforce_gates(gate_results)


def _class_names(given: dict[int, str] | None, source_names, meta, cfg) -> dict[int, str]:
    """Class names: --names (already read), else the source's dataset YAML, else the PREDS file's, else the config's."""
    if given is not None:
        return given
    if source_names is not None:
        return source_names
    if meta is not None and meta.names:
        return meta.names
    return cfg.names


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


# --- tal sweep -------------------------------------------------------------------------------

#: List options of ``tal sweep`` and what their extra values look like.
_LIST_OPTIONS = {"--topk": "number", "--alpha": "number", "--beta": "number", "--variant": "variant"}
_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"


def _list_value(kind: str, token: str) -> bool:
    """Whether ``token`` is one more value of a list option (a number, a variant, or a comma list of them)."""
    import re

    parts = token.split(",")
    if kind == "number":
        return all(re.fullmatch(_NUMBER, p) for p in parts)
    return all(p in (v.value for v in Variant) for p in parts)


def expand_list_options(args: list[str]) -> list[str]:
    """``--topk 5 10 13`` -> ``--topk 5 --topk 10 --topk 13`` (click gives an option one value).

    After a list option's first value, following tokens that look like values of that option
    (numbers; for ``--variant`` its names) are taken as more values; anything else (a SOURCE
    path, another option, ``--``) ends the list.
    """
    out, i = [], 0
    while i < len(args):
        token = args[i]
        if token == "--":
            out.extend(args[i:])
            break
        name, eq, _ = token.partition("=")
        if name not in _LIST_OPTIONS:
            out.append(token)
            i += 1
            continue
        take = 1 if eq else 2  # the option and its first value, as click reads them
        out.extend(args[i:i + take])
        i += take
        while i < len(args) and _list_value(_LIST_OPTIONS[name], args[i]):
            out.extend((name, args[i]))
            i += 1
    return out


class _ListOptionsCommand(typer.core.TyperCommand):
    """A command whose list options also accept space-separated values (``--topk 5 10 13``)."""

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, expand_list_options(list(args)))


def _usage_error(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(2)


def _list_values(option: str, raw: Optional[list[str]], convert, ok, expected: str) -> list:
    """Values of a list option (comma lists split); a bad one is a one-line usage error."""
    values = []
    for item in raw or []:
        for part in item.split(","):
            try:
                value = convert(part.strip())
            except ValueError:
                value = None
            if value is None or not ok(value):
                _usage_error(f"{option}: expected {expected}, got {part.strip()!r}")
            values.append(value)
    return values


@app.command(
    cls=_ListOptionsCommand,
    epilog="\b\nExit codes: 0 done, 1 bad input, 2 bad usage, 3 a CI gate was violated.\n\n\b\nExamples:\n"
    "  tal sweep --topk 5 10 13\n"
    "  tal sweep data/ --alpha 0.5 1 --beta 4 6 --plot sweep.png --csv sweep.csv\n"
    "  tal sweep data.yaml --preds preds/ --split val --variant yolov8 ultralytics --by-class\n"
    "  tal sweep IMG LBL PREDS --topk 5 10 13 --json > sweep.json",
)
@reports_errors
def sweep(
    source: SourceArg = None,
    topk: TopkListOpt = None,
    alpha: AlphaListOpt = None,
    beta: BetaListOpt = None,
    variant: VariantListOpt = None,
    config: ConfigOpt = None,
    preds: PredsDirOpt = None,
    split: SplitOpt = "val",
    imgsz: ImgszOpt = None,
    names: NamesOpt = None,
    as_json: SweepJsonOpt = False,
    csv_path: CsvOpt = None,
    plot: PlotOpt = None,
    by_class: ByClassOpt = False,
    head: HeadOpt = None,
    max_zero_positive_rate: MaxZeroOpt = None,
    min_positives_per_gt: MinPosOpt = None,
) -> None:
    """Assign many images under several settings: one row of totals per setting.

    Settings are the cartesian product of --topk, --alpha, --beta and --variant (lists not
    given come from the config). Each image is read once for all settings. SOURCE: nothing
    (the config's samples), a folder holding images/, labels/ and preds/<stem>.pt, a dataset
    YAML with --preds DIR, or IMAGE LABELS PREDS. An image without a label file is background;
    one without predictions, or with unreadable files, is skipped and listed.
    """
    import math
    from dataclasses import replace

    from rich.text import Text

    from .config import load_config, read_dataset_names
    from .sources import iter_scenes, plural, resolve_source
    from .sweep import settings_grid, sweep_to_json
    from .losses import Gains
    from .sweep import LossTotals
    from .sweep import sweep as run_sweep

    from .gates import check, outcome_of_row

    from .settings import HEAD_PRESETS

    gates = _gates(max_zero_positive_rate, min_positives_per_gt)
    cfg = load_config(config).override(**HEAD_PRESETS[head.value if head else "one2many"]).override(imgsz=imgsz)
    points = settings_grid(
        _list_values("--topk", topk, int, lambda v: v >= 1, "integers >= 1") or [cfg.topk],
        _list_values("--alpha", alpha, float, lambda v: math.isfinite(v) and v >= 0, "numbers >= 0") or [cfg.alpha],
        _list_values("--beta", beta, float, lambda v: math.isfinite(v) and v >= 0, "numbers >= 0") or [cfg.beta],
        _list_values("--variant", variant, str, lambda v: v in (x.value for x in Variant), "yolov8 or ultralytics")
        or [cfg.variant])
    settings = [cfg.override(topk=p.topk, alpha=p.alpha, beta=p.beta, variant=p.variant).assigner_settings(1)
                for p in points]
    samples = cfg.samples or (load_config(None).samples if config is not None else ())
    for out_path in (csv_path, plot):  # fail before the work, not after it
        if out_path is not None and not out_path.parent.is_dir():
            _fail(f"{out_path}: cannot write (folder {out_path.parent} not found)")
    if len(source or []) not in (0, 1, 3):
        _usage_error(f"SOURCE: expected nothing, one folder or dataset YAML, or IMAGE LABELS PREDS; got {len(source)} paths")
    src = resolve_source(list(source or []), samples, _display_path(cfg.source), preds, split)
    given_names = read_dataset_names(names) if names is not None else None  # a bad --names fails before the work

    err = _console(stderr=True)
    skipped = list(src.skipped)
    for note in src.notes:
        err.print(f"Warning: {note}", markup=False, highlight=False, soft_wrap=True)
    progress = _ProgressBar(err, f"sweeping {len(points)} settings", len(src.items),
                            show=len(src.items) > 8 and sys.stderr.isatty())

    def on_skip(item) -> None:
        skipped.append(item)
        err.print(f"Warning: skipped {item.text}", markup=False, highlight=False, soft_wrap=True)
        progress.advance()

    with progress:
        metas = []

        def noting_meta(scenes):
            for scene in scenes:
                if not metas and scene.head.meta is not None:
                    metas.append(scene.head.meta)
                yield scene

        scenes = noting_meta(iter_scenes(src.items, cfg.imgsz, cfg.strides, cfg.reg_max, on_skip, strict=src.strict,
                                         head=head.value if head else None))
        loss_totals = LossTotals(len(settings), Gains(**cfg.gains))
        rows = run_sweep(scenes, settings, points, skipped=lambda: len(skipped), on_batch=progress.advance,
                         on_assignment=loss_totals)
        rows = loss_totals.attach(rows)
    if rows[0].images == 0:
        first = f"; first: {skipped[0].text}" if skipped else ""
        _fail(f"no image to assign in {src.description}: {len(skipped)} skipped{first}")
    if metas:  # the files' own input size, strides and reg_max (the first file's, if they differ)
        if imgsz is not None and metas[0].imgsz != cfg.imgsz:
            err.print(f"Warning: --imgsz {imgsz} ignored: the PREDS files say they were made at "
                      f"{metas[0].imgsz[0]}x{metas[0].imgsz[1]}", markup=False, highlight=False, soft_wrap=True)
        cfg = replace(cfg, imgsz=metas[0].imgsz, strides=metas[0].strides, reg_max=metas[0].reg_max)
    class_names = _class_names(given_names, src.names, metas[0] if metas else None, cfg)

    written = []
    if csv_path is not None:
        written.append(_write_sweep_csv(csv_path, rows))
    if plot is not None:
        written.append(_write_sweep_plot(plot, rows, src.description, cfg))

    gate_results = [r for row in rows for r in check(
        gates, outcome_of_row(row), f"setting topk {row.topk} alpha {row.alpha:g} beta {row.beta:g} {row.variant}")]
    if as_json:
        fixed = {"eps": cfg.eps, "topk2": cfg.topk2, "iou": cfg.iou, "conflict": cfg.conflict,
                 "small_box_floor": cfg.small_box_floor, "imgsz": list(cfg.imgsz), "strides": list(cfg.strides),
                 "reg_max": cfg.reg_max, "head": head.value if head else None, "config": str(_display_path(cfg.source)) if cfg.source else None}
        doc = sweep_to_json(rows, source=src.description, fixed=fixed, skipped=skipped, names=class_names,
                            by_class=by_class)
        if written:
            doc["written"] = [str(p) for p in written]
        _emit_json(doc, gates, gate_results)
        return

    from .tables import sweep_class_table, sweep_table

    console = _console(width=240)

    def say(text) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    r0 = rows[0]
    lists = " x ".join(f"{name} {'/'.join(vals)}" for name, vals in (
        ("topk", [str(v) for v in dict.fromkeys(p.topk for p in points)]),
        ("alpha", [f"{v:g}" for v in dict.fromkeys(p.alpha for p in points)]),
        ("beta", [f"{v:g}" for v in dict.fromkeys(p.beta for p in points)]),
        ("variant", list(dict.fromkeys(p.variant for p in points)))))
    say(Text(f"{src.description}: {plural(r0.images, 'image')} assigned, {len(skipped)} skipped, "
             f"{plural(r0.gts, 'gt')}", style="bold"))
    say(f"input {cfg.imgsz[0]}x{cfg.imgsz[1]}, strides {'/'.join(map(str, cfg.strides))}; every setting: iou {cfg.iou}, "
        f"conflict {cfg.conflict}, eps {cfg.eps:g}" + (f", topk2 {cfg.topk2}" if cfg.topk2 is not None else "")
        + (f", small-box floor forced {'on' if cfg.small_box_floor else 'off'}" if cfg.small_box_floor is not None else "")
        + (f", head {head.value}" if head else "")
        + (f" (config {_display_path(cfg.source)})" if cfg.source else ""))
    say(f"{len(rows)} settings: {lists}. small/medium/large: gts of that size (letterboxed area < 32², < 96², "
        "larger) without positives; Jaccard: overlap of the positive (image, anchor, gt) set with the first row's.")
    console.print(sweep_table(rows))
    if by_class:
        for class_id in sorted({c for r in rows for c in r.by_class}):
            console.print(sweep_class_table(rows, class_id, class_names.get(class_id, str(class_id))))
    if skipped:
        say(f"{plural(len(skipped), 'image')} skipped:")
        for item in skipped[:10]:
            say(f"  {item.text}")
        if len(skipped) > 10:
            say(f"  ... {len(skipped) - 10} more; --json lists every one.")
    for path in written:
        say(f"wrote {path}")
    _enforce_gates(gate_results)


def _write_sweep_csv(path: Path, rows) -> Path:
    import csv

    from .errors import InputFileError
    from .sweep import CSV_COLUMNS, csv_rows

    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(CSV_COLUMNS)
            writer.writerows(csv_rows(rows))
    except OSError as exc:
        raise InputFileError(f"{path}: cannot write ({exc.strerror})") from None
    return path


def _write_sweep_plot(path: Path, rows, description: str, cfg) -> Path:
    from .errors import InputFileError
    from .plot import sweep_chart

    r0 = rows[0]
    subtitle = (f"{description}: {r0.images} assigned, {r0.gts} gts; input {cfg.imgsz[0]}x{cfg.imgsz[1]}, "
                f"iou {cfg.iou}, conflict {cfg.conflict}")
    image = sweep_chart(rows, title="tal sweep: positives per gt and gts without positives", subtitle=subtitle)
    try:
        image.save(path, format="PNG")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path


# --- tal export ------------------------------------------------------------------------------

ModelArg = Annotated[str, typer.Argument(
    help="Ultralytics weights (.pt; ultralytics unpickles it, so only files you trust) or a model YAML "
         "(random weights from --seed: a path, or a name such as yolov8n.yaml, yolo26n.yaml).", show_default=False)]
ExportSourceArg = Annotated[Path, typer.Argument(
    help="An image, a folder of images (a dataset folder's images/), or a dataset YAML (see --split).",
    show_default=False)]
ExportOutOpt = Annotated[Optional[Path], typer.Option(
    "--out", "-o", help="Folder for the <stem>.pt files. Default for a dataset folder with images/: its preds/.",
    show_default=False)]
ExportHeadOpt = Annotated[Optional[Head], typer.Option(
    "--head", help="Save only this branch of an end-to-end head. Default: every branch the model has.",
    show_default=False)]
SeedOpt = Annotated[int, typer.Option(help="Seed of the random weights of a model YAML.")]
DeviceOpt = Annotated[str, typer.Option(help="Where the network runs: cpu, cuda, cuda:1, mps.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace .pt files that already exist in OUT.")]


@app.command(
    "export",
    epilog='\b\nNeeds the ultralytics extra: pip install "tal[ultralytics]".\n'
    "Exit codes: 0 done, 1 bad input or ultralytics missing, 2 bad usage.\n\n\b\nExamples:\n"
    "  tal export runs/detect/train/weights/best.pt data/ --imgsz 640\n"
    "  tal export yolo26n.yaml samples/images --out /tmp/preds\n"
    "  tal export best.pt data.yaml --split val --out preds/ && tal sweep data.yaml --preds preds/",
)
@reports_errors
def export(
    model: ModelArg,
    source: ExportSourceArg,
    out: ExportOutOpt = None,
    imgsz: ImgszOpt = None,
    head: ExportHeadOpt = None,
    split: SplitOpt = "val",
    config: ConfigOpt = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    overwrite: OverwriteOpt = False,
) -> None:
    """Save your model's raw head output for each image, ready for tal assign and tal sweep.

    Each image is letterboxed exactly as tal assign letterboxes its labels, run once in eval
    mode (not fused, so end-to-end heads keep their one-to-many branch), and saved as
    OUT/<stem>.pt with its input size, strides, reg_max, classes and versions; the files load
    with torch.load(weights_only=True). For a dataset folder (images/, labels/) the files go to
    its preds/, after which `tal sweep FOLDER` works as it is.
    """
    from .config import load_config
    from .export import check_imgsz, import_ultralytics, load_model, plan_export, run_export
    from .sources import plural

    import_ultralytics()
    cfg = load_config(config).override(imgsz=imgsz)
    plan = plan_export(source, out, split)
    existing = [target for _, target in plan.jobs if target.exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        _fail(f"{_display_path(existing[0])}{more} already exist; add --overwrite to replace them")
    net = load_model(model, seed=seed, device=device)
    check_imgsz(cfg.imgsz, net.strides)

    err = _console(stderr=True)
    written, skipped = [], []
    with _ProgressBar(err, f"exporting with {net.source}", len(plan.jobs),
                      show=len(plan.jobs) > 1 and sys.stderr.isatty()) as progress:
        for image, path, problem in run_export(net, plan, cfg.imgsz, head.value if head else None):
            if path is not None:
                written.append(path)
            else:
                skipped.append(image)
                err.print(f"Warning: skipped {problem}", markup=False, highlight=False, soft_wrap=True)
            progress.advance()
    if not written:
        _fail(f"nothing exported from {plan.description}: {plural(len(skipped), 'image')} skipped")

    saved = head.value if head else "+".join(net.branches)
    out_dir = _display_path(plan.out)
    typer.echo(f"exported {plural(len(written), 'image')} of {plan.description} to {out_dir}/ with {net.source} "
               f"(ultralytics {net.version}): input {cfg.imgsz[0]}x{cfg.imgsz[1]}, strides "
               f"{'/'.join(map(str, net.strides))}, reg_max {net.reg_max}, {net.num_classes} classes, "
               f"head {saved}" + (f"; {len(skipped)} skipped" if skipped else ""))
    if len(written) <= 10:
        for path in written:
            typer.echo(f"wrote {_display_path(path)}")
    typer.echo("next: " + _after_export(source, plan, written, split, net))


def _after_export(source: Path, plan, written: list[Path], split: str, net) -> str:
    """The command that uses what was just exported."""
    from .sources import DATASET_SUFFIXES

    version = tuple(int(p) for p in net.version.split(".")[:2] if p.isdigit())
    flags = " --variant ultralytics" if version >= (8, 4) else ""
    src, out = _display_path(source), _display_path(plan.out)
    if source.is_dir() and plan.out == source / "preds":
        command = f"tal sweep {src}{flags}"
    elif source.suffix.lower() in DATASET_SUFFIXES:
        command = f"tal sweep {src} --preds {out} --split {split}{flags}"
    elif source.is_dir() and source.name == "images" and (source.parent / "labels").is_dir():
        command = f"tal sweep {_display_path(source.parent)} --preds {out}{flags}"
    elif source.is_file():
        command = f"tal assign {src} LABELS {_display_path(written[0])}{flags}"
    else:
        command = f"tal assign IMAGE LABELS {out}/<stem>.pt{flags}"
    if "one2one" in net.branches:
        command += "   (--head one2one: the one-to-one branch)"
    return command


def main() -> None:
    app()


if __name__ == "__main__":
    main()
