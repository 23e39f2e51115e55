"""Dataset YAMLs and image folders, resolved as ultralytics' loader resolves them (8.4).

- ``path:`` is the dataset root. Without it, the YAML's folder; a relative one is read
  against the YAML's folder (so ``tal`` gives the same answer from any working folder).
  ultralytics itself reads a relative ``path`` against the folder training runs from, then its
  ``datasets_dir``: when that would give another folder from here, a note says so.
- A split entry (``train``/``val``/``test``) is a folder (every image below it, hidden files and
  folders left out), a text file listing images (``./x`` relative to the list's folder; other
  relative entries are relative to the working folder, as for ultralytics), or a list of those.
  A single-string entry starting with ``../`` that does not exist is also tried without it.
- Images are the files whose suffix ultralytics lists (:data:`~.images.IMG_FORMATS`), sorted.
- An image's label file: the last ``/images/`` of its path becomes ``/labels/`` and its suffix
  ``.txt`` (:func:`label_path`).

Folder walks follow symbolic links, never loop, and list an image once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import InputFileError
from .images import IMG_FORMATS

SPLITS = ("train", "val", "test")
DATASET_SUFFIXES = (".yaml", ".yml")
#: Keys ultralytics type-checks, and the types it accepts.
KEY_TYPES: dict[str, tuple[type, ...]] = {"path": (str,), "train": (str, list), "val": (str, list),
                                          "test": (str, list), "names": (list, dict), "kpt_shape": (list,)}


@dataclass(frozen=True)
class Dataset:
    """A dataset YAML, read and resolved.

    Attributes:
        yaml: the YAML file.
        root: the dataset root its split entries are relative to.
        data: the parsed mapping.
        names: class names by id (None when the YAML gives only ``nc`` or neither).
        num_classes: the class count ultralytics checks labels against (None if unknown).
        kpt_shape: ``(K, D)`` of a pose dataset, else None.
        notes: remarks worth a warning (where ultralytics would read something else, or refuse).
    """

    yaml: Path
    root: Path
    data: dict
    names: dict[int, str] | None
    num_classes: int | None
    kpt_shape: tuple[int, int] | None
    notes: tuple[str, ...] = ()

    def split_entry(self, split: str) -> Any:
        """The raw entry of ``split`` (``validation`` stands for a missing ``val``, as for ultralytics).

        Raises:
            InputFileError: no such split.
        """
        entry = self.data.get(split)
        if entry in (None, "", []) and split == "val":
            entry = self.data.get("validation")
        if entry in (None, "", []):
            have = ", ".join(k for k in (*SPLITS, "validation") if self.data.get(k))
            raise InputFileError(f"{self.yaml}: no {split!r} split (it has: {have or 'none'}); choose one with --split")
        return entry


@dataclass(frozen=True)
class SplitImages:
    """The images of a split, in ultralytics' order, and remarks about how they were found."""

    images: list[Path]
    notes: tuple[str, ...] = field(default_factory=tuple)


def label_path(image: str | Path) -> Path:
    """ultralytics' rule: the last ``/images/`` of the path becomes ``/labels/``, the suffix ``.txt``.

    The rule applies to the path as ultralytics holds it: absolute for images found in folders
    (:func:`images_under` of an absolute folder), as written for relative list entries.
    """
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    text = os.fspath(image)
    return Path(sb.join(text.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt")


def is_image_name(name: str) -> bool:
    """Whether ultralytics lists a file of this name as an image (its suffix, case-insensitive)."""
    return "." in name and name.rpartition(".")[-1].lower() in IMG_FORMATS


def images_under(folder: Path) -> tuple[list[Path], int]:
    """Image files below ``folder``, sorted as ultralytics sorts them, and how many folders were reached twice.

    Hidden files and folders (``.name``) are left out, as ultralytics' glob does. Symbolic links
    are followed, but a folder already visited (a link loop, or two links to one folder) is not
    entered again, so no path is listed twice. (Two image files that link to one picture are two
    images, as for ultralytics.)
    """
    found: list[Path] = []
    seen_dirs: set[tuple[int, int]] = set()
    again = 0
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            st = current.stat()
            if (st.st_dev, st.st_ino) in seen_dirs:
                again += 1
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            entries = list(os.scandir(current))
        except OSError:
            continue  # unreadable folder: passed over
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    stack.append(Path(entry.path))
                elif entry.is_file() and is_image_name(entry.name):
                    found.append(Path(entry.path))
            except OSError:
                continue
    found.sort(key=os.fspath)
    return found, again


def ultralytics_datasets_dir() -> Path | None:
    """ultralytics' ``datasets_dir`` setting, read from its settings file without importing it (None if absent)."""
    base = os.environ.get("YOLO_CONFIG_DIR")
    candidates = [Path(base) / "settings.json"] if base else []
    candidates.append(Path.home() / ".config" / "Ultralytics" / "settings.json")
    for path in candidates:
        try:
            value = json.loads(path.read_text(encoding="utf-8")).get("datasets_dir")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, str) and value:
            return Path(value)
    return None


def _root(data: dict, yaml_path: Path) -> tuple[Path, tuple[str, ...]]:
    """The dataset root and a note when ultralytics, run from here, would read another folder."""
    folder = yaml_path.resolve().parent
    value = data.get("path")
    if not value:
        return folder, ()
    given = Path(value).expanduser()
    if given.is_absolute():
        return given, ()
    mine = folder / given
    theirs = Path.cwd() / given
    if not theirs.exists():
        datasets = ultralytics_datasets_dir()
        theirs = datasets / given if datasets is not None else theirs
    if not mine.exists() and theirs.exists():
        mine = theirs
    notes = ()
    if theirs.exists() and mine.resolve() != theirs.resolve():
        notes = (f"{yaml_path}: 'path: {value}' is read relative to the YAML's folder ({mine}); ultralytics reads "
                 f"it relative to the folder training runs from, and run from here would use {theirs}",)
    return mine, notes


def _names(data: dict, yaml_path: Path) -> tuple[dict[int, str] | None, int | None]:
    """``names`` (list or mapping) and the class count, checked as ultralytics checks them."""
    nc = data.get("nc")
    if nc is not None and not isinstance(nc, int):
        try:
            as_float = float(nc)
        except (TypeError, ValueError):
            as_float = None
        if as_float is None or as_float != int(as_float):
            raise InputFileError(f"{yaml_path}: 'nc: {nc}' must be an integer")
        nc = int(as_float)
    names = data.get("names")
    if names is None:
        return None, nc
    try:
        mapping = dict(enumerate(names)) if isinstance(names, list) else {int(k): v for k, v in names.items()}
    except (TypeError, ValueError):
        raise InputFileError(f"{yaml_path}: 'names' keys must be class ids 0..N-1, got {list(names)!r}") from None
    mapping = {k: str(v) for k, v in mapping.items()}
    if not mapping:
        raise InputFileError(f"{yaml_path}: 'names' is empty; ultralytics needs at least one class")
    if max(mapping) >= len(mapping) or min(mapping) < 0:
        raise InputFileError(f"{yaml_path}: {len(mapping)} names need class ids 0-{len(mapping) - 1}, "
                             f"got {min(mapping)}-{max(mapping)}")
    if nc is not None and nc != len(mapping):
        raise InputFileError(f"{yaml_path}: 'names' length {len(mapping)} and 'nc: {nc}' must match")
    return dict(sorted(mapping.items())), len(mapping)


def _kpt_shape(data: dict, yaml_path: Path) -> tuple[int, int] | None:
    value = data.get("kpt_shape")
    if value is None:
        return None
    if (len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or value[0] < 1 or value[1] not in (2, 3)):
        raise InputFileError(f"{yaml_path}: 'kpt_shape' must be [keypoints, 2 or 3], got {value!r}")
    return (value[0], value[1])


def read_dataset(yaml_path: str | Path) -> Dataset:
    """Read and resolve a dataset YAML (see the module docstring).

    Raises:
        InputFileError: unreadable YAML, not a mapping with any split, a key of a type ultralytics
            refuses, or names and ``nc`` that disagree.
    """
    from .config import read_yaml

    yaml_path = Path(yaml_path)
    data = read_yaml(yaml_path, "dataset YAML")
    if not isinstance(data, dict) or not any(k in data for k in (*SPLITS, "validation")):
        raise InputFileError(f"{yaml_path}: expected an ultralytics dataset YAML with train/val/test entries")
    for key, types in KEY_TYPES.items():
        if data.get(key) is not None and not isinstance(data[key], types):
            expected = " or ".join("a list" if t is list else "a mapping" if t is dict else "a string" for t in types)
            raise InputFileError(f"{yaml_path}: '{key}' must be {expected}, got {data[key]!r}")
    notes = []
    missing = [k for k in ("train", "val") if k not in data and not (k == "val" and "validation" in data)]
    if missing:
        notes.append(f"{yaml_path}: ultralytics refuses to train on this YAML: "
                     f"{' and '.join(repr(k + ':') for k in missing)} missing")
    names, nc = _names(data, yaml_path)
    if names is None and nc is None:
        notes.append(f"{yaml_path}: no 'names' or 'nc': ultralytics refuses this YAML, and class ids are not checked")
    root, root_notes = _root(data, yaml_path)
    return Dataset(yaml_path, root, data, names, nc, _kpt_shape(data, yaml_path), (*root_notes, *notes))


def _entry_targets(entry: Any, root: Path, dataset: Dataset, split: str) -> list[Path]:
    if isinstance(entry, str):
        target = (root / entry).resolve()
        if not target.exists() and entry.startswith("../"):
            target = (root / entry[3:]).resolve()
        return [target]
    if isinstance(entry, list) and all(isinstance(e, str) for e in entry):
        return [(root / e).resolve() for e in entry]
    raise InputFileError(f"{dataset.yaml}: split {split!r} must be a path or a list of paths, got {entry!r}")


def _listed_images(listing: Path) -> tuple[list[str], int]:
    """The image paths a text list names, as ultralytics reads them, and how many are relative to the working folder."""
    try:
        lines = listing.read_text(encoding="utf-8-sig").strip().splitlines()
    except UnicodeDecodeError:
        raise InputFileError(f"{listing}: a split file must be a UTF-8 list of image paths (ultralytics reads "
                             "any file given as a split as such a list)") from None
    except OSError as exc:
        raise InputFileError(f"{listing}: cannot read image list ({exc.strerror})") from None
    parent = f"{listing.parent}{os.sep}"
    out, relative = [], 0
    for line in lines:
        if line.startswith("./"):
            line = line.replace("./", parent, 1)
        elif line and not os.path.isabs(line) and is_image_name(line):
            relative += 1
        out.append(line)
    return out, relative


def split_images(dataset: Dataset, split: str = "val") -> SplitImages:
    """The images of one split, in ultralytics' order (see the module docstring).

    Raises:
        InputFileError: no such split, a path that does not exist, or no images at all.
    """
    entry = dataset.split_entry(split)
    images: list[str] = []
    notes: list[str] = []
    repeats = relative = 0
    for target in _entry_targets(entry, dataset.root, dataset, split):
        if target.is_dir():
            found, again = images_under(target)
            images += map(os.fspath, found)
            repeats += again
        elif target.is_file():
            listed, rel = _listed_images(target)
            images += listed
            relative += rel
        else:
            raise InputFileError(f"{dataset.yaml}: split {split!r}: {target} not found")
    images = sorted(x.replace("/", os.sep) for x in images if is_image_name(x))
    unique = list(dict.fromkeys(images))
    if len(unique) < len(images):
        notes.append(f"{len(images) - len(unique)} images are listed more than once in split {split!r}: ultralytics "
                     "trains on each copy; tal assigns each image once")
    if repeats:
        notes.append(f"{repeats} folders of split {split!r} are reached twice through symbolic links (or loop): "
                     "ultralytics lists the images of each route; tal lists them once")
    if relative:
        notes.append(f"{relative} images of split {split!r} are listed with paths relative to the working folder "
                     f"(not ./): ultralytics reads them against the folder training runs from; tal read them "
                     f"against {Path.cwd()}")
    if not unique:
        raise InputFileError(f"{dataset.yaml}: split {split!r} holds no images ({', '.join(sorted(IMG_FORMATS))})")
    return SplitImages([Path(x) for x in unique], tuple(notes))
