"""Reading images, the checks ultralytics' loader makes on them, and the letterbox that maps
them (and their labels) to the network input."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InputFileError

PAD_VALUE = 114
#: File suffixes (without the dot, lower case) ultralytics' loader lists as images.
IMG_FORMATS = frozenset(
    {"avif", "bmp", "dng", "heic", "heif", "jp2", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp"}
)
#: Pillow format names ultralytics trains on (``check_image``).
TRAINED_FORMATS = IMG_FORMATS | {"jpeg2000"}
#: ultralytics drops images smaller than this on either side.
MIN_SIDE = 10
#: Pillow's decompression-bomb limit, which ultralytics' loader keeps: larger images are
#: dropped from training (Pillow refuses to open them), and ``tal`` reads none larger.
#: 2 x Pillow's default ``MAX_IMAGE_PIXELS`` (89,478,485): 178,956,970 px, e.g. 13,377 x 13,377.
MAX_PIXELS = 2 * 89_478_485


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

    def scale_shift(self) -> tuple[list[float], list[float]]:
        """``([W r, H r, W r, H r], [left, top, left, top])``: normalised xyxy times scale plus shift is input px."""
        h, w = self.orig_hw
        return [w * self.ratio, h * self.ratio] * 2, [float(self.left), float(self.top)] * 2

    def boxes_to_input(self, boxes):
        """Normalised ``x1, y1, x2, y2`` rows -> network-input pixels: ``x W r + left``, ``y H r + top``.

        The scale and shift are rounded to float32, then ``boxes * scale + shift`` in float32
        (``tal check`` letterboxes many images at once with the same operations).

        Args:
            boxes: ``Tensor[N, 4] float``, normalised xyxy.

        Returns:
            ``Tensor[N, 4] float32, xyxy px``.
        """
        import torch

        scale, shift = self.scale_shift()
        b = boxes.to(torch.float32)
        return b * torch.tensor(scale, dtype=torch.float32) + torch.tensor(shift, dtype=torch.float32)


@contextmanager
def open_image(path: str | Path):
    """``PIL.Image.open`` as a context manager whose failures (opening, or decoding inside the
    block) become one-line :class:`~tal_cli.core.errors.InputFileError` naming the file.

    Images above :data:`MAX_PIXELS` are refused with their size (Pillow's own warning for
    images above half of it is not printed).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    with warnings.catch_warnings():
        # Pillow's own warnings (a decompression-bomb size below the limit, corrupt EXIF) are not
        # for tal's users: the verdicts say what matters
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        try:
            with _pillow_limit():
                im = Image.open(path)
        except FileNotFoundError:
            raise InputFileError(f"{path}: image not found") from None
        except IsADirectoryError:
            raise InputFileError(f"{path}: is a folder, expected an image") from None
        except Image.DecompressionBombError:
            raise InputFileError(f"{path}: {_too_large(path)}") from None
        except Exception as exc:  # noqa: BLE001  Pillow raises many types, and a patched Image.open (ultralytics'
            # HEIF hook without pi-heif) raises ImportError: all mean "not an image we can read"
            raise InputFileError(f"{path}: not an image Pillow can read ({type(exc).__name__})") from None
        try:
            with im:
                yield im
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InputFileError(f"{path}: not an image Pillow can read ({type(exc).__name__})") from None


@contextmanager
def _pillow_limit():
    """Pillow's default bomb limit for the block, whatever another library set it to."""
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _too_large(path: Path) -> str:
    """``"image of W x H px is above ..."``, the size read from the header without the limit."""
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as im:
            size = f"{im.width} x {im.height} = {im.width * im.height:,} px"
    except Exception:  # noqa: BLE001  the header was readable a moment ago; say what we can
        size = "its size"
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    return (f"image of {size} is above Pillow's limit of {MAX_PIXELS:,} px; ultralytics' loader drops such "
            "images from training, and tal does not read them")


@dataclass(frozen=True)
class ImageCheck:
    """What ultralytics' loader makes of an image file (``check_image`` of ultralytics 8.4).

    Attributes:
        size_hw: ``(height, width)`` px after EXIF orientation, or None when unreadable.
        format: Pillow's format name (``"JPEG"``), or None.
        problem: why ultralytics drops the image from training, or None when it trains.
        notes: remarks worth a warning (a JPEG ultralytics would rewrite in place).
    """

    size_hw: tuple[int, int] | None
    format: str | None
    problem: str | None = None
    notes: tuple[str, ...] = ()


def check_image(path: str | Path, verify: bool = False) -> ImageCheck:
    """Read an image's header and judge it as ultralytics' loader does, without writing anything.

    Args:
        verify: also run Pillow's ``verify()`` on the whole file, as ultralytics does (slower).

    The checks: Pillow opens it; at least :data:`MIN_SIDE` px on each side; a format it trains
    on; a JPEG without its end marker is noted (ultralytics re-saves such files in place when it
    builds its label cache; ``tal`` never writes next to the data).
    """
    path = Path(path)
    try:
        with open_image(path) as im:
            fmt = im.format
            h, w = _oriented_size(im)
        if verify:
            with open_image(path) as im:  # verify() needs a freshly opened file
                im.verify()
    except InputFileError as exc:
        return ImageCheck(None, None, f"unreadable image ({str(exc).split(': ', 1)[-1]})")
    if h < MIN_SIDE or w < MIN_SIDE:
        return ImageCheck((h, w), fmt, f"image size {w}x{h} px is below {MIN_SIDE} px on a side")
    if (fmt or "").lower() not in TRAINED_FORMATS:
        return ImageCheck(
            (h, w), fmt, f"format {fmt} is not one ultralytics trains on ({', '.join(sorted(IMG_FORMATS))})"
        )
    notes = ()
    if fmt in ("JPEG", "MPO") and not _jpeg_complete(path):
        notes = (f"{path}: corrupt JPEG (no end marker): ultralytics re-saves this file in place when it builds "
                 "its label cache; tal leaves it as it is",)
    return ImageCheck((h, w), fmt, None, notes)


def _jpeg_complete(path: Path) -> bool:
    """Whether the file ends with the JPEG end-of-image marker FF D9."""
    try:
        with path.open("rb") as fh:
            fh.seek(-2, 2)
            return fh.read() == b"\xff\xd9"
    except OSError:
        return False


def image_size(path: str | Path) -> tuple[int, int]:
    """``(height, width)`` of an image after EXIF orientation, as :func:`load_image` sees it.

    Only the header is read, except for rotated images (EXIF orientation 5-8), which are
    decoded so that the size agrees with ``load_image`` whatever the format's reader does.

    Raises:
        InputFileError: missing, unreadable or too large.
    """
    with open_image(path) as im:
        return _oriented_size(im)


def _oriented_size(im) -> tuple[int, int]:
    """``(height, width)`` of an open Pillow image after EXIF orientation (decoded only when rotated)."""
    from PIL import ImageOps

    if _orientation(im) in (5, 6, 7, 8):
        im.load()
        im = ImageOps.exif_transpose(im)
    w, h = im.size
    return h, w


def _orientation(im) -> int:
    """The EXIF orientation of an open Pillow image (1 when it has none), without decoding it where possible.

    Pillow decodes a whole PNG to look for EXIF data stored after the pixels; when the file's
    chunk list shows nothing after them (:func:`_png_tail_is_bare`), the chunks read at opening
    already hold every place an orientation can come from, and nothing is decoded.
    """
    from PIL import Image

    if im.format == "PNG" and "exif" not in im.info and _png_tail_is_bare(im.filename):
        return Image.Image.getexif(im).get(0x0112, 1)
    return im.getexif().get(0x0112, 1)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_tail_is_bare(path) -> bool:
    """Whether a PNG file has no chunk after its image data but ``IDAT`` and ``IEND`` (chunk headers only are read).

    Anything else there (``eXIf``, text or XMP chunks, which may carry an orientation), an
    unreadable file or a malformed chunk list answers False: the caller then asks Pillow.
    """
    import struct

    try:
        with open(path, "rb") as fh:
            if fh.read(8) != _PNG_SIGNATURE:
                return False
            seen_data = False
            while True:
                head = fh.read(8)
                if len(head) < 8:
                    return False
                length, kind = struct.unpack(">I4s", head)
                if kind == b"IEND":
                    return seen_data
                if kind == b"IDAT":
                    seen_data = True
                elif seen_data:
                    return False
                fh.seek(length + 4, 1)  # the data and its CRC
    except (OSError, TypeError, ValueError):
        return False


def load_image(path: str | Path):
    """Open an image with Pillow as 8-bit RGB, EXIF orientation applied, as ultralytics' OpenCV reader sees it.

    Grayscale, palette, RGBA and 16-bit images are accepted: an alpha channel (or a palette's
    transparency) is dropped, not composited, and 16-bit values keep their high byte, as
    ultralytics' loader reads them (so overlays show what the network sees).

    Raises:
        InputFileError: missing or not an image Pillow can read.
    """
    from PIL import ImageOps

    with open_image(path) as im:
        im.load()
        im = ImageOps.exif_transpose(im)
    return to_rgb8(im)


def to_rgb8(im):
    """Any Pillow image -> 8-bit RGB as OpenCV reads it for ultralytics: alpha and palette transparency
    dropped (not composited), 16-bit values' high byte; 32-bit integer and float images scaled to 0..255."""
    import numpy as np
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L"):
        a = (np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8)
        im = Image.fromarray(a, mode="L")
    elif im.mode in ("I", "F"):
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if a.max() > 255 else (1.0 if im.mode == "F" and a.max() <= 1.0 else 255.0)
        im = Image.fromarray(np.clip(np.rint(a / top * 255.0), 0, 255).astype(np.uint8), mode="L")
    if im.mode == "P":
        im = im.convert("RGBA")  # the palette's colours; its transparency is dropped below
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
