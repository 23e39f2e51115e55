"""tal_cli.analysis.geometry: candidates per stride, DFL reach and shared anchors, counted without
testing every (gt, anchor) pair.

Hand-computed scenes first; then the counts against a naive dense reference that tests every
anchor with the assigner's own functions (``centres_inside`` on ``make_anchors``, the losses'
``ltrb > reach``), on random and adversarial boxes (edges exactly on centres, one float32 step
either side), for both variants.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tal_cli.analysis.geometry import AxisGrid, dfl_reach, gt_geometry, inside_span, settle
from tal_cli.core.anchors import grid_levels, make_anchors
from tal_cli.core.boxes import centres_inside, floor_small_boxes

STRIDES = (8, 16, 32)


def geometry(boxes, imgsz=(64, 64), images=None, floor=None, reg_max=16, strides=STRIDES):
    boxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    image = torch.tensor(images if images is not None else [0] * len(boxes), dtype=torch.long)
    n = int(image.max()) + 1 if len(image) else 1
    return gt_geometry(boxes, image, n, grid_levels(imgsz, strides), floor, reg_max)


# --- hand-computed ---------------------------------------------------------------------------


def test_one_cell_box() -> None:
    # 64x64 input, stride-8 centres at 4, 12, 20, ...; the box 10..14 holds x = 12 and y = 12 only
    g = geometry([[10, 10, 14, 14]])
    assert g.candidates.tolist() == [[1, 0, 0]]  # stride 16 centres 8, 24: none inside; 32: 16, 48: none


def test_edges_on_centres_are_outside() -> None:
    # x1 = 4 and x2 = 20 sit on centres: strictly inside are x = 12 only (margin 0 is not > 1e-9)
    g = geometry([[4, 4, 20, 20]])
    assert g.candidates[0, 0].item() == 1
    # one float32 step wider on each side takes in the centres 4 and 20: 3 x 3
    lo = torch.nextafter(torch.tensor(4.0), torch.tensor(0.0)).item()  # float32 steps
    hi = torch.nextafter(torch.tensor(20.0), torch.tensor(64.0)).item()
    g = geometry([[lo, lo, hi, hi]])
    assert g.candidates[0, 0].item() == 9


def test_tiny_box_has_no_candidate_until_floored() -> None:
    # a 2x2 box at 1..3 lies between the centres 4 of every level: no candidate
    g = geometry([[1, 1, 3, 3]])
    assert g.total.tolist() == [0]
    # the floor widens it to 16x16 around (2, 2): -6..10 holds x = 4 at stride 8 (and 8 at stride 16)
    g = geometry([[1, 1, 3, 3]], floor=16.0)
    assert g.candidates.tolist() == [[1, 1, 0]]


def test_whole_image_box() -> None:
    # 0..64 holds every centre of every level: 8x8 + 4x4 + 2x2
    g = geometry([[0, 0, 64, 64]])
    assert g.candidates.tolist() == [[64, 16, 4]]


def test_shared_anchors_of_two_overlapping_gts() -> None:
    # gt A 0..24 x 0..8 holds stride-8 centres x = 4, 12, 20 at y = 4; gt B 10..40 holds x = 12, 20, 28, 36
    g = geometry([[0, 0, 24, 8], [10, 0, 40, 8]])
    assert g.candidates[:, 0].tolist() == [3, 4]
    assert g.shared.tolist() == [2, 2]  # the cells x = 12, 20 are both's
    assert g.image_shared.tolist() == [2]


def test_gts_of_different_images_never_share() -> None:
    g = geometry([[0, 0, 24, 8], [10, 0, 40, 8]], images=[0, 1])
    assert g.shared.tolist() == [0, 0] and g.image_shared.tolist() == [0, 0]


def test_beyond_reach_hand_computed() -> None:
    # reg_max 16: reach 14.99 cells. At stride 32 a side of 960 px is 30 cells: l + r = 30 > 2 x 14.99 from
    # every centre, so no candidate keeps all four distances within reach; at stride 8 and 16 even less.
    g = geometry([[0, 0, 960, 960]], imgsz=(960, 960))
    assert g.total.item() > 0 and g.within_reach.sum().item() == 0
    # 928 px = 29 cells: the centres 14.5 cells from both sides (x = 464) fit: one column and one row at stride 32
    g = geometry([[0, 0, 928, 928]], imgsz=(960, 960))
    assert g.within_reach.tolist() == [[0, 0, 1]]
    assert dfl_reach(16) == 16 - 1 - 0.01 and dfl_reach(1) is None
    assert geometry([[0, 0, 928, 928]], imgsz=(960, 960), reg_max=1).within_reach is None


def test_a_side_exactly_at_the_reach_is_within_it() -> None:
    # reg_max 4: reach 2.99 cells (float32 r). "Within" is "at most r", as the losses flag "> r" and clip to r:
    # a side whose float32 distance to a centre is exactly r keeps that centre within reach. Stride 8:
    # left side 3.5 - r cells from the centre x = 28 (3.5 cells), right side 0.5 + r from x = 4 (0.5 cells);
    # both are exact in float32, so the distance the code computes is r itself
    r = torch.tensor(dfl_reach(4))
    lo, hi = float((3.5 - r) * 8), float((0.5 + r) * 8)
    assert torch.tensor(3.5) - torch.tensor(lo) / 8 == r and torch.tensor(hi) / 8 - torch.tensor(0.5) == r
    # centres x = 12, 20, 28 (and 4, 12, 20) by y = 12 only; 2e-5 px further is beyond by a float32 step or two
    g = geometry([[lo, 10, 30, 14], [2, 10, hi, 14], [lo - 2e-5, 10, 30, 14], [2, 10, hi + 2e-5, 14]], reg_max=4)
    assert g.candidates[:, 0].tolist() == [3, 3, 3, 3]
    assert g.within_reach[:, 0].tolist() == [3, 3, 2, 2]


def test_empty_batch() -> None:
    g = gt_geometry(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), 2, grid_levels((64, 64), STRIDES))
    assert g.candidates.shape == (0, 3) and g.shared.shape == (0,) and g.image_shared.tolist() == [0, 0]


# --- settle: exact whatever the guess ------------------------------------------------------------


@given(st.lists(st.floats(-50, 120, width=32), min_size=1, max_size=20), st.integers(-30, 30))
@settings(max_examples=60, deadline=None)
def test_settle_is_exact_from_any_guess(los: list[float], shift: int) -> None:
    centres = (torch.arange(10, dtype=torch.float32) + 0.5) * 8
    lo = torch.tensor(los, dtype=torch.float32)
    expected = torch.tensor([int(((centres - v) <= 1e-9).sum()) for v in lo.tolist()], dtype=torch.float32)
    guess = expected + shift
    got = settle(guess, torch.tensor(10.0), lambda k: ~((centres[k.long().clamp(0, 9)] - lo) > 1e-9))
    assert torch.equal(got, expected)


# --- against the dense reference -------------------------------------------------------------------


def dense(boxes: torch.Tensor, image: torch.Tensor, imgsz, floor, reg_max=16):
    """Every anchor tested: candidates per level, within reach per level, shared per gt, per image."""
    levels = grid_levels(imgsz, STRIDES)
    points, strides = make_anchors(levels)  # (A, 2), (A,)
    cand = floor_small_boxes(boxes, floor) if floor is not None else boxes
    inside = centres_inside(points[None], cand[:, None])  # (G, A)
    level = torch.cat([torch.full((lv.size,), i) for i, lv in enumerate(levels)])
    per_level = torch.stack([inside[:, level == i].sum(1) for i in range(len(levels))], 1)
    grid = points / strides[:, None]  # (A, 2) as the losses: anchors / stride
    target = boxes[:, None, :] / strides[None, :, None]  # (G, A, 4)
    ltrb = torch.cat((grid[None] - target[..., :2], target[..., 2:] - grid[None]), -1)  # (G, A, 4)
    ok = inside & ~(ltrb > dfl_reach(reg_max)).any(-1)
    within = torch.stack([ok[:, level == i].sum(1) for i in range(len(levels))], 1)
    n = int(image.max()) + 1
    held = torch.stack([(inside & (image == b)[:, None]).sum(0) for b in range(n)])  # (B, A)
    multi = held >= 2
    return per_level, within, (inside & multi[image]).sum(1), multi.sum(1)


def adversarial_boxes(gen: torch.Generator, g: int, imgsz) -> torch.Tensor:
    """Random boxes, a third with edges exactly on centres, a third one float32 step off them."""
    h, w = imgsz
    xy = torch.rand(g, 2, generator=gen) * torch.tensor([w, h]) * 1.2 - 20
    wh = torch.exp(torch.rand(g, 2, generator=gen) * 7) * 0.5
    boxes = torch.cat((xy, xy + wh), 1)
    on = torch.arange(g) % 3 == 1
    boxes[on] = (torch.round(boxes[on] / 4 - 0.5) + 0.5) * 4  # on a stride-8 or stride-16 centre, or between
    step = torch.arange(g) % 3 == 2
    snapped = (torch.round(boxes[step] / 8 - 0.5) + 0.5) * 8
    away = torch.where(torch.rand(snapped.shape, generator=gen) < 0.5, -torch.inf, torch.inf)
    boxes[step] = torch.nextafter(snapped, away)
    return boxes


@pytest.mark.parametrize("imgsz", [(64, 64), (320, 320), (480, 640), (1280, 1280)])
@pytest.mark.parametrize("floor", [None, 16.0])
def test_counts_equal_the_dense_reference(imgsz, floor) -> None:
    gen = torch.Generator().manual_seed(sum(imgsz) + (floor is not None))
    g = 60 if imgsz[0] > 640 else 150
    boxes = adversarial_boxes(gen, g, imgsz)
    image = torch.sort(torch.randint(0, 3, (g,), generator=gen)).values
    got = gt_geometry(boxes, image, 3, grid_levels(imgsz, STRIDES), floor, 16)
    cand, within, shared, image_shared = dense(boxes, image, imgsz, floor)
    assert torch.equal(got.candidates, cand)
    assert torch.equal(got.within_reach, within)
    assert torch.equal(got.shared, shared)
    assert torch.equal(got.image_shared, image_shared)


@given(st.lists(st.tuples(st.floats(-40, 100, width=32), st.floats(-40, 100, width=32),
                          st.floats(0, 90, width=32), st.floats(0, 90, width=32)), min_size=1, max_size=12),
       st.booleans())
@settings(max_examples=80, deadline=None)
def test_counts_equal_the_dense_reference_property(rows, floored: bool) -> None:
    boxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in rows], dtype=torch.float32)
    image = torch.zeros(len(rows), dtype=torch.long)
    floor = 16.0 if floored else None
    got = gt_geometry(boxes, image, 1, grid_levels((96, 96), STRIDES), floor, 4)
    cand, within, shared, image_shared = dense(boxes, image, (96, 96), floor, reg_max=4)
    assert torch.equal(got.candidates, cand) and torch.equal(got.within_reach, within)
    assert torch.equal(got.shared, shared) and torch.equal(got.image_shared, image_shared)


def test_inside_span_never_builds_a_gts_by_anchors_tensor() -> None:
    # 20,000 gts on a 1280 grid: the spans are (G, 2, L); a dense test would hold 20,000 x 33,600 flags
    grid = AxisGrid.of(grid_levels((1280, 1280), STRIDES))
    boxes = torch.rand(20_000, 4) * 1280
    boxes[:, 2:] += boxes[:, :2]
    span = inside_span(grid, boxes[:, :2], boxes[:, 2:])
    assert span.first.shape == (20_000, 2, 3) and span.cells.shape == (20_000, 3)
