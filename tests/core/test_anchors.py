"""tal_cli.core.anchors: levels, anchor centres in the order every output uses, anchor_cell."""

from __future__ import annotations

import math

import pytest
import torch

from tal_cli.core.anchors import Level, anchor_cell, grid_levels, make_anchors


def naive_points(imgsz: tuple[int, int], strides: tuple[int, ...]) -> list[tuple[float, float, float]]:
    """Spec, literally: levels in stride order, each row-major (y outer, x inner); (x, y, stride)."""
    h, w = imgsz
    out = []
    for s in strides:
        for i in range(math.ceil(h / s)):
            for j in range(math.ceil(w / s)):
                out.append(((j + 0.5) * s, (i + 0.5) * s, float(s)))
    return out


def test_grid_levels_640() -> None:
    levels = grid_levels((640, 640), (8, 16, 32))
    assert levels == [Level(8, 80, 80, 0), Level(16, 40, 40, 6400), Level(32, 20, 20, 8000)]
    assert [lv.size for lv in levels] == [6400, 1600, 400]
    assert [lv.stop for lv in levels] == [6400, 8000, 8400]


def test_make_anchors_640() -> None:
    points, strides = make_anchors(grid_levels((640, 640), (8, 16, 32)))  # (A, 2), (A,)
    assert points.shape == (8400, 2) and strides.shape == (8400,)
    assert points.dtype == strides.dtype == torch.float32
    assert points[0].tolist() == [4, 4]
    assert points[1].tolist() == [12, 4]  # x moves first (row-major)
    assert points[80].tolist() == [4, 12]  # second row of the stride-8 grid
    assert points[6399].tolist() == [636, 636]
    assert points[6400].tolist() == [8, 8]  # level 16 starts
    assert points[8000].tolist() == [16, 16]  # level 32 starts
    assert points[8399].tolist() == [624, 624]
    assert strides[:6400].eq(8).all() and strides[6400:8000].eq(16).all() and strides[8000:].eq(32).all()


@pytest.mark.parametrize(
    "imgsz, strides",
    [((640, 640), (8, 16, 32)), ((320, 480), (8, 16, 32)), ((100, 70), (8, 16, 32)), ((64, 64), (4, 8, 16, 32)),
     ((96, 64), (8,))],
)
def test_make_anchors_matches_the_spec_loop(imgsz: tuple[int, int], strides: tuple[int, ...]) -> None:
    expected = naive_points(imgsz, strides)
    points, stride_of = make_anchors(grid_levels(imgsz, strides), dtype=torch.float64)
    assert points.dtype == torch.float64
    got = [(x, y, s) for (x, y), s in zip(points.tolist(), stride_of.tolist())]
    assert got == expected


def test_non_square_input() -> None:
    # imgsz is (height, width): 320 high, 480 wide -> stride 8 grid is 40 rows x 60 columns
    levels = grid_levels((320, 480), (8, 16, 32))
    assert [(lv.height, lv.width, lv.start) for lv in levels] == [(40, 60, 0), (20, 30, 2400), (10, 15, 3000)]
    points, _ = make_anchors(levels)
    assert points.shape == (3150, 2)
    assert points[59].tolist() == [476, 4]  # end of first row
    assert points[60].tolist() == [4, 12]  # start of second row
    assert points[2399].tolist() == [476, 316]


def test_sizes_not_multiple_of_the_stride_round_up() -> None:
    levels = grid_levels((100, 70), (8, 16, 32))
    # ceil(100/8)=13, ceil(70/8)=9; ceil(100/16)=7, ceil(70/16)=5; ceil(100/32)=4, ceil(70/32)=3
    assert [(lv.height, lv.width) for lv in levels] == [(13, 9), (7, 5), (4, 3)]
    assert [lv.start for lv in levels] == [0, 117, 152]


def test_anchor_cell_640() -> None:
    levels = grid_levels((640, 640), (8, 16, 32))
    assert anchor_cell(0, levels) == (8, 0, 0)
    assert anchor_cell(1, levels) == (8, 1, 0)  # (stride, col, row)
    assert anchor_cell(81, levels) == (8, 1, 1)
    assert anchor_cell(6399, levels) == (8, 79, 79)
    assert anchor_cell(6400, levels) == (16, 0, 0)
    assert anchor_cell(6441, levels) == (16, 1, 1)
    assert anchor_cell(8000, levels) == (32, 0, 0)
    assert anchor_cell(8399, levels) == (32, 19, 19)


@pytest.mark.parametrize("bad", [8400, 10_000, -1])
def test_anchor_cell_outside_the_grid(bad: int) -> None:
    with pytest.raises(IndexError):
        anchor_cell(bad, grid_levels((640, 640), (8, 16, 32)))


def test_anchor_cell_inverts_make_anchors_non_square() -> None:
    levels = grid_levels((96, 160), (8, 16, 32))
    points, strides = make_anchors(levels)
    for a in range(points.shape[0]):
        s, col, row = anchor_cell(a, levels)
        assert s == strides[a].item()
        assert points[a].tolist() == [(col + 0.5) * s, (row + 0.5) * s]
