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
