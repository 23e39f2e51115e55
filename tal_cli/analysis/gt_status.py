"""Every gt's positives under every setting of a sweep: what changed between settings, and where.

:class:`GtCounts` feeds on :func:`~tal_cli.analysis.sweep.sweep`'s ``on_assignment`` hook (the
same assignments the sweep totals), so each count is the one the sweep's rows are summed from.
:meth:`GtCounts.table` gives a :class:`GtStatus`: per gt its image, slot, class, size and
positives per setting; per image its gts without positives per setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..core.assignment import Assignment
from .counts import size_bucket, xyxy_area


@dataclass(frozen=True)
class GtStatus:
    """The positives of every gt of a sweep under each setting. G gts, S settings, N images.

    Attributes:
        images: the assigned images, in the order the sweep assigned them (N).
        image: ``Tensor[G] int64``, index into ``images`` of each gt.
        slot: ``Tensor[G] int64``, the gt's slot in its image (``tal assign``'s gt index).
        cls: ``Tensor[G] int64``, class id.
        size: ``Tensor[G] int64``, size bucket (0 small, 1 medium, 2 large;
            :func:`~tal_cli.analysis.counts.size_bucket`).
        width, height: ``Tensor[G] float64``, letterboxed box size, px.
        positives: ``Tensor[S, G] int64``, final positives of each gt under each setting.
    """

    images: tuple[Path, ...]
    image: torch.Tensor
    slot: torch.Tensor
    cls: torch.Tensor
    size: torch.Tensor
    width: torch.Tensor
    height: torch.Tensor
    positives: torch.Tensor

    @property
    def num_settings(self) -> int:
        return self.positives.shape[0]

    def zero_per_image(self) -> torch.Tensor:
        """``Tensor[S, N] int64``: gts without positives per image under each setting."""
        s, n = self.num_settings, len(self.images)
        out = torch.zeros(s, n, dtype=torch.long)
        for k in range(s):
            out[k] = torch.bincount(self.image[self.positives[k] == 0], minlength=n)[:n]
        return out

    def gts_per_image(self) -> torch.Tensor:
        """``Tensor[N] int64``: gts of each image."""
        return torch.bincount(self.image, minlength=len(self.images))[:len(self.images)]

    def worst_images(self, count: int) -> list[int]:
        """The ``count`` images with the most gts without positives under their worst setting
        (ties: more such gts summed over the settings, then more gts, then the sweep's order)."""
        if count <= 0 or not self.images:
            return []
        zero = self.zero_per_image()
        worst, total, gts = zero.max(0).values.tolist(), zero.sum(0).tolist(), self.gts_per_image().tolist()
        order = sorted(range(len(self.images)), key=lambda i: (-worst[i], -total[i], -gts[i], i))
        return order[:count]

    def changed(self) -> torch.Tensor:
        """``Tensor[G] bool``: gts with no positive under some setting and some under another."""
        zero = self.positives == 0
        return zero.any(0) & ~zero.all(0)

    def patterns(self) -> list[tuple[tuple[bool, ...], int]]:
        """``((has positives under setting 0, 1, ...), gts)`` for each pattern that occurs, most gts first."""
        if self.positives.numel() == 0:
            return []
        has = (self.positives > 0).long()
        weights = 2 ** torch.arange(self.num_settings - 1, -1, -1)
        code = (has * weights[:, None]).sum(0)
        values, counts = torch.unique(code, return_counts=True)
        out = []
        for v, c in zip(values.tolist(), counts.tolist()):
            bits = tuple(bool((v >> (self.num_settings - 1 - k)) & 1) for k in range(self.num_settings))
            out.append((bits, c))
        return sorted(out, key=lambda p: (-p[1], p[0]))


class GtCounts:
    """Records each gt's positives per setting, fed by ``sweep(..., on_assignment=counts)``.

    Called with ``(setting index, assignment, batch scenes)`` for every batch and setting; the
    scenes' images, gt classes and boxes are read on the first setting of each batch.
    """

    def __init__(self, num_settings: int) -> None:
        self._positives: list[list[torch.Tensor]] = [[] for _ in range(num_settings)]
        self._images: list[Path] = []
        self._image: list[torch.Tensor] = []
        self._slot: list[torch.Tensor] = []
        self._cls: list[torch.Tensor] = []
        self._boxes: list[torch.Tensor] = []

    def __call__(self, k: int, assignment: Assignment, batch: Sequence) -> None:
        b, m = assignment.gt_mask.shape
        fg, gidx = assignment.fg_mask, assignment.target_gt_idx
        if m:
            slot = (torch.arange(b)[:, None] * m + gidx)[fg]  # (B, A) -> flat (image, slot) of each positive
            counts = torch.bincount(slot, minlength=b * m).view(b, m)[assignment.gt_mask]  # (G,) image, then slot
        else:
            counts = torch.zeros(0, dtype=torch.long)
        self._positives[k].append(counts)
        if k == 0:
            first = len(self._images)
            for i, scene in enumerate(batch):
                n = scene.num_gts
                self._images.append(Path(scene.image))
                self._image.append(torch.full((n,), first + i, dtype=torch.long))
                self._slot.append(torch.arange(n))
                self._cls.append(scene.gt_classes.long())
                self._boxes.append(scene.gt_boxes.reshape(-1, 4))

    def table(self) -> GtStatus:
        """What was recorded."""
        def cat(parts: list[torch.Tensor], dtype=torch.long) -> torch.Tensor:
            return torch.cat(parts) if parts else torch.zeros(0, dtype=dtype)

        boxes = cat(self._boxes, torch.float32).reshape(-1, 4).double()
        positives = (
            torch.stack([cat(p) for p in self._positives]) if self._positives else torch.zeros(0, 0, dtype=torch.long)
        )
        return GtStatus(tuple(self._images), cat(self._image), cat(self._slot), cat(self._cls),
                        size_bucket(xyxy_area(boxes)),
                        boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1], positives)
