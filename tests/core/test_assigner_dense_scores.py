"""``assign(..., dense_scores=False)``: every stage as with the default, only ``target_scores`` left out."""

from __future__ import annotations

import dataclasses

import torch

from tal_cli.core.assigner import assign
from tal_cli.core.settings import AssignerSettings

from ..analysis.test_training import _scene_batch


def test_only_the_dense_scores_are_left_out() -> None:
    scene = _scene_batch(5)
    settings = AssignerSettings(topk=3, topk2=2, num_classes=3, strides=(8, 16), variant="ultralytics")
    args = (scene.pd_scores, scene.pd_bboxes, scene.points, scene.gt_labels, scene.gt_bboxes, scene.mask_gt, settings)
    full, lean = assign(*args), assign(*args, dense_scores=False)
    assert lean.target_scores is None and full.target_scores.shape == (2, scene.points.shape[0], 3)
    for f in dataclasses.fields(full):
        if f.name in ("settings", "target_scores"):
            continue
        assert torch.equal(getattr(full, f.name), getattr(lean, f.name)), f.name
    # target_score holds the dense rows' values, one per anchor
    assert torch.equal(full.target_scores.sum(-1), lean.target_score)


def _bits(t: torch.Tensor) -> torch.Tensor:
    """The float32 bit patterns: NaN equals NaN of the same sign, -0 differs from 0."""
    return t.float().contiguous().view(torch.int32)


def test_not_finite_scores_spread_over_the_row_as_the_product_does() -> None:
    # target_scores is one_hot(label) * target_score (ultralytics' product): where the score is NaN, the
    # whole row is NaN, not only the label's column. Two ways to a NaN score: an inf class probability
    # (metric inf, normalised inf/inf: a NaN with its sign bit set) and, with beta 0, a NaN predicted box
    # (IoU NaN, metric finite: the box's NaN, sign bit clear)
    ys, xs = torch.meshgrid(torch.arange(8) + 0.5, torch.arange(8) + 0.5, indexing="ij")
    points = torch.stack([xs.flatten(), ys.flatten()], 1) * 8  # (A, 2), a = 64 anchors of stride 8
    gt_bboxes = torch.tensor([[[8.0, 8.0, 40.0, 40.0], [40.0, 40.0, 60.0, 60.0]]])
    gt_labels, mask_gt = torch.tensor([[[1], [2]]]), torch.ones(1, 2, 1)
    inf_score = torch.full((1, 64, 3), 0.5)
    inf_score[0, 9, 1] = float("inf")  # anchor 9 (12, 12) lies in gt 0, of class 1
    nan_box = torch.tensor([8.0, 8.0, 40.0, 40.0]).expand(1, 64, 4).clone()
    nan_box[0, 9] = float("nan")
    good_box = torch.tensor([8.0, 8.0, 40.0, 40.0]).expand(1, 64, 4)
    cases = [(inf_score, good_box, 6.0, True), (torch.full((1, 64, 3), 0.5), nan_box, 0.0, False)]
    for pd_scores, pd_bboxes, beta, sign in cases:
        settings = AssignerSettings(topk=3, num_classes=3, strides=(8,), variant="ultralytics", beta=beta)
        a = assign(pd_scores, pd_bboxes, points, gt_labels, gt_bboxes, mask_gt, settings)
        score = a.target_score[0, 9]
        assert a.fg_mask[0, 9] and torch.isnan(score) and bool(torch.signbit(score)) == sign
        assert torch.isnan(a.target_scores[0, 9]).all()  # every class, as the product: 0 * NaN is NaN
        product = torch.nn.functional.one_hot(a.target_labels, 3).float() * a.target_score[..., None]
        assert torch.equal(_bits(a.target_scores), _bits(product))
