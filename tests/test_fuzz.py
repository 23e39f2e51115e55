"""Fuzzing: hostile inputs end in a result or a one-line ``TalError``, never anything else.

Four input kinds, each driven by hypothesis with bounded examples so the suite stays fast:
label text (random bytes and structured near-misses), YAML (configs and dataset YAMLs), PREDS
containers (dicts, lists, tensors of random shapes and dtypes, metadata of every type), and
image bytes (truncated, wrong magic, huge declared sizes). A last test feeds fuzzed files to
the real command and requires an exit code and a one-line message, never a traceback.

The long campaign runs the same targets for as long as asked and reports what it tried:

    python -m tests.test_fuzz --minutes 30
"""

from __future__ import annotations

import io
import math
import os
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tal_cli.core.errors import TalError

EXAMPLES = int(os.environ.get("TAL_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
COUNTS: dict[str, int] = {}


def outcome(target: str, func, *args, **kwargs):
    """Call ``func``; a ``TalError`` must be one line; any other exception fails the test."""
    COUNTS[target] = COUNTS.get(target, 0) + 1
    try:
        return func(*args, **kwargs)
    except TalError as exc:
        text = str(exc)
        assert text and "\n" not in text and "Traceback" not in text, repr(text)
        return exc


# --- label text ----------------------------------------------------------------------------------

TOKENS = st.sampled_from(["0", "1", "7", "-1", "0.5", "1.0", "1.01", "1.02", "-0.01", "-0.02", "nan", "inf", "-inf",
                          "1e-3", "1e400", "x", "", "0x1", "1_0", "١", "+.5", "5.", "-0", "2.5", "80", "1e9"])
ROW = st.lists(TOKENS, min_size=0, max_size=12).map(" ".join)
SEPARATORS = st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\u2028", "\x85", "\t", "  "])
LABEL_TEXT = st.one_of(
    st.lists(st.tuples(ROW, SEPARATORS), max_size=8).map(lambda rows: "".join(r + s for r, s in rows)),
    st.text(max_size=200),
)


@FUZZ
@given(text=LABEL_TEXT, nc=st.one_of(st.none(), st.integers(1, 100)),
       kpt=st.one_of(st.none(), st.tuples(st.integers(1, 4), st.sampled_from([2, 3]))))
def test_label_text(text: str, nc, kpt) -> None:
    from tal_cli.readers.labels import label_verdict, parse_labels

    verdict = outcome("labels", label_verdict, text, nc, kpt)
    assert verdict.status in ("kept", "background", "dropped")
    if verdict.status == "kept":
        assert len(verdict.labels.classes) == len(verdict.labels.boxes) == len(verdict.labels.lines) > 0
        assert all(nc is None or 0 <= c < nc for c in verdict.labels.classes)
    if verdict.status == "dropped":
        assert verdict.reason and "\n" not in verdict.reason
    outcome("labels", parse_labels, text, "f.txt", nc, kpt)


@FUZZ
@given(data=st.binary(max_size=300))
def test_label_bytes(data: bytes) -> None:
    from tal_cli.readers.labels import read_label_verdict, read_labels

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "l.txt"
        path.write_bytes(data)
        verdict = outcome("label files", read_label_verdict, path, 8)
        assert verdict.status in ("kept", "background", "dropped")
        outcome("label files", read_labels, path, 8)


# --- YAML ----------------------------------------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 2000), st.floats(allow_nan=True),
                    st.sampled_from(["yolov8", "ultralytics", "ciou", "iou", "all-gts", "choosers", ".", "..",
                                     "images", "x.yaml", "1e-9", "[1, 2]", "{a: 1}", "~", "null"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                      max_leaves=8)
CONFIG_KEYS = st.sampled_from(["variant", "topk", "alpha", "beta", "eps", "topk2", "iou", "conflict", "small_box_floor",
                               "imgsz", "strides", "reg_max", "names", "gains", "samples", "extra"])
DATASET_KEYS = st.sampled_from(["path", "train", "val", "test", "validation", "names", "nc", "kpt_shape", "download"])


def _yaml_text(mapping: dict) -> str:
    import yaml

    return yaml.safe_dump(mapping, allow_unicode=True)


@FUZZ
@given(mapping=st.dictionaries(CONFIG_KEYS, VALUES, max_size=6), raw=st.text(max_size=80), use_raw=st.booleans())
def test_config_yaml(mapping: dict, raw: str, use_raw: bool) -> None:
    from tal_cli.readers.config import load_config

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_text(raw if use_raw else _yaml_text(mapping), encoding="utf-8")
        cfg = outcome("configs", load_config, path)
        if not isinstance(cfg, TalError):
            outcome("configs", cfg.assigner_settings, 8)


@FUZZ
@given(mapping=st.dictionaries(DATASET_KEYS, VALUES, max_size=6), split=st.sampled_from(["train", "val", "test"]))
def test_dataset_yaml(mapping: dict, split: str) -> None:
    from tal_cli.readers.datasets import read_dataset, split_images

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "images").mkdir()
        (root / "images" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        (root / "list.txt").write_text("./images/a.png\nnope.jpg\n")
        path = root / "d.yaml"
        path.write_text(_yaml_text(mapping), encoding="utf-8")
        dataset = outcome("dataset YAMLs", read_dataset, path)
        if not isinstance(dataset, TalError):
            outcome("dataset YAMLs", split_images, dataset, split)


# --- PREDS containers ----------------------------------------------------------------------------

DTYPES = st.sampled_from([torch.float32, torch.float16, torch.float64, torch.int64, torch.bool, torch.uint8,
                          torch.bfloat16, torch.complex64])
SPECIAL = st.sampled_from([0.0, 1.0, -1.0, float("nan"), float("inf"), -float("inf"), 1e30])


@st.composite
def tensors(draw):
    shape = draw(st.lists(st.sampled_from([0, 1, 2, 4, 8, 16, 64, 65, 2100, 8400]), min_size=0, max_size=4))
    if math.prod(shape) > 300_000:
        shape = shape[:2]
    dtype = draw(DTYPES)
    t = torch.zeros(shape, dtype=torch.float32)
    if t.numel():
        t.view(-1)[0] = draw(SPECIAL)
    return t.to(dtype) if dtype not in (torch.complex64,) else t.to(torch.complex64)


META = st.dictionaries(st.sampled_from(["imgsz", "strides", "reg_max", "nc", "names", "versions", "model", "image"]),
                       st.one_of(VALUES, tensors()), max_size=8)
LEAF = st.one_of(tensors(), SCALARS)
CONTAINERS = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["boxes", "scores", "meta", "one2many", "one2one", "feats", "x"]), inner,
                        max_size=4),
        st.builds(lambda b, s, m: {"boxes": b, "scores": s, "meta": m}, tensors(), tensors(), META)),
    max_leaves=6)


@FUZZ
@given(obj=CONTAINERS, head=st.sampled_from([None, "one2many", "one2one"]),
       reg_max=st.sampled_from([1, 16]), imgsz=st.sampled_from([(640, 640), (320, 320), (32, 64)]))
def test_preds_containers(obj, head, reg_max: int, imgsz) -> None:
    from tal_cli.readers.preds import decode_head

    out = outcome("PREDS objects", decode_head, obj, "p.pt", imgsz, (8, 16, 32), reg_max, head)
    if not isinstance(out, TalError):
        assert out.scores.shape[0] == out.boxes.shape[0] == out.anchors.shape[0]
        assert bool(torch.isfinite(out.scores).all())


@FUZZ
@given(obj=CONTAINERS, cut=st.one_of(st.none(), st.integers(0, 2000)), junk=st.binary(max_size=64))
def test_preds_files(obj, cut, junk: bytes) -> None:
    from tal_cli.readers.preds import load_raw

    buffer = io.BytesIO()
    try:
        torch.save(obj, buffer)
    except Exception:  # noqa: BLE001  an object torch cannot save is not a file anyone has
        return
    data = buffer.getvalue()
    data = data[:cut] + junk if cut is not None else data
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.pt"
        path.write_bytes(data)
        outcome("PREDS files", load_raw, path)


# --- image bytes ---------------------------------------------------------------------------------


def _png(width: int, height: int, body: bytes = b"") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def _real(fmt: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (10, 200, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


IMAGES = st.one_of(
    st.binary(max_size=200),
    st.builds(_png, st.integers(0, 70000), st.integers(0, 70000), st.binary(max_size=40)),
    st.builds(lambda fmt, cut, junk: _real(fmt)[:cut] + junk, st.sampled_from(["PNG", "JPEG", "BMP", "TIFF", "WEBP",
                                                                                "GIF"]),
              st.integers(0, 400), st.binary(max_size=20)),
)


@FUZZ
@given(data=IMAGES, suffix=st.sampled_from([".png", ".jpg", ".bmp", ".tif", ".webp", ".heic"]))
def test_image_bytes(data: bytes, suffix: str) -> None:
    from tal_cli.readers.images import check_image, image_size, load_image

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"i{suffix}"
        path.write_bytes(data)
        seen = outcome("images", check_image, path)
        assert seen.problem is None or "\n" not in seen.problem
        outcome("images", check_image, path, True)
        size = outcome("images", image_size, path)
        if not isinstance(size, TalError) and size[0] * size[1] <= 4_000_000:
            outcome("images", load_image, path)


# --- the real command -------------------------------------------------------------------------------


@settings(max_examples=max(EXAMPLES // 3, 5), deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(labels=LABEL_TEXT, image=IMAGES, preds_cut=st.one_of(st.none(), st.integers(0, 5000)))
def test_command_never_shows_a_traceback(labels: str, image: bytes, preds_cut) -> None:
    from typer.testing import CliRunner

    from tal_cli.cli import app

    from .conftest import sample

    coffee = sample("coffee")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "l.txt").write_text(labels, encoding="utf-8")
        img = root / "i.png"
        img.write_bytes(image if preds_cut is not None else Path(coffee[0]).read_bytes())
        preds = root / "p.pt"
        data = Path(coffee[2]).read_bytes()
        preds.write_bytes(data[:preds_cut] if preds_cut is not None else data)
        COUNTS["commands"] = COUNTS.get("commands", 0) + 1
        result = CliRunner().invoke(app, ["assign", str(img), str(root / "l.txt"), str(preds), "--json"])
        assert result.exit_code in (0, 1, 3), (result.exit_code, result.stderr, result.exception)
        assert "Traceback" not in result.stderr and result.exception is None or isinstance(result.exception, SystemExit)
        if result.exit_code == 1:
            assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr


# --- the long campaign ----------------------------------------------------------------------------


def campaign(minutes: float, examples: int) -> None:
    """Run this file's tests with ``examples`` each, round after round (new random inputs every
    round), until ``minutes`` have passed; print what was tried and what failed."""
    import time

    os.environ["TAL_FUZZ_EXAMPLES"] = str(examples)  # read when pytest imports the module below
    end = time.monotonic() + minutes * 60
    rounds = failed = 0
    while time.monotonic() < end:
        rounds += 1
        code = pytest.main(["-q", "-p", "no:cacheprovider", "-x", str(Path(__file__)), "-W", "ignore"])
        counts = sys.modules["tests.test_fuzz"].COUNTS
        failed += code != 0
        print(f"round {rounds} ({'failures' if code else 'no failure'}): {sum(counts.values())} inputs so far "
              f"({', '.join(f'{k} {v}' for k, v in counts.items())})", flush=True)
        if code:
            break
    counts = sys.modules["tests.test_fuzz"].COUNTS
    print(f"\n{sum(counts.values())} inputs in {rounds} rounds; {failed} failing round(s)")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="A long fuzzing campaign over tal's readers and its CLI.")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--examples", type=int, default=400, help="examples per test and round")
    cli = parser.parse_args()
    campaign(cli.minutes, cli.examples)
    sys.exit(0)
