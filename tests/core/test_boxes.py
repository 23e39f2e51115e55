"""tal_cli.core.boxes: overlaps, the small-box floor, the inside test, DFL decoding.

Every expected number below is worked out by hand from the formulas in
docs/tal-spec.md ("CIoU, exactly"), with Python's ``math``, never by the code under test.
"""

from __future__ import annotations

import math

import pytest
import torch

from tal_cli.core.boxes import (
    CIOU_EPS,
    box_ciou_paired,
    box_iou_paired,
    centres_inside,
    dfl_expectation,
    distances_to_xyxy,
    floor_small_boxes,
    xywh_to_xyxy,
    xyxy_to_xywh,
)

EPS = 1e-7  # the spec's CIoU eps (heights and union only)


def t64(*rows: list[float]) -> torch.Tensor:
    """Rows of 4 numbers -> ``Tensor[N, 4] float64``."""
    return torch.tensor(rows, dtype=torch.float64)


def test_ciou_eps_is_the_spec_value() -> None:
    assert CIOU_EPS == 1e-7


# --- IoU / CIoU on hand-computed pairs ------------------------------------------------


def test_identical_boxes_give_about_one() -> None:
    # gt = pred = [0, 0, 10, 10]: w = 10, h = 10 + eps, inter = 10 * 10 (no eps in inter),
    # union = 2 * 10 * (10 + eps) - 100 + eps; centres equal (rho2 = 0), same aspect (v = 0).
    box = t64([0, 0, 10, 10])  # (1, 4)
    union = 2 * 10 * (10 + EPS) - 100 + EPS
    expected = 100 / union  # CIoU = IoU here
    ciou = box_ciou_paired(box, box)  # (1,)
    iou = box_iou_paired(box, box)  # (1,)
    assert ciou.shape == (1,) and iou.shape == (1,)
    assert ciou.item() == pytest.approx(expected, abs=1e-15)
    assert iou.item() == pytest.approx(expected, abs=1e-15)
    assert abs(ciou.item() - 1) < 1e-6
    # float32 too: within 1e-6 of 1
    assert abs(box_ciou_paired(box.float(), box.float()).item() - 1) < 1e-6


def test_disjoint_boxes() -> None:
    # gt [0, 0, 10, 10], pred [20, 0, 30, 10]: inter 0 -> IoU 0.
    # enclosing box 30 x 10: c2 = 900 + 100 + eps; rho2 = ((20 + 30 - 0 - 10)^2 + 0^2) / 4 = 400;
    # both boxes have w = 10, h = 10 + eps -> v = 0. CIoU = 0 - 400 / (1000 + eps).
    gt, pred = t64([0, 0, 10, 10]), t64([20, 0, 30, 10])
    expected = -(400 / (1000 + EPS))
    assert box_iou_paired(gt, pred).item() == 0.0
    assert box_ciou_paired(gt, pred).item() == pytest.approx(expected, abs=1e-12)
    assert box_ciou_paired(gt, pred).item() == pytest.approx(-0.4, abs=1e-9)


def test_nested_boxes() -> None:
    # gt [0, 0, 10, 10] contains pred [2, 2, 6, 8] (4 x 6).
    w1, h1 = 10.0, 10.0 + EPS
    w2, h2 = 4.0, 6.0 + EPS
    inter = 4.0 * 6.0
    union = w1 * h1 + w2 * h2 - inter + EPS
    iou = inter / union  # ~ 0.24
    c2 = 10.0**2 + 10.0**2 + EPS  # enclosing box is the gt
    rho2 = ((2 + 6 - 0 - 10) ** 2 + (2 + 8 - 0 - 10) ** 2) / 4  # = 1
    v = (4 / math.pi**2) * (math.atan(w2 / h2) - math.atan(w1 / h1)) ** 2
    alpha = v / (v - iou + (1 + EPS))
    expected = iou - (rho2 / c2 + v * alpha)
    gt, pred = t64([0, 0, 10, 10]), t64([2, 2, 6, 8])
    assert iou == pytest.approx(0.24, abs=1e-7)
    assert box_iou_paired(gt, pred).item() == pytest.approx(iou, abs=1e-14)
    assert box_ciou_paired(gt, pred).item() == pytest.approx(expected, abs=1e-14)
    # sanity of the hand number itself: centre penalty 1/200 and a non-zero aspect penalty
    assert 0.2 < expected < 0.24 - 1 / 200


def test_partial_overlap_shifted_box() -> None:
    # gt [8, 8, 40, 40], pred [12, 8, 44, 40]: inter 28 * 32 = 896, union 2 * 1024 - 896.
    # rho2 = (12 + 44 - 8 - 40)^2 / 4 = 16; enclosing 36 x 32 -> c2 = 1296 + 1024 (+ eps).
    gt, pred = t64([8, 8, 40, 40]), t64([12, 8, 44, 40])
    h = 32 + EPS
    iou = 896 / (32 * h * 2 - 896 + EPS)
    expected = iou - 16 / (1296 + 1024 + EPS)  # v = 0: same shape
    assert box_iou_paired(gt, pred).item() == pytest.approx(iou, abs=1e-14)
    assert box_ciou_paired(gt, pred).item() == pytest.approx(expected, abs=1e-14)


def test_overlaps_broadcast_to_all_pairs() -> None:
    # gts: Tensor[2, 1, 4]; preds: Tensor[1, 3, 4] -> Tensor[2, 3]
    gts = t64([0, 0, 10, 10], [20, 0, 30, 10])[:, None]
    preds = t64([0, 0, 10, 10], [20, 0, 30, 10], [2, 2, 6, 8])[None]
    iou = box_iou_paired(gts, preds)
    ciou = box_ciou_paired(gts, preds)
    assert iou.shape == ciou.shape == (2, 3)
    assert iou[0, 0].item() == pytest.approx(1, abs=1e-6) and iou[1, 1].item() == pytest.approx(1, abs=1e-6)
    assert iou[0, 1].item() == 0 and iou[1, 0].item() == 0 and iou[1, 2].item() == 0
    assert iou[0, 2].item() == pytest.approx(0.24, abs=1e-7)
    assert ciou[0, 1].item() == pytest.approx(-0.4, abs=1e-9)  # disjoint pair from above
    assert ciou[1, 0].item() == pytest.approx(-0.4, abs=1e-9)


def test_ciou_never_exceeds_iou() -> None:
    # the penalties rho2/c2 and v*a are >= 0
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(200, 2, generator=g, dtype=torch.float64) * 50
    wh = torch.rand(200, 2, generator=g, dtype=torch.float64) * 30 + 0.5
    a = torch.cat((xy, xy + wh), -1)  # (200, 4)
    b = a.roll(1, 0) + torch.rand(200, 4, generator=g, dtype=torch.float64)  # (200, 4)
    b = torch.cat((torch.minimum(b[:, :2], b[:, 2:]), torch.maximum(b[:, :2], b[:, 2:])), -1)
    assert (box_ciou_paired(a, b) <= box_iou_paired(a, b) + 1e-12).all()
    assert (box_ciou_paired(a, b) >= -1).all() and (box_iou_paired(a, b) <= 1).all()


# --- formats, floor --------------------------------------------------------------------


def test_xyxy_xywh_round_trip() -> None:
    boxes = t64([0, 0, 10, 20], [4, 6, 5, 7])  # (2, 4)
    assert xyxy_to_xywh(boxes).tolist() == [[5, 10, 10, 20], [4.5, 6.5, 1, 1]]
    assert torch.equal(xywh_to_xyxy(xyxy_to_xywh(boxes)), boxes)


def test_floor_small_boxes_widens_short_sides_keeping_the_centre() -> None:
    # (3, 4): narrow (w 4 -> 16 around cx 2), tiny on both sides, already big
    boxes = t64([0, 0, 4, 20], [13, 13, 18, 18], [0, 0, 32, 32])
    floored = floor_small_boxes(boxes, 16.0)
    assert floored.dtype == torch.float64 and floored.shape == (3, 4)
    assert floored.tolist() == [
        [-6, 0, 10, 20],  # cx 2, w 16; h = 20 kept
        [7.5, 7.5, 23.5, 23.5],  # centre (15.5, 15.5), 16 x 16
        [0, 0, 32, 32],  # unchanged
    ]


def test_floor_keeps_a_side_equal_to_the_floor() -> None:
    # w == 16 is not "smaller than" 16
    assert floor_small_boxes(t64([10, 10, 26, 12]), 16.0).tolist() == [[10, 3, 26, 19]]


def test_floor_keeps_leading_dimensions_and_dtype() -> None:
    boxes = torch.zeros(2, 3, 4)  # Tensor[B=2, M=3, 4] float32, all degenerate (0 x 0 at origin)
    floored = floor_small_boxes(boxes, 8.0)
    assert floored.shape == (2, 3, 4) and floored.dtype == torch.float32
    assert (floored == torch.tensor([-4.0, -4.0, 4.0, 4.0])).all()


# --- centres_inside --------------------------------------------------------------------


def test_centres_inside_is_strict() -> None:
    box = t64([0, 0, 10, 10])  # (1, 4), broadcast against (7, 2) points
    points = torch.tensor(
        [[5, 5], [0, 5], [10, 5], [5, 0], [5, 10], [10, 10], [1e-6, 5]], dtype=torch.float64
    )
    inside = centres_inside(points, box)  # (7,)
    assert inside.dtype == torch.bool
    # on an edge or a corner: outside; 1e-6 inside the edge: inside (margin > 1e-9)
    assert inside.tolist() == [True, False, False, False, False, False, True]


def test_centres_inside_margin_threshold() -> None:
    box = t64([0, 0, 10, 10])
    points = torch.tensor([[5e-10, 5], [2e-9, 5], [-1, 5]], dtype=torch.float64)  # (3, 2)
    assert centres_inside(points, box).tolist() == [False, True, False]


def test_centres_inside_broadcasts_boxes_by_points() -> None:
    points = torch.tensor([[4.0, 4.0], [12.0, 4.0], [20.0, 20.0]])  # (A=3, 2)
    boxes = torch.tensor([[0.0, 0.0, 16.0, 8.0], [4.0, 0.0, 24.0, 24.0]])  # (N=2, 4)
    inside = centres_inside(points[None], boxes[:, None])  # (N, A)
    assert inside.shape == (2, 3)
    # box 0 holds (4,4) and (12,4); box 1: (4,4) is on its left edge, (12,4) and (20,20) inside
    assert inside.tolist() == [[True, True, False], [False, True, True]]


# --- DFL decoding and distances ----------------------------------------------------------


def test_dfl_expectation_r1_is_passthrough() -> None:
    logits = torch.tensor([[[1.5], [-2.0], [0.25], [7.0]]])  # Tensor[A=1, 4, R=1]
    out = dfl_expectation(logits)
    assert out.shape == (1, 4)
    assert out.tolist() == [[1.5, -2.0, 0.25, 7.0]]


@pytest.mark.parametrize("r", [2, 4, 16])
def test_dfl_expectation_uniform_logits_give_the_middle(r: int) -> None:
    logits = torch.full((2, 3, 4, r), 0.7, dtype=torch.float64)  # Tensor[B=2, A=3, 4, R]
    out = dfl_expectation(logits)
    assert out.shape == (2, 3, 4)
    assert torch.allclose(out, torch.full_like(out, (r - 1) / 2), atol=1e-12)


def test_dfl_expectation_peaked_logits() -> None:
    # one dominant bin: softmax puts ~all mass there
    logits = torch.full((4, 16), -50.0, dtype=torch.float64)  # Tensor[4, R=16]
    for side, b in enumerate((0, 3, 9, 15)):
        logits[side, b] = 50.0
    assert dfl_expectation(logits).tolist() == pytest.approx([0, 3, 9, 15], abs=1e-9)
    # two equal bins 2 and 3: expectation 2.5
    two = torch.full((4, 16), -50.0, dtype=torch.float64)
    two[:, 2] = two[:, 3] = 10.0
    assert dfl_expectation(two).tolist() == pytest.approx([2.5] * 4, abs=1e-9)


def test_distances_to_xyxy() -> None:
    ltrb = torch.tensor([[[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]]])  # Tensor[B=1, A=2, 4]
    points = torch.tensor([[10.0, 20.0], [5.0, 6.0]])  # Tensor[A=2, 2]
    boxes = distances_to_xyxy(ltrb, points)
    assert boxes.shape == (1, 2, 4)
    assert boxes.tolist() == [[[9, 18, 13, 24], [5, 6, 5, 6]]]
