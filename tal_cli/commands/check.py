"""``tal check``: parse the options, call :mod:`tal_cli.workflows.check`, print."""

from __future__ import annotations

import json
import sys
import tempfile

import typer

from .common import ProgressBar, console, enforce_gates, reports_errors, usage_error, warn
from .options import (
    CheckByClassOpt,
    CheckHtmlImagesOpt,
    CheckHtmlOpt,
    CheckJsonOpt,
    CheckPlotOpt,
    CheckSourceArg,
    CheckSplitOpt,
    CheckTopkOpt,
    CheckVariantOpt,
    ConfigOpt,
    CsvOpt,
    FilesLimitOpt,
    ImgszListOpt,
    MaxZeroCandidateOpt,
    NamesOpt,
    StrictOpt,
    Variant,
    VerifyImagesOpt,
    WorkersOpt,
)
from .sweep import ListOptionsCommand, list_values


class CheckCommand(ListOptionsCommand):
    """``--imgsz 640 1280`` and ``--variant yolov8 ultralytics`` take several values."""

    list_options = {"--imgsz": "number", "--variant": "variant"}


HELP = dict(
    short_help="Before training, from labels alone: what ultralytics drops, which gts can never get a positive.",
    cls=CheckCommand,
    epilog="\b\nExit codes: 0 done, 1 bad input, 2 bad usage, 3 a CI gate was violated.\n\n\b\nExamples:\n"
    "  tal check samples/ --names samples/data.yaml\n"
    "  tal check data.yaml --imgsz 640 1280 --variant yolov8 ultralytics\n"
    "  tal check data.yaml --split train --plot check.png --csv check.csv --by-class\n"
    "  tal check data.yaml --strict --max-zero-candidate-rate small=0.05\n"
    "  tal check data.yaml --html check.html --html-images 20\n"
    "  tal check IMG LBL --json > check.json",
)


@reports_errors
def check(
    source: CheckSourceArg = None,
    imgsz: ImgszListOpt = None,
    variant: CheckVariantOpt = None,
    config: ConfigOpt = None,
    split: CheckSplitOpt = None,
    names: NamesOpt = None,
    topk: CheckTopkOpt = None,
    verify_images: VerifyImagesOpt = False,
    as_json: CheckJsonOpt = False,
    csv_path: CsvOpt = None,
    plot: CheckPlotOpt = None,
    html: CheckHtmlOpt = None,
    html_images: CheckHtmlImagesOpt = 50,
    by_class: CheckByClassOpt = False,
    limit: FilesLimitOpt = 10,
    workers: WorkersOpt = None,
    max_zero_candidate_rate: MaxZeroCandidateOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Before training, from the labels alone: what ultralytics' loader drops, and which gts can never get a positive.

    Every image/label pair gets the verdict ultralytics' loader reaches (kept, background,
    dropped, with the file, line and reason; duplicate rows removed). Then, for every input
    size x variant, the gts are letterboxed as tal assign does and counted: gts with no anchor
    centre inside at any stride (no topk, alpha or beta gives them a positive), gts with fewer
    candidates than topk, gts beyond the DFL reach, and anchors inside two or more gts. No
    predictions are read; nothing is written next to the data.
    """
    from ..views.check import check_to_json
    from ..workflows.check import CheckOutputs, plan_check, write_check_outputs

    gates = _parse_check_gates(max_zero_candidate_rate, strict)
    sizes = list_values("--imgsz", imgsz, int, lambda v: v >= 32, "integers >= 32")
    variants = list_values(
        "--variant", variant, str, lambda v: v in (x.value for x in Variant), "yolov8 or ultralytics"
    )
    if len(source or []) not in (0, 1, 2):
        usage_error(f"SOURCE: expected nothing, a dataset YAML or folder, or IMAGE LABELS; got {len(source)} paths")
    outputs = CheckOutputs(csv_path, plot, html, html_images)
    if html is not None:
        from ..writers.files import check_writable

        check_writable(html)
    plan = plan_check(source or [], config=config, imgsz=sizes, variant=variants, topk=topk, split=split, names=names,
                      verify_images=verify_images, workers=workers, outputs=(csv_path, plot))
    spool = tempfile.TemporaryFile("w+", encoding="utf-8") if as_json else None  # every file's entry, in order
    page_files = outputs.page_files()
    result = _run(plan, gates, limit, spool, page_files)
    written = write_check_outputs(outputs, result, page_files)
    if as_json:
        _emit_json(check_to_json(result), spool, gates, result.gate_results, written)
    else:
        _print_check(result, written, by_class, limit)
    enforce_gates(result.gate_results)


def _parse_check_gates(max_zero_candidate_rate, strict: bool):
    """The gates of ``--max-zero-candidate-rate`` and ``--strict``; a bad value is a usage error (exit 2)."""
    from ..analysis.gates import parse_gates
    from ..core.errors import ConfigError

    try:
        return parse_gates(max_zero_candidate_rate=max_zero_candidate_rate or (), strict=strict)
    except ConfigError as exc:
        usage_error(str(exc))


def _run(plan, gates, limit: int, spool, page_files):
    """Run the check with its warnings and progress bar on stderr, each file's record to ``spool`` (JSON
    lines) and ``page_files`` when given; returns the result."""
    from ..views.check import file_to_json
    from ..workflows.check import run_check

    err = console(stderr=True)
    for note in plan.source.notes:
        warn(err, note)

    def on_file(f) -> None:
        if spool is not None:
            spool.write(json.dumps(file_to_json(f)) + "\n")
        if page_files is not None:
            page_files(f)

    images = plan.source.images
    with ProgressBar(err, f"checking {len(plan.settings)} setting{'s' if len(plan.settings) != 1 else ''}", images,
                     show=images > 8 and sys.stderr.isatty()) as progress:
        result = run_check(plan, gates, limit=limit, on_file=on_file if spool or page_files else None,
                           on_progress=progress.advance)
    for note in result.notes:
        warn(err, note)
    return result


def _print_check(result, written, by_class: bool, limit: int) -> None:
    """Print the header, the tables, the exposed gts, the problem files and the files written."""
    from ..views.check import (
        CLASS_TITLE,
        LIMITS_TITLE,
        NEVER_TITLE,
        check_header,
        class_table,
        exposed_lines,
        limits_table,
        never_table,
        problem_lines,
    )

    out = console()

    def say(text) -> None:
        out.print(text, markup=False, highlight=False, soft_wrap=True)

    for line in check_header(result):
        say(line)
    say(NEVER_TITLE)
    out.print(never_table(result.rows))
    say(LIMITS_TITLE)
    out.print(limits_table(result.rows))
    if by_class:
        say(CLASS_TITLE)
        out.print(class_table(result.rows, result.class_names))
    if result.rows:
        for line in exposed_lines(result.rows[0], result.class_names):
            say(line)
    for line in problem_lines(result, limit):
        say(line)
    for path in written:
        say(f"wrote {path}")


def _emit_json(doc: dict, spool, gates, results, written) -> None:
    """Print the document, its ``files`` list streamed from ``spool`` (one entry per line): never held whole."""
    from ..analysis.gates import results_to_json

    if gates:
        doc["gates"] = results_to_json(results)
    if written:
        doc["written"] = [str(p) for p in written]
    head = json.dumps(doc, indent=1)
    assert head.endswith("\n}")
    typer.echo(head[:-2] + ',\n "files": [', nl=False)
    spool.seek(0)
    for i, line in enumerate(spool):
        typer.echo(("\n  " if i == 0 else ",\n  ") + line.rstrip("\n"), nl=False)
    typer.echo("\n ]\n}")
    spool.close()
