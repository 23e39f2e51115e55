"""tal_cli.writers.files: atomic writes leave the old file or the new one, never a part, never a temporary."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from tal_cli.core.errors import InputFileError
from tal_cli.writers import files
from tal_cli.writers.files import (
    atomic_write,
    check_folder,
    check_writable,
    image_format,
    save_image,
    torch_save,
    write_text,
)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    write_text(path, "old content that is longer\n")
    write_text(path, "new\n")
    assert path.read_text() == "new\n" and leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_an_error_or_ctrl_c_leaves_the_old_file(tmp_path: Path, error: BaseException) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old\n")
    with pytest.raises(type(error)):
        with atomic_write(path, "w", encoding="utf-8") as fh:
            fh.write("half of the new")
            raise error
    assert path.read_text() == "old\n" and leftovers(tmp_path) == []


def test_interrupted_picture_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    def interrupted(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_image(tmp_path / "o.png", Image.new("RGB", (4, 4)))
    assert list(tmp_path.iterdir()) == []


def test_picture_format_follows_the_suffix(tmp_path: Path) -> None:
    im = Image.new("RGBA", (8, 8), (10, 20, 30, 128))
    for suffix, fmt in ((".png", "PNG"), (".jpg", "JPEG"), (".JPEG", "JPEG"), (".webp", "WEBP")):
        path = save_image(tmp_path / f"p{suffix}", im)
        with Image.open(path) as back:
            assert back.format == fmt
    with pytest.raises(InputFileError, match=re.escape(f"{tmp_path / 'p.gif'}: cannot write a picture with suffix "
                                                       "'.gif'; use .png, .jpg, .jpeg, .webp")):
        image_format(tmp_path / "p.gif")


def test_torch_save_failure_is_one_line(tmp_path: Path, monkeypatch) -> None:
    def refused(obj, fh):
        raise RuntimeError("File preds.pt cannot be opened: Permission denied\nmore")

    monkeypatch.setattr(torch, "save", refused)
    with pytest.raises(InputFileError, match=re.escape(f"{tmp_path / 'p.pt'}: cannot write (File preds.pt cannot be "
                                                       "opened: Permission denied)") + "$"):
        torch_save({"a": 1}, tmp_path / "p.pt")
    assert list(tmp_path.iterdir()) == []


def test_checks_before_the_work(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(InputFileError, match=re.escape(f"{tmp_path / 'no' / 'x.csv'}: cannot write (folder "
                                                       f"{tmp_path / 'no'} not found)")):
        check_writable(tmp_path / "no" / "x.csv")
    with pytest.raises(InputFileError, match="is a folder, expected a file to write"):
        check_writable(tmp_path)
    with pytest.raises(InputFileError, match="cannot write a picture with suffix '.bmp'"):
        check_writable(tmp_path / "x.bmp", picture=True)
    real_access = os.access
    monkeypatch.setattr(files.os, "access", lambda p, mode: False if Path(p) == tmp_path else real_access(p, mode))
    with pytest.raises(InputFileError, match=re.escape(f"(folder {tmp_path} is not writable)")):
        check_writable(tmp_path / "x.csv")


def test_check_folder(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(
        InputFileError, match=re.escape(f"{tmp_path / 'f'}: is a file, expected a folder to write into")
    ):
        check_folder(tmp_path / "f")
    with pytest.raises(InputFileError, match=re.escape(f"{tmp_path / 'f' / 'sub'}: cannot create output folder "
                                                       f"({tmp_path / 'f'} is a file)")):
        check_folder(tmp_path / "f" / "sub")
    assert check_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
