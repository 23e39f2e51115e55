"""Where ``tal sweep`` finds its images: samples, a dataset folder, one triple, or a dataset YAML.

Discovery only lists files (nothing is decoded); :func:`iter_scenes` then reads each item
once. An image without a label file is a background image; an image without predictions,
or whose files cannot be read, is *skipped* with a reason instead of stopping the sweep.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .config import Sample
from ..core.errors import InputFileError, TalError

#: Image suffixes looked for in folders (those ultralytics accepts that Pillow can read).
IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".mpo", ".png", ".tif", ".tiff", ".webp")
DATASET_SUFFIXES = (".yaml", ".yml")
SPLITS = ("train", "val", "test")


#: One image to assign: its label file (None: background) and its PREDS file (the same record
#: a config's ``samples`` holds).
Item = Sample


@dataclass(frozen=True)
class Skipped:
    """An image left out of the sweep, and why (one line)."""

    image: Path
    reason: str

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
        items: the images to assign, in a stable (sorted) order.
        skipped: images found without predictions.
        names: class names the source carries (a dataset YAML's ``names``), else None.
        strict: unreadable files are errors (a single triple) rather than skips.
        notes: remarks worth a warning (e.g. a missing ``labels/`` folder).
    """

    kind: str
    description: str
    items: tuple[Item, ...]
    skipped: tuple[Skipped, ...] = ()
    names: dict[int, str] | None = None
    strict: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


def plural(n: int, word: str) -> str:
    """``"1 image"``, ``"2 images"``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def images_under(folder: Path) -> list[Path]:
    """Image files below ``folder`` (recursive, sorted); unreadable sub-folders are passed over."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, onerror=None, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                found.append(Path(dirpath) / name)
    return found


def _suffixes_text() -> str:
    return ", ".join(IMAGE_SUFFIXES)


def _preds_for(preds_dir: Path, relative: Path) -> Path | None:
    """``preds_dir/<relative without suffix>.pt``, else ``preds_dir/<stem>.pt``; None when neither exists."""
    for candidate in (preds_dir / relative.with_suffix(".pt"), preds_dir / f"{relative.stem}.pt"):
        if candidate.is_file():
            return candidate
    return None


def _pair_items(images: Sequence[tuple[Path, Path, Path | None]], preds_dir: Path) -> tuple[list[Item], list[Skipped]]:
    """``(image, relative path for preds, label path or None)`` -> items and images without predictions."""
    items, skipped = [], []
    for image, relative, labels in images:
        preds = _preds_for(preds_dir, relative)
        if preds is None:
            skipped.append(Skipped(image, f"no predictions ({preds_dir / relative.with_suffix('.pt')} not found)"))
        else:
            items.append(Item(image, labels if labels is not None and labels.is_file() else None, preds))
    return items, skipped


def folder_source(folder: Path, preds_dir: Path | None = None) -> Source:
    """A folder holding ``images/``, ``labels/`` and ``preds/`` with matching relative paths.

    ``images/a/x.jpg`` pairs with ``labels/a/x.txt`` and ``preds/a/x.pt`` (or ``preds/x.pt``);
    ``preds_dir`` replaces ``folder/preds``.

    Raises:
        InputFileError: no ``images/`` folder, no images in it, or no predictions folder.
    """
    images_dir, labels_dir = folder / "images", folder / "labels"
    if not images_dir.is_dir():
        raise InputFileError(f"{folder}: expected a dataset folder holding images/, labels/ and preds/ "
                             "(no images/ folder)")
    preds_dir = preds_dir if preds_dir is not None else folder / "preds"
    if not preds_dir.is_dir():
        hint = "" if preds_dir != folder / "preds" else " (give --preds DIR if they live elsewhere)"
        raise InputFileError(f"{preds_dir}: predictions folder not found{hint}")
    images = images_under(images_dir)
    if not images:
        raise InputFileError(f"{images_dir}: no images ({_suffixes_text()})")
    notes = () if labels_dir.is_dir() else (f"{labels_dir}: not found; every image is treated as background",)
    triples = []
    for image in images:
        relative = image.relative_to(images_dir)
        triples.append((image, relative, labels_dir / relative.with_suffix(".txt")))
    items, skipped = _pair_items(triples, preds_dir)
    return Source("folder", f"folder {folder} ({plural(len(images), 'image')})", tuple(items), tuple(skipped), notes=notes)


def _label_path(image: Path) -> Path:
    """Ultralytics' rule: the last ``/images/`` of the path becomes ``/labels/``, the suffix ``.txt``."""
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    text = str(image)
    if sa in text:
        text = sb.join(text.rsplit(sa, 1))
    return Path(text).with_suffix(".txt")


def _dataset_root(data: dict, yaml_path: Path) -> Path:
    value = data.get("path")
    if value is None or value == "":
        return yaml_path.parent
    if not isinstance(value, str):
        raise InputFileError(f"{yaml_path}: 'path' must be a folder path, got {value!r}")
    root = Path(value).expanduser()
    if root.is_absolute():
        return root
    for base in (yaml_path.parent, Path.cwd()):
        if (base / root).is_dir():
            return base / root
    return yaml_path.parent / root


def _split_images(entry: object, root: Path, yaml_path: Path, split: str) -> list[Path]:
    if not isinstance(entry, str):
        raise InputFileError(f"{yaml_path}: split {split!r} must be a path or a list of paths, got {entry!r}")
    target = Path(entry).expanduser()
    target = target if target.is_absolute() else root / target
    if target.is_dir():
        return images_under(target)
    if target.is_file() and target.suffix.lower() == ".txt":
        try:
            lines = target.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputFileError(f"{target}: cannot read image list ({exc})") from None
        paths = []
        for line in (ln.strip() for ln in lines):
            if line:
                p = Path(line)
                paths.append(p if p.is_absolute() else target.parent / p)
        return paths
    if target.is_file() and target.suffix.lower() in IMAGE_SUFFIXES:
        return [target]
    raise InputFileError(f"{yaml_path}: split {split!r}: {target} not found")


def dataset_source(yaml_path: Path, preds_dir: Path | None, split: str = "val") -> Source:
    """An ultralytics dataset YAML (``path``, ``train``/``val``/``test``, ``names``) and ``--preds DIR``.

    Images come from the ``split`` entry (folders, ``.txt`` lists or single images); labels
    follow ultralytics' ``images/`` -> ``labels/`` rule; predictions are ``DIR/<stem>.pt``.

    Raises:
        InputFileError: not a dataset YAML, the split is missing or empty, or no ``preds_dir``.
    """
    data = _dataset_yaml(yaml_path)
    if preds_dir is None:
        raise InputFileError(f"{yaml_path}: a dataset YAML needs --preds DIR, the folder of <image stem>.pt files")
    if not preds_dir.is_dir():
        raise InputFileError(f"{preds_dir}: predictions folder not found")
    images, names = dataset_images(yaml_path, split, data)
    items, skipped = _pair_items([(im, Path(im.name), _label_path(im)) for im in images], preds_dir)
    return Source("dataset", f"dataset {yaml_path} split {split} ({plural(len(images), 'image')})", tuple(items),
                  tuple(skipped), names=names)


def _dataset_yaml(yaml_path: Path) -> dict:
    from .config import read_yaml

    data = read_yaml(yaml_path, "dataset YAML")
    if not isinstance(data, dict) or not any(k in data for k in SPLITS):
        raise InputFileError(f"{yaml_path}: expected an ultralytics dataset YAML with train/val/test entries")
    return data


def dataset_images(yaml_path: Path, split: str = "val", data: dict | None = None) -> tuple[list[Path], dict[int, str] | None]:
    """The images of a dataset YAML's ``split`` and its ``names`` (None when it has none).

    Raises:
        InputFileError: not a dataset YAML, or the split is missing or empty.
    """
    from .config import parse_names

    data = data if data is not None else _dataset_yaml(yaml_path)
    if data.get(split) in (None, "", []):
        have = ", ".join(k for k in SPLITS if data.get(k))
        raise InputFileError(f"{yaml_path}: no {split!r} split (it has: {have or 'none'}); choose one with --split")
    root = _dataset_root(data, yaml_path)
    entries = data[split] if isinstance(data[split], list) else [data[split]]
    images: list[Path] = []
    for entry in entries:
        images.extend(_split_images(entry, root, yaml_path, split))
    if not images:
        raise InputFileError(f"{yaml_path}: split {split!r} holds no images ({_suffixes_text()})")
    names = parse_names(data["names"], f"{yaml_path}:", yaml_path.parent) if "names" in data else None
    return images, names


def samples_source(samples: Sequence, config_path: Path | None) -> Source:
    """The ``samples`` a config names (``Config.samples``)."""
    def tidy(path: Path | None) -> Path | None:  # configs/../samples/x -> samples/x
        return Path(os.path.normpath(path)) if path is not None else None

    items = tuple(Item(tidy(s.image), tidy(s.labels), tidy(s.preds)) for s in samples)
    where = f" of {config_path}" if config_path is not None else ""
    return Source("samples", f"samples{where} ({plural(len(items), 'image')})", items)


def triple_source(image: Path, labels: Path, preds: Path) -> Source:
    """One ``IMAGE LABELS PREDS`` triple; its files must be readable (as for ``tal assign``)."""
    return Source("triple", f"{image}", (Item(image, labels, preds),), strict=True)


def resolve_source(paths: Sequence[Path], samples: Sequence, config_path: Path | None,
                   preds_dir: Path | None = None, split: str = "val") -> Source:
    """The :class:`Source` named by 0, 1 or 3 SOURCE paths.

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
        return samples_source(samples, config_path)
    if len(paths) == 3:
        if preds_dir is not None:
            raise TalError("--preds applies to a dataset folder or a dataset YAML, not to IMAGE LABELS PREDS")
        return triple_source(*paths)
    if len(paths) != 1:
        raise TalError(f"expected no SOURCE, one folder or dataset YAML, or IMAGE LABELS PREDS; got {len(paths)} paths")
    path = paths[0]
    if path.is_dir():
        return folder_source(path, preds_dir)
    if not path.exists():
        raise InputFileError(f"{path}: not found")
    if path.suffix.lower() in DATASET_SUFFIXES:
        return dataset_source(path, preds_dir, split)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise TalError(f"{path}: one image needs its labels and predictions: tal sweep IMAGE LABELS PREDS")
    raise InputFileError(f"{path}: expected a dataset folder (images/, labels/, preds/) or a dataset YAML")


def iter_scenes(items: Iterable[Item], imgsz: tuple[int, int], strides: Sequence[int], reg_max: int,
                on_skip: Callable[[Skipped], None] | None = None, strict: bool = False,
                head: str | None = None) -> Iterator:
    """Read each item once (image size, labels letterboxed, head decoded) and yield its Scene, in order.

    An item whose files cannot be read is reported to ``on_skip`` and left out, unless
    ``strict``, where the error propagates. ``head`` picks the branch of end-to-end outputs.
    """
    from .scene import load_scene

    for item in items:
        try:
            scene = load_scene(item.image, item.labels, item.preds, imgsz, strides, reg_max, head)
        except InputFileError as exc:
            if strict:
                raise
            if on_skip is not None:
                on_skip(Skipped(item.image, str(exc)))
            continue
        yield scene
