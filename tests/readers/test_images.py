"""tal_cli.readers.images: the letterbox (docs/tal-spec.md, "From files to assigner inputs") and image loading.

Letterbox expectations are worked out by hand from the spec: ``r = min(H'/H, W'/W)``,
resized ``(round(W r), round(H r))``, ``left = round(dw/2 - 0.1)``, ``top = round(dh/2 - 0.1)``,
pixels ``x W r + left``, ``y H r + top``. Images are generated with Pillow in ``tmp_path``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tal_cli.core.errors import InputFileError
from tal_cli.readers.images import PAD_VALUE, Letterbox, letterbox_image, load_image
from tal_cli.readers.labels import read_labels
from tal_cli.readers.scene import image_size

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
DATA = Path(__file__).resolve().parents[1] / "data" / "io"
SAMPLE_IMAGES = {"astronaut": "astronaut.png", "coffee": "coffee.png", "hubble_left": "hubble_left.jpg"}


def test_pad_value() -> None:
    assert PAD_VALUE == 114


# --- Letterbox.fit ----------------------------------------------------------------------


def test_fit_square_upscale() -> None:
    # 512 x 512 -> 640: r = 1.25, resized 640 x 640, no padding
    box = Letterbox.fit((512, 512), (640, 640))
    assert box == Letterbox((512, 512), (640, 640), 1.25, (640, 640), 0, 0)


def test_fit_landscape() -> None:
    # H 400, W 600 -> 640: r = min(640/400, 640/600) = 16/15; W r = 640, H r = 426.67 -> 427;
    # dh = (640 - 427) / 2 = 106.5 -> top = round(106.4) = 106; dw = 0 -> left = round(-0.1) = 0
    box = Letterbox.fit((400, 600), (640, 640))
    assert box.ratio == pytest.approx(16 / 15, rel=1e-15)
    assert box.resized_wh == (640, 427)
    assert (box.left, box.top) == (0, 106)


def test_fit_portrait() -> None:
    # H 872, W 500 -> 640: r = 640/872; W r = 366.97 -> 367; dw = (640 - 367) / 2 = 136.5 -> left 136
    box = Letterbox.fit((872, 500), (640, 640))
    assert box.ratio == pytest.approx(640 / 872, rel=1e-15)
    assert box.resized_wh == (367, 640)
    assert (box.left, box.top) == (136, 0)


def test_fit_minus_point_one_rule() -> None:
    # H 100, W 97 -> 100 x 100: r = 1, dw = 3 / 2 = 1.5: round(1.5) would give 2 (half to even);
    # the rule gives round(1.4) = 1 (the extra pixel goes right, as ultralytics does)
    box = Letterbox.fit((100, 97), (100, 100))
    assert box.ratio == 1.0
    assert box.resized_wh == (97, 100)
    assert (box.left, box.top) == (1, 0)
    # and vertically: H 95, W 100 -> dh = 2.5 -> round(2.4) = 2 (round(2.5) = 2 too, by halves-to-even)
    # H 93, W 100 -> dh = 3.5 -> round(3.4) = 3 (round(3.5) would give 4)
    assert Letterbox.fit((95, 100), (100, 100)).top == 2
    assert Letterbox.fit((93, 100), (100, 100)).top == 3


def test_fit_rectangular_input() -> None:
    # H 300, W 300 -> input H 480, W 640: r = min(1.6, 2.133) = 1.6, resized 480 x 480;
    # dw = (640 - 480) / 2 = 80 -> left = round(79.9) = 80, top 0
    box = Letterbox.fit((300, 300), (480, 640))
    assert box == Letterbox((300, 300), (480, 640), 1.6, (480, 480), 80, 0)


def test_fit_downscale() -> None:
    # H 1000, W 2000 -> 640: r = 0.32, resized 640 x 320, dh = 160 -> top = round(159.9) = 160
    box = Letterbox.fit((1000, 2000), (640, 640))
    assert box.ratio == 0.32
    assert box.resized_wh == (640, 320)
    assert (box.left, box.top) == (0, 160)


# --- boxes_to_input ---------------------------------------------------------------------


def test_boxes_to_input_hand_computed() -> None:
    # H 400, W 600 -> 640 (r = 16/15, left 0, top 106): x * 600 r = x * 640, y * 400 r + 106 = y * 426.67 + 106
    box = Letterbox.fit((400, 600), (640, 640))
    norm = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.25, 0.5, 0.75, 0.75]], dtype=torch.float64)
    out = box.boxes_to_input(norm)
    assert out.dtype == torch.float32 and out.shape == (2, 4)
    hr = 400 * 16 / 15
    expected = torch.tensor([[0, 106, 640, hr + 106], [160, 0.5 * hr + 106, 480, 0.75 * hr + 106]], dtype=torch.float32)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-4)


def test_boxes_to_input_portrait_shift() -> None:
    # H 872, W 500 -> 640: left 136; x = 0 -> 136, x = 1 -> 500 * 640/872 + 136 = 502.97
    box = Letterbox.fit((872, 500), (640, 640))
    out = box.boxes_to_input(torch.tensor([[0.0, 0.0, 1.0, 1.0]]))
    torch.testing.assert_close(out, torch.tensor([[136.0, 0.0, 500 * 640 / 872 + 136, 640.0]]), rtol=0, atol=1e-4)


def test_boxes_to_input_empty() -> None:
    box = Letterbox.fit((512, 512), (640, 640))
    out = box.boxes_to_input(torch.zeros((0, 4)))
    assert out.shape == (0, 4) and out.dtype == torch.float32


@pytest.mark.parametrize("name", sorted(SAMPLE_IMAGES))
def test_letterboxed_sample_gts_match_ultralytics(name: str) -> None:
    # tests/data/io/letterboxed_gts.pt: gt_bboxes_letterboxed_xyxy of the reference
    # <name>_ref_topk10.pt (ultralytics 8.4.190's own loss inputs) for the samples/ files.
    expected = torch.load(DATA / "letterboxed_gts.pt", weights_only=True)[name]
    labels = read_labels(SAMPLES / "labels" / f"{name}.txt")
    box = Letterbox.fit(image_size(SAMPLES / "images" / SAMPLE_IMAGES[name]), (640, 640))
    out = box.boxes_to_input(torch.tensor(labels.boxes, dtype=torch.float32))
    assert out.shape == expected.shape
    assert (out - expected).abs().max().item() < 1e-4


# --- load_image -------------------------------------------------------------------------


def test_load_rgb_png(tmp_path: Path) -> None:
    path = tmp_path / "rgb.png"
    a = np.zeros((3, 5, 3), dtype=np.uint8)
    a[0, 0] = (255, 0, 0)
    a[2, 4] = (1, 2, 3)
    Image.fromarray(a, "RGB").save(path)
    im = load_image(path)
    assert im.mode == "RGB" and im.size == (5, 3)
    np.testing.assert_array_equal(np.asarray(im), a)


def test_load_grayscale_png(tmp_path: Path) -> None:
    path = tmp_path / "gray.png"
    a = np.array([[0, 100, 255]], dtype=np.uint8)
    Image.fromarray(a, "L").save(path)
    im = load_image(str(path))
    assert im.mode == "RGB" and im.size == (3, 1)
    np.testing.assert_array_equal(np.asarray(im), np.repeat(a[..., None], 3, axis=2))


def test_load_rgba_png_drops_alpha(tmp_path: Path) -> None:
    # as OpenCV reads it for ultralytics: the colour channels as stored, whatever the alpha
    path = tmp_path / "rgba.png"
    a = np.array([[[255, 0, 0, 255], [255, 0, 0, 0], [0, 0, 255, 128]]], dtype=np.uint8)
    Image.fromarray(a, "RGBA").save(path)
    im = load_image(path)
    assert im.mode == "RGB" and im.size == (3, 1)
    np.testing.assert_array_equal(np.asarray(im), [[[255, 0, 0], [255, 0, 0], [0, 0, 255]]])


def test_load_palette_png_with_transparency(tmp_path: Path) -> None:
    # palette index 0 = green (transparent), 1 = white
    path = tmp_path / "p.png"
    im = Image.new("P", (2, 1))
    im.putpalette([0, 255, 0, 255, 255, 255] + [0] * (256 * 3 - 6))
    im.putpixel((0, 0), 0)
    im.putpixel((1, 0), 1)
    im.save(path, transparency=0)
    np.testing.assert_array_equal(np.asarray(load_image(path)), [[[0, 255, 0], [255, 255, 255]]])  # palette colours


def test_load_16bit_png(tmp_path: Path) -> None:
    # 16-bit grey keeps its high byte (v >> 8), as ultralytics' reader: 0 -> 0, 25700 -> 100,
    # 32768 -> 128, 65535 -> 255, 100 -> 0; 255 -> 0 (not rounded up), 511 -> 1
    path = tmp_path / "g16.png"
    a = np.array([[0, 25700, 32768, 65535, 100, 255, 511]], dtype=np.uint16)
    Image.fromarray(a).save(path)
    assert Image.open(path).mode == "I;16"
    im = load_image(path)
    assert im.mode == "RGB" and im.size == (7, 1)
    np.testing.assert_array_equal(np.asarray(im)[0, :, 0], [0, 100, 128, 255, 0, 0, 1])
    np.testing.assert_array_equal(np.asarray(im)[..., 0], np.asarray(im)[..., 2])


def make_rotated_jpeg(path: Path, orientation: int = 6) -> None:
    """A 40 x 20 (W x H) JPEG with an EXIF orientation tag; left half black, right half white."""
    a = np.zeros((20, 40, 3), dtype=np.uint8)
    a[:, 20:] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(a, "RGB").save(path, exif=exif, quality=95)


def test_load_jpeg_applies_exif_orientation(tmp_path: Path) -> None:
    # orientation 6: rotate 90 degrees clockwise to display -> 20 x 40 (W x H); the stored
    # left (black) half ends up at the top
    path = tmp_path / "rot.jpg"
    make_rotated_jpeg(path, 6)
    with Image.open(path) as raw:
        assert raw.size == (40, 20)
    im = load_image(path)
    assert im.mode == "RGB" and im.size == (20, 40)
    a = np.asarray(im).astype(int)
    assert a[:15].mean() < 10 and a[25:].mean() > 245
    assert image_size(path) == (40, 20)  # (height, width), agrees with load_image


@pytest.mark.parametrize(("orientation", "hw"), [(1, (20, 40)), (3, (20, 40)), (5, (40, 20)), (8, (40, 20))])
def test_image_size_agrees_with_load_image(tmp_path: Path, orientation: int, hw: tuple[int, int]) -> None:
    path = tmp_path / f"o{orientation}.jpg"
    make_rotated_jpeg(path, orientation)
    assert image_size(path) == hw
    w, h = load_image(path).size
    assert (h, w) == hw


@pytest.mark.parametrize("name", sorted(SAMPLE_IMAGES))
def test_image_size_of_samples(name: str) -> None:
    path = SAMPLES / "images" / SAMPLE_IMAGES[name]
    w, h = load_image(path).size
    assert image_size(path) == (h, w)
    assert image_size(path) == {"astronaut": (512, 512), "coffee": (400, 600), "hubble_left": (872, 500)}[name]


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "labels.png"
    path.write_text("0 0.5 0.5 0.5 0.5\n")
    message = f"^{re.escape(str(path))}: not an image Pillow can read \\(UnidentifiedImageError\\)$"
    with pytest.raises(InputFileError, match=message):
        load_image(path)
    with pytest.raises(InputFileError, match=message):
        image_size(path)


def test_truncated_image(tmp_path: Path) -> None:
    # a PNG cut in the middle of its data: the header reads, the pixels do not
    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(good)
    path = tmp_path / "cut.png"
    path.write_bytes(good.read_bytes()[:200])
    with pytest.raises(InputFileError, match=f"^{re.escape(str(path))}: not an image Pillow can read"):
        load_image(path)


def test_missing_image_and_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    with pytest.raises(InputFileError, match=f"^{re.escape(str(missing))}: image not found$"):
        load_image(missing)
    with pytest.raises(InputFileError, match=f"^{re.escape(str(missing))}: image not found$"):
        image_size(missing)
    with pytest.raises(InputFileError, match=f"^{re.escape(str(tmp_path))}: is a folder, expected an image$"):
        load_image(tmp_path)
    with pytest.raises(InputFileError, match=f"^{re.escape(str(tmp_path))}: is a folder, expected an image$"):
        image_size(tmp_path)


# --- letterbox_image --------------------------------------------------------------------


def test_letterbox_image_size_padding_and_caller_image_unchanged() -> None:
    # W 100 x H 50 -> 64 x 64: r = 0.64, resized 64 x 32, dh = 16 -> top = round(15.9) = 16:
    # rows 0..15 and 48..63 are grey 114, rows 16..47 the (white) image
    image = Image.new("RGB", (100, 50), (255, 255, 255))
    before = image.tobytes()
    box = Letterbox.fit((50, 100), (64, 64))
    assert (box.resized_wh, box.left, box.top) == ((64, 32), 0, 16)
    out = letterbox_image(image, box)
    assert out is not image
    assert out.mode == "RGB" and out.size == (64, 64)
    a = np.asarray(out)
    assert (a[:16] == 114).all() and (a[48:] == 114).all()
    assert (a[16:48] == 255).all()
    assert image.size == (100, 50) and image.tobytes() == before


def test_letterbox_image_pads_left_and_right() -> None:
    # W 97 x H 100 -> 100 x 100: r = 1 (no resize), left = 1, right 2 columns of grey
    image = Image.new("RGB", (97, 100), (0, 0, 0))
    out = letterbox_image(image, Letterbox.fit((100, 97), (100, 100)))
    a = np.asarray(out)
    assert out.size == (100, 100)
    assert (a[:, :1] == 114).all() and (a[:, 98:] == 114).all()
    assert (a[:, 1:98] == 0).all()
    assert np.asarray(image).max() == 0  # untouched


def _tiff_opens_oriented() -> bool:
    """Whether this Pillow reports a TIFF's oriented size on open (newer releases rotate TIFFs on load)."""
    import io

    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.new("L", (4, 2)).save(buf, format="TIFF", exif=exif)
    buf.seek(0)
    with Image.open(buf) as im:
        return im.size == (2, 4)


def test_image_size_agrees_with_load_image_for_oriented_tiff(tmp_path: Path) -> None:
    path = tmp_path / "rot.tif"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (40, 20)).save(path, exif=exif)  # stored W 40 x H 20, displayed W 20 x H 40
    w, h = load_image(path).size
    assert (h, w) == (40, 20)
    assert image_size(path) == (40, 20)


# --- headers only: a PNG is not decoded to find its orientation --------------------------------


def png_with_tail(path: Path, chunk: bytes | None) -> Path:
    """A 30 x 20 PNG, with ``chunk`` (a whole chunk) inserted after its image data."""
    buf = io.BytesIO()
    Image.new("RGB", (30, 20), (200, 10, 10)).save(buf, "PNG")
    data = buf.getvalue()
    if chunk is not None:
        end = data.rindex(b"IEND") - 4
        data = data[:end] + chunk + data[end:]
    path.write_bytes(data)
    return path


def chunk(kind: bytes, body: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def test_png_header_check_does_not_decode(tmp_path: Path, monkeypatch) -> None:
    from PIL import ImageFile

    from tal_cli.readers.images import check_image

    path = png_with_tail(tmp_path / "plain.png", None)

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert check_image(path).size_hw == (20, 30)


def test_png_orientation_after_the_image_data_is_still_read(tmp_path: Path) -> None:
    # an eXIf chunk after IDAT (allowed by the PNG spec) with orientation 6: the size is rotated, as
    # load_image shows it; found because the chunk list has something after the pixels
    exif = Image.Exif()
    exif[0x0112] = 6
    path = png_with_tail(tmp_path / "late.png", chunk(b"eXIf", exif.tobytes()))
    assert image_size(path) == (30, 20)
    w, h = load_image(path).size
    assert (h, w) == (30, 20)
