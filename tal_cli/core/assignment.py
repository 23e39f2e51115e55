"""The result of one assignment, every stage kept: the single place for its conventions.

Dimension names: B images, M gt slots (padded), A anchors, C classes, P candidate pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .settings import AssignerSettings


@dataclass(frozen=True)
class Assignment:
    """Every stage of task-aligned assignment for a batch, sparse over candidate pairs.

    Conventions (this docstring is the one place they are stated):

    - **Anchors** are indexed ``0..A-1`` in the order of ``anc_points``: levels in stride
      order, each row-major. **Gts** are slots ``0..M-1`` of ``gt_mask``; padded slots are
      never candidates.
    - **Candidate pair** ``(b, j, a)``: anchor ``a``'s centre lies strictly inside (margin
      > 1e-9) gt ``j`` of image ``b`` after the small-box floor (if it applies). Pairs are
      sorted by image, gt, anchor. Only pairs carry a score ``s``, IoU ``u`` (CIoU clamped at
      0, or plain IoU) and metric ``t = s**alpha * u**beta``; every other (gt, anchor) has
      ``t = u = 0``.
    - **Top-k and the tie rule.** Each gt ranks *all* A anchors by ``t``, largest first; equal
      values are ordered by **lower anchor index first**. Its K best are *selected*; a selected
      pair is a positive before conflicts (a selected non-candidate is dropped). Ties matter
      only at value 0 (inside anchors whose IoU or score is 0 compete with every outside
      anchor for the last slots); such pairs are flagged ``pair_tied`` because another top-k
      routine may order them differently.
    - **Conflicts.** An anchor selected by several gts is *contested*. With ``conflict =
      "all-gts"`` (both references) it goes to the gt of largest ``u`` among **all** gt slots,
      lowest slot on ties, so slot 0 when every ``u`` is 0, even a gt that never selected it
      (*handed*). With ``"choosers"`` only the gts that selected it compete, same tie rule.
    - **topk2** (variant ``ultralytics`` only): afterwards each gt ranks all A anchors by ``t``
      of its post-conflict positives (0 for every other anchor), same tie rule, and keeps the
      positives among its ``topk2`` best; so a zero-metric positive can lose its slot to a
      lower-index anchor that is not a positive at all.
    - **Background**: ``target_gt_idx`` is 0 and ``fg_mask`` False; ``target_labels`` and
      ``target_bboxes`` still carry slot 0's values (or label C when M == 0) as the references
      do; ``target_scores`` rows are 0.
    - **Target score** of a positive anchor: ``t * max_u(g) / (max_t(g) + eps)`` for its gt
      ``g``, where the maxima run over g's final positives. Each gt's best anchor gets its best IoU.

    Attributes:
        settings: the settings used.
        gt_mask: ``Tensor[B, M] bool``, real gt slots.
        gt_labels: ``Tensor[B, M] int64``, class per slot.
        gt_bboxes: ``Tensor[B, M, 4] float, xyxy px``.
        candidate_bboxes: ``Tensor[B, M, 4] float, xyxy px``, boxes used for the candidate
            test (floored when the floor applies, else ``gt_bboxes``).
        pair_image, pair_gt, pair_anchor: ``Tensor[P] int64``, the candidate pairs.
        pair_in_box: ``Tensor[P] bool``, the anchor centre is inside the original box too
            (False only for pairs the floor added).
        pair_score: ``Tensor[P] float``, ``s``, predicted probability of the gt's class.
        pair_iou: ``Tensor[P] float``, ``u``.
        pair_metric: ``Tensor[P] float``, ``t``.
        pair_rank: ``Tensor[P] int64``, rank of the anchor among all A for its gt (0 = best).
        pair_selected: ``Tensor[P] bool``, in the gt's top-k (positive before conflicts).
        pair_tied: ``Tensor[P] bool``, metric equals the gt's K-th value while more anchors
            than K share or exceed it (order decided by the tie rule).
        choosers: ``Tensor[B, A] int64``, how many gts selected each anchor.
        winner: ``Tensor[B, A] int64``, gt holding the anchor after conflicts, -1 if none.
        fg_mask: ``Tensor[B, A] bool``, final positives (after topk2).
        target_gt_idx: ``Tensor[B, A] int64``, gt of each positive; 0 for background.
        target_labels: ``Tensor[B, A] int64``.
        target_bboxes: ``Tensor[B, A, 4] float, xyxy px``.
        target_scores: ``Tensor[B, A, C] float``, soft one-hot targets (None when built with
            ``assign(..., dense_scores=False)``).
        target_score: ``Tensor[B, A] float``, each anchor's normalised score (0 on background).
        positive_metric: ``Tensor[B, A] float``, ``t`` of (final gt, anchor); 0 on background
            and for positives handed to a gt that does not contain the anchor.
        positive_iou: ``Tensor[B, A] float``, ``u`` of (final gt, anchor), likewise.
        handed: ``Tensor[B, A] bool``, positive for a gt that did not select it.
        gt_best_metric: ``Tensor[B, M] float``, max ``t`` over each gt's final positives (0 if none).
        gt_best_iou: ``Tensor[B, M] float``, max ``u`` over each gt's final positives (0 if none).
    """

    settings: AssignerSettings
    gt_mask: Tensor
    gt_labels: Tensor
    gt_bboxes: Tensor
    candidate_bboxes: Tensor
    pair_image: Tensor
    pair_gt: Tensor
    pair_anchor: Tensor
    pair_in_box: Tensor
    pair_score: Tensor
    pair_iou: Tensor
    pair_metric: Tensor
    pair_rank: Tensor
    pair_selected: Tensor
    pair_tied: Tensor
    choosers: Tensor
    winner: Tensor
    fg_mask: Tensor
    target_gt_idx: Tensor
    target_labels: Tensor
    target_bboxes: Tensor
    target_scores: Tensor | None
    target_score: Tensor
    positive_metric: Tensor
    positive_iou: Tensor
    handed: Tensor
    gt_best_metric: Tensor
    gt_best_iou: Tensor

    @property
    def batch_size(self) -> int:
        return self.gt_mask.shape[0]

    @property
    def num_anchors(self) -> int:
        return self.fg_mask.shape[1]

    @property
    def contested(self) -> Tensor:
        """``Tensor[B, A] bool``: selected by more than one gt."""
        return self.choosers > 1

    @property
    def pair_positive(self) -> Tensor:
        """``Tensor[P] bool``: the pair's anchor is a final positive of the pair's gt."""
        fg = self.fg_mask[self.pair_image, self.pair_anchor]
        return fg & (self.target_gt_idx[self.pair_image, self.pair_anchor] == self.pair_gt)

    def outputs(self) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """The drop-in tuple: ``(target_labels, target_bboxes, target_scores, fg_mask, target_gt_idx)``."""
        return self.target_labels, self.target_bboxes, self.target_scores, self.fg_mask, self.target_gt_idx
