"""Reading images and the letterbox that maps them (and their labels) to the network input."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InputFileError

PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """How an ``orig_hw`` image sits in an ``input_hw`` network input.

    ``ratio = min(H'/H, W'/W)``; the image is resized to ``resized_wh = (round(W r), round(H r))``
    and padded, ``left = round(dw / 2 - 0.1)`` and ``top = round(dh / 2 - 0.1)``.
    """

    orig_hw: tuple[int, int]
    input_hw: tuple[int, int]
    ratio: float
    resized_wh: tuple[int, int]
    left: int
    top: int

    @classmethod
    def fit(cls, orig_hw: tuple[int, int], input_hw: tuple[int, int]) -> "Letterbox":
        h, w = orig_hw
        ih, iw = input_hw
        r = min(ih / h, iw / w)
        new_w, new_h = int(round(w * r)), int(round(h * r))
        dw, dh = (iw - new_w) / 2, (ih - new_h) / 2
        return cls(orig_hw, input_hw, r, (new_w, new_h), int(round(dw - 0.1)), int(round(dh - 0.1)))

    def boxes_to_input(self, boxes):
        """Normalised ``x1, y1, x2, y2`` rows -> network-input pixels: ``x W r + left``, ``y H r + top``.

        Args:
            boxes: ``Tensor[N, 4] float``, normalised xyxy.

        Returns:
            ``Tensor[N, 4] float32, xyxy px``.
        """
        import torch

        h, w = self.orig_hw
        b = boxes.to(torch.float32)
        scale = torch.tensor([w * self.ratio, h * self.ratio] * 2, dtype=torch.float32)
        shift = torch.tensor([self.left, self.top] * 2, dtype=torch.float32)
        return b * scale + shift


@contextmanager
def open_image(path: str | Path):
    """``PIL.Image.open`` as a context manager whose failures (opening, or decoding inside the
    block) become one-line :class:`~tal_cli.core.errors.InputFileError` naming the file."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            yield im
    except FileNotFoundError:
        raise InputFileError(f"{path}: image not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder, expected an image") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputFileError(f"{path}: not an image Pillow can read ({type(exc).__name__})") from None


def load_image(path: str | Path):
    """Open an image with Pillow as 8-bit RGB, EXIF orientation applied.

    Grayscale, palette, RGBA (composited on the pad grey) and 16-bit images are accepted.

    Raises:
        InputFileError: missing or not an image Pillow can read.
    """
    from PIL import ImageOps

    with open_image(path) as im:
        im.load()
        im = ImageOps.exif_transpose(im)
    return to_rgb8(im)


def to_rgb8(im):
    """Any Pillow image -> 8-bit RGB (16-bit and float scaled to 0..255; alpha over grey)."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        import numpy as np

        a = np.asarray(im, dtype=np.float64)
        if im.mode.startswith("I;16") or a.max() > 255:
            top = 65535.0
        elif im.mode == "F" and a.max() <= 1.0:
            top = 1.0
        else:
            top = 255.0
        a = np.clip(np.rint(a / top * 255.0), 0, 255).astype(np.uint8)
        im = Image.fromarray(a, mode="L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (PAD_VALUE,) * 3 + (255,))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return im.convert("RGB")


def letterbox_image(image, box: Letterbox):
    """A new ``input_hw`` RGB image: ``image`` resized (bilinear) and padded with grey 114.

    The caller's image is not modified.
    """
    from PIL import Image

    ih, iw = box.input_hw
    canvas = Image.new("RGB", (iw, ih), (PAD_VALUE,) * 3)
    resized = image if image.size == box.resized_wh else image.resize(box.resized_wh, Image.BILINEAR)
    canvas.paste(resized, (box.left, box.top))
    return canvas
