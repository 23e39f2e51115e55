"""The anchor grid: one point per cell of every level, in the order every output uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Level:
    """One pyramid level: ``stride`` px per cell, a ``height x width`` grid, anchors ``start:start+height*width``."""

    stride: int
    height: int
    width: int
    start: int

    @property
    def size(self) -> int:
        return self.height * self.width

    @property
    def stop(self) -> int:
        return self.start + self.size


def grid_levels(imgsz: tuple[int, int], strides: Sequence[int]) -> list[Level]:
    """The grid of each stride for an input of ``imgsz = (height, width)`` px.

    A grid is ``ceil(size / stride)`` cells, as a convolutional head with padding produces.
    """
    h, w = imgsz
    levels, start = [], 0
    for s in strides:
        gh, gw = -(-h // s), -(-w // s)
        levels.append(Level(int(s), gh, gw, start))
        start += gh * gw
    return levels


def make_anchors(
    levels: Sequence[Level], dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> tuple[Tensor, Tensor]:
    """Anchor centres and strides, levels concatenated in the given order, each row-major.

    The centre of cell ``(row i, col j)`` of stride ``s`` is ``((j + 0.5) s, (i + 0.5) s)``.

    Returns:
        ``points``: ``Tensor[A, 2]`` px; ``strides``: ``Tensor[A]`` px.
    """
    points, strides = [], []
    for lv in levels:
        xs, ys = level_centres(lv, dtype, device)
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        points.append(torch.stack((xx, yy), -1).reshape(-1, 2))
        strides.append(torch.full((lv.size,), float(lv.stride), dtype=dtype, device=device))
    return torch.cat(points), torch.cat(strides)


def level_centres(level: Level, dtype: torch.dtype = torch.float32,
                  device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
    """The centre coordinates of one level's columns and rows: ``(j + 0.5) s`` and ``(i + 0.5) s``.

    Returns:
        ``xs``: ``Tensor[width]`` px, ``ys``: ``Tensor[height]`` px, both increasing; the anchors
        of :func:`make_anchors` are every ``(xs[j], ys[i])``, bit for bit.
    """
    xs = (torch.arange(level.width, dtype=dtype, device=device) + 0.5) * level.stride
    ys = (torch.arange(level.height, dtype=dtype, device=device) + 0.5) * level.stride
    return xs, ys


def anchor_cell(anchor: int, levels: Sequence[Level]) -> tuple[int, int, int]:
    """``(stride, col, row)`` of a concatenated anchor index."""
    for lv in levels:
        if lv.start <= anchor < lv.stop:
            row, col = divmod(anchor - lv.start, lv.width)
            return lv.stride, col, row
    raise IndexError(f"anchor {anchor} is outside the grid of {levels[-1].stop if levels else 0} anchors")
