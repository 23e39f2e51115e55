"""tal_cli.readers.preds: the four PREDS layouts, recognised from shapes, and their errors.

Every layout is built from ``samples/preds/coffee.pt`` (the ``head`` layout, 8 classes, 640x640,
strides 8/16/32 -> 80x80 + 40x40 + 20x20 = 6400 + 1600 + 400 = 8400 anchors).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from tal_cli.core.boxes import xyxy_to_xywh
from tal_cli.core.errors import InputFileError
from tal_cli.readers.preds import ACCEPTED, HeadOutput, decode_head, load_raw, read_predictions

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
COFFEE = SAMPLES / "preds" / "coffee.pt"
IMGSZ = (640, 640)
STRIDES = (8, 16, 32)
C = 8


@pytest.fixture(scope="module")
def head() -> dict[str, torch.Tensor]:
    raw = torch.load(COFFEE, weights_only=True)
    assert raw["boxes"].shape == (1, 64, 8400) and raw["scores"].shape == (1, C, 8400)
    return raw


@pytest.fixture(scope="module")
def flat(head: dict[str, torch.Tensor]) -> torch.Tensor:
    """The ``tensor`` layout: ``[1, 64 + C, 8400]``."""
    return torch.cat((head["boxes"], head["scores"]), 1)


def as_maps(flat: torch.Tensor) -> list[torch.Tensor]:
    """``[1, 72, 8400]`` -> per-level ``[1, 72, H, W]`` (80x80, 40x40, 20x20)."""
    parts = flat.split([6400, 1600, 400], dim=2)
    return [p.reshape(1, flat.shape[1], n, n) for p, n in zip(parts, (80, 40, 20))]


@pytest.fixture(scope="module")
def reference(head: dict[str, torch.Tensor]) -> HeadOutput:
    return decode_head(head, COFFEE, IMGSZ, STRIDES, 16)


def save(tmp_path: Path, obj: object, name: str = "p.pt") -> Path:
    path = tmp_path / name
    torch.save(obj, path)
    return path


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def read(path: Path, imgsz: tuple[int, int] = IMGSZ, reg_max: int = 16) -> HeadOutput:
    return read_predictions(path, imgsz, STRIDES, reg_max)


def refused(path: Path, pattern: str, imgsz: tuple[int, int] = IMGSZ, reg_max: int = 16) -> str:
    """Read ``path``, expect an InputFileError matching ``^<path>: pattern``; the file stays untouched."""
    before = snapshot(path) if path.is_file() else None
    with pytest.raises(InputFileError, match="^" + re.escape(f"{path}: ") + pattern) as info:
        read(path, imgsz, reg_max)
    if before is not None:
        assert snapshot(path) == before
    return str(info.value)


# --- the reference decode ---------------------------------------------------------------


def test_head_layout_decodes(reference: HeadOutput, head: dict[str, torch.Tensor]) -> None:
    out = reference
    assert out.layout == "head" and out.reg_max == 16
    assert out.num_anchors == 8400 and out.num_classes == C
    assert [(lv.stride, lv.height, lv.width, lv.start) for lv in out.levels] == [
        (8, 80, 80, 0), (16, 40, 40, 6400), (32, 20, 20, 8000)]
    assert out.scores.shape == (8400, C) and out.scores.dtype == torch.float32
    assert out.boxes.shape == (8400, 4) and out.boxes.dtype == torch.float32
    assert out.logits.shape == (8400, C) and out.distributions.shape == (8400, 4, 16)
    torch.testing.assert_close(out.logits, head["scores"][0].T)
    torch.testing.assert_close(out.scores, head["scores"][0].T.sigmoid())
    torch.testing.assert_close(out.distributions, head["boxes"][0].T.reshape(8400, 4, 16))
    # anchors: first of each level at (s/2, s/2), last stride-32 anchor at (624, 624)
    assert out.anchors[0].tolist() == [4.0, 4.0]
    assert out.anchors[1].tolist() == [12.0, 4.0]
    assert out.anchors[80].tolist() == [4.0, 12.0]
    assert out.anchors[6400].tolist() == [8.0, 8.0]
    assert out.anchors[8000].tolist() == [16.0, 16.0]
    assert out.anchors[-1].tolist() == [624.0, 624.0]
    assert out.anchor_strides[[0, 6399, 6400, 7999, 8000, 8399]].tolist() == [8, 8, 16, 16, 32, 32]


def test_head_box_decode_by_hand(reference: HeadOutput, head: dict[str, torch.Tensor]) -> None:
    # anchor 8000 + 21 (stride 32, row 1, col 1: grid point (1.5, 1.5)): each side's distance is the
    # softmax expectation over bins 0..15; box = (point -+ distances) * 32
    a = 8021
    logits = head["boxes"][0, :, a].double().reshape(4, 16)
    d = (logits.softmax(-1) * torch.arange(16, dtype=torch.float64)).sum(-1)  # l, t, r, b
    expected = torch.stack((1.5 - d[0], 1.5 - d[1], 1.5 + d[2], 1.5 + d[3])) * 32
    torch.testing.assert_close(reference.boxes[a].double(), expected, rtol=0, atol=1e-3)


def test_one2many_dict_is_unwrapped(tmp_path: Path, head: dict[str, torch.Tensor], reference: HeadOutput) -> None:
    out = read(save(tmp_path, {"one2many": dict(head), "one2one": {"x": torch.zeros(1)}}))
    assert out.layout == "head"
    torch.testing.assert_close(out.boxes, reference.boxes, rtol=0, atol=0)


def test_head_extra_keys_ignored(tmp_path: Path, head: dict[str, torch.Tensor], reference: HeadOutput) -> None:
    out = read(save(tmp_path, dict(head, feats=[torch.zeros(1, 3, 2, 2)])))
    assert out.layout == "head"
    torch.testing.assert_close(out.scores, reference.scores, rtol=0, atol=0)


# --- every layout, with and without the batch dim ---------------------------------------


def layouts(head: dict[str, torch.Tensor], flat: torch.Tensor) -> dict[str, tuple[str, object]]:
    return {
        "head": ("head", dict(head)),
        "head-nobatch": ("head", {"boxes": head["boxes"][0], "scores": head["scores"][0]}),
        "maps": ("maps", as_maps(flat)),
        "maps-nobatch": ("maps", [m[0] for m in as_maps(flat)]),
        "maps-tuple": ("maps", tuple(as_maps(flat))),
        "tensor": ("tensor", flat.clone()),
        "tensor-nobatch": ("tensor", flat[0].clone()),
    }


@pytest.mark.parametrize(
    "case", ["head", "head-nobatch", "maps", "maps-nobatch", "maps-tuple", "tensor", "tensor-nobatch"]
)
def test_raw_layouts_give_identical_outputs(tmp_path: Path, head, flat, reference: HeadOutput, case: str) -> None:
    layout, obj = layouts(head, flat)[case]
    out = read(save(tmp_path, obj))
    assert out.layout == layout
    assert out.num_anchors == 8400 and out.num_classes == C
    for name in ("scores", "boxes", "logits", "distributions", "anchors", "anchor_strides"):
        assert torch.equal(getattr(out, name), getattr(reference, name)), name


def decoded_from(reference: HeadOutput) -> torch.Tensor:
    """``[1, 4 + C, A]``: cx, cy, w, h px then sigmoid probabilities, as the eval output."""
    return torch.cat((xyxy_to_xywh(reference.boxes).T, reference.scores.T), 0)[None]


@pytest.mark.parametrize("batch", [True, False])
def test_decoded_layout(tmp_path: Path, reference: HeadOutput, batch: bool) -> None:
    dec = decoded_from(reference)
    assert dec.shape == (1, 4 + C, 8400)
    out = read(save(tmp_path, dec if batch else dec[0]))
    assert out.layout == "decoded"
    assert out.reg_max == 16  # the configured value
    assert out.logits is None and out.distributions is None
    assert torch.equal(out.scores, reference.scores)
    torch.testing.assert_close(out.boxes, reference.boxes, rtol=0, atol=1e-3)
    assert torch.equal(out.anchors, reference.anchors)


def test_decoded_needs_channels_after_4_in_unit_interval(tmp_path: Path, reference: HeadOutput) -> None:
    # the same [1, 12, 8400] tensor with one probability pushed to 1.5 is no longer "decoded";
    # 12 channels <= 4 * 16 is not a logits tensor either
    dec = decoded_from(reference).clone()
    dec[0, 4 + 3, 17] = 1.5
    refused(save(tmp_path, dec), re.escape(
        "tensor with 12 channels is neither 4*R + C logits (R = 16) nor decoded 4 + C with probabilities in [0, 1]"))
    # the box channels (0..3) may hold anything: they are pixels
    dec = decoded_from(reference).clone()
    dec[0, :4] = dec[0, :4] + 1000
    assert read(save(tmp_path, dec, "q.pt")).layout == "decoded"


def test_reg_max_1_tensor(tmp_path: Path) -> None:
    # reg_max 1: plain distances; [1, 4 + 2, A] logits with values outside [0, 1] -> "tensor";
    # every distance 1.0 at stride 8 anchor (4, 4) -> box (4 - 8, 4 - 8, 4 + 8, 4 + 8)
    t = torch.full((1, 6, 8400), 1.0)
    t[0, 4:] = -3.0
    out = read(save(tmp_path, t), reg_max=1)
    assert out.layout == "tensor" and out.reg_max == 1
    assert out.boxes[0].tolist() == [-4.0, -4.0, 12.0, 12.0]
    torch.testing.assert_close(out.scores[0], torch.full((2,), -3.0).sigmoid())


# --- errors -----------------------------------------------------------------------------


def test_wrong_anchor_count_suggests_imgsz(tmp_path: Path) -> None:
    # 1280: 160^2 + 80^2 + 40^2 = 25600 + 6400 + 1600 = 33600 anchors
    g = torch.Generator().manual_seed(0)
    path = save(
        tmp_path, {"boxes": torch.randn(1, 64, 33600, generator=g), "scores": torch.randn(1, 2, 33600, generator=g)}
    )
    refused(
        path,
        re.escape("33600 anchors, but input 640x640 with strides 8/16/32 has 8400; that count matches --imgsz 1280")
        + "$",
    )
    # and the other way: the 640 file read as 1280
    refused(
        COFFEE,
        re.escape("8400 anchors, but input 1280x1280 with strides 8/16/32 has 33600; that count matches --imgsz 640")
        + "$",
        imgsz=(1280, 1280),
    )


def test_wrong_anchor_count_without_hint(tmp_path: Path, flat: torch.Tensor) -> None:
    msg = refused(save(tmp_path, flat[..., :8399].clone()),
                  re.escape("8399 anchors, but input 640x640 with strides 8/16/32 has 8400") + "$")
    assert "--imgsz" not in msg


def test_maps_with_wrong_grid(tmp_path: Path, flat: torch.Tensor) -> None:
    # maps of a 320 input (40x40, 20x20, 10x10) read as 640
    maps = [torch.zeros(1, 72, n, n) for n in (40, 20, 10)]
    refused(save(tmp_path, maps), re.escape("stride-8 map is 40x40, expected 80x80 for a 640x640 input") + "$")
    # only the last level wrong
    maps = as_maps(flat)[:2] + [torch.zeros(1, 72, 20, 21)]
    refused(save(tmp_path, maps, "q.pt"), re.escape("stride-32 map is 20x21, expected 20x20 for a 640x640 input") + "$")


def test_wrong_number_of_maps(tmp_path: Path, flat: torch.Tensor) -> None:
    refused(save(tmp_path, as_maps(flat)[:2]), re.escape("2 maps, expected one per stride (3: [8, 16, 32])") + "$")
    refused(save(tmp_path, as_maps(flat) + [torch.zeros(1, 72, 10, 10)], "q.pt"),
            re.escape("4 maps, expected one per stride (3: [8, 16, 32])") + "$")


def test_maps_with_different_channel_counts(tmp_path: Path, flat: torch.Tensor) -> None:
    maps = as_maps(flat)
    maps[1] = maps[1][:, :70]
    refused(save(tmp_path, maps), re.escape("maps have different channel counts: [72, 70, 72]") + "$")


def test_maps_without_class_channels(tmp_path: Path, head: dict[str, torch.Tensor]) -> None:
    maps = as_maps(head["boxes"])  # 64 channels: DFL only
    refused(save(tmp_path, maps), re.escape("maps have 64 channels, expected 4*R + C > 64 (reg_max 16)") + "$")


def test_batch_of_two(tmp_path: Path, head: dict[str, torch.Tensor], flat: torch.Tensor) -> None:
    two = {"boxes": head["boxes"].expand(2, -1, -1).clone(), "scores": head["scores"].expand(2, -1, -1).clone()}
    refused(save(tmp_path, two), re.escape("'boxes' holds a batch of 2 images, expected 1 (got [2, 64, 8400])") + "$")
    refused(save(tmp_path, flat.expand(2, -1, -1).clone(), "t.pt"),
            re.escape("the tensor holds a batch of 2 images, expected 1 (got [2, 72, 8400])") + "$")
    maps = [m.expand(2, -1, -1, -1).clone() for m in as_maps(flat)]
    refused(
        save(tmp_path, maps, "m.pt"),
        re.escape("map 0 holds a batch of 2 images, expected 1 (got [2, 72, 80, 80])") + "$",
    )


def test_wrong_reg_max(tmp_path: Path) -> None:
    refused(
        COFFEE,
        re.escape(
            "'boxes' has 64 channels, expected 4*R = 32 (reg_max 8); set reg_max in the config if the head differs"
        )
        + "$",
        reg_max=8,
    )


def test_boxes_and_scores_anchor_mismatch(tmp_path: Path, head: dict[str, torch.Tensor]) -> None:
    path = save(tmp_path, {"boxes": head["boxes"], "scores": head["scores"][..., :8000].clone()})
    refused(path, re.escape("'boxes' has 8400 anchors but 'scores' has 8000") + "$")


def test_int_tensor(tmp_path: Path) -> None:
    refused(save(tmp_path, torch.zeros(1, 72, 8400, dtype=torch.int64)),
            re.escape("the tensor has dtype torch.int64, expected floating point") + "$")


def test_wrong_rank(tmp_path: Path) -> None:
    refused(save(tmp_path, torch.zeros(72)), re.escape(f"the tensor has shape [72]; accepted: {ACCEPTED}") + "$")


def test_dict_without_boxes_and_scores(tmp_path: Path) -> None:
    path = save(tmp_path, {"preds": torch.zeros(1, 72, 8400), "names": ["a", "b"]})
    msg = refused(
        path, re.escape("found dict {'preds': tensor [1, 72, 8400], 'names': list [str, str]}; accepted: ") + ".*"
    )
    for layout in ("dict {'boxes': [1, 4*R, A], 'scores': [1, C, A]}", "list of [1, 4*R+C, H, W] per stride",
                   "tensor [1, 4*R+C, A]", "decoded tensor [1, 4+C, A]"):
        assert layout in msg


def test_boxes_not_a_tensor(tmp_path: Path) -> None:
    path = save(tmp_path, {"boxes": [1, 2], "scores": torch.zeros(1, 2, 8400)})
    refused(
        path,
        re.escape("found dict {'boxes': list [int, int], 'scores': tensor [1, 2, 8400]}; accepted: " + ACCEPTED) + "$",
    )


@pytest.mark.parametrize(
    ("obj", "found"), [([], "list []"), (3, "int"), ([torch.zeros(2), 1], "list [tensor [2], int]")]
)
def test_other_objects(tmp_path: Path, obj: object, found: str) -> None:
    refused(save(tmp_path, obj), re.escape(f"found {found}; accepted: {ACCEPTED}") + "$")


NOT_PREDS = (
    ", not a PREDS file (a head output saved with torch.save, e.g. by tal export; the order is IMAGE LABELS PREDS)"
)


@pytest.mark.parametrize(("content", "what"), [
    (b"hello world", "a text file"),
    (b"", "an empty file"),
    (b"PK\x03\x04" + b"\x00" * 60, "a zip archive (not a torch file)"),
    (b"0 0.5 0.5 0.5 0.5\n", "a text file (YOLO labels?)"),  # a label file passed as PREDS by mistake
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "a PNG image"),  # the image passed as PREDS
    (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "a JPEG image"),
    (b"\x93NUMPY\x01\x00" + b"\x00" * 40, "a NumPy .npy array"),
])
def test_common_mistakes_are_named(tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "preds.pt"
    path.write_bytes(content)
    refused(path, re.escape(f"this is {what}{NOT_PREDS}") + "$")


def test_unreadable_torch_file_names_the_error_without_cutting_words(tmp_path: Path) -> None:
    path = tmp_path / "preds.pt"
    path.write_bytes(b"\x80\x02" + b"\x07" * 300)  # a pickle stream torch's loader cannot read
    with pytest.raises(InputFileError) as info:
        load_raw(path)
    text = str(info.value)
    assert text.startswith(f"{path}: not a readable torch file (") and text.endswith(")")
    detail = text[len(f"{path}: not a readable torch file ("):-1]
    assert len(detail) <= 200 and (not detail.endswith(" …") or detail[-3] != " ")


def test_truncated_torch_file(tmp_path: Path, flat: torch.Tensor) -> None:
    good = save(tmp_path, flat)
    path = tmp_path / "cut.pt"
    path.write_bytes(good.read_bytes()[:1000])
    refused(path, re.escape("not a readable torch file ("))


MARKER_NAME = "pwned.txt"


def _make_marker(path: str) -> None:
    Path(path).write_text("code ran")


class Trap:
    """Unpickling this object calls ``_make_marker(path)``, i.e. runs code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (_make_marker, (self.path,))


def test_pickled_code_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / MARKER_NAME
    path = save(tmp_path, {"boxes": torch.zeros(1, 64, 8400), "scores": torch.zeros(1, 2, 8400), "extra": Trap(marker)})
    refused(path, re.escape("holds Python objects that safe loading (weights_only=True) refuses; "
                            "save plain tensors, lists and dicts") + "$")
    assert not marker.exists()
    with pytest.raises(InputFileError, match="weights_only=True"):
        load_raw(path)
    assert not marker.exists()
    # the trap is real: an unsafe load would have run it
    torch.load(path, weights_only=False)
    assert marker.read_text() == "code ran"


def test_missing_file_and_folder(tmp_path: Path) -> None:
    refused(tmp_path / "nope.pt", "predictions file not found$")
    assert not (tmp_path / "nope.pt").exists()
    refused(tmp_path, re.escape("is a folder, expected a .pt predictions file") + "$")


def test_sample_untouched_after_success(flat: torch.Tensor) -> None:
    before = snapshot(COFFEE)
    read(COFFEE)
    assert snapshot(COFFEE) == before


# ---------------------------------------------------------------- end-to-end branches and metadata


def test_branch_selection(tmp_path: Path, head: dict[str, torch.Tensor], reference: HeadOutput) -> None:
    other = {"boxes": head["boxes"], "scores": head["scores"] - 2.0}
    path = save(tmp_path, {"one2many": head, "one2one": other})
    many = read(path)
    assert (many.head, many.heads) == ("one2many", ("one2many", "one2one"))
    assert torch.equal(many.logits, reference.logits)
    one = read_predictions(path, IMGSZ, STRIDES, 16, head="one2one")
    assert one.head == "one2one" and torch.equal(one.logits, reference.logits - 2.0)
    assert torch.equal(one.boxes, reference.boxes)


def test_only_branch_is_the_default(tmp_path: Path, head: dict[str, torch.Tensor]) -> None:
    path = save(tmp_path, {"one2one": head})
    out = read(path)
    assert (out.head, out.heads) == ("one2one", ("one2one",))
    refused_branch = pytest.raises(
        InputFileError, match="^" + re.escape(f"{path}: no 'one2many' head in this file (it holds: one2one)") + "$"
    )
    with refused_branch:
        read_predictions(path, IMGSZ, STRIDES, 16, head="one2many")


def test_ordinary_head_has_no_one2one(tmp_path: Path, head: dict[str, torch.Tensor]) -> None:
    path = save(tmp_path, head)
    assert (read(path).head, read(path).heads) == ("one2many", ("one2many",))
    with pytest.raises(
        InputFileError, match="^" + re.escape(f"{path}: holds one ordinary head, no 'one2one' branch; ")
    ):
        read_predictions(path, IMGSZ, STRIDES, 16, head="one2one")


def test_branches_in_the_maps_layout(tmp_path: Path, flat: torch.Tensor, reference: HeadOutput) -> None:
    path = save(tmp_path, {"one2many": as_maps(flat), "one2one": as_maps(flat)})
    out = read_predictions(path, IMGSZ, STRIDES, 16, head="one2one")
    assert out.layout == "maps" and out.head == "one2one"
    assert torch.equal(out.logits, reference.logits)


def _r1_head(n: int, c: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    """A reg_max 1 head for an ``n x n`` input at strides 8/16/32: plain distances in cells."""
    a = sum((n // s) ** 2 for s in STRIDES)
    gen = torch.Generator().manual_seed(seed)
    return {"boxes": torch.rand((1, 4, a), generator=gen) * 3, "scores": torch.randn((1, c, a), generator=gen)}


def test_meta_replaces_the_callers_grid(tmp_path: Path) -> None:
    h = _r1_head(320)
    meta = {"imgsz": 320, "strides": [8, 16, 32], "reg_max": 1, "nc": 3, "names": ["a", "b", "c"],
            "versions": {"ultralytics": "8.4.190"}, "model": "yolo26n.yaml", "image": "x.png"}
    path = save(tmp_path, {"one2many": h, "one2one": h, "meta": meta})
    out = read(path, imgsz=(640, 640), reg_max=16)  # the caller's values lose to the file's
    assert out.imgsz == (320, 320) and out.reg_max == 1 and out.num_anchors == 2100
    assert out.meta.names == {0: "a", 1: "b", 2: "c"} and out.meta.versions == {"ultralytics": "8.4.190"}
    assert (out.meta.model, out.meta.image) == ("yolo26n.yaml", "x.png")
    # R = 1: the box is the anchor minus/plus the raw distances, times the stride.
    d = h["boxes"][0, :, 0]  # first anchor: (4, 4) px at stride 8
    expected = torch.stack((4 - d[0] * 8, 4 - d[1] * 8, 4 + d[2] * 8, 4 + d[3] * 8))
    assert torch.allclose(out.boxes[0], expected)
    assert out.distributions.shape == (2100, 4, 1)


def test_meta_round_trip(tmp_path: Path) -> None:
    from tal_cli.readers.preds import PredsMeta, parse_meta

    meta = PredsMeta((480, 640), (8, 16, 32), 16, 8, {0: "x"}, {"tal": "0.1.0"}, "m.pt", "i.jpg")
    path = save(tmp_path, {"meta": meta.to_dict()})
    assert parse_meta(torch.load(path, weights_only=True)["meta"], path) == meta


@pytest.mark.parametrize("change, pattern", [
    ({"imgsz": None}, r"meta 'imgsz' must be N or \[height, width\] \(positive integers\), got None$"),
    ({"imgsz": [320, 320, 3]}, r"meta 'imgsz' must be N or \[height, width\]"),
    ({"strides": "8,16"}, r"meta 'strides' must be a list of positive integers, got '8,16'$"),
    ({"reg_max": 0}, r"meta 'reg_max' must be an integer >= 1, got 0$"),
    ({"nc": 80}, r"meta says nc 80, but the head has 3 classes$"),
    ({"names": {"a": 1}}, r"meta 'names' must be a list of strings or a dict \{id: name\}"),
    ({"versions": ["8.4"]}, r"meta 'versions' must be a dict \{package: version\}"),
    ({"imgsz": 640}, r"2100 anchors, but input 640x640 with strides 8/16/32 has 8400"),
])
def test_bad_meta(tmp_path: Path, change: dict, pattern: str) -> None:
    meta = {"imgsz": 320, "strides": [8, 16, 32], "reg_max": 1} | change
    path = save(tmp_path, {**_r1_head(320), "meta": meta})
    refused(path, pattern)


def test_meta_missing_key(tmp_path: Path) -> None:
    path = save(tmp_path, {**_r1_head(320), "meta": {"imgsz": 320, "strides": [8, 16, 32]}})
    refused(path, re.escape("meta has no 'reg_max' (it has: imgsz, strides)") + "$")
