"""``tal train`` (an ultralytics training run with the monitor attached) and ``tal train-report``
(what a run recorded): parse, call :mod:`tal_cli.ultralytics.train` / :mod:`tal_cli.workflows.train_report`, print."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .common import TalCommand, console, display_path, reports_errors, usage_error, warn
from .options import (
    BranchOpt,
    EpochLimitOpt,
    EpochOpt,
    EveryOpt,
    RunDirArg,
    TrainArgsArg,
    TrainByClassOpt,
    TrainDataArg,
    TrainHtmlOpt,
    TrainJsonOpt,
    TrainModelArg,
    TrainPlotOpt,
    WorstOpt,
)

HELP = dict(
    cls=TalCommand,
    short_help="Train with ultralytics, recording per epoch which gts get no positive, and why.",
    epilog='\b\nNeeds the ultralytics extra: pip install "tal[ultralytics]".\n'
    "Exit codes: 0 done, 1 bad input, ultralytics missing or training failed, 2 bad usage.\n\n\b\nExamples:\n"
    "  tal train yolov8n.yaml samples/hubble-train.yaml epochs=3 imgsz=320\n"
    "  tal train yolo26n.pt data.yaml epochs=100 batch=32 device=0 --every 10\n"
    "  tal train yolov8n.pt data.yaml epochs=50 device=0,1   (DDP: every process counts, rank 0 writes)\n"
    "  tal train-report runs/detect/train",
)

REPORT_HELP = dict(
    cls=TalCommand,
    short_help="Show what the training monitor recorded for a run: tables, chart, JSON.",
    epilog="\b\nExit codes: 0 done, 1 bad input, 2 bad usage.\n\n\b\nExamples:\n"
    "  tal train-report runs/detect/train\n"
    "  tal train-report runs/detect/train --branch one2one --limit 0\n"
    "  tal train-report runs/detect/train --epoch 3 --by-class\n"
    "  tal train-report runs/detect/train --plot chart.png\n"
    "  tal train-report runs/detect/train --html train.html\n"
    "  tal train-report runs/detect/train/tal/epochs.json --json > record.json",
)

#: Worst images listed per branch (the JSON has every one recorded).
WORST_SHOWN = 5


@reports_errors
def train(
    model: TrainModelArg,
    data: TrainDataArg,
    args: TrainArgsArg = None,
    every: EveryOpt = 1,
    worst: WorstOpt = 10,
) -> None:
    """Train with ultralytics and record, per epoch, how the assignment treats your gts.

    The same arguments as yolo train (MODEL, DATA, then key=value), run by ultralytics with
    tal's monitor attached to the loss's task-aligned assigner(s): per epoch and branch, gts
    without positives (overall, by size, by class), positives per gt, contested and handed
    anchors, target scores, the worst images, and (every --every batches) tal's own
    assigner on the same tensors with the reason each gt got no positive. Written to
    RUN/tal/epochs.csv, epochs.json and epochs.png after every epoch; then shown as tal
    train-report shows it.
    """
    from ..core.errors import ConfigError
    from ..ultralytics.train import plan_training, run_training
    from ..workflows.train_report import read_train_record

    try:
        plan = plan_training(model, data, args or [], every=every, worst=worst)
    except ConfigError as exc:
        usage_error(str(exc))
    err = console(stderr=True)
    for note in plan.notes:
        warn(err, note)
    save_dir = run_training(plan)
    record = read_train_record(save_dir)
    out = console(width=80)
    out.print()
    show_record(out, record, None, 20, None, False)


@reports_errors
def train_report(
    run_dir: RunDirArg,
    branch: BranchOpt = None,
    limit: EpochLimitOpt = 20,
    epoch: EpochOpt = None,
    by_class: TrainByClassOpt = False,
    plot: TrainPlotOpt = None,
    html: TrainHtmlOpt = None,
    as_json: TrainJsonOpt = False,
) -> None:
    """Show what tal's training monitor recorded for a run, epoch by epoch.

    Per branch: the share of gts without positives (all, COCO sizes, longer side under 16 and
    8 px, in network-input pixels after augmentation), positives per gt, contested and handed
    anchors, mean target score; tal's re-run: why each gt got no positive and the anchors where
    tal and ultralytics disagree (only zero-metric ties should make them differ, so
    "unexplained" should stay 0); the images with the most gts without positives. --html
    writes all of it, every epoch, as one offline page.
    """
    from ..core.errors import InputFileError
    from ..readers.train_record import CSV_NAME
    from ..views.train_record import document
    from ..workflows.train_report import read_train_record, write_train_chart, write_train_html
    from ..writers.files import check_writable

    if plot is not None:
        check_writable(plot, picture=True)
    if html is not None:
        check_writable(html)
    record = read_train_record(run_dir)
    csv_path = Path(record.path).with_name(CSV_NAME)
    names = record.branches
    if branch is not None and branch.value not in names:
        usage_error(f"--branch {branch.value}: the record has {', '.join(names) or 'no branch'}")
    epochs = sorted({r.epoch for r in record.epochs})
    if epoch is not None and epoch not in epochs:
        usage_error(f"--epoch {epoch}: recorded epochs are {_ranges(epochs) or 'none'}")
    for out_path in (plot, html):
        if out_path is not None and Path(out_path).resolve() in {Path(record.path).resolve(), csv_path.resolve()}:
            raise InputFileError(f"{out_path}: is the run's record; write to another file")
    written = [write_train_chart(plot, record)] if plot is not None else []
    if html is not None:
        written.append(write_train_html(html, record, [branch.value] if branch else None, epoch))
    if as_json:
        doc = document(record.run, [r for r in record.epochs if branch is None or r.branch == branch.value])
        if written:
            doc["written"] = [str(p) for p in written]
        typer.echo(json.dumps(doc, indent=1))
        return
    out = console(width=80)
    show_record(out, record, branch.value if branch else None, limit, epoch, by_class)
    for path in written:
        out.print(f"wrote {path}", markup=False, highlight=False)


def show_record(out, record, branch: str | None, limit: int, epoch: int | None, by_class: bool) -> None:
    """Print a record's header and tables on the rich console ``out``."""
    from ..views.train_table import class_table, header_lines, positives_table, rerun_table, worst_table, zero_table

    epochs = sorted({r.epoch for r in record.epochs})
    shown = epochs[-limit:] if limit else epochs
    path = display_path(Path(record.path))
    names = [branch] if branch else record.branches
    for line in header_lines(record.run, str(path), len(shown), len(epochs), names):
        out.print(line)
    if not record.epochs:
        out.print("No epoch recorded yet: the files are written at the end of each epoch.")
        return
    pick = epoch if epoch is not None else epochs[-1]
    for name in names:
        rows = [r for r in record.of_branch(name) if r.epoch in set(shown)]
        out.print(zero_table(rows, name))
        out.print(positives_table(rows, name))
        rerun = rerun_table(rows, name)
        if rerun is not None:
            out.print(rerun)
        chosen = next((r for r in record.of_branch(name) if r.epoch == pick), None)
        if chosen is not None and chosen.worst_images:
            out.print(worst_table(chosen, WORST_SHOWN))
        if chosen is not None and by_class:
            out.print(class_table(chosen, record.run.names))
    hidden = len(epochs) - len(shown)
    if hidden:
        out.print(f"{hidden} earlier epoch{'s' if hidden != 1 else ''} not shown; --limit 0 shows all.")


def _ranges(values: list[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``"1-3, 5"``."""
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(str(start) if start == v else f"{start}-{v}")
            start = None
    return ", ".join(parts)
