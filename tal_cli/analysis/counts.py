"""COCO size buckets and "gts, and how many of them got nothing": the one definition every total uses.

:func:`size_bucket` puts a gt in a bucket by its area in network-input pixels (the
letterboxed box): ``area < 32²`` small, ``area < 96²`` medium, else large, so an area of
exactly 32² is medium; an area that is not a number (NaN) is large. It takes the area, not
the box, so an axis-aligned box passes ``w * h`` (:func:`xyxy_area`) and a rotated one its
``w * h`` too. :class:`Count` is a group of gts and how many of them ended with nothing
(no positive, or no candidate: its owner says which), with their rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor

#: The size buckets, smallest first, each with the area it stays below (px²).
SIZE_BINS: tuple[tuple[str, float], ...] = (("small", 32.0**2), ("medium", 96.0**2), ("large", math.inf))
#: Their names, in that order (the index :func:`size_bucket` gives).
SIZE_BUCKETS: tuple[str, ...] = tuple(name for name, _ in SIZE_BINS)
_SMALL, _MEDIUM = SIZE_BINS[0][1], SIZE_BINS[1][1]


def size_bucket(area: Tensor | float) -> Tensor | int:
    """Index into :data:`SIZE_BINS` (0 small, 1 medium, 2 large) of each area.

    Args:
        area: ``Tensor[...] float`` px² (compared in its own dtype and on its device, without
            a host synchronisation), or one float.

    Returns:
        ``Tensor[...] int64`` for a tensor, an ``int`` for a float.
    """
    if isinstance(area, Tensor):  # not (area >= limit): NaN counts as large, as below
        return (~(area < _SMALL)).long() + (~(area < _MEDIUM)).long()
    return 0 if area < _SMALL else (1 if area < _MEDIUM else 2)


def xyxy_area(boxes: Tensor) -> Tensor:
    """``Tensor[..., 4] xyxy px`` -> ``Tensor[...] float64`` areas (float64, as every bucket is measured)."""
    b = boxes.double()
    return (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])


@dataclass(frozen=True)
class Count:
    """Gts of one group (a size bucket, a class) and how many of them got nothing.

    Attributes:
        gts: the group's gts.
        zero: those without a positive (or, in ``tal check``, without a candidate anchor).
    """

    gts: int
    zero: int

    @property
    def rate(self) -> float | None:
        """``zero / gts`` (0..1), None without gts."""
        return self.zero / self.gts if self.gts else None
