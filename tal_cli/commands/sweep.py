"""``tal sweep``: parse the list options, call :mod:`tal_cli.workflows.sweep`, print."""

from __future__ import annotations

import math
import re
import sys
from typing import Optional

from .common import (
    ProgressBar,
    TalCommand,
    console,
    emit_json,
    enforce_gates,
    parse_gate_options,
    print_table,
    reports_errors,
    say,
    usage_error,
    warn,
)
from .options import (
    AlphaListOpt,
    BatchOpt,
    BetaListOpt,
    ByClassOpt,
    ConfigOpt,
    CsvOpt,
    DeviceOpt,
    HeadOpt,
    HtmlImagesOpt,
    HtmlOpt,
    ImgszOpt,
    MaxZeroOpt,
    MinPosOpt,
    ModelOpt,
    NamesOpt,
    PlotOpt,
    PredsDirOpt,
    SavePredsOpt,
    SeedOpt,
    SourceArg,
    SplitOpt,
    SweepJsonOpt,
    TopkListOpt,
    Variant,
    VariantListOpt,
    WideOpt,
)

#: List options of ``tal sweep`` and what their extra values look like.
_LIST_OPTIONS = {"--topk": "number", "--alpha": "number", "--beta": "number", "--variant": "variant"}
_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"


def _list_value(kind: str, token: str) -> bool:
    """Whether ``token`` is one more value of a list option (a number, a variant, or a comma list of them)."""
    parts = token.split(",")
    if kind == "number":
        return all(re.fullmatch(_NUMBER, p) for p in parts)
    return all(p in (v.value for v in Variant) for p in parts)


def expand_list_options(args: list[str], options: dict[str, str] | None = None) -> list[str]:
    """``--topk 5 10 13`` -> ``--topk 5 --topk 10 --topk 13`` (click gives an option one value).

    After a list option's first value, following tokens that look like values of that option
    (numbers; for ``--variant`` its names) are taken as more values; anything else (a SOURCE
    path, another option, ``--``) ends the list. ``options``: list option -> ``"number"`` or
    ``"variant"`` (default: ``tal sweep``'s).
    """
    options = _LIST_OPTIONS if options is None else options
    out, i = [], 0
    while i < len(args):
        token = args[i]
        if token == "--":
            out.extend(args[i:])
            break
        name, eq, _ = token.partition("=")
        if name not in options:
            out.append(token)
            i += 1
            continue
        take = 1 if eq else 2  # the option and its first value, as click reads them
        out.extend(args[i:i + take])
        i += take
        while i < len(args) and _list_value(options[name], args[i]):
            out.extend((name, args[i]))
            i += 1
    return out


class ListOptionsCommand(TalCommand):
    """A command whose list options also accept space-separated values (``--topk 5 10 13``).

    ``list_options``: which options are lists, and what their values look like.
    """

    list_options: dict[str, str] = _LIST_OPTIONS

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, expand_list_options(list(args), self.list_options))


def list_values(option: str, raw: Optional[list[str]], convert, ok, expected: str) -> list:
    """Values of a list option (comma lists split); a bad one is a one-line usage error."""
    values = []
    for item in raw or []:
        for part in item.split(","):
            try:
                value = convert(part.strip())
            except ValueError:
                value = None
            if value is None or not ok(value):
                usage_error(f"{option}: expected {expected}, got {part.strip()!r}")
            values.append(value)
    return values


HELP = dict(
    short_help="Compare settings (topk, alpha, beta, variant) over an image, a folder or a dataset.",
    cls=ListOptionsCommand,
    epilog="\b\nExit codes: 0 done, 1 bad input, 2 bad usage, 3 a CI gate was violated.\n\n\b\nExamples:\n"
    "  tal sweep --topk 5 10 13\n"
    "  tal sweep data/ --alpha 0.5 1 --beta 4 6 --plot sweep.png --csv sweep.csv\n"
    "  tal sweep data.yaml --preds preds/ --split val --variant yolov8 ultralytics --by-class\n"
    "  tal sweep IMG LBL PREDS --topk 5 10 13 --json > sweep.json\n"
    "  tal sweep data/ --topk 5 10 13 --html sweep.html --html-images 20\n"
    "  tal sweep data.yaml --model runs/detect/train/weights/best.pt --topk 5 10 13 --variant ultralytics",
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
    wide: WideOpt = False,
    model: ModelOpt = None,
    device: DeviceOpt = "cpu",
    seed: SeedOpt = 0,
    batch: BatchOpt = None,
    save_preds: SavePredsOpt = None,
    html: HtmlOpt = None,
    html_images: HtmlImagesOpt = 50,
) -> None:
    """Assign many images under several settings: one row of totals per setting.

    Settings are the cartesian product of --topk, --alpha, --beta and --variant (lists not
    given come from the config). Each image is read once for all settings. SOURCE: nothing
    (the config's samples), a folder holding images/, labels/ and preds/<stem>.pt, a dataset
    YAML with --preds DIR, or IMAGE LABELS PREDS. With --model MODEL the model makes the
    predictions as the images stream through it (no PREDS files: a folder with images/ and
    labels/, a dataset YAML, or IMAGE LABELS). An image without a label file is background; one
    without predictions, or with unreadable files, is skipped and listed.
    """
    from ..workflows.sweep import SweepOutputs, plan_sweep, write_sweep_outputs

    gates = parse_gate_options(max_zero_positive_rate, min_positives_per_gt)
    lists = _setting_lists(topk, alpha, beta, variant)
    _check_source_count(source, model)
    outputs = SweepOutputs(csv_path, plot, html, html_images)
    if html is not None:
        from ..writers.files import check_writable

        check_writable(html)
    plan = plan_sweep(source or [], config=config, **lists, preds=preds, split=split, imgsz=imgsz, names=names,
                      head=head.value if head else None, outputs=(csv_path, plot), model=model, device=device,
                      seed=seed, batch=batch, save_preds=save_preds)
    counts = outputs.gt_counts(plan)
    result = _run(plan, gates, counts)
    written = write_sweep_outputs(outputs, result, counts)
    if as_json:
        _emit_sweep_json(result, gates, written, by_class)
        return
    _print_sweep(result, written, by_class, wide)
    enforce_gates(result.gate_results)


def _setting_lists(topk, alpha, beta, variant) -> dict[str, list]:
    """The list options as ``plan_sweep`` keywords; a bad value is a usage error."""
    return {
        "topk": list_values("--topk", topk, int, lambda v: v >= 1, "integers >= 1"),
        "alpha": list_values("--alpha", alpha, float, lambda v: math.isfinite(v) and v >= 0, "numbers >= 0"),
        "beta": list_values("--beta", beta, float, lambda v: math.isfinite(v) and v >= 0, "numbers >= 0"),
        "variant": list_values(
            "--variant", variant, str, lambda v: v in (x.value for x in Variant), "yolov8 or ultralytics"
        ),
    }


def _check_source_count(source, model) -> None:
    """SOURCE takes nothing, one path or IMAGE LABELS PREDS (IMAGE LABELS with --model)."""
    if model is None and len(source or []) not in (0, 1, 3):
        usage_error(
            f"SOURCE: expected nothing, one folder or dataset YAML, or IMAGE LABELS PREDS; got {len(source)} paths"
        )
    if model is not None and len(source or []) not in (0, 1, 2):
        usage_error(f"SOURCE: with --model, expected nothing, one folder or dataset YAML, or IMAGE LABELS; got "
                    f"{len(source)} paths")


def _run(plan, gates, counts):
    """Run the sweep with its warnings and progress bar on stderr; returns the result."""
    from ..readers.sources import plural
    from ..workflows.sweep import run_sweep

    err = console(stderr=True)
    for note in plan.source.notes:
        warn(err, note)
    for item in plan.source.skipped[:10]:  # images found without predictions
        warn(err, f"skipped {item.text}")
    if len(plan.source.skipped) > 10:
        warn(err, f"... and {len(plan.source.skipped) - 10} more images without predictions")
    items = plan.source.items
    progress = ProgressBar(err, f"sweeping {plural(len(plan.points), 'setting')}", len(items),
                           show=len(items) > 8 and sys.stderr.isatty())

    def on_skip(item) -> None:
        warn(err, f"{'dropped' if item.kind == 'dropped' else 'skipped'} {item.text}")
        progress.advance()

    with progress:
        result = run_sweep(plan, gates, on_skip=on_skip, on_batch=progress.advance, on_note=lambda n: warn(err, n),
                           on_assignment=counts)
    for note in result.notes:
        warn(err, note)
    return result


def _emit_sweep_json(result, gates, written, by_class: bool) -> None:
    """Print the sweep's JSON document (with the files written), then enforce the gates."""
    from ..views.sweep_json import sweep_to_json
    from ..workflows.sweep import fixed_settings

    doc = sweep_to_json(result.rows, source=result.description, fixed=fixed_settings(result),
                        skipped=result.skipped, names=result.class_names, by_class=by_class)
    if written:
        doc["written"] = [str(p) for p in written]
    emit_json(doc, gates, result.gate_results)


def _print_sweep(result, written, by_class: bool, wide: bool) -> None:
    """Print the header, the tables (per class with ``by_class``), the images left out and the files written."""
    from ..views.tables import sweep_class_table, sweep_detail_table, sweep_header, sweep_table

    out = console()
    width = None if wide else out.width
    for line in sweep_header(result):
        say(out, line)
    print_table(out, sweep_table(result.rows, width), wide)
    print_table(out, sweep_detail_table(result.rows, width), wide)
    if by_class:
        class_ids = sorted({c for r in result.rows for c in r.by_class})
        for k, class_id in enumerate(class_ids):  # the left-out columns are named once, after the last
            table = sweep_class_table(result.rows, class_id, result.class_names.get(class_id), width)
            print_table(out, table, wide or k < len(class_ids) - 1)
    _print_left_out(out, result.skipped)
    for path in written:
        say(out, f"wrote {path}")


def _print_left_out(out, skipped) -> None:
    """The images ultralytics' loader dropped, then those skipped: ten of each, then a count."""
    from ..readers.sources import plural

    for kind, heading in (("dropped", "dropped by ultralytics' loader (left out of training, so out of the sweep)"),
                          ("skipped", "skipped")):
        left_out = [s for s in skipped if s.kind == kind]
        if left_out:
            say(out, f"{plural(len(left_out), 'image')} {heading}:")
            for item in left_out[:10]:
                say(out, f"  {item.text}")
            if len(left_out) > 10:
                say(out, f"  ... {len(left_out) - 10} more; --json lists every one.")
