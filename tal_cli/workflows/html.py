"""``--html``: one self-contained page to explore an assignment, as library calls.

- :func:`write_assign_html`: the page of ``tal assign`` (one image).
- :func:`write_sweep_html`: the page of ``tal sweep`` (settings, charts, what changed, the worst
  images with their one-image view under every setting).
- :func:`write_check_html`: the page of ``tal check`` (the check's tables and verdicts, the files
  most worth a look with their gts under every setting).

The pages are built by :mod:`tal_cli.views.html` and written atomically
(:func:`~tal_cli.writers.files.write_text`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..analysis.gt_status import GtCounts
from ..writers.files import write_text
from .assign import AssignResult
from .sweep import SweepResult

if TYPE_CHECKING:
    from ..analysis.check_gts import PageFiles
    from .check import CheckResult


def write_assign_html(result: AssignResult, path: str | Path, inputs: Mapping[str, str | Path | None],
                      selected: int | None = None) -> Path:
    """Write the ``tal assign --html`` page of ``result``.

    Args:
        inputs: what the page's header lists, e.g. ``{"image": ..., "labels": ..., "preds": ...}``.
        selected: the gt selected when the page opens (``--gt N``).

    Raises:
        InputFileError: the file cannot be written.
    """
    from ..readers.images import letterbox_image, load_image
    from ..views.html.assets import jpeg_data_url
    from ..views.html.assign_page import assign_page

    scene = result.scene
    picture = letterbox_image(load_image(scene.image), scene.letterbox)
    page = assign_page(scene, result.assignment, result.report, jpeg_data_url(picture),
                       {k: None if v is None else str(v) for k, v in inputs.items()}, selected=selected)
    return write_text(path, page)


def image_keys(images: Sequence[Path]) -> list[str]:
    """A short unique name per image: its stem, ``stem~2``, ``stem~3`` ... for repeated stems."""
    seen: dict[str, int] = {}
    keys = []
    for path in images:
        n = seen[path.stem] = seen.get(path.stem, 0) + 1
        keys.append(path.stem if n == 1 else f"{path.stem}~{n}")
    return keys


def write_sweep_html(path: str | Path, result: SweepResult, counts: GtCounts, images: int = 50) -> Path:
    """Write the ``tal sweep --html`` page.

    Args:
        result: the finished sweep.
        counts: what :func:`~tal_cli.workflows.sweep.run_sweep` fed its ``on_assignment`` hook.
        images: the drill-down shows this many images, those with the most gts without
            positives under their worst setting; each is read again and assigned under every
            setting as ``tal assign`` does.

    Raises:
        InputFileError: the file cannot be written, or a drill-down image cannot be read again.
    """
    from ..core.losses import Gains, losses_from_heads
    from ..readers.images import letterbox_image, load_image
    from ..readers.paths import display_path
    from ..readers.scene import assign_scenes
    from ..readers.sources import iter_scenes
    from ..views.html.assets import THUMB_QUALITY, THUMB_SIDE, jpeg_data_url
    from ..views.html.assign_page import image_view
    from ..views.html.sweep_page import WorstImage, sweep_page
    from ..views.report import build_report
    from ..views.tables import sweep_header

    plan, cfg = result.plan, result.plan.config
    status = counts.table()
    keys = image_keys(status.images)
    items = {item.image: item for item in plan.source.items}
    zero = status.zero_per_image()
    gts = status.gts_per_image()
    worst = []
    for i in status.worst_images(images):
        scene = next(iter_scenes([items[status.images[i]]], cfg.imgsz, cfg.strides, cfg.reg_max, strict=True,
                                 head=plan.head, num_classes=plan.source.num_classes, kpt_shape=plan.kpt_shape))
        views = []
        for settings in plan.settings:
            assignment = assign_scenes([scene], settings)
            losses = losses_from_heads(assignment, [scene.head], Gains(**cfg.gains))
            report = build_report(scene, assignment, 0, result.class_names, losses)
            views.append(image_view(scene, assignment, report))
        picture = letterbox_image(load_image(scene.image), scene.letterbox)
        worst.append(WorstImage(keys[i], str(display_path(scene.image)), jpeg_data_url(picture),
                                jpeg_data_url(picture, THUMB_QUALITY, THUMB_SIDE), views,
                                zero[:, i].tolist(), int(gts[i])))
    header = [line.plain for line in sweep_header(result)]
    inputs = {"source": result.description, "config": str(display_path(cfg.source)) if cfg.source else None}
    page = sweep_page(result.rows, header, status, keys, result.class_names, worst, inputs)
    return write_text(path, page)


#: Longest side of a drill-down picture, px (the view scales it into the network input it is drawn in).
CHECK_PICTURE_SIDE = 1024


def write_check_html(path: str | Path, result: CheckResult, files: PageFiles) -> Path:
    """Write the ``tal check --html`` page.

    Args:
        result: the finished check.
        files: what :func:`~tal_cli.workflows.check.run_check` fed its ``on_file`` hook; its
            ``images`` files most worth a look get a drill-down view: each is judged again as
            the check judged it, and its gts are measured under every setting gt by gt
            (:func:`~tal_cli.analysis.check_gts.file_gts`), for these files only.

    Raises:
        InputFileError: the file cannot be written, or a drill-down image cannot be read again.
    """
    from ..analysis.check_gts import file_gts
    from ..readers.images import Letterbox, load_image
    from ..readers.paths import display_path
    from ..readers.verdicts import DROPPED, verify_pair
    from ..views.html.assets import THUMB_QUALITY, THUMB_SIDE, jpeg_data_url
    from ..views.html.check_page import CheckImage, check_page, check_view

    plan = result.plan
    worst = files.worst()
    keys = image_keys([Path(f.image) for f in worst])
    shown = []
    for key, f in zip(keys, worst):
        if f.status == DROPPED or f.size_hw is None:
            shown.append(CheckImage(key, f, None, None, ()))
            continue
        verdict = verify_pair(f.image, f.labels, plan.num_classes, plan.kpt_shape, plan.verify_images, plan.classes_of)
        shown_path = str(display_path(Path(f.image)))
        views = []
        for setting in plan.settings:
            box = Letterbox.fit(f.size_hw, setting.imgsz)
            views.append(check_view(file_gts(verdict, setting), verdict.gts, setting, shown_path, result.class_names,
                                    (box.left, box.top, *box.resized_wh)))
        image = load_image(f.image)
        largest = max(
            (Letterbox.fit(f.size_hw, s.imgsz).resized_wh for s in plan.settings), key=lambda wh: wh[0] * wh[1]
        )
        side = min(max(largest), CHECK_PICTURE_SIDE)
        shown.append(CheckImage(key, f, jpeg_data_url(image, max_side=side),
                                jpeg_data_url(image, THUMB_QUALITY, THUMB_SIDE), views))
    cfg = plan.config
    inputs = {"source": result.description, "config": str(display_path(cfg.source)) if cfg.source else None}
    return write_text(path, check_page(result, files, shown, inputs))
