"""``tal export``: run an ultralytics model on images and save its raw head output as PREDS files.

Needs the optional extra (``pip install "tal[ultralytics]"``); ultralytics is imported only
when a model is loaded, so the rest of ``tal`` never needs it. Not part of the pure core: this
module reads images and models and writes files.

Each image is letterboxed exactly as ``tal assign`` letterboxes its labels
(:class:`~tal_cli.readers.images.Letterbox`, grey 114, no stride rounding: ultralytics' ``LetterBox``
with ``auto=False``), run through the network in eval mode *without fusing* (fusing drops the
one-to-many branch of end-to-end heads; batches as :mod:`~tal_cli.ultralytics.forward` forms them),
and its head output saved as
``{"boxes": [1, 4R, A], "scores": [1, C, A], "meta": {...}}``, or for end-to-end heads
``{"one2many": {...}, "one2one": {...}, "meta": {...}}`` (feature maps are not saved). The
``meta`` dict is :meth:`PredsMeta.to_dict <tal_cli.readers.preds.PredsMeta.to_dict>`; everything
loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InputFileError, TalError
from ..writers.files import torch_save
from .model import DetectionModel


@dataclass(frozen=True)
class ExportPlan:
    """What ``tal export`` will do: each image and the PREDS file it becomes.

    Attributes:
        jobs: ``(image, target .pt)`` pairs, in order.
        out: the output folder.
        description: the source in words.
        names: class names the source carries (a dataset YAML's), else None.
        notes: remarks worth a warning (how ultralytics would read the dataset YAML otherwise).
    """

    jobs: tuple[tuple[Path, Path], ...]
    out: Path
    description: str
    names: dict[int, str] | None = None
    notes: tuple[str, ...] = ()


def plan_export(source: Path, out: Path | None, split: str = "val") -> ExportPlan:
    """Find the images of SOURCE and name their PREDS files so that ``tal sweep`` finds them.

    - an image: ``OUT/<stem>.pt``;
    - a dataset folder (with ``images/``): ``OUT/<path under images/>.pt``, OUT defaulting to
      ``SOURCE/preds`` (then ``tal sweep SOURCE`` works as it is);
    - another folder: ``OUT/<path under the folder>.pt``;
    - a dataset YAML: the ``split``'s images, ``OUT/<stem>.pt`` (``tal sweep YAML --preds OUT``).

    Raises:
        InputFileError: no such source, no images, or two images that would share a PREDS file.
        TalError: OUT is needed but not given.
    """
    from ..readers.datasets import DATASET_SUFFIXES, images_under, is_image_name, read_dataset, split_images
    from ..readers.images import IMG_FORMATS
    from ..readers.sources import plural

    names, notes = None, ()
    if not source.exists():
        raise InputFileError(f"{source}: not found")
    if source.is_dir():
        base = source / "images" if (source / "images").is_dir() else source
        images, _ = images_under(base)
        if not images:
            raise InputFileError(f"{base}: no images ({', '.join(sorted(IMG_FORMATS))})")
        if out is None and base != source:
            out = source / "preds"
        relative = [im.relative_to(base).with_suffix(".pt") for im in images]
        what = "dataset folder" if base != source else "folder"
        description = f"{what} {source} ({plural(len(images), 'image')})"
    elif source.suffix.lower() in DATASET_SUFFIXES:
        dataset = read_dataset(source)
        found = split_images(dataset, split)
        images, names, notes = found.images, dataset.names, (*dataset.notes, *found.notes)
        relative = [Path(f"{im.stem}.pt") for im in images]
        description = f"dataset {source} split {split} ({plural(len(images), 'image')})"
    elif is_image_name(source.name):
        images, relative = [source], [Path(f"{source.stem}.pt")]
        description = f"image {source}"
    else:
        raise InputFileError(f"{source}: expected an image, a folder of images, or a dataset YAML")
    if out is None:
        raise TalError(f"--out DIR is needed for {description.split(' (')[0]} "
                       "(only a dataset folder with images/ has a default: its preds/)")
    seen: dict[Path, Path] = {}
    for image, rel in zip(images, relative):
        if rel in seen:
            raise InputFileError(f"{image}: same PREDS file as {seen[rel]} ({out / rel}); rename one of them")
        seen[rel] = image
    return ExportPlan(tuple((im, out / rel) for im, rel in zip(images, relative)), out, description, names, notes)


def run_export(model: DetectionModel, plan: ExportPlan, imgsz: tuple[int, int], head: str | None = None,
               batch: int = 1, workers: int = 2) -> Iterator[tuple[Path, Path | None, str | None]]:
    """Export every image of ``plan``; yields ``(image, written file or None, error or None)``.

    The network runs on batches of ``batch`` images (:func:`~tal_cli.ultralytics.forward.forward_images`,
    the same path ``tal sweep --model`` takes). An image that cannot be read or written is
    reported (its error text) and the export goes on; a model problem (:class:`TalError` that
    is not an :class:`InputFileError`) stops it. The metadata takes the plan's class names when
    the model has only placeholders.
    """
    from .forward import forward_images

    targets = dict(plan.jobs)
    for done in forward_images(model, [image for image, _ in plan.jobs], imgsz, batch, head, plan.names, workers):
        if done.preds is None:
            yield done.image, None, done.problem
            continue
        target = targets[done.image]
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            yield done.image, torch_save(done.preds, target), None
        except OSError as exc:
            yield done.image, None, f"{target.parent}: cannot create output folder ({exc.strerror or exc})"
        except InputFileError as exc:
            yield done.image, None, str(exc)


def check_imgsz(imgsz: Sequence[int], strides: Sequence[int]) -> None:
    """The input size must be a multiple of the largest stride (as training uses it)."""
    step = max(strides)
    for n in imgsz:
        if n % step:
            raise TalError(f"--imgsz {n}: must be a multiple of {step}, the model's largest stride "
                           f"(e.g. {max(step, n // step * step)})")


def check_targets(plan: ExportPlan, overwrite: bool) -> None:
    """Refuse to replace existing PREDS files unless ``overwrite``.

    Raises:
        InputFileError: naming the first existing file and how many more.
    """
    from ..readers.paths import display_path

    existing = [target for _, target in plan.jobs if target.exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise InputFileError(f"{display_path(existing[0])}{more} already exist; add --overwrite to replace them")


def next_command(source: Path, plan: ExportPlan, written: Sequence[Path], split: str, model: DetectionModel) -> str:
    """The ``tal`` command that uses what was just exported (paths relative to the working folder)."""
    from ..readers.datasets import DATASET_SUFFIXES
    from ..readers.paths import display_path

    version = tuple(int(p) for p in model.version.split(".")[:2] if p.isdigit())
    flags = " --variant ultralytics" if version >= (8, 4) else ""
    src, out = display_path(source), display_path(plan.out)
    if source.is_dir() and plan.out == source / "preds":
        command = f"tal sweep {src}{flags}"
    elif source.suffix.lower() in DATASET_SUFFIXES:
        command = f"tal sweep {src} --preds {out} --split {split}{flags}"
    elif source.is_dir() and source.name == "images" and (source.parent / "labels").is_dir():
        command = f"tal sweep {display_path(source.parent)} --preds {out}{flags}"
    elif source.is_file():
        command = f"tal assign {src} LABELS {display_path(written[0])}{flags}"
    else:
        command = f"tal assign IMAGE LABELS {out}/<stem>.pt{flags}"
    if "one2one" in model.branches:
        command += "   (--head one2one: the one-to-one branch)"
    return command
