"""Random scenes the naive-loop tests of ``analysis`` share: 64 x 64 images, 4 classes.

Each helper draws from the caller's generator in a fixed order, so a seed gives the same scene
in every test that uses it.
"""

from __future__ import annotations

import torch

from ..core.test_assigner_scenes import Scene


def random_gt(g: torch.Generator) -> tuple[int, list[float]]:
    """One gt ``(class, [x1, y1, x2, y2])``: corner uniform in [0, 56) px, sides in [1, 31) px, clipped at 64."""
    x, y = (torch.rand(2, generator=g) * 56).tolist()
    w, h = (torch.rand(2, generator=g) * 30 + 1).tolist()
    return int(torch.randint(0, 4, (), generator=g)), [x, y, min(x + w, 64.0), min(y + h, 64.0)]


def add_random_predictions(scene: Scene, g: torch.Generator) -> None:
    """Give ``scene`` predictions: scores uniform, 30 % of anchors all zero; each anchor a box of
    half-sides [1, 13) px around its centre jittered by N(0, 3) px."""
    b, a = len(scene.gt_labels), scene.points.shape[0]
    scene.pd_scores = torch.rand(b, a, 4, generator=g) * (torch.rand(b, a, 1, generator=g) > 0.3)
    centre = scene.points[None].expand(b, -1, -1) + torch.randn(b, a, 2, generator=g) * 3
    half = torch.rand(b, a, 2, generator=g) * 12 + 1
    scene.pd_bboxes = torch.cat((centre - half, centre + half), -1)
