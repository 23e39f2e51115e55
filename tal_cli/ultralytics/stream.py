"""Assigning straight from the user's model: no PREDS files (``tal sweep --model``, ``tal assign --model``).

Images go through :func:`~tal_cli.ultralytics.forward.forward_images` (read ahead by a thread
pool, batched, one forward call per batch), and each image's head output is decoded by the
same code that reads a PREDS file (:func:`~tal_cli.readers.preds.decode_head`) and judged with
its labels by the same code (:func:`~tal_cli.readers.scene.scene_from_head`), then dropped once
assigned: memory stays flat in the number of images. ``save_preds`` keeps the files exactly as
``tal export`` writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import DroppedImageError, InputFileError, TalError
from ..readers.preds import decode_head
from ..readers.scene import Scene, scene_from_head
from ..readers.sources import DROPPED, SKIPPED, Item, Skipped, Source
from ..writers.files import torch_save
from .forward import READERS, default_batch, forward_images
from .model import DetectionModel, import_ultralytics, load_model


@dataclass(frozen=True)
class ModelRun:
    """A model ready to stream a source through, and how.

    Attributes:
        model: the loaded network.
        batch: images per forward call (``--batch``, else the device's default).
        save_preds: image -> PREDS file to keep (``--save-preds``), or None.
        workers: threads that read images ahead of the network (0: the network's thread reads them).
    """

    model: DetectionModel
    batch: int
    save_preds: dict[Path, Path] | None = None
    workers: int = READERS


def prepare_model_run(model: str | Path, source: Source, imgsz: tuple[int, int], *, what: str, head: str | None = None,
                      device: str = "cpu", seed: int = 0, batch: int | None = None,
                      save_preds: str | Path | None = None, workers: int | None = None) -> ModelRun:
    """Load the model and check it against the source before any image runs.

    ``what`` names the command in the missing-extra message. PREDS files to keep are named as
    ``tal export`` names them: the path below ``images/`` for a dataset folder, else the stem.

    Raises:
        MissingExtraError: ultralytics is not installed.
        TalError: a model that is not a detector, a branch it lacks, a class count that is not
            the dataset's, an input size that is not a multiple of its strides, two images that
            would keep the same PREDS file, or PREDS files that exist already.
    """
    from ..writers.files import check_folder
    from .export import check_imgsz

    import_ultralytics(what)
    if batch is not None and batch < 1:
        raise TalError(f"--batch {batch}: expected an integer >= 1")
    targets = None
    if save_preds is not None:
        out = check_folder(Path(save_preds))
        targets, owner = {}, {}
        for item in source.items:
            image = Path(item.image)
            rel = image.relative_to(source.images_root) if source.images_root is not None else Path(image.name)
            target = out / rel.with_suffix(".pt")
            if target in owner:
                raise InputFileError(f"{target}: would be written for two images, {owner[target]} and {image}; "
                                     "rename one image")
            owner[target] = image
            targets[image] = target
        existing = [t for t in targets.values() if t.exists()]
        if existing:
            more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
            raise InputFileError(f"{existing[0]}{more} already exist; --save-preds does not replace PREDS files "
                                 "(choose an empty folder)")
    net = load_model(model, seed=seed, device=device)
    check_imgsz(imgsz, net.strides)
    net.check_head(head)
    check_model_classes(net, source.num_classes, "the dataset")
    return ModelRun(net, batch or default_batch(device), targets, READERS if workers is None else workers)


def model_scenes(items: Sequence[Item], model: DetectionModel, imgsz: tuple[int, int], batch: int, *,
                 head: str | None = None, names: Mapping[int, str] | None = None, num_classes: int | None = None,
                 kpt_shape: tuple[int, int] | None = None, on_skip: Callable[[Skipped], None] | None = None,
                 strict: bool = False, save_preds: Mapping[Path, Path] | None = None,
                 workers: int = READERS) -> Iterator[Scene]:
    """Yield the scene of every item, its head output computed by ``model``, in order.

    Args:
        items: the images and their label files (``preds`` is not read).
        imgsz: the network input ``(height, width)`` px.
        batch: images per forward call.
        head: the branch of an end-to-end model to assign (None: one2many).
        names: class names for the saved metadata when the model has placeholders.
        num_classes, kpt_shape: the dataset's (see :func:`~tal_cli.readers.scene.load_scene`).
        on_skip: told about each image left out: unreadable (``"skipped"``), or dropped by
            ultralytics' loader (``"dropped"``).
        strict: raise instead (a single image given by hand).
        save_preds: image -> PREDS file to write (``--save-preds``), or None.

    Raises:
        TalError: a model problem, or with ``strict`` any problem of the image.
    """
    model.check_head(head)
    check_model_classes(model, num_classes, "the dataset")
    labels_of = {Path(it.image): it.labels for it in items}

    def skip(image: Path, text: str, kind: str) -> None:
        if strict:
            raise (DroppedImageError(text) if kind == DROPPED else InputFileError(text))
        if on_skip is not None:
            on_skip(Skipped(image, text, kind))

    for done in forward_images(model, [Path(it.image) for it in items], imgsz, batch, None, dict(names or {}),
                               workers):
        if done.preds is None:
            skip(done.image, done.problem or "unreadable image", SKIPPED)
            continue
        source = f"{done.image} (model {model.source})"
        if save_preds is not None:
            target = save_preds[done.image]
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputFileError(f"{target.parent}: cannot create output folder ({exc.strerror or exc})") from None
            torch_save(done.preds, target)
        try:
            head_out = decode_head(done.preds, source, imgsz, model.strides, model.reg_max, head)
            yield scene_from_head(done.image, labels_of[done.image], head_out, source, num_classes=num_classes,
                                  kpt_shape=kpt_shape)
        except DroppedImageError as exc:
            skip(done.image, str(exc), DROPPED)
        except InputFileError as exc:  # the model's problems were ruled out above: this image's
            skip(done.image, str(exc), SKIPPED)


def check_model_classes(model: DetectionModel, num_classes: int | None, where: str) -> None:
    """The model's class count must be the dataset's (``where`` names the dataset).

    Raises:
        TalError: they differ.
    """
    if num_classes is not None and num_classes != model.num_classes:
        raise TalError(f"{model.source} has {model.num_classes} classes, but {where} has {num_classes}: the model "
                       "was not trained on this dataset")
