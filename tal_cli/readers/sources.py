"""Where ``tal sweep`` finds its images: samples, a dataset folder, one triple, or a dataset YAML.

Discovery only lists files (nothing is decoded); :func:`iter_scenes` then reads each item
once. Images and label files are paired as ultralytics pairs them (:mod:`.datasets`), and
judged as its loader judges them (:mod:`.verdicts`): an image without a label file is a
background image; an image ultralytics would drop is left out and counted as *dropped*; an
image without predictions, or whose PREDS cannot be read, is *skipped*, with a reason.

Each PREDS file serves one image: two images that would read the same file are an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import DroppedImageError, InputFileError, TalError
from .config import Sample
from .datasets import DATASET_SUFFIXES, SPLITS, images_under, label_path, read_dataset, split_images
from .images import IMG_FORMATS

__all__ = ["DATASET_SUFFIXES", "SPLITS", "Item", "Skipped", "Source", "iter_scenes", "plural", "resolve_source"]

#: One image to assign: its label file (None: background) and its PREDS file (the same record
#: a config's ``samples`` holds).
Item = Sample

#: Why an image is left out: ultralytics' loader drops it, or tal cannot assign it.
DROPPED, SKIPPED = "dropped", "skipped"


@dataclass(frozen=True)
class Skipped:
    """An image left out of the sweep, and why (one line).

    ``kind`` is ``"dropped"`` (ultralytics' loader leaves it out of training, so the sweep does
    too) or ``"skipped"`` (no predictions, or unreadable PREDS: tal cannot assign it).
    """

    image: Path
    reason: str
    kind: str = SKIPPED

    @property
    def text(self) -> str:
        """``"<image>: <reason>"``, the image named once."""
        return self.reason if self.reason.startswith(str(self.image)) else f"{self.image}: {self.reason}"


@dataclass(frozen=True)
class Source:
    """What a SOURCE argument names.

    Attributes:
        kind: ``"samples"``, ``"folder"``, ``"triple"`` or ``"dataset"``.
        description: one line for people, e.g. ``"folder data/ (50 images)"``.
        items: the images to assign, in ultralytics' (sorted) order.
        skipped: images found without predictions.
        names: class names the source carries (a dataset YAML's, or the samples'), else None.
        num_classes: the dataset's class count labels are checked against (None: the predictions').
        kpt_shape: ``(K, D)`` of a pose dataset, else None.
        strict: unreadable files are errors (a single triple) rather than skips.
        notes: remarks worth a warning (no label found anywhere, paths ultralytics reads otherwise).
        images_root: the ``images/`` folder of a dataset folder (paths below it name PREDS files), else None.
    """

    kind: str
    description: str
    items: tuple[Item, ...]
    skipped: tuple[Skipped, ...] = ()
    names: dict[int, str] | None = None
    num_classes: int | None = None
    kpt_shape: tuple[int, int] | None = None
    strict: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    images_root: Path | None = None


def plural(n: int, word: str) -> str:
    """``"1 image"``, ``"2 images"``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def _suffixes_text() -> str:
    return ", ".join(sorted(IMG_FORMATS))


def _pair_items(images: Sequence[tuple[Path, Path, Path]], preds_dir: Path | None,
                fallback: bool = True) -> tuple[list[Item], list[Skipped]]:
    """``(image, path for preds, label path)`` -> items and images without predictions.

    ``preds_dir/<path>.pt`` is looked for, then (``fallback``) ``preds_dir/<stem>.pt``; an item's
    labels are None when its label file does not exist (a background image). Without a
    ``preds_dir`` (``--model`` makes the predictions) every image is an item with no PREDS file.

    Raises:
        InputFileError: two images would read the same PREDS file.
    """
    if preds_dir is None:
        return [Item(image, labels if labels.is_file() else None, None) for image, _, labels in images], []
    items, skipped = [], []
    owner: dict[Path, Path] = {}
    for image, relative, labels in images:
        candidates = [preds_dir / relative.with_suffix(".pt")]
        if fallback and relative.parent != Path("."):
            candidates.append(preds_dir / f"{relative.stem}.pt")
        preds = next((c for c in candidates if c.is_file()), None)
        if preds is None:
            skipped.append(Skipped(image, f"no predictions ({candidates[0]} not found)"))
            continue
        if preds in owner:
            raise InputFileError(f"{preds}: serves two images, {owner[preds]} and {image}; one PREDS file per image "
                                 "(name them after the image's path below images/, or rename one image)")
        owner[preds] = image
        items.append(Item(image, labels if labels.is_file() else None, preds))
    return items, skipped


def _no_labels_note(triples: Sequence[tuple[Path, Path, Path]], images: int) -> tuple[str, ...]:
    """A warning when no image has a label file: the labels were looked for in the wrong place."""
    if not triples or any(labels.is_file() for _, _, labels in triples):
        return ()
    example = triples[0][2]
    return (f"no label file found for any of the {plural(images, 'image')}: every one is treated as background "
            f"(labels are looked for where ultralytics looks: the last images/ of the path becomes labels/, "
            f"e.g. {example})",)


def folder_source(folder: Path, preds_dir: Path | None = None, need_preds: bool = True) -> Source:
    """A folder holding ``images/``, ``labels/`` and ``preds/`` with matching relative paths.

    ``images/a/x.jpg`` pairs with ``labels/a/x.txt`` (ultralytics' rule, :func:`~.datasets.label_path`)
    and ``preds/a/x.pt`` (or ``preds/x.pt``); ``preds_dir`` replaces ``folder/preds``; without
    ``need_preds`` (``--model``) no predictions are looked for.

    Raises:
        InputFileError: no ``images/`` folder, no images in it, no predictions folder, or two
            images that would read the same PREDS file.
    """
    images_dir = folder / "images"
    if not images_dir.is_dir():
        raise InputFileError(f"{folder}: expected a dataset folder holding images/, labels/ and preds/ "
                             "(no images/ folder)")
    if need_preds:
        preds_dir = preds_dir if preds_dir is not None else folder / "preds"
        if not preds_dir.is_dir():
            hint = "" if preds_dir != folder / "preds" else " (give --preds DIR if they live elsewhere, or --model)"
            raise InputFileError(f"{preds_dir}: predictions folder not found{hint}")
    else:
        preds_dir = None
    images, repeats = images_under(images_dir)
    if not images:
        raise InputFileError(f"{images_dir}: no images ({_suffixes_text()})")
    triples = [(im, im.relative_to(images_dir), _relative_label(im)) for im in images]
    items, skipped = _pair_items(triples, preds_dir)
    notes = _no_labels_note(triples, len(images))
    if repeats:
        notes += (f"{plural(repeats, 'folder')} under {images_dir} reached twice through symbolic links (or a "
                  "loop): their images are listed once",)
    return Source("folder", f"folder {folder} ({plural(len(images), 'image')})", tuple(items), tuple(skipped),
                  notes=notes, images_root=images_dir)


def _relative_label(image: Path) -> Path:
    """ultralytics' label path of ``image`` (rule applied to the absolute path), relative to here when below it."""
    from .paths import display_path

    return display_path(label_path(image.absolute()))


def dataset_source(yaml_path: Path, preds_dir: Path | None, split: str = "val", need_preds: bool = True) -> Source:
    """An ultralytics dataset YAML (``path``, ``train``/``val``/``test``, ``names``) and ``--preds DIR``.

    Images, their order and their label files are ultralytics' (:mod:`~.datasets`);
    predictions are ``DIR/<stem>.pt``.

    Raises:
        InputFileError: not a dataset YAML, the split is missing or empty, no ``preds_dir``, or
            two images with the same stem (they would read the same PREDS file).
    """
    dataset = read_dataset(yaml_path)
    if need_preds and preds_dir is None:
        raise InputFileError(f"{yaml_path}: a dataset YAML needs --preds DIR, the folder of <image stem>.pt files "
                             "(or --model MODEL)")
    if need_preds and not preds_dir.is_dir():
        raise InputFileError(f"{preds_dir}: predictions folder not found")
    found = split_images(dataset, split)
    triples = [(im, Path(im.name), label_path(im)) for im in found.images]
    items, skipped = _pair_items(triples, preds_dir if need_preds else None, fallback=False)
    notes = (*dataset.notes, *found.notes, *_no_labels_note(triples, len(found.images)))
    return Source("dataset", f"dataset {yaml_path} split {split} ({plural(len(found.images), 'image')})",
                  tuple(items), tuple(skipped), names=dataset.names, num_classes=dataset.num_classes,
                  kpt_shape=dataset.kpt_shape, notes=notes)


def dataset_images(yaml_path: Path, split: str = "val") -> tuple[list[Path], dict[int, str] | None]:
    """The images of a dataset YAML's ``split`` and its ``names`` (None when it has none).

    Raises:
        InputFileError: not a dataset YAML, or the split is missing or empty.
    """
    dataset = read_dataset(yaml_path)
    return split_images(dataset, split).images, dataset.names


def samples_source(samples: Sequence, config_path: Path | None, need_preds: bool = True) -> Source:
    """The ``samples`` a config names (``Config.samples``); their class names come with them."""
    def tidy(path: Path | None) -> Path | None:  # configs/../samples/x -> samples/x
        return Path(os.path.normpath(path)) if path is not None else None

    items = tuple(Item(tidy(s.image), tidy(s.labels), tidy(s.preds) if need_preds else None) for s in samples)
    where = f" of {config_path}" if config_path is not None else ""
    named = [s.names for s in samples if s.names]
    names = named[0] if named and all(n == named[0] for n in named) else None
    return Source("samples", f"samples{where} ({plural(len(items), 'image')})", items, names=names)


def triple_source(image: Path, labels: Path, preds: Path | None) -> Source:
    """One ``IMAGE LABELS PREDS`` triple (``IMAGE LABELS`` with ``--model``); its files must be
    readable (as for ``tal assign``)."""
    return Source("triple", f"{image}", (Item(image, labels, preds),), strict=True)


def resolve_source(paths: Sequence[Path], samples: Sequence, config_path: Path | None,
                   preds_dir: Path | None = None, split: str = "val", need_preds: bool = True) -> Source:
    """The :class:`Source` named by 0, 1 or 3 SOURCE paths (0, 1 or 2 without ``need_preds``: ``--model``).

    Raises:
        InputFileError: a missing path, or a path that is neither a folder nor a dataset YAML.
        TalError: a wrong number of paths, or ``--preds`` where it does not apply.
    """
    if len(paths) == 0:
        if preds_dir is not None:
            raise TalError("--preds needs a SOURCE: a dataset folder or a dataset YAML")
        if not samples:
            raise TalError(f"no SOURCE given and {config_path or 'the config'} lists no samples; "
                           "give a dataset folder, a dataset YAML with --preds, or IMAGE LABELS PREDS")
        return samples_source(samples, config_path, need_preds)
    if not need_preds:
        if preds_dir is not None:
            raise TalError("--preds and --model: give one (the model makes the predictions)")
        if len(paths) == 3:
            raise TalError("with --model, give IMAGE LABELS (the model makes the predictions), not IMAGE LABELS PREDS")
        if len(paths) == 2:
            return triple_source(paths[0], paths[1], None)
    if len(paths) == 3:
        if preds_dir is not None:
            raise TalError("--preds applies to a dataset folder or a dataset YAML, not to IMAGE LABELS PREDS")
        return triple_source(*paths)
    if len(paths) != 1:
        raise TalError(f"expected no SOURCE, one folder or dataset YAML, or IMAGE LABELS PREDS; got {len(paths)} paths")
    path = paths[0]
    if path.is_dir():
        return folder_source(path, preds_dir, need_preds)
    if not path.exists():
        raise InputFileError(f"{path}: not found")
    if path.suffix.lower() in DATASET_SUFFIXES:
        return dataset_source(path, preds_dir, split, need_preds)
    if path.suffix.lower()[1:] in IMG_FORMATS:
        raise TalError(f"{path}: one image needs its labels and predictions: tal sweep IMAGE LABELS PREDS"
                       if need_preds else f"{path}: one image needs its labels: tal sweep IMAGE LABELS --model MODEL")
    raise InputFileError(f"{path}: expected a dataset folder (images/, labels/, preds/) or a dataset YAML")


def iter_scenes(items: Iterable[Item], imgsz: tuple[int, int], strides: Sequence[int], reg_max: int,
                on_skip: Callable[[Skipped], None] | None = None, strict: bool = False,
                head: str | None = None, num_classes: int | None = None,
                kpt_shape: tuple[int, int] | None = None, imgsz_flag: int | None = None) -> Iterator:
    """Read each item once (image, labels judged and letterboxed, head decoded) and yield its Scene, in order.

    An item ultralytics' loader drops is reported to ``on_skip`` as ``"dropped"``; one whose
    PREDS cannot be read as ``"skipped"``; neither is yielded. With ``strict`` (a triple) the
    error propagates instead. ``head`` picks the branch of end-to-end outputs; ``num_classes``
    and ``kpt_shape`` are the dataset's; ``imgsz_flag`` the ``--imgsz`` given (see
    :func:`~tal_cli.readers.scene.load_scene`).
    """
    from .scene import load_scene

    for item in items:
        try:
            scene = load_scene(item.image, item.labels, item.preds, imgsz, strides, reg_max, head,
                               num_classes=num_classes, kpt_shape=kpt_shape, explicit=strict, imgsz_flag=imgsz_flag)
        except InputFileError as exc:
            if strict:
                raise
            if on_skip is not None:
                on_skip(Skipped(item.image, str(exc), DROPPED if isinstance(exc, DroppedImageError) else SKIPPED))
            continue
        yield scene
