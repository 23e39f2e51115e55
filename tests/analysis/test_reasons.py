"""Why a gt has no positive: hand scenes with one gt per reason, and a naive per-gt loop on random batches."""

from __future__ import annotations

import pytest
import torch

from tal_cli.analysis.reasons import (
    CONFLICT,
    HAS_POSITIVE,
    NO_CANDIDATE,
    REASONS,
    TOPK2,
    ZERO_METRIC,
    no_positive_reasons,
)
from tal_cli.core.assigner import assign
from tal_cli.core.settings import AssignerSettings
from tal_cli.views.report import build_report

from ..core.test_assigner_scenes import Scene
from .random_scenes import add_random_predictions, random_gt


def test_each_reason_by_hand() -> None:
    # 64 x 64, strides 8/16 (see test_assigner_scenes). Every prediction is far away (metric 0)
    # except at C's five candidates (stride-8 anchors 18, 19, 26, 27 and stride-16 anchor 69),
    # which predict C's box exactly.
    c_box, d_box = [16.0, 16.0, 32.0, 32.0], [15.0, 15.0, 33.0, 33.0]
    scene = Scene([[
        (0, [1.0, 1.0, 3.0, 3.0]),      # 0: no centre inside (no floor in yolov8)       -> no candidate
        (0, [48.0, 48.0, 64.0, 64.0]),  # 1: candidates 54, 55, 62, 63, 79, all metric 0; the tie rule
                                        #    gives its 2 slots to anchors 0 and 1, outside -> zero metric
        (1, c_box),                     # 2: wins its five anchors                         -> positives
        (1, d_box),                     # 3: the same five anchors, lower IoU: loses all   -> conflict
        None,                           # 4: padding                                       -> 0
    ]])
    for anchor in (18, 19, 26, 27, 69):
        scene.pd_bboxes[0, anchor] = torch.tensor(c_box)
    a = assign(scene.pd_scores, scene.pd_bboxes, scene.points, scene.gt_labels, scene.gt_bboxes, scene.mask_gt,
               AssignerSettings(topk=5, num_classes=3, alpha=1.0, beta=6.0, strides=(8, 16)))
    assert a.fg_mask[0, [18, 19, 26, 27, 69]].all() and (a.target_gt_idx[0, [18, 19, 26, 27, 69]] == 2).all()
    assert no_positive_reasons(a).tolist() == [[NO_CANDIDATE, ZERO_METRIC, HAS_POSITIVE, CONFLICT, 0]]


def test_topk2_by_hand() -> None:
    # Gt [8, 0, 16, 8] (floored to [4, -4, 20, 12]) holds anchors 1 and 64, both metric 0.
    # topk 2 selects anchors 0 and 1 (tie rule); anchor 1 is its positive after conflicts; topk2 1
    # ranks every anchor by that metric (0 everywhere) and keeps anchor 0, which is not a positive.
    scene = Scene([[(0, [8.0, 0.0, 16.0, 8.0])]])
    a = assign(scene.pd_scores, scene.pd_bboxes, scene.points, scene.gt_labels, scene.gt_bboxes, scene.mask_gt,
               AssignerSettings(topk=2, topk2=1, num_classes=3, variant="ultralytics", strides=(8, 16)))
    assert a.winner[0, 1] == 0 and not a.fg_mask.any()
    assert no_positive_reasons(a).tolist() == [[TOPK2]]


def test_empty_batches() -> None:
    scene = Scene([[], []])
    a = assign(scene.pd_scores, scene.pd_bboxes, scene.points, scene.gt_labels, scene.gt_bboxes, scene.mask_gt,
               AssignerSettings(topk=3, num_classes=3, strides=(8, 16)))
    assert no_positive_reasons(a).shape == (2, 0)


def _naive(a) -> list[list[int]]:
    """The codes from the pair lists, one gt at a time in Python."""
    b, m = a.gt_mask.shape
    fg, gidx, winner, real = a.fg_mask.tolist(), a.target_gt_idx.tolist(), a.winner.tolist(), a.gt_mask.tolist()
    pairs_of: dict[tuple[int, int], list[tuple[int, bool]]] = {}
    for pi, pj, an, sel in zip(a.pair_image.tolist(), a.pair_gt.tolist(), a.pair_anchor.tolist(),
                               a.pair_selected.tolist()):
        pairs_of.setdefault((pi, pj), []).append((an, sel))
    out = []
    for i in range(b):
        row = []
        for j in range(m):
            positives = sum(1 for an in range(a.num_anchors) if fg[i][an] and gidx[i][an] == j)
            mine = pairs_of.get((i, j), [])
            selected = [an for an, sel in mine if sel]
            won = [an for an in selected if winner[i][an] == j]
            if not real[i][j] or positives:
                row.append(HAS_POSITIVE)
            elif not mine:
                row.append(NO_CANDIDATE)
            elif not selected:
                row.append(ZERO_METRIC)
            elif not won:
                row.append(CONFLICT)
            else:
                row.append(TOPK2)
        out.append(row)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_matches_a_naive_loop_on_random_batches(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    settings = [AssignerSettings(topk=3, num_classes=4, strides=(8, 16)),
                AssignerSettings(topk=4, topk2=1, num_classes=4, variant="ultralytics", strides=(8, 16))][seed % 2]
    gts = []
    for _ in range(2):
        row = []
        for _ in range(6):
            if torch.rand((), generator=g) < 0.15:
                row.append(None)
                continue
            row.append(random_gt(g))
        gts.append(row)
    scene = Scene(gts, num_classes=4)
    add_random_predictions(scene, g)
    a = assign(scene.pd_scores, scene.pd_bboxes, scene.points, scene.gt_labels, scene.gt_bboxes, scene.mask_gt,
               settings)
    codes = no_positive_reasons(a)
    assert codes.tolist() == _naive(a)
    assert set(codes.unique().tolist()) <= set(range(len(REASONS) + 1))


def test_report_words_follow_the_codes() -> None:
    """``tal assign``'s "why no positive" column is worded from these codes."""
    from tal_cli.readers.scene import batch_inputs, load_scene

    from ..conftest import sample

    image, labels, preds = sample("hubble_left")
    scene = load_scene(image, labels, preds, (640, 640), (8, 16, 32), 16)
    settings = AssignerSettings(topk=10, num_classes=scene.head.num_classes, alpha=0.5, beta=6.0,
                                variant="ultralytics")
    a = assign(*batch_inputs([scene]), settings)
    report = build_report(scene, a)
    codes = no_positive_reasons(a)[0].tolist()
    starts = {NO_CANDIDATE: "no anchor centre inside", ZERO_METRIC: "all ", CONFLICT: "every selected anchor",
              TOPK2: ""}
    assert sum(1 for c in codes if c) == report.summary.gts_without_positives > 0
    for row, code in zip(report.gts, codes):
        assert (row.reason is None) == (code == HAS_POSITIVE)
        if code:
            assert row.reason.startswith(starts[code]), (code, row.reason)

