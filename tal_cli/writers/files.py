"""Atomic output files, and up-front checks that they can be written.

Every file is written to a temporary file beside its target (``.<name>.<random>.tmp``) and
renamed into place with :func:`os.replace`, which is atomic on one file system: a reader sees
the old file or the new one, never a mix, and an error or Ctrl-C (the temporary file is
removed) leaves the target as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ..core.errors import InputFileError


def _cannot(path: Path, exc: BaseException) -> InputFileError:
    text = str(exc).strip()
    reason = getattr(exc, "strerror", None) or (text.splitlines()[0][:160] if text else type(exc).__name__)
    return InputFileError(f"{path}: cannot write ({reason})")


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb", encoding: str | None = None,
                 newline: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on a clean exit it replaces ``path``.

    Args:
        mode: ``"wb"`` or ``"w"`` (text, with ``encoding`` and ``newline``).

    Raises:
        InputFileError: the folder is missing or not writable, or writing fails (the message
            names ``path``); any error inside the block leaves ``path`` untouched.
    """
    path = Path(path)
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, expected a file to write")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    except OSError as exc:
        raise _cannot(path, exc) from None
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _cannot(path, exc) from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text atomically; returns ``path``."""
    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write bytes atomically; returns ``path``."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return Path(path)


#: Image file suffixes ``tal`` writes, and the Pillow format of each.
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def image_format(path: str | Path) -> str:
    """The Pillow format a picture is saved in, from ``path``'s suffix.

    Raises:
        InputFileError: a suffix ``tal`` does not write pictures as.
    """
    fmt = IMAGE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputFileError(f"{path}: cannot write a picture with suffix {Path(path).suffix or '(none)'!r}; "
                             f"use {', '.join(IMAGE_FORMATS)}")
    return fmt


def save_image(path: str | Path, image, **params: Any) -> Path:
    """Save a Pillow image atomically, in the format its suffix names (PNG, JPEG, WebP).

    Raises:
        InputFileError: an unknown suffix, or the file cannot be written.
    """
    fmt = image_format(path)
    if fmt == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    if fmt == "JPEG":
        params.setdefault("quality", 92)
    with atomic_write(path, "wb") as fh:
        image.save(fh, format=fmt, **params)
    return Path(path)


def torch_save(obj: object, path: str | Path) -> Path:
    """``torch.save`` atomically (torch raises RuntimeError, not OSError, on some write failures).

    Raises:
        InputFileError: the file cannot be written.
    """
    import torch

    path = Path(path)
    try:
        with atomic_write(path, "wb") as fh:
            torch.save(obj, fh)
    except RuntimeError as exc:
        raise _cannot(path, exc) from None
    return path


def check_writable(path: str | Path, picture: bool = False) -> Path:
    """Fail before the work, not after it: ``path``'s folder exists and is writable, ``path`` is
    not a folder, and (``picture``) its suffix is one ``tal`` writes pictures as.

    Raises:
        InputFileError: naming the path and what is wrong.
    """
    path = Path(path)
    if picture:
        image_format(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, expected a file to write")
    if not parent.is_dir():
        raise InputFileError(f"{path}: cannot write (folder {parent} not found)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputFileError(f"{path}: cannot write (folder {parent} is not writable)")
    if path.exists() and not os.access(path, os.W_OK) and not os.access(parent, os.W_OK):
        raise InputFileError(f"{path}: cannot write (permission denied)")
    return path


def check_folder(path: str | Path) -> Path:
    """An output folder: it is not a file, and it exists and is writable or can be created.

    Raises:
        InputFileError: naming the path and what is wrong.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputFileError(f"{path}: is a file, expected a folder to write into")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise InputFileError(f"{path}: cannot create output folder ({probe} is a file)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputFileError(f"{path}: cannot write (folder {probe} is not writable)")
    return path


def write_files(folder: str | Path, files: Mapping[str, object]) -> list[Path]:
    """Write several files into ``folder`` (created if missing), each atomically, in ``files``' order.

    Args:
        files: file name -> its content: a ``str`` (UTF-8 text) or a Pillow image (in the format
            its suffix names).

    Returns:
        the files written.

    Raises:
        InputFileError: the folder cannot be created or a file cannot be written.
    """
    folder = check_folder(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(f"{folder}: cannot create output folder ({exc.strerror or exc})") from None
    return [write_text(folder / name, content) if isinstance(content, str) else save_image(folder / name, content)
            for name, content in files.items()]
