"""Why a gt ended with no positive anchor: one reason code per gt, for a whole batch at once.

The one classification behind ``tal assign``'s "why no positive" column
(:mod:`tal_cli.views.report` words it) and the training monitor's reason counts
(:mod:`tal_cli.analysis.training`). Pure torch, vectorised over every gt of the batch.
"""

from __future__ import annotations

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


def no_positive_reasons(assignment: Assignment) -> Tensor:
    """The reason code of every gt slot.

    Tested in order: the gt has a final positive, or is padding (:data:`HAS_POSITIVE`); no
    candidate anchor (:data:`NO_CANDIDATE`); candidates, but none selected, i.e. all of them
    have metric 0 and lost the tie rule (:data:`ZERO_METRIC`); selected anchors, none won in
    conflicts (:data:`CONFLICT`); won anchors, all dropped by ``topk2`` (:data:`TOPK2`).

    Returns:
        ``Tensor[B, M] int64`` codes 0..4, on the assignment's device.
    """
    a = assignment
    b, m = a.gt_mask.shape
    dev = a.gt_mask.device
    if m == 0:
        return torch.zeros((b, 0), dtype=torch.long, device=dev)
    group = a.pair_image * m + a.pair_gt  # (P,) gt id over the batch
    sel = a.pair_selected
    won = sel & (a.winner[a.pair_image, a.pair_anchor] == a.pair_gt)  # (P,) selected and held after conflicts

    def per_gt(mask: Tensor) -> Tensor:
        return torch.bincount(group[mask], minlength=b * m).view(b, m)

    candidates = torch.bincount(group, minlength=b * m).view(b, m)
    selected, kept = per_gt(sel), per_gt(won)
    key = (torch.arange(b, device=dev)[:, None] * m + a.target_gt_idx)[a.fg_mask]  # (F,) gt id of each positive
    positives = torch.bincount(key, minlength=b * m).view(b, m)
    code = torch.full((b, m), TOPK2, dtype=torch.long, device=dev)
    code = torch.where(kept == 0, CONFLICT, code)
    code = torch.where(selected == 0, ZERO_METRIC, code)
    code = torch.where(candidates == 0, NO_CANDIDATE, code)
    return torch.where((positives > 0) | ~a.gt_mask, HAS_POSITIVE, code)
