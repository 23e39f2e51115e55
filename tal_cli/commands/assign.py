"""``tal assign``: parse the options, call :func:`~tal_cli.workflows.assign.assign_image`, print."""

from __future__ import annotations

from .common import (
    TalCommand,
    console,
    display_path,
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
    AlphaOpt,
    BetaOpt,
    ConfigOpt,
    DeviceOpt,
    GtOpt,
    GtOrder,
    HeadOpt,
    HtmlOpt,
    ImageArg,
    ImgszOpt,
    JsonOpt,
    LabelsArg,
    LimitOpt,
    MaxZeroOpt,
    MinPosOpt,
    ModelOpt,
    NamesOpt,
    OutOpt,
    PredsArg,
    SeedOpt,
    SortOpt,
    TopkOpt,
    VariantOpt,
    WideOpt,
)

HELP = dict(
    cls=TalCommand,
    short_help="Explain one image: every gt's candidates, top-k picks, conflicts and positives.",
    epilog="\b\nExit codes: 0 done, 1 bad input, 2 bad usage, 3 a CI gate was violated.\n\n\b\nExamples:\n"
    "  tal assign samples/images/astronaut.png samples/labels/astronaut.txt samples/preds/astronaut.pt\n"
    "  tal assign IMG LBL PREDS --variant ultralytics --topk 13 --gt 4\n"
    "  tal assign IMG LBL PREDS --json > assignment.json\n"
    "  tal assign IMG LBL PREDS --out overlays/\n"
    "  tal assign IMG LBL PREDS --html assignment.html\n"
    "  tal assign IMG LBL --model runs/detect/train/weights/best.pt --variant ultralytics",
)


@reports_errors
def assign(
    image: ImageArg,
    labels: LabelsArg,
    preds: PredsArg = None,
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
    wide: WideOpt = False,
    model: ModelOpt = None,
    device: DeviceOpt = "cpu",
    seed: SeedOpt = 0,
    html: HtmlOpt = None,
) -> None:
    """Assign one image and explain every gt: candidates, top-k, conflicts, positives.

    IMAGE and LABELS are letterboxed to the network input exactly as training does; PREDS is
    the head output saved from your model for that image (tal export writes it), or --model
    runs your model on the image instead. A PREDS file that records its input size, strides and
    reg_max (tal export's do) is read with those.
    """
    from ..workflows.assign import AssignOutputs, assign_image, write_assign_outputs

    gates = parse_gate_options(max_zero_positive_rate, min_positives_per_gt)
    if (preds is None) == (model is None):
        usage_error("give PREDS or --model MODEL, not both" if model else "give PREDS (the saved head output) or "
                    "--model MODEL")
    _check_outputs(out, html)  # said before the work
    result = assign_image(image, labels, preds, config=config, variant=variant.value if variant else None,
                          topk=topk, alpha=alpha, beta=beta, imgsz=imgsz, head=head.value if head else None,
                          names=names, gt=gt, gates=gates, model=model, device=device, seed=seed)
    if result.notes:
        err = console(stderr=True)
        for note in result.notes:
            warn(err, note)
    outputs = AssignOutputs(out, html, gt)
    inputs = {"image": image, "labels": labels, "preds": preds, "model": model,  # the page's header
              "config": display_path(result.config.source), "names": names} if html is not None else {}
    written = write_assign_outputs(outputs, result, inputs)
    if as_json:
        _emit_assign_json(result, outputs, written, gates)
        return
    _print_assign(result, written, gt, sort, limit, wide)
    enforce_gates(result.gate_results)


def _check_outputs(out, html) -> None:
    """The overlay folder and the page can be written (before any work)."""
    if out is not None:
        from ..writers.files import check_folder

        check_folder(out)
    if html is not None:
        from ..writers.files import check_writable

        check_writable(html)


def _emit_assign_json(result, outputs, written, gates) -> None:
    """Print the report's JSON document (with the candidates of ``--gt`` and the files written), then enforce the
    gates."""
    from ..views.report import candidates_to_json, report_to_json

    doc = report_to_json(result.report)
    if outputs.gt is not None:
        doc["candidates"] = {"gt": outputs.gt, "rows": candidates_to_json(result.candidates)}
    if outputs.out is not None:
        doc["overlays"] = [str(p) for p in written if p != outputs.html]
    if outputs.html is not None:
        doc["html"] = str(outputs.html)
    emit_json(doc, gates, result.gate_results)


def _print_assign(result, written, gt, sort, limit, wide: bool) -> None:
    """Print the summary; the gt's row and its candidates (``--gt``), or the gt table (sorted, cut at
    ``limit``); then the files written."""
    from ..views.report import order_gt_rows
    from ..views.tables import candidate_table, gt_table, summary_text

    report = result.report
    out_console = console()
    width = None if wide else out_console.width
    say(out_console, summary_text(report))
    if gt is not None:
        print_table(out_console, gt_table([report.gts[gt]], report.strides, report=report, width=width), wide)
        print_table(out_console, candidate_table(result.candidates, report.gts[gt],
                                                 report.losses.third if report.losses else "dfl", width=width), wide)
    elif not report.gts:
        say(out_console, "No gts: a background image; every anchor is background.")
    else:
        rows = order_gt_rows(report.gts, sort.value)
        shown = limit if limit is not None else (0 if len(rows) <= 40 else 25)
        if shown:
            rows = rows[:shown]
        print_table(out_console, gt_table(rows, report.strides, report=report, width=width), wide)
        if len(rows) < len(report.gts):
            say(out_console, f"{len(report.gts) - len(rows)} more gts not shown (sorted {sort.value} first); "
                             "--limit 0 shows all, --json lists every gt.")
    for path in written:
        say(out_console, f"wrote {path}")
