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
    from ..views.report import candidates_to_json, order_gt_rows, report_to_json
    from ..workflows.assign import assign_image, write_overlays

    gates = parse_gate_options(max_zero_positive_rate, min_positives_per_gt)
    if (preds is None) == (model is None):
        usage_error("give PREDS or --model MODEL, not both" if model else "give PREDS (the saved head output) or "
                    "--model MODEL")
    if out is not None:
        from ..writers.files import check_folder

        check_folder(out)  # said before the work
    if html is not None:
        from ..writers.files import check_writable

        check_writable(html)
    result = assign_image(image, labels, preds, config=config, variant=variant.value if variant else None,
                          topk=topk, alpha=alpha, beta=beta, imgsz=imgsz, head=head.value if head else None,
                          names=names, gt=gt, gates=gates, model=model, device=device, seed=seed)
    report = result.report
    if result.notes:
        err = console(stderr=True)
        for note in result.notes:
            warn(err, note)
    written = write_overlays(result, out, [gt] if gt is not None else None) if out is not None else []
    if html is not None:
        from ..workflows.html import write_assign_html

        written.append(
            write_assign_html(
                result,
                html,
                {
                    "image": image,
                    "labels": labels,
                    "preds": preds,
                    "model": model,
                    "config": display_path(result.config.source),
                    "names": names,
                },
                gt,
            )
        )

    if as_json:
        doc = report_to_json(report)
        if gt is not None:
            doc["candidates"] = {"gt": gt, "rows": candidates_to_json(result.candidates)}
        if out is not None:
            doc["overlays"] = [str(p) for p in written if p != html]
        if html is not None:
            doc["html"] = str(html)
        emit_json(doc, gates, result.gate_results)
        return

    from ..views.tables import candidate_table, gt_table, summary_text

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
    enforce_gates(result.gate_results)
