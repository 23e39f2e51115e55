"""Tests of tal_cli.core.losses: parity with ultralytics 8.4.190's loss, hand-computed terms, breakdowns.

Data: the three sample images with their full head outputs (samples/, copies of the reference
heads) and the reference losses in tests/data/pipeline/ (copies of the reference files), so the
parity test runs everywhere. Layouts whose files are not in the repository (maps of astronaut
and hubble_left, decoded hubble_left) run when ../shared/reference is present.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tal_cli.core.anchors import grid_levels, make_anchors
from tal_cli.core.assigner import assign
from tal_cli.core.boxes import dfl_expectation, distances_to_xyxy
from tal_cli.core.errors import ShapeError
from tal_cli.core.losses import (
    REASON_DECODED,
    REASON_NO_SIZE,
    Gains,
    Losses,
    compute_losses,
    default_prob_eps,
    logits_from_probabilities,
    losses_from_heads,
)
from tal_cli.core.settings import AssignerSettings
from tal_cli.readers.scene import assign_scenes, load_scene

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
PIPELINE = ROOT / "tests" / "data" / "pipeline"
SHARED = ROOT.parent / "shared" / "reference" / "pipeline"
IMGSZ, STRIDES, REG_MAX = (640, 640), (8, 16, 32), 16
IMAGES = {"astronaut": "png", "coffee": "png", "hubble_left": "jpg"}
TOPKS = (5, 10, 13)


def _settings(topk: int, num_classes: int) -> AssignerSettings:
    return AssignerSettings(topk=topk, alpha=0.5, beta=6.0, variant="ultralytics", num_classes=num_classes)


def _preds_path(name: str, layout: str) -> Path:
    """The PREDS file of an image in a layout: repository copy first, else the shared reference; skips if neither."""
    candidates = [SAMPLES / "preds" / f"{name}.pt"] if layout == "head" else []
    candidates += [PIPELINE / f"{name}_{layout}.pt", SHARED / f"{name}_{layout}.pt"]
    for path in candidates:
        if path.is_file():
            return path
    pytest.skip(f"no {layout} file for {name} (../shared/reference not present)")


@functools.lru_cache(maxsize=None)
def _load(name: str, layout: str, with_labels: bool = True):
    labels = SAMPLES / "labels" / f"{name}.txt" if with_labels else None
    return load_scene(SAMPLES / "images" / f"{name}.{IMAGES[name]}", labels, _preds_path(name, layout),
                      IMGSZ, STRIDES, REG_MAX)


def _scene(name: str, layout: str, with_labels: bool = True):
    _preds_path(name, layout)  # skip outside the cache
    return _load(name, layout, with_labels)


def _ref(name: str, topk: int) -> dict:
    return torch.load(PIPELINE / f"{name}_ref_topk{topk}.pt", weights_only=True)


def _losses(scene, topk: int) -> tuple:
    a = assign_scenes([scene], _settings(topk, scene.head.num_classes))
    return a, losses_from_heads(a, [scene.head])


def _gained(losses: Losses) -> torch.Tensor:
    return torch.stack([t.detach() for t in losses.gained.as_tuple()])


# ---------------------------------------------------------------- 1. parity with the reference


@pytest.mark.parametrize("topk", TOPKS)
@pytest.mark.parametrize("layout", ["head", "maps"])
@pytest.mark.parametrize("name", list(IMAGES))
def test_parity_with_reference(name: str, layout: str, topk: int) -> None:
    ref = _ref(name, topk)
    a, losses = _losses(_scene(name, layout), topk)
    assert torch.equal(a.fg_mask[0].nonzero()[:, 0], ref["fg_anchor_index"])
    torch.testing.assert_close(_gained(losses), ref["loss_box_cls_dfl_gained"], rtol=1e-4, atol=0)
    for key, value in zip(("box_loss", "cls_loss", "dfl_loss"), losses.gained.floats()):
        assert value == pytest.approx(float(ref["loss_items"][key]), rel=1e-4)
    assert float(losses.target_scores_sum) == pytest.approx(ref["target_scores_sum"], rel=1e-5)
    assert losses.dfl_unavailable_reason is None


def test_pred_boxes_over_stride_equal_grid_decoding() -> None:
    """``HeadOutput.boxes / stride`` is exactly the box decoded in grid units (strides are powers of 2)."""
    head = _scene("coffee", "head").head
    grid = distances_to_xyxy(dfl_expectation(head.distributions), head.anchors / head.anchor_strides[:, None])
    assert torch.equal(head.boxes / head.anchor_strides[:, None], grid)


def test_gains_scale_raw_terms() -> None:
    a, losses = _losses(_scene("coffee", "head"), 10)
    assert Gains() == Gains(box=7.5, cls=0.5, dfl=1.5)
    for raw, gained, gain in zip(losses.raw.as_tuple(), losses.gained.as_tuple(), (7.5, 0.5, 1.5)):
        assert float(gained) == pytest.approx(float(raw) * gain, rel=1e-6)
    custom = losses_from_heads(a, [_scene("coffee", "head").head], Gains(box=1.0, cls=2.0, dfl=0.0))
    assert custom.gained.floats() == pytest.approx((float(losses.raw.box), 2 * float(losses.raw.cls), 0.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        losses.raw = losses.gained  # type: ignore[misc]


# ---------------------------------------------------------------- 2. hand-computed tiny cases


def _tiny(anchors_px, stride, gt_boxes_px, gt_classes, pred_boxes_px, logits, dist=None, input_hw=None):
    """One image; anchors [A, 2], gts [M, 4] px; returns (assignment, losses). topk 1, no floor."""
    anchors = torch.tensor(anchors_px, dtype=torch.float32)  # (A, 2)
    strides = torch.full((anchors.shape[0],), float(stride))  # (A,)
    logits = torch.tensor([logits], dtype=torch.float32)  # (1, A, C)
    pred = torch.tensor([pred_boxes_px], dtype=torch.float32)  # (1, A, 4)
    gts = torch.tensor([gt_boxes_px], dtype=torch.float32)  # (1, M, 4)
    labels = torch.tensor(gt_classes).reshape(1, -1, 1)
    mask = torch.ones_like(labels, dtype=torch.bool)
    s = AssignerSettings(topk=1, num_classes=logits.shape[-1], alpha=0.5, beta=6.0, variant="yolov8")
    a = assign(logits.sigmoid(), pred, anchors, labels, gts, mask, s)
    d = None if dist is None else torch.tensor([dist], dtype=torch.float32)  # (1, A, 4, R)
    return a, compute_losses(a, logits, d, pred, anchors, strides, input_hw=input_hw)


def _bce(x: float, t: float) -> float:
    p = 1 / (1 + math.exp(-x))
    return -(t * math.log(p) + (1 - t) * math.log(1 - p))


def _ciou(g, p, eps=1e-7) -> float:
    """CIoU of the spec, by hand: g gt/target, p prediction, xyxy."""
    w1, h1 = g[2] - g[0], g[3] - g[1] + eps
    w2, h2 = p[2] - p[0], p[3] - p[1] + eps
    inter = max(min(g[2], p[2]) - max(g[0], p[0]), 0) * max(min(g[3], p[3]) - max(g[1], p[1]), 0)
    iou = inter / (w1 * h1 + w2 * h2 - inter + eps)
    c2 = (max(g[2], p[2]) - min(g[0], p[0])) ** 2 + (max(g[3], p[3]) - min(g[1], p[1])) ** 2 + eps
    rho2 = ((p[0] + p[2] - g[0] - g[2]) ** 2 + (p[1] + p[3] - g[1] - g[3]) ** 2) / 4
    v = 4 / math.pi**2 * (math.atan(w2 / h2) - math.atan(w1 / h1)) ** 2
    alpha = v / (v - iou + 1 + eps)
    return iou - (rho2 / c2 + v * alpha)


def test_hand_classification_and_box() -> None:
    # Anchor 0 at grid (2.5, 1.5) inside the gt; anchor 1 far outside. Stride 8.
    logits = [[1.5, -0.5, 0.2], [-2.0, 0.3, -1.0]]
    gt, pred = [8.0, 0.0, 40.0, 24.0], [0.0, 0.0, 32.0, 16.0]
    a, losses = _tiny([[20.0, 12.0], [300.0, 300.0]], 8, [gt], [1], [pred, [280.0, 280.0, 320.0, 320.0]], logits)
    assert a.fg_mask.tolist() == [[True, False]]
    w = float(a.target_scores[0, 0, 1])
    assert 0 < w < 1
    tss = max(w, 1.0)
    assert float(losses.target_scores_sum) == tss and float(losses.target_score_total) == pytest.approx(w)

    targets = [[0.0, w, 0.0], [0.0, 0.0, 0.0]]
    per_anchor = [sum(_bce(x, t) for x, t in zip(xs, ts)) / tss for xs, ts in zip(logits, targets)]
    assert float(losses.raw.cls) == pytest.approx(sum(per_anchor), rel=1e-6)
    assert losses.anchor_cls[0].tolist() == pytest.approx(per_anchor, rel=1e-6)
    assert float(losses.image_cls_positive[0]) == pytest.approx(per_anchor[0], rel=1e-6)
    assert float(losses.image_cls_background[0]) == pytest.approx(per_anchor[1], rel=1e-6)
    assert float(losses.gt_cls_positive[0, 0]) == pytest.approx(per_anchor[0], rel=1e-6)

    # Box in grid units: target [1, 0, 5, 3], prediction [0, 0, 4, 2].
    ciou = _ciou([1.0, 0.0, 5.0, 3.0], [0.0, 0.0, 4.0, 2.0])
    assert 0.3 < ciou < 0.43
    assert float(losses.anchor_ciou[0, 0]) == pytest.approx(ciou, rel=1e-6)
    assert float(losses.raw.box) == pytest.approx((1 - ciou) * w / tss, rel=1e-6)
    assert float(losses.gained.box) == pytest.approx(7.5 * (1 - ciou) * w / tss, rel=1e-6)
    assert losses.anchor_box[0].tolist() == pytest.approx([(1 - ciou) * w / tss, 0.0], rel=1e-6)
    assert losses.raw.dfl is None and losses.dfl_unavailable_reason == REASON_DECODED


def test_hand_identical_boxes_and_normaliser_above_one() -> None:
    # Two gts, each predicted exactly: CIoU ~ 1, target scores ~ 1 each, so tss ~ 2 (> 1).
    gts = [[8.0, 8.0, 40.0, 32.0], [100.0, 60.0, 130.0, 124.0]]
    logits = [[0.7, -1.2], [-0.4, 2.1]]
    a, losses = _tiny([[20.0, 20.0], [116.0, 92.0]], 8, gts, [0, 1], gts, logits)
    assert a.fg_mask.all() and a.target_gt_idx.tolist() == [[0, 1]]
    ws = a.target_scores[0].sum(-1).tolist()
    tss = sum(ws)
    assert tss == pytest.approx(2.0, abs=1e-5)
    assert float(losses.target_scores_sum) == pytest.approx(tss, rel=1e-6)
    assert abs(float(losses.raw.box)) < 1e-6
    targets = [[ws[0], 0.0], [0.0, ws[1]]]
    hand = sum(_bce(x, t) for xs, ts in zip(logits, targets) for x, t in zip(xs, ts)) / tss
    assert float(losses.raw.cls) == pytest.approx(hand, rel=1e-6)


def _log_softmax(xs: list[float]) -> list[float]:
    lse = math.log(sum(math.exp(x) for x in xs))
    return [x - lse for x in xs]


def test_hand_dfl_bins_and_reach() -> None:
    # R = 4 bins: reach 2.99. Anchor at grid (12.5, 12.5), stride 8. Target sides in grid units:
    # l 2.3 (bins 2, 3: 0.7 / 0.3), t 1.0 (bin 1), r 0.5 (bins 0, 1: 0.5 / 0.5), b 3.5 -> 2.99.
    gt = [100 - 2.3 * 8, 100 - 1.0 * 8, 100 + 0.5 * 8, 100 + 3.5 * 8]
    dist = [[0.1, 0.5, -0.3, 0.2], [1.0, -1.0, 0.0, 0.5], [-0.2, 0.4, 0.9, -0.7], [0.0, 0.3, 1.2, 2.0]]
    a, losses = _tiny([[100.0, 100.0]], 8, [gt], [0], [gt], [[0.5]], dist=[dist])
    w = float(a.target_scores[0, 0].sum())
    tss = max(w, 1.0)
    splits = [(2, 0.7, 0.3), (1, 1.0, 0.0), (0, 0.5, 0.5), (2, 0.01, 0.99)]
    sides = []
    for logits, (left, wl, wr) in zip(dist, splits):
        lsm = _log_softmax(logits)
        sides.append(-(wl * lsm[left] + wr * lsm[left + 1]))
    hand = sum(sides) / 4 * w / tss
    assert float(losses.raw.dfl) == pytest.approx(hand, rel=1e-5)
    assert float(losses.gained.dfl) == pytest.approx(1.5 * hand, rel=1e-5)
    assert float(losses.anchor_dfl[0, 0]) == pytest.approx(hand, rel=1e-5)
    assert float(losses.gt_dfl[0, 0]) == pytest.approx(hand, rel=1e-5)
    assert losses.reg_max == 4 and losses.dfl_reach == pytest.approx(2.99)
    assert losses.anchor_target_ltrb[0, 0].tolist() == pytest.approx([2.3, 1.0, 0.5, 3.5], rel=1e-6)
    assert losses.anchor_beyond_reach.tolist() == [[True]]  # bottom side 3.5 > 2.99
    assert losses.gt_beyond_reach.tolist() == [[1]]


def test_a_target_side_exactly_at_the_reach_is_not_beyond_it() -> None:
    # R = 4: reach r = 2.99 (float32). Anchor (28, 12), stride 8: the gt's left side lies exactly r cells
    # away in float32 (3.5 - r is exact), so the target fits the bins (clipped to r is itself); 2e-5 px
    # further it is beyond by a float32 step or two
    r = torch.tensor(2.99)
    lo = float((3.5 - r) * 8)
    for x1, beyond in ((lo, False), (lo - 2e-5, True)):
        gt = [x1, 10.0, 30.0, 14.0]
        dist = [[0.0, 0.0, 0.0, 0.0]] * 4
        _, losses = _tiny([[28.0, 12.0]], 8, [gt], [0], [gt], [[0.5]], dist=[dist])
        assert losses.dfl_reach == pytest.approx(2.99)
        assert (losses.anchor_target_ltrb[0, 0, 0] == r).item() is (not beyond)
        assert losses.anchor_beyond_reach.tolist() == [[beyond]] and losses.gt_beyond_reach.tolist() == [[int(beyond)]]


# ---------------------------------------------------------------- 3. breakdowns sum to totals


def _check_breakdowns(a, losses: Losses) -> None:
    def close(x, y) -> None:
        torch.testing.assert_close(torch.as_tensor(x).detach(), torch.as_tensor(y).detach(), rtol=1e-5, atol=1e-6)

    fg = a.fg_mask
    close(losses.anchor_box.sum(), losses.raw.box)
    close(losses.gt_box.sum(), losses.raw.box)
    close(losses.anchor_cls.sum(), losses.raw.cls)
    close(losses.image_cls_positive.sum() + losses.image_cls_background.sum(), losses.raw.cls)
    close(losses.gt_cls_positive.sum(), losses.image_cls_positive.sum())
    close(losses.gt_target_score.sum(), losses.target_score_total)
    close(losses.target_scores_sum, losses.target_score_total.clamp(min=1))
    close(losses.gt_target_score.sum(1), a.target_scores.sum((1, 2)))
    if losses.raw.dfl is not None:
        close(losses.anchor_dfl.sum(), losses.raw.dfl)
        close(losses.gt_dfl.sum(), losses.raw.dfl)
        assert bool((losses.anchor_dfl[~fg] == 0).all())
    for t in (losses.anchor_box, losses.anchor_ciou):
        assert bool((t[~fg] == 0).all())
    assert not bool(losses.anchor_beyond_reach[~fg].any())
    assert int(losses.gt_beyond_reach.sum()) == int(losses.anchor_beyond_reach.sum())
    for t in (losses.gt_box, losses.gt_cls_positive, losses.gt_target_score, losses.gt_beyond_reach):
        assert t.shape == a.gt_mask.shape
        assert bool((t[~a.gt_mask] == 0).all())


@pytest.mark.parametrize("name", list(IMAGES))
def test_breakdowns_sum_on_real_image(name: str) -> None:
    a, losses = _losses(_scene(name, "head"), 10)
    _check_breakdowns(a, losses)
    assert bool((losses.gt_box[a.gt_mask] >= 0).all()) and losses.anchor_box.shape == a.fg_mask.shape


@hsettings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), reg_max=st.sampled_from([4, 16]), num_classes=st.integers(1, 4),
       topk=st.integers(1, 10), variant=st.sampled_from(["yolov8", "ultralytics"]))
def test_breakdowns_sum_on_random_scene(seed: int, reg_max: int, num_classes: int, topk: int, variant: str) -> None:
    g = torch.Generator().manual_seed(seed)
    levels = grid_levels((64, 96), STRIDES)
    anchors, strides = make_anchors(levels)
    b, m, n_anchors = 2, 5, anchors.shape[0]
    dist = torch.randn(b, n_anchors, 4, reg_max, generator=g) * 2  # (B, A, 4, R)
    grid = anchors / strides[:, None]  # (A, 2)
    pred = distances_to_xyxy(dfl_expectation(dist), grid) * strides[:, None]  # (B, A, 4)
    logits = torch.randn(b, n_anchors, num_classes, generator=g) * 3  # (B, A, C)
    xy = torch.rand(b, m, 2, generator=g) * torch.tensor([96.0, 64.0])  # (B, M, 2)
    wh = 2 + torch.rand(b, m, 2, generator=g) * 60  # (B, M, 2)
    gts = torch.cat((xy - wh / 2, xy + wh / 2), -1)  # (B, M, 4)
    labels = torch.randint(0, num_classes, (b, m, 1), generator=g)
    mask = torch.ones(b, m, 1, dtype=torch.bool)
    mask[1, 3:] = False  # image 1 has 3 gts and 2 padded slots
    s = AssignerSettings(topk=topk, num_classes=num_classes, alpha=0.5, beta=6.0, variant=variant)
    a = assign(logits.sigmoid(), pred, anchors, labels, gts, mask, s)
    losses = compute_losses(a, logits, dist, pred, anchors, strides)
    _check_breakdowns(a, losses)
    assert all(math.isfinite(v) for v in losses.raw.floats())


# ---------------------------------------------------------------- 4. an image without gts


def test_image_without_gts() -> None:
    scene = _scene("hubble_left", "head", with_labels=False)
    a, losses = _losses(scene, 10)
    assert a.gt_mask.shape == (1, 0) and not bool(a.fg_mask.any())
    expected = torch.nn.functional.softplus(scene.head.logits).sum()  # sum BCE(logits, 0), tss = 1
    assert float(losses.target_scores_sum) == 1.0
    assert float(losses.raw.cls) == pytest.approx(float(expected), rel=1e-5)
    assert float(losses.image_cls_background[0]) == pytest.approx(float(expected), rel=1e-5)
    assert float(losses.image_cls_positive[0]) == 0.0
    assert float(losses.raw.box) == 0.0 and float(losses.raw.dfl) == 0.0
    assert losses.gt_box.shape == (1, 0) and losses.gt_dfl.shape == (1, 0)


def test_batch_with_a_background_image() -> None:
    full, empty = _scene("coffee", "head"), _scene("coffee", "head", with_labels=False)
    a = assign_scenes([full, empty], _settings(10, full.head.num_classes))
    losses = losses_from_heads(a, [full.head, empty.head])
    _, alone = _losses(full, 10)
    tss = float(losses.target_scores_sum)
    assert tss == pytest.approx(float(alone.target_scores_sum), rel=1e-6)
    bg = float(torch.nn.functional.softplus(empty.head.logits).sum()) / tss
    assert float(losses.image_cls_background[1]) == pytest.approx(bg, rel=1e-5)
    assert float(losses.raw.cls) == pytest.approx(float(alone.raw.cls) + bg, rel=1e-5)
    assert float(losses.raw.box) == pytest.approx(float(alone.raw.box), rel=1e-5)
    assert float(losses.raw.dfl) == pytest.approx(float(alone.raw.dfl), rel=1e-5)
    assert losses.gt_box.shape == (2, 3) and bool((losses.gt_box[1] == 0).all())


# ---------------------------------------------------------------- 5. decoded layout


def _check_decoded(decoded, head, topk: int) -> None:
    _, dl = _losses(decoded, topk)
    _, hl = _losses(head, topk)
    assert dl.raw.dfl is None and dl.gained.dfl is None and dl.anchor_dfl is None and dl.gt_dfl is None
    assert dl.dfl_unavailable_reason == REASON_DECODED
    assert dl.reg_max == REG_MAX and dl.dfl_reach == pytest.approx(14.99)  # reach still known from the config
    for d, h in ((dl.raw.box, hl.raw.box), (dl.raw.cls, hl.raw.cls)):
        assert math.isfinite(float(d))
        assert float(d) == pytest.approx(float(h), rel=0.03)


@pytest.mark.parametrize("name", list(IMAGES))
def test_decoded_layout(name: str) -> None:
    _check_decoded(_scene(name, "decoded"), _scene(name, "head"), 10)


def test_logits_from_saturated_probabilities_stay_finite() -> None:
    p = torch.tensor([0.0, 1e-12, 0.25, 1.0])
    x = logits_from_probabilities(p)
    eps = default_prob_eps(torch.float32)
    assert bool(torch.isfinite(x).all()) and float(x[2]) == pytest.approx(math.log(1 / 3), rel=1e-6)
    assert float(x[3]) == pytest.approx(math.log((1 - eps) / eps), rel=1e-3)
    assert float(x[0]) == float(x[1]) == pytest.approx(-math.log((1 - eps) / eps), rel=1e-3)


# ---------------------------------------------------------------- 6. objects too large for the head


def test_reach_flag_on_big_box() -> None:
    # Anchor at (320, 320), stride 8: the 640 px gt reaches 40 grid units on each side, the
    # 100 px one 6.25; R = 16 bins reach 14.99.
    gts = [[0.0, 0.0, 640.0, 640.0], [300.0, 300.0, 400.0, 400.0]]
    anchors = [[324.0, 324.0], [356.0, 356.0]]
    dist = [[[0.0] * 16] * 4] * 2
    a, losses = _tiny(anchors, 8, gts, [0, 0], [[4.0, 4.0, 636.0, 636.0], [304.0, 304.0, 396.0, 396.0]],
                      [[0.0], [0.0]], dist=dist)
    assert a.fg_mask.all()
    by_gt = {int(a.target_gt_idx[0, i]): bool(losses.anchor_beyond_reach[0, i]) for i in range(2)}
    assert by_gt == {0: True, 1: False}
    assert losses.gt_beyond_reach.tolist() == [[1, 0]]
    assert losses.dfl_reach == pytest.approx(14.99)
    assert math.isfinite(float(losses.raw.dfl))  # targets are clamped into the bins


def test_reg_max_one_without_input_size_has_no_third_term() -> None:
    gts = [[0.0, 0.0, 640.0, 640.0]]
    a, losses = _tiny([[324.0, 324.0]], 8, gts, [0], gts, [[0.3]], dist=[[[40.0], [40.0], [40.0], [40.0]]])
    assert losses.third == "l1" and losses.raw.dfl is None and losses.dfl_unavailable_reason == REASON_NO_SIZE
    assert losses.reg_max == 1 and losses.dfl_reach is None
    assert not bool(losses.anchor_beyond_reach.any()) and losses.gt_beyond_reach.tolist() == [[0]]
    assert math.isfinite(float(losses.raw.box)) and math.isfinite(float(losses.raw.cls))


def test_reg_max_one_l1_term_by_hand() -> None:
    # Anchor (324, 200) px at stride 8 = (40.5, 25) cells; gt 300,180,360,260 px -> target ltrb
    # (24, 20, 36, 60) px. Predicted raw distances (2, 3, 4, 5) cells = (16, 24, 32, 40) px.
    # Input 640 high, 320 wide: x sides / 320, y sides / 640.
    gt = [300.0, 180.0, 360.0, 260.0]
    pred_dist = [2.0, 3.0, 4.0, 5.0]
    pred_box = [324.0 - 16, 200.0 - 24, 324.0 + 32, 200.0 + 40]
    a, losses = _tiny([[324.0, 200.0]], 8, [gt], [0], [pred_box], [[0.3]],
                      dist=[[[v] for v in pred_dist]], input_hw=(640, 320))
    assert a.fg_mask.tolist() == [[True]]
    w = float(a.target_scores.sum())
    sides = [abs(16 - 24) / 320, abs(24 - 20) / 640, abs(32 - 36) / 320, abs(40 - 60) / 640]
    expected = sum(sides) / 4 * w / max(w, 1.0)
    assert losses.third == "l1" and losses.dfl_unavailable_reason is None
    assert float(losses.raw.dfl) == pytest.approx(expected, rel=1e-6)
    assert float(losses.gained.dfl) == pytest.approx(expected * 1.5, rel=1e-6)
    assert float(losses.gt_dfl[0, 0]) == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------- misc


def test_shape_errors_name_the_tensor() -> None:
    a, _ = _tiny([[20.0, 12.0]], 8, [[8.0, 0.0, 40.0, 24.0]], [0], [[0.0, 0.0, 32.0, 16.0]], [[0.1]])
    anchors, strides = torch.tensor([[20.0, 12.0]]), torch.tensor([8.0])
    good = dict(logits=torch.zeros(1, 1, 1), distributions=None, pred_boxes=torch.zeros(1, 1, 4),
                anchors=anchors, anchor_strides=strides)
    for name, bad in (("logits", torch.zeros(1, 1, 2)), ("pred_boxes", torch.zeros(1, 2, 4)),
                      ("anchors", torch.zeros(2, 2)), ("anchor_strides", torch.zeros(2)),
                      ("distributions", torch.zeros(1, 1, 16))):
        with pytest.raises(ShapeError, match=name):
            compute_losses(a, **{**good, name: bad})
    with pytest.raises(ShapeError, match="heads"):
        losses_from_heads(a, [])


def test_gradients_reach_the_predictions() -> None:
    scene = _scene("coffee", "head")
    a = assign_scenes([scene], _settings(10, scene.head.num_classes))
    logits = scene.head.logits[None].clone().requires_grad_(True)  # (1, A, C)
    dist = scene.head.distributions[None].clone().requires_grad_(True)  # (1, A, 4, R)
    grid = scene.head.anchors / scene.head.anchor_strides[:, None]  # (A, 2)
    pred = distances_to_xyxy(dfl_expectation(dist), grid) * scene.head.anchor_strides[:, None]  # (1, A, 4)
    losses = compute_losses(a, logits, dist, pred, scene.head.anchors, scene.head.anchor_strides)
    sum(losses.gained.as_tuple()).backward()
    assert logits.grad is not None and dist.grad is not None
    assert bool(dist.grad[0][a.fg_mask[0]].abs().sum() > 0) and bool((dist.grad[0][~a.fg_mask[0]] == 0).all())


def test_softplus_form_equals_direct_bce() -> None:
    """compute_losses with a precomputed softplus sum (the sweep's reuse) equals the direct BCE."""
    from tal_cli.core.losses import HeadBatch
    from tal_cli.core.settings import AssignerSettings
    from tal_cli.readers.scene import assign_scenes, load_scene

    root = Path(__file__).resolve().parents[2] / "samples"
    scene = load_scene(root / "images" / "coffee.png", root / "labels" / "coffee.txt", root / "preds" / "coffee.pt",
                       (640, 640), (8, 16, 32), 16)
    a = assign_scenes([scene], AssignerSettings(topk=10, alpha=0.5, beta=6.0, num_classes=8, variant="ultralytics"))
    h = scene.head
    direct = compute_losses(a, h.logits[None], h.distributions[None], h.boxes[None], h.anchors, h.anchor_strides)
    reused = HeadBatch.stack([h]).losses(a)
    for x, y in zip(direct.raw.as_tuple(), reused.raw.as_tuple()):
        assert float(y) == pytest.approx(float(x), rel=1e-6)
    torch.testing.assert_close(reused.anchor_cls, direct.anchor_cls, rtol=1e-5, atol=1e-9)
    assert torch.equal(reused.anchor_box, direct.anchor_box)
