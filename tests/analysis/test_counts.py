"""The one size-bucket rule and the one gts / zero / rate count: hand cases at the boundaries,
the tensor and the float paths against a naive reading of COCO's rule, and every user on it."""

from __future__ import annotations

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from tal_cli.analysis.counts import SIZE_BINS, SIZE_BUCKETS, Count, size_bucket, xyxy_area

#: Areas at and around the two limits, px², with the bucket COCO's rule gives each (area < 32² small,
#: area < 96² medium, else large), written out by hand.
HAND = [(0.0, 0), (-5.0, 0), (1023.9999, 0), (1024.0, 1), (1024.0001, 1), (9215.999, 1), (9216.0, 2),
        (1e12, 2), (math.inf, 2), (math.nan, 2)]


def naive(area: float) -> int:
    """The rule read literally from SIZE_BINS: the first bucket whose limit the area stays below;
    an area below none of them (NaN) is the last."""
    for i, (_, limit) in enumerate(SIZE_BINS):
        if area < limit:
            return i
    return len(SIZE_BINS) - 1


def test_names_and_limits() -> None:
    assert SIZE_BUCKETS == ("small", "medium", "large")
    assert [limit for _, limit in SIZE_BINS] == [32.0**2, 96.0**2, math.inf]


def test_boundaries_by_hand() -> None:
    areas = [a for a, _ in HAND]
    expected = [b for _, b in HAND]
    assert [size_bucket(a) for a in areas] == expected
    for dtype in (torch.float64, torch.float32):
        got = size_bucket(torch.tensor(areas, dtype=dtype))
        assert got.dtype == torch.int64 and got.tolist() == expected, dtype
    assert [naive(a) for a in areas] == expected


def test_a_box_of_exactly_32_by_32_is_medium() -> None:
    boxes = torch.tensor([[0, 0, 32, 32], [10, 10, 41.9, 42], [0, 0, 96, 96], [5, 5, 5, 5]], dtype=torch.float32)
    assert xyxy_area(boxes).dtype == torch.float64
    assert size_bucket(xyxy_area(boxes)).tolist() == [1, 0, 2, 0]


def test_shapes_and_empty() -> None:
    assert size_bucket(torch.zeros(0, dtype=torch.float64)).shape == (0,)
    assert size_bucket(xyxy_area(torch.zeros(2, 0, 4))).shape == (2, 0)
    assert size_bucket(torch.tensor([[1.0, 2000.0], [1e5, 1024.0]])).tolist() == [[0, 1], [2, 1]]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=30))
def test_tensor_and_float_paths_agree_with_the_naive_rule(areas: list[float]) -> None:
    got = size_bucket(torch.tensor(areas, dtype=torch.float64)).tolist() if areas else []
    assert got == [size_bucket(a) for a in areas] == [naive(a) for a in areas]


def test_count_rate() -> None:
    assert Count(4, 3).rate == 0.75 and Count(0, 0).rate is None and Count(5, 0).rate == 0.0


def test_one_definition_of_the_limits() -> None:
    """No other module of tal_cli writes the limits down again (they ask :func:`size_bucket`)."""
    from ..conftest import ROOT

    patterns = ("32.0**2", "32**2", "96.0**2", "96**2", "32.0 ** 2", "96.0 ** 2")
    found = [str(p.relative_to(ROOT)) for p in (ROOT / "tal_cli").rglob("*.py")
             if p.name != "counts.py" and any(s in p.read_text(encoding="utf-8") for s in patterns)]
    assert found == []
