"""How far each gt got, and why a gt ended with no positive anchor: one reason code per gt.

:func:`stage_counts` counts each gt's candidates, selected, won and final positive anchors;
:func:`no_positive_reasons` classifies from them. The one classification behind ``tal
assign``'s "why no positive" column (:mod:`tal_cli.analysis.accounting` counts it,
:mod:`tal_cli.views.report` words it) and the training monitor's reason counts
(:mod:`tal_cli.analysis.training`). Pure torch, vectorised over every gt of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..core.assignment import Assignment

#: Reason codes, in the order they are tested. 0 means the gt has a positive (or is padding).
HAS_POSITIVE = 0
NO_CANDIDATE = 1
ZERO_METRIC = 2
CONFLICT = 3
TOPK2 = 4

#: Name of each reason code 1..4, as counted and written (JSON keys, CSV columns).
REASONS: tuple[str, ...] = ("no_candidate", "zero_metric", "conflict", "topk2")


@dataclass(frozen=True)
class StageCounts:
    """How far each gt slot of a batch got: ``Tensor[B, M] int64`` each (0 for padding slots).

    Attributes:
        candidates: candidate pairs (anchor centre inside the, possibly floored, box).
        selected: of them, in the gt's top-k.
        won: of those, held by the gt after conflicts.
        positives: final positive anchors of the gt (after ``topk2``; handed ones included).
    """

    candidates: Tensor
    selected: Tensor
    won: Tensor
    positives: Tensor


def stage_counts(assignment: Assignment) -> StageCounts:
    """Count, per gt slot of the batch, its candidates, selected, won and final positive anchors."""
    a = assignment
    b, m = a.gt_mask.shape
    dev = a.gt_mask.device
    if m == 0:
        empty = torch.zeros((b, 0), dtype=torch.long, device=dev)
        return StageCounts(empty, empty, empty, empty)
    group = a.pair_image * m + a.pair_gt  # (P,) gt id over the batch
    sel = a.pair_selected
    won = sel & (a.winner[a.pair_image, a.pair_anchor] == a.pair_gt)  # (P,) selected and held after conflicts

    def per_gt(index: Tensor) -> Tensor:
        return torch.bincount(index, minlength=b * m).view(b, m)

    key = (torch.arange(b, device=dev)[:, None] * m + a.target_gt_idx)[a.fg_mask]  # (F,) gt id of each positive
    return StageCounts(per_gt(group), per_gt(group[sel]), per_gt(group[won]), per_gt(key))


def no_positive_reasons(assignment: Assignment, counts: StageCounts | None = None) -> Tensor:
    """The reason code of every gt slot.

    Tested in order: the gt has a final positive, or is padding (:data:`HAS_POSITIVE`); no
    candidate anchor (:data:`NO_CANDIDATE`); candidates, but none selected, i.e. all of them
    have metric 0 and lost the tie rule (:data:`ZERO_METRIC`); selected anchors, none won in
    conflicts (:data:`CONFLICT`); won anchors, all dropped by ``topk2`` (:data:`TOPK2`).

    Args:
        counts: :func:`stage_counts` of the assignment, when the caller has them already.

    Returns:
        ``Tensor[B, M] int64`` codes 0..4, on the assignment's device.
    """
    c = stage_counts(assignment) if counts is None else counts
    code = torch.full(c.candidates.shape, TOPK2, dtype=torch.long, device=c.candidates.device)
    code = torch.where(c.won == 0, CONFLICT, code)
    code = torch.where(c.selected == 0, ZERO_METRIC, code)
    code = torch.where(c.candidates == 0, NO_CANDIDATE, code)
    return torch.where((c.positives > 0) | ~assignment.gt_mask, HAS_POSITIVE, code)
