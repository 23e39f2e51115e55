"""Where ``tal check`` finds its image/label pairs: a dataset YAML, a dataset folder, one pair, or samples.

No predictions are needed. Images, their order and their label files are ultralytics'
(:mod:`.datasets`): a dataset YAML's splits as its loader resolves them (every split present,
or one), a folder's ``images/`` (or the folder itself when it holds the images), the last
``/images/`` of an image's absolute path becoming ``/labels/``. Discovery only lists paths (as
strings, to keep the list small); nothing is opened here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import InputFileError, TalError
from .datasets import DATASET_SUFFIXES, SPLITS, images_under, label_path, read_dataset, split_images
from .images import IMG_FORMATS
from .sources import plural


@dataclass(frozen=True)
class SplitFiles:
    """The images of one split (or of a source without splits), in ultralytics' order.

    Attributes:
        split: the split's name, or None.
        images: image paths as ultralytics holds them.
        labels: each image's label file when given by hand (a pair, samples); None: ultralytics'
            rule (:func:`~.datasets.label_path`), on the path as held (a dataset YAML's split) or,
            with ``absolute``, on the absolute path (a folder, :func:`label_of`).
    """

    split: str | None
    images: tuple[str, ...]
    labels: tuple[str | None, ...] | None = None
    absolute: bool = False

    def pairs(self) -> Iterator[tuple[str, str | None]]:
        """``(image, label file)`` of every image, label paths made as they are needed."""
        if self.labels is not None:
            yield from zip(self.images, self.labels)
        elif self.absolute:
            for image in self.images:
                yield image, label_of(image)
        else:
            for image in self.images:
                yield image, os.fspath(label_path(image))


@dataclass(frozen=True)
class PairSource:
    """What ``tal check``'s SOURCE names.

    Attributes:
        kind: ``"dataset"``, ``"folder"``, ``"pair"`` or ``"samples"``.
        description: one line for people, e.g. ``"dataset data.yaml splits train, val (120 images)"``.
        splits: the images of each split, in order; an image listed in an earlier split is left out.
        names: class names the source carries (a dataset YAML's, or the samples'), else None.
        num_classes: the class count labels are checked against (None: not checked).
        kpt_shape: ``(K, D)`` of a pose dataset, else None.
        notes: remarks worth a warning (images in several splits, paths ultralytics reads otherwise).
    """

    kind: str
    description: str
    splits: tuple[SplitFiles, ...]
    names: dict[int, str] | None = None
    num_classes: int | None = None
    kpt_shape: tuple[int, int] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def images(self) -> int:
        return sum(len(s.images) for s in self.splits)


def label_of(image: str) -> str:
    """ultralytics' label file of ``image`` (its rule on the absolute path), relative to here when below it."""
    found = os.fspath(label_path(os.path.abspath(image)))
    here = os.getcwd() + os.sep
    return found[len(here):] if found.startswith(here) else found


def dataset_pairs(yaml_path: Path, split: str | None = None) -> PairSource:
    """The splits of a dataset YAML: ``split``, or every one it has (train, val, test).

    An image listed in two splits is checked once, in the first (with a note).

    Raises:
        InputFileError: unreadable YAML, a missing split or path, or a split without images.
    """
    dataset = read_dataset(yaml_path)
    wanted = [split] if split is not None else [s for s in SPLITS if _has_split(dataset.data, s)]
    if not wanted:
        raise InputFileError(f"{yaml_path}: no train, val or test split")
    seen: set[str] = set()
    groups, notes = [], list(dataset.notes)
    for name in wanted:
        found = split_images(dataset, name)
        notes += found.notes
        images = [os.fspath(p) for p in found.images]
        fresh = [p for p in images if p not in seen]
        if len(fresh) < len(images):
            notes.append(f"{plural(len(images) - len(fresh), 'image')} of split {name!r} also in an earlier split: "
                         "checked once")
        seen.update(fresh)
        groups.append(SplitFiles(name, tuple(fresh)))
    total = sum(len(g.images) for g in groups)
    what = f"split {wanted[0]}" if len(wanted) == 1 else f"splits {', '.join(wanted)}"
    return PairSource("dataset", f"dataset {yaml_path} {what} ({plural(total, 'image')})", tuple(groups),
                      dataset.names, dataset.num_classes, dataset.kpt_shape, tuple(notes))


def _has_split(data: dict, split: str) -> bool:
    entry = data.get(split)
    if entry in (None, "", []) and split == "val":
        entry = data.get("validation")
    return entry not in (None, "", [])


def folder_pairs(folder: Path) -> PairSource:
    """A dataset folder's ``images/`` (or the folder itself when it has no ``images/``); labels by ultralytics' rule.

    Raises:
        InputFileError: no images below it.
    """
    images_dir = folder / "images" if (folder / "images").is_dir() else folder
    found, repeats = images_under(images_dir)
    if not found:
        raise InputFileError(f"{images_dir}: no images ({', '.join(sorted(IMG_FORMATS))})")
    notes = ()
    if repeats:
        notes = (f"{plural(repeats, 'folder')} under {images_dir} reached twice through symbolic links (or a loop): "
                 "their images are listed once",)
    images = tuple(os.fspath(p) for p in found)
    return PairSource("folder", f"folder {folder} ({plural(len(images), 'image')})",
                      (SplitFiles(None, images, absolute=True),), notes=notes)


def pair_source(image: Path, labels: Path) -> PairSource:
    """One ``IMAGE LABELS`` pair, given by hand: both files must exist.

    Raises:
        InputFileError: either is missing or a folder.
    """
    for path, what in ((image, "image"), (labels, "label file")):
        if not path.exists():
            raise InputFileError(f"{path}: {what} not found")
        if path.is_dir():
            raise InputFileError(
                f"{path}: is a folder, expected {'an image' if what == 'image' else 'a YOLO label file'}"
            )
    return PairSource("pair", f"{image}", (SplitFiles(None, (os.fspath(image),), (os.fspath(labels),)),))


def samples_pairs(samples: Sequence, config_path: Path | None) -> PairSource:
    """The ``samples`` a config names (their PREDS are not needed); their class names come with them."""
    images = tuple(os.path.normpath(s.image) for s in samples)
    labels = tuple(os.path.normpath(s.labels) if s.labels is not None else None for s in samples)
    named = [s.names for s in samples if s.names]
    names = named[0] if named and all(n == named[0] for n in named) else None
    where = f" of {config_path}" if config_path is not None else ""
    return PairSource(
        "samples",
        f"samples{where} ({plural(len(images), 'image')})",
        (SplitFiles(None, images, labels),),
        names=names,
        num_classes=len(names) if names else None,
    )


def resolve_pairs(paths: Sequence[Path], samples: Sequence, config_path: Path | None,
                  split: str | None = None) -> PairSource:
    """The :class:`PairSource` named by 0, 1 or 2 SOURCE paths.

    Raises:
        InputFileError: a missing path, or a path that is neither a folder nor a dataset YAML.
        TalError: a wrong number of paths, or ``--split`` where it does not apply.
    """
    if split is not None and not (len(paths) == 1 and paths[0].suffix.lower() in DATASET_SUFFIXES):
        raise TalError("--split applies to a dataset YAML")
    if len(paths) == 0:
        if not samples:
            raise TalError(f"no SOURCE given and {config_path or 'the config'} lists no samples; "
                           "give a dataset YAML, a dataset folder, or IMAGE LABELS")
        return samples_pairs(samples, config_path)
    if len(paths) == 2:
        return pair_source(*paths)
    if len(paths) != 1:
        raise TalError(f"expected no SOURCE, a dataset YAML or folder, or IMAGE LABELS; got {len(paths)} paths")
    path = paths[0]
    if path.is_dir():
        return folder_pairs(path)
    if not path.exists():
        raise InputFileError(f"{path}: not found")
    if path.suffix.lower() in DATASET_SUFFIXES:
        return dataset_pairs(path, split)
    if path.suffix.lower()[1:] in IMG_FORMATS:
        raise TalError(f"{path}: one image needs its label file: tal check IMAGE LABELS")
    raise InputFileError(f"{path}: expected a dataset YAML, a dataset folder (images/, labels/) or IMAGE LABELS")
