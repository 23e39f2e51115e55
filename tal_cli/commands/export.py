"""``tal export``: parse the options, run :mod:`tal_cli.ultralytics.export`, print what was written."""

from __future__ import annotations

import sys

import typer

from .common import ProgressBar, TalCommand, console, display_path, fail, reports_errors, warn
from .options import (
    BatchOpt,
    ConfigOpt,
    DeviceOpt,
    ExportHeadOpt,
    ExportOutOpt,
    ExportSourceArg,
    ImgszOpt,
    ModelArg,
    OverwriteOpt,
    SeedOpt,
    SplitOpt,
)

HELP = dict(
    cls=TalCommand,
    short_help="Save your ultralytics model's head output (PREDS) for tal assign and tal sweep.",
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
    batch: BatchOpt = None,
) -> None:
    """Save your model's raw head output for each image, ready for tal assign and tal sweep.

    Each image is letterboxed exactly as tal assign letterboxes its labels, run once in eval
    mode (not fused, so end-to-end heads keep their one-to-many branch), and saved as
    OUT/<stem>.pt with its input size, strides, reg_max, classes and versions; the files load
    with torch.load(weights_only=True). For a dataset folder (images/, labels/) the files go to
    its preds/, after which `tal sweep FOLDER` works as it is.
    """
    from ..readers.config import load_config
    from ..readers.sources import plural
    from ..ultralytics.export import check_imgsz, check_targets, next_command, plan_export, run_export
    from ..ultralytics.forward import default_batch
    from ..ultralytics.model import import_ultralytics, load_model
    from ..writers.files import check_folder

    import_ultralytics()
    cfg = load_config(config).override(imgsz=imgsz)
    plan = plan_export(source, out, split)
    check_folder(plan.out)  # a file, or an unwritable place: said before the model loads
    check_targets(plan, overwrite)
    net = load_model(model, seed=seed, device=device)
    check_imgsz(cfg.imgsz, net.strides)

    err = console(stderr=True)
    for note in plan.notes:
        warn(err, note)
    written, skipped = [], []
    with ProgressBar(err, f"exporting with {net.source}", len(plan.jobs),
                     show=len(plan.jobs) > 1 and sys.stderr.isatty()) as progress:
        batches = batch or default_batch(device)
        for image, path, problem in run_export(net, plan, cfg.imgsz, head.value if head else None, batches):
            if path is not None:
                written.append(path)
            else:
                skipped.append(image)
                warn(err, f"skipped {problem}")
            progress.advance()
    if not written:
        fail(f"nothing exported from {plan.description}: {plural(len(skipped), 'image')} skipped")

    saved = head.value if head else "+".join(net.branches)
    typer.echo(f"exported {plural(len(written), 'image')} of {plan.description} to {display_path(plan.out)}/ with "
               f"{net.source} (ultralytics {net.version}): input {cfg.imgsz[0]}x{cfg.imgsz[1]}, strides "
               f"{'/'.join(map(str, net.strides))}, reg_max {net.reg_max}, {net.num_classes} classes, "
               f"head {saved}" + (f"; {len(skipped)} skipped" if skipped else ""))
    if len(written) <= 10:
        for path in written:
            typer.echo(f"wrote {display_path(path)}")
    typer.echo("next: " + next_command(source, plan, written, split, net))
