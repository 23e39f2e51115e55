"""Reading saved head outputs (PREDS) and decoding them to the assigner's inputs.

Accepted layouts, recognised from shapes (a leading batch dimension of 1 is optional):

- ``head``:    dict with ``boxes [4R, A]`` (DFL logits) and ``scores [C, A]`` (class logits),
  other keys ignored — the ultralytics 8.4 head output;
- ``maps``:    list of per-level maps ``[4R + C, H, W]``, one per stride — older releases;
- ``tensor``:  one tensor ``[4R + C, A]``;
- ``decoded``: one tensor ``[4 + C, A]`` of ``cx, cy, w, h`` px then class probabilities (all
  of them in [0, 1]) — the eval output, no logits and no distributions.

End-to-end heads (YOLO26, YOLOv10 style) are a dict with ``one2many`` and/or ``one2one``
branches, each branch in one of the layouts above; ``head`` picks the branch. A file may carry
a ``meta`` dict (written by ``tal export``, see :class:`PredsMeta`); its input size, strides and
reg_max then replace the ones the caller passes, because they are facts about the file.

Files are read with ``torch.load(weights_only=True)`` only; nothing ever unpickles code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ..core.anchors import Level, grid_levels, make_anchors
from ..core.boxes import dfl_expectation, distances_to_xyxy, xywh_to_xyxy
from ..core.errors import InputFileError

#: Branch names of an end-to-end head, in the order they are preferred.
BRANCHES = ("one2many", "one2one")

ACCEPTED = (
    "dict {'boxes': [1, 4*R, A], 'scores': [1, C, A]} | list of [1, 4*R+C, H, W] per stride | "
    "tensor [1, 4*R+C, A] | decoded tensor [1, 4+C, A] | dict {'one2many': ..., 'one2one': ...} of those"
)


@dataclass(frozen=True)
class PredsMeta:
    """What a PREDS file says about itself (the ``meta`` dict ``tal export`` writes).

    Attributes:
        imgsz: network input ``(height, width)`` px the head output was made at.
        strides: level strides, in the head's order.
        reg_max: R, DFL bins of the head (1: plain distances).
        num_classes: C, or None if not given.
        names: class names by id (empty when not given).
        versions: package versions that made the file, e.g. ``{"ultralytics": "8.4.190"}``.
        model: the model the output came from (a file name), or None.
        image: the image it was made from (a file name), or None.
    """

    imgsz: tuple[int, int]
    strides: tuple[int, ...]
    reg_max: int
    num_classes: int | None = None
    names: dict[int, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    image: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The plain dict written into a PREDS file (loads with ``weights_only=True``)."""
        return {"imgsz": list(self.imgsz), "strides": list(self.strides), "reg_max": self.reg_max,
                "nc": self.num_classes, "names": dict(self.names), "versions": dict(self.versions),
                "model": self.model, "image": self.image}


def _int_list(value: object) -> list[int] | None:
    if isinstance(value, Tensor):
        value = value.tolist()
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return list(value)
    return None


def parse_meta(meta: object, path: str | Path) -> PredsMeta:
    """Validate a file's ``meta`` dict; ``imgsz`` (N or [H, W]), ``strides`` and ``reg_max`` are required.

    Raises:
        InputFileError: a missing key or a wrong value, named.
    """
    def bad(key: str, expected: str) -> InputFileError:
        got = meta.get(key) if isinstance(meta, dict) else meta
        return InputFileError(
            f"{path}: meta {key!r} must be {expected}, "
            f"got {_shape(got) if isinstance(got, (Tensor, dict, list, tuple)) else repr(got)}"
        )

    if not isinstance(meta, dict):
        raise InputFileError(f"{path}: 'meta' must be a dict, got {type(meta).__name__}")
    for key in ("imgsz", "strides", "reg_max"):
        if key not in meta:
            raise InputFileError(f"{path}: meta has no {key!r} (it has: {', '.join(map(str, meta)) or 'nothing'})")
    imgsz = meta["imgsz"]
    imgsz = [imgsz] * 2 if isinstance(imgsz, int) and not isinstance(imgsz, bool) else _int_list(imgsz)
    if imgsz is None or len(imgsz) != 2 or min(imgsz) < 1:
        raise bad("imgsz", "N or [height, width] (positive integers)")
    strides = _int_list(meta["strides"])
    if strides is None or min(strides) < 1:
        raise bad("strides", "a list of positive integers")
    reg_max = meta["reg_max"]
    if not isinstance(reg_max, int) or isinstance(reg_max, bool) or reg_max < 1:
        raise bad("reg_max", "an integer >= 1")
    nc = meta.get("nc")
    if nc is not None and (not isinstance(nc, int) or isinstance(nc, bool) or nc < 1):
        raise bad("nc", "an integer >= 1 or None")
    names = meta.get("names") or {}
    if isinstance(names, (list, tuple)):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not all(isinstance(k, int) and isinstance(v, str) for k, v in names.items()):
        raise bad("names", "a list of strings or a dict {id: name}")
    versions = meta.get("versions") or {}
    if not isinstance(versions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in versions.items()
    ):
        raise bad("versions", "a dict {package: version}")
    for key in ("model", "image"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise bad(key, "a string or None")
    return PredsMeta((imgsz[0], imgsz[1]), tuple(strides), reg_max, nc, dict(names), dict(versions),
                     meta.get("model"), meta.get("image"))


def select_branch(raw: object, head: str | None, path: str | Path) -> tuple[object, str, tuple[str, ...]]:
    """Pick the branch ``head`` of an end-to-end output (None: one2many, else the only branch).

    A file without branches holds one ordinary head, which counts as ``one2many``.

    Returns:
        ``(the branch's object, its name, the branch names the file holds)``.

    Raises:
        InputFileError: ``head`` is not in the file.
    """
    if head is not None and head not in BRANCHES:
        raise ValueError(f"head: expected one of {BRANCHES}, got {head!r}")
    if isinstance(raw, dict) and any(k in raw for k in BRANCHES):
        held = tuple(k for k in BRANCHES if k in raw)
        name = head or held[0]
        if name not in held:
            raise InputFileError(f"{path}: no {name!r} head in this file (it holds: {', '.join(held)})")
        return raw[name], name, held
    if head == "one2one":
        raise InputFileError(f"{path}: holds one ordinary head, no 'one2one' branch; --head one2one needs the "
                             "output of an end-to-end model (YOLO26, YOLOv10), e.g. from tal export")
    return raw, "one2many", ("one2many",)


@dataclass(frozen=True)
class HeadOutput:
    """One image's head output, decoded for the assigner.

    Attributes:
        layout: ``"head"``, ``"maps"``, ``"tensor"`` or ``"decoded"``.
        head: the branch decoded: ``"one2many"`` (also any ordinary head) or ``"one2one"``.
        heads: the branches the file holds (``("one2many",)`` for an ordinary head).
        imgsz: network input ``(height, width)`` px of the grid (the file's own, if it says).
        meta: what the file says about itself, or None.
        reg_max: R, DFL bins (1: plain distances); for ``decoded`` the configured value.
        levels: the grid of each stride.
        anchors: ``Tensor[A, 2] float32, px`` anchor centres.
        anchor_strides: ``Tensor[A] float32``, stride of each anchor.
        scores: ``Tensor[A, C] float32``, class probabilities.
        boxes: ``Tensor[A, 4] float32, xyxy px``, decoded predicted boxes.
        logits: ``Tensor[A, C] float32`` class logits, or None (``decoded``).
        distributions: ``Tensor[A, 4, R] float32`` box logits, or None (``decoded``).
    """

    layout: str
    head: str
    heads: tuple[str, ...]
    imgsz: tuple[int, int]
    meta: PredsMeta | None
    reg_max: int
    levels: tuple[Level, ...]
    anchors: Tensor
    anchor_strides: Tensor
    scores: Tensor
    boxes: Tensor
    logits: Tensor | None
    distributions: Tensor | None

    @property
    def num_classes(self) -> int:
        return self.scores.shape[1]

    @property
    def strides(self) -> tuple[int, ...]:
        return tuple(lv.stride for lv in self.levels)

    @property
    def num_anchors(self) -> int:
        return self.scores.shape[0]


def _shape(x: object) -> str:
    if isinstance(x, Tensor):
        return f"tensor {list(x.shape)}"
    if isinstance(x, dict):
        return "dict {" + ", ".join(f"{k!r}: {_shape(v)}" for k, v in x.items()) + "}"
    if isinstance(x, (list, tuple)):
        return "list [" + ", ".join(_shape(v) for v in x) + "]"
    return type(x).__name__


def _check_finite(t: Tensor, what: str, path: Path) -> None:
    """NaN or infinite values are an error naming the tensor, how many, and the first index."""
    bad = ~torch.isfinite(t)
    if bool(bad.any()):
        first = [int(i) for i in bad.nonzero()[0]]
        n = int(bad.sum())
        kinds = " or ".join(k for k, m in (("NaN", torch.isnan(t)), ("infinite", torch.isinf(t))) if bool(m.any()))
        raise InputFileError(f"{path}: {what} holds {n} {kinds} value{'s' if n != 1 else ''} (first at index "
                             f"{first}); the model's output is broken, so no assignment can be computed from it")


def _drop_batch(t: Tensor, ndim: int, what: str, path: Path) -> Tensor:
    if t.is_floating_point():
        _check_finite(t, what, path)
    if t.ndim == ndim + 1:
        if t.shape[0] != 1:
            raise InputFileError(
                f"{path}: {what} holds a batch of {t.shape[0]} images, expected 1 (got {list(t.shape)})"
            )
        t = t[0]
    if t.ndim != ndim:
        raise InputFileError(f"{path}: {what} has shape {list(t.shape)}; accepted: {ACCEPTED}")
    if not t.is_floating_point():
        raise InputFileError(f"{path}: {what} has dtype {t.dtype}, expected floating point")
    return t.detach().to("cpu", torch.float32)


#: Leading bytes of files people give by mistake where a PREDS file belongs, and what they are.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"), (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"),
    (b"\x93NUMPY", "a NumPy .npy array"), (b"%PDF", "a PDF document"), (b"\x1f\x8b", "a gzip archive"),
)


def sniff(path: Path) -> str | None:
    """What a file that is not a torch file looks like (``"a PNG image"``, ``"a text file"``), or None."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    if not head:
        return "an empty file"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head.startswith(b"PK\x03\x04"):
        return None if b"data.pkl" in head or b"/version" in head else "a zip archive (not a torch file)"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "a text file (YOLO labels?)" if _looks_like_labels(head) else "a text file"
    return None


def _looks_like_labels(head: bytes) -> bool:
    rows = [ln.split() for ln in head.decode("utf-8", "replace").splitlines() if ln.strip()][:5]
    try:
        return bool(rows) and all(len(r) >= 5 and all(float(v) == float(v) for v in r) for r in rows)
    except ValueError:
        return False


def _first_sentence(text: str, limit: int = 160) -> str:
    """The first line of an error text, cut at a word boundary with an ellipsis when long."""
    line = (text.strip().splitlines() or [""])[0]
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def load_raw(path: str | Path) -> object:
    """``torch.load(path, weights_only=True, map_location="cpu")`` with one-line errors.

    Files that are plainly something else (an image, a text file, a NumPy array) are named as
    such, since that is the usual mistake (arguments in the wrong order).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: predictions file not found")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, expected a .pt predictions file")
    what = sniff(path)
    if what is not None:
        raise InputFileError(f"{path}: this is {what}, not a PREDS file (a head output saved with torch.save, e.g. "
                             "by tal export; the order is IMAGE LABELS PREDS)")
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001  torch raises many types (UnpicklingError, RuntimeError, EOFError...)
        if "Unsupported global" in str(exc) or "Unsupported class" in str(exc):
            raise InputFileError(
                f"{path}: holds Python objects that safe loading (weights_only=True) refuses; "
                "save plain tensors, lists and dicts") from None
        text = _first_sentence(str(exc)) or type(exc).__name__
        raise InputFileError(f"{path}: not a readable torch file ({type(exc).__name__}: {text})") from None


def _check_anchor_count(
    path: Path, a: int, levels: Sequence[Level], imgsz: tuple[int, int], strides: Sequence[int]
) -> None:
    expected = levels[-1].stop
    if a == expected:
        return
    raise InputFileError(
        f"{path}: {a} anchors, but input {imgsz[0]}x{imgsz[1]} with strides "
        f"{'/'.join(map(str, strides))} has {expected}{_size_hint(a, strides)}")


def _size_hint(a: int, strides: Sequence[int]) -> str:
    """Which input size gives ``a`` anchors: a common square size (``--imgsz N``), else the
    height and width (multiples of the largest stride up to 2048) for a config's ``imgsz: [h, w]``."""
    for n in (320, 416, 480, 512, 640, 736, 800, 960, 1024, 1280, 1536):
        if grid_levels((n, n), strides)[-1].stop == a:
            return f"; that count matches --imgsz {n}"
    step = max(strides)
    sizes = range(step, 2048 + 1, step)
    found = [(h, w) for h in sizes for w in sizes if grid_levels((h, w), strides)[-1].stop == a]
    square = [h for h, w in found if h == w]
    if square:
        return f"; that count matches --imgsz {square[0]}"
    pairs = sorted({tuple(sorted(hw)) for hw in found}, key=lambda hw: hw[1] / hw[0])[:3]  # nearest square first
    if not pairs:
        return ""
    options = ", ".join(f"[{h}, {w}], [{w}, {h}]" for h, w in pairs)
    return (f"; that count matches a non-square input, imgsz (height, width) one of {options}; set imgsz: "
            "[height, width] in a config (--config), or export with tal export, whose files say their size")


def decode_head(raw: object, path: str | Path, imgsz: tuple[int, int], strides: Sequence[int], reg_max: int,
                head: str | None = None) -> HeadOutput:
    """Recognise the layout of a loaded object and decode it. See the module docstring.

    Args:
        raw: what :func:`load_raw` returned.
        path: the file, for messages.
        imgsz: network input ``(height, width)`` px, unless the file's ``meta`` says.
        strides: level strides in order, unless the file's ``meta`` says.
        reg_max: R, DFL bins of the head (1: no DFL), unless the file's ``meta`` says.
        head: branch of an end-to-end output, ``"one2many"`` or ``"one2one"``; None: one2many
            if the file has it, else its only branch (see :func:`select_branch`).

    Raises:
        InputFileError: unrecognised layout, a missing branch, a bad ``meta``, or sizes that do
            not fit ``imgsz``/``strides``.
    """
    path = Path(path)
    meta = None
    if isinstance(raw, dict) and "meta" in raw:
        meta = parse_meta(raw["meta"], path)
        imgsz, strides, reg_max = meta.imgsz, meta.strides, meta.reg_max
        raw = {k: v for k, v in raw.items() if k != "meta"}
    raw, head_name, heads = select_branch(raw, head, path)
    imgsz = (int(imgsz[0]), int(imgsz[1]))
    levels = grid_levels(imgsz, strides)
    flat, layout = _flatten(raw, path, levels, imgsz, strides, reg_max)  # (channels, A)

    anchors, anchor_strides = make_anchors(levels)
    common = (layout, head_name, heads, imgsz, meta, reg_max, tuple(levels), anchors, anchor_strides)
    if layout == "decoded":
        probs = flat[4:].T.contiguous()  # (A, C)
        boxes_px = xywh_to_xyxy(flat[:4].T)  # (A, 4)
        out = HeadOutput(*common, probs, boxes_px, None, None)
    else:
        four_r = 4 * reg_max
        dist = flat[:four_r].T.reshape(-1, 4, reg_max)  # (A, 4, R)
        logits = flat[four_r:].T.contiguous()  # (A, C)
        grid_points = anchors / anchor_strides[:, None]  # (A, 2) grid units
        boxes_px = distances_to_xyxy(dfl_expectation(dist), grid_points) * anchor_strides[:, None]  # (A, 4)
        out = HeadOutput(*common, logits.sigmoid(), boxes_px, logits, dist)
    if meta is not None and meta.num_classes is not None and meta.num_classes != out.num_classes:
        raise InputFileError(f"{path}: meta says nc {meta.num_classes}, but the head has {out.num_classes} classes")
    return out


def _flatten(raw: object, path: Path, levels: Sequence[Level], imgsz: tuple[int, int], strides: Sequence[int],
             reg_max: int) -> tuple[Tensor, str]:
    """The branch's channels over all anchors, ``Tensor[channels, A]``, and its layout name.

    Raises:
        InputFileError: unrecognised layout, or sizes that do not fit ``imgsz``/``strides``/``reg_max``.
    """
    if isinstance(raw, dict) and "boxes" in raw and "scores" in raw:
        return _flatten_head(raw, path, levels, imgsz, strides, reg_max), "head"
    if isinstance(raw, (list, tuple)) and raw and all(isinstance(t, Tensor) for t in raw):
        return _flatten_maps(raw, path, levels, imgsz, strides, reg_max), "maps"
    if isinstance(raw, Tensor):
        flat = _drop_batch(raw, 2, "the tensor", path)
        _check_anchor_count(path, flat.shape[1], levels, imgsz, strides)
        rest = flat[4:]
        if flat.shape[0] > 4 and bool(((rest >= 0) & (rest <= 1)).all()):
            return flat, "decoded"
        if flat.shape[0] > 4 * reg_max:
            return flat, "tensor"
        raise InputFileError(
            f"{path}: tensor with {flat.shape[0]} channels is neither 4*R + C logits (R = {reg_max}) "
            "nor decoded 4 + C with probabilities in [0, 1]")
    raise InputFileError(f"{path}: found {_shape(raw)}; accepted: {ACCEPTED}")


def _flatten_head(raw: dict, path: Path, levels: Sequence[Level], imgsz: tuple[int, int], strides: Sequence[int],
                  reg_max: int) -> Tensor:
    """The ``head`` layout: ``boxes [4R, A]`` on top of ``scores [C, A]``."""
    if not isinstance(raw["boxes"], Tensor) or not isinstance(raw["scores"], Tensor):
        raise InputFileError(f"{path}: found {_shape(raw)}; accepted: {ACCEPTED}")
    boxes = _drop_batch(raw["boxes"], 2, "'boxes'", path)
    scores = _drop_batch(raw["scores"], 2, "'scores'", path)
    four_r = 4 * reg_max
    if boxes.shape[0] != four_r:
        raise InputFileError(
            f"{path}: 'boxes' has {boxes.shape[0]} channels, expected 4*R = {four_r} (reg_max {reg_max}); "
            "set reg_max in the config if the head differs")
    if boxes.shape[1] != scores.shape[1]:
        raise InputFileError(f"{path}: 'boxes' has {boxes.shape[1]} anchors but 'scores' has {scores.shape[1]}")
    _check_anchor_count(path, boxes.shape[1], levels, imgsz, strides)
    return torch.cat((boxes, scores), 0)


def _flatten_maps(raw: Sequence[Tensor], path: Path, levels: Sequence[Level], imgsz: tuple[int, int],
                  strides: Sequence[int], reg_max: int) -> Tensor:
    """The ``maps`` layout: one ``[4R + C, H, W]`` map per stride, flattened row-major and concatenated."""
    maps = [_drop_batch(t, 3, f"map {i}", path) for i, t in enumerate(raw)]
    if len(maps) != len(levels):
        raise InputFileError(f"{path}: {len(maps)} maps, expected one per stride ({len(levels)}: {list(strides)})")
    for lv, t in zip(levels, maps):
        if tuple(t.shape[1:]) != (lv.height, lv.width):
            raise InputFileError(
                f"{path}: stride-{lv.stride} map is {t.shape[1]}x{t.shape[2]}, expected "
                f"{lv.height}x{lv.width} for a {imgsz[0]}x{imgsz[1]} input")
        if t.shape[0] != maps[0].shape[0]:
            raise InputFileError(f"{path}: maps have different channel counts: {[m.shape[0] for m in maps]}")
    four_r = 4 * reg_max
    if maps[0].shape[0] <= four_r:
        raise InputFileError(
            f"{path}: maps have {maps[0].shape[0]} channels, expected 4*R + C > {four_r} (reg_max {reg_max})"
        )
    return torch.cat([t.reshape(t.shape[0], -1) for t in maps], 1)


def read_predictions(path: str | Path, imgsz: tuple[int, int], strides: Sequence[int], reg_max: int,
                     head: str | None = None) -> HeadOutput:
    """Load and decode a PREDS file; see :func:`decode_head`."""
    return decode_head(load_raw(path), path, imgsz, strides, reg_max, head)
