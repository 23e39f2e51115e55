"""``--html``: one self-contained page to explore an assignment, as library calls.

- :func:`write_assign_html`: the page of ``tal assign`` (one image).
- :func:`write_sweep_html`: the page of ``tal sweep`` (settings, charts, what changed, the worst
  images with their one-image view under every setting).

The pages are built by :mod:`tal_cli.views.html` and written atomically
(:func:`~tal_cli.writers.files.write_text`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..analysis.gt_status import GtCounts
from ..writers.files import write_text
from .assign import AssignResult
from .sweep import SweepResult


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
