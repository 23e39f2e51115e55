"""Tiny hand-built scenes whose assignment is derived by hand (derivations in the comments).

Grid used by most scenes: a 64 x 64 input with strides (8, 16):
- stride 8: 8 x 8 cells, anchors 0..63, anchor ``8 * row + col`` at ``(8 col + 4, 8 row + 4)``;
- stride 16: 4 x 4 cells, anchors 64..79, anchor ``64 + 4 * row + col`` at ``(16 col + 8, 16 row + 8)``.
So stride-8 centres have coordinates 4, 12, 20, 28, ... and stride-16 centres 8, 24, 40, 56.

Unless a scene says otherwise every anchor predicts a box far outside the image,
``[200, 200, 201, 201]``: its CIoU with any gt in the image is negative, clamped to 0, so its
metric is 0 and it never beats an anchor with a positive metric.
"""

from __future__ import annotations

import math

import pytest
import torch

from tal_cli.core.anchors import grid_levels, make_anchors
from tal_cli.core.assigner import TaskAlignedAssigner, assign
from tal_cli.core.errors import ShapeError
from tal_cli.core.settings import AssignerSettings

EPS = 1e-7  # CIoU eps of the spec
FAR = [200.0, 200.0, 201.0, 201.0]


def ciou_by_hand(g: list[float], p: list[float], plain: bool = False) -> float:
    """CIoU (or IoU) of gt ``g`` and prediction ``p`` from the spec's formula, in Python floats."""
    w1, h1 = g[2] - g[0], g[3] - g[1] + EPS
    w2, h2 = p[2] - p[0], p[3] - p[1] + EPS
    inter = max(min(g[2], p[2]) - max(g[0], p[0]), 0) * max(min(g[3], p[3]) - max(g[1], p[1]), 0)
    iou = inter / (w1 * h1 + w2 * h2 - inter + EPS)
    if plain:
        return iou
    c2 = (max(g[2], p[2]) - min(g[0], p[0])) ** 2 + (max(g[3], p[3]) - min(g[1], p[1])) ** 2 + EPS
    rho2 = ((p[0] + p[2] - g[0] - g[2]) ** 2 + (p[1] + p[3] - g[1] - g[3]) ** 2) / 4
    v = (4 / math.pi**2) * (math.atan(w2 / h2) - math.atan(w1 / h1)) ** 2
    a = v / (v - iou + (1 + EPS))
    return iou - (rho2 / c2 + v * a)


class Scene:
    """Inputs of one assigner call, built by hand.

    Attributes:
        points: ``Tensor[A, 2]`` anchor centres px.
        pd_scores: ``Tensor[B, A, C]``, default ``score`` everywhere.
        pd_bboxes: ``Tensor[B, A, 4]`` xyxy px, default ``FAR``.
        gt_labels: ``Tensor[B, M, 1]``; gt_bboxes: ``Tensor[B, M, 4]``; mask_gt: ``Tensor[B, M, 1]``.
    """

    def __init__(self, gts: list[list[tuple[int, list[float]] | None]], num_classes: int = 3,
                 imgsz: tuple[int, int] = (64, 64), strides: tuple[int, ...] = (8, 16), score: float = 0.1,
                 dtype: torch.dtype = torch.float32) -> None:
        """``gts[b][j]`` is ``(label, box)`` or ``None`` for a padded slot (box 0, label 0)."""
        self.strides = strides
        self.points, _ = make_anchors(grid_levels(imgsz, strides), dtype=dtype)
        b, a, m = len(gts), self.points.shape[0], max((len(g) for g in gts), default=0)
        self.pd_scores = torch.full((b, a, num_classes), score, dtype=dtype)
        self.pd_bboxes = torch.tensor(FAR, dtype=dtype).repeat(b, a, 1)
        self.gt_labels = torch.zeros((b, m, 1), dtype=dtype)
        self.gt_bboxes = torch.zeros((b, m, 4), dtype=dtype)
        self.mask_gt = torch.zeros((b, m, 1), dtype=dtype)
        for i, row in enumerate(gts):
            for j, gt in enumerate(row):
                if gt is not None:
                    self.gt_labels[i, j, 0] = gt[0]
                    self.gt_bboxes[i, j] = torch.tensor(gt[1], dtype=dtype)
                    self.mask_gt[i, j, 0] = 1

    def predict(self, anchor: int, box: list[float], scores: dict[int, float] | None = None, image: int = 0) -> None:
        self.pd_bboxes[image, anchor] = torch.tensor(box, dtype=self.pd_bboxes.dtype)
        for c, s in (scores or {}).items():
            self.pd_scores[image, anchor, c] = s

    def inputs(self) -> tuple[torch.Tensor, ...]:
        return self.pd_scores, self.pd_bboxes, self.points, self.gt_labels, self.gt_bboxes, self.mask_gt

    def run(self, **kw):
        kw.setdefault("num_classes", self.pd_scores.shape[-1])
        kw.setdefault("strides", self.strides)
        return TaskAlignedAssigner(**kw).assign(*self.inputs())


def fg_anchors(a, image: int = 0) -> list[int]:
    return a.fg_mask[image].nonzero().squeeze(1).tolist()


# --- a gt smaller than the stride ------------------------------------------------------

TINY = [13.0, 13.0, 19.0, 19.0]  # 6 x 6, centre (16, 16)
# No stride-8 centre (12, 20, ...) and no stride-16 centre (8, 24, ...) lies strictly inside
# (13, 19). Floored to 16 px around (16, 16) it is [8, 8, 24, 24]: stride-8 centres 12 and 20
# are inside on both axes -> anchors (12,12)=9, (20,12)=10, (12,20)=17, (20,20)=18; stride-16
# centres 8 and 24 lie on its edges -> outside (strict test).
TINY_FLOORED_CANDIDATES = [9, 10, 17, 18]


def tiny_scene() -> Scene:
    scene = Scene([[(1, TINY)]], num_classes=2)
    # the four floored candidates predict the gt box exactly (CIoU ~ 1) with class-1 scores
    # 0.9, 0.8, 0.7, 0.6
    for anchor, s in zip(TINY_FLOORED_CANDIDATES, (0.9, 0.8, 0.7, 0.6)):
        scene.predict(anchor, TINY, {1: s})
    return scene


def test_tiny_gt_yolov8_gets_no_candidates() -> None:
    a = tiny_scene().run(variant="yolov8", topk=10, alpha=1.0, beta=6.0)
    assert a.pair_gt.numel() == 0
    assert not a.fg_mask.any()
    assert not a.target_scores.any()
    assert a.target_labels.eq(1).all()  # background carries slot 0's label
    assert a.target_bboxes.eq(torch.tensor(TINY)).all()
    assert a.gt_best_iou.tolist() == [[0.0]]


def test_tiny_gt_ultralytics_is_floored_to_16px() -> None:
    a = tiny_scene().run(variant="ultralytics", topk=10, alpha=1.0, beta=6.0)
    assert a.candidate_bboxes[0, 0].tolist() == [8, 8, 24, 24]
    assert a.pair_anchor.tolist() == TINY_FLOORED_CANDIDATES
    assert not a.pair_in_box.any()  # all four come from the floor
    # topk 10 >= 4 candidates with positive metrics: all four are positives of gt 0
    assert fg_anchors(a) == TINY_FLOORED_CANDIDATES
    assert a.target_gt_idx[0, TINY_FLOORED_CANDIDATES].eq(0).all()
    assert a.target_labels[0, TINY_FLOORED_CANDIDATES].eq(1).all()
    # targets keep the original box
    assert a.target_bboxes[0, TINY_FLOORED_CANDIDATES].eq(torch.tensor(TINY)).all()
    # all four share u = IoU(gt, gt) (~1); t = s * u**6, so target = s * u**7 / (0.9 u**6 + 1e-9)
    u = ciou_by_hand(TINY, TINY)
    expected = [s * u**7 / (0.9 * u**6 + 1e-9) for s in (0.9, 0.8, 0.7, 0.6)]
    assert a.target_scores[0, TINY_FLOORED_CANDIDATES, 1].tolist() == pytest.approx(expected, abs=1e-6)
    assert not a.target_scores[0, :, 0].any()


def test_small_box_floor_setting_overrides_the_variant() -> None:
    assert tiny_scene().run(variant="ultralytics", small_box_floor=False, topk=10).pair_gt.numel() == 0
    assert fg_anchors(tiny_scene().run(variant="yolov8", small_box_floor=True, topk=10)) == TINY_FLOORED_CANDIDATES


# --- two gts contesting one anchor -----------------------------------------------------

GT_A = [8.0, 8.0, 24.0, 24.0]  # 16 x 16, centre (16, 16)
GT_B = [12.0, 8.0, 28.0, 24.0]  # 16 x 16, centre (20, 16)
X = 10  # anchor (20, 12)
# Candidates: A holds stride-8 centres x, y in {12, 20} -> anchors 9, 10, 17, 18 (stride-16
# centres 8, 24 are on its edges). B's x range (12, 28) holds only x = 20 (12 and 28 are
# edges) -> anchors 10 and 18; its stride-16 candidates would need y in (8, 24): none.
# Only X predicts a box near the gts (every other anchor predicts FAR: metric 0), so with
# topk 1 both gts select X: X is contested.


def contest_scene(x_box: list[float], swap: bool = False) -> Scene:
    gts = [(1, GT_B), (0, GT_A)] if swap else [(0, GT_A), (1, GT_B)]
    scene = Scene([gts])
    scene.predict(X, x_box, {0: 0.9, 1: 0.9})
    return scene


def test_contest_goes_to_the_higher_iou() -> None:
    x_box = [11.0, 8.0, 27.0, 24.0]
    # A: inter 13 x 16 = 208, union 304, rho2 = ((11+27-8-24)^2 + 0)/4 = 9, c2 = 19^2 + 16^2 -> ~0.670
    # B: inter 15 x 16 = 240, union 272, rho2 = 1, c2 = 17^2 + 16^2 -> ~0.881: slot 1 wins
    u_a, u_b = ciou_by_hand(GT_A, x_box), ciou_by_hand(GT_B, x_box)
    assert u_a == pytest.approx(208 / 304 - 9 / 617, abs=1e-6)
    assert u_b == pytest.approx(240 / 272 - 1 / 545, abs=1e-6)
    for conflict in ("all-gts", "choosers"):  # both gts chose X, so both rules agree
        a = contest_scene(x_box).run(topk=1, alpha=1.0, beta=6.0, conflict=conflict)
        assert a.choosers[0, X].item() == 2 and a.contested.sum().item() == 1
        assert fg_anchors(a) == [X]
        assert a.target_gt_idx[0, X].item() == 1 and a.winner[0, X].item() == 1
        assert a.target_labels[0, X].item() == 1
        assert a.target_bboxes[0, X].tolist() == GT_B
        # B's only positive: target = t * u / (t + 1e-9) ~ u
        assert a.target_scores[0, X].tolist() == pytest.approx([0, u_b, 0], abs=1e-6)
        assert a.gt_best_iou[0].tolist() == pytest.approx([0, u_b], abs=1e-6)  # A lost every positive
        assert not a.handed.any()


@pytest.mark.parametrize("swap", [False, True])
def test_contest_tie_goes_to_the_lower_slot(swap: bool) -> None:
    # X predicts [10, 8, 26, 24], mirror-symmetric between A and B: both inter 14 x 16 = 224,
    # same union, enclosing 18 x 16, rho2 = (+-4)^2 / 4 = 4, v = 0 -> equal CIoU, bit for bit.
    x_box = [10.0, 8.0, 26.0, 24.0]
    assert ciou_by_hand(GT_A, x_box) == ciou_by_hand(GT_B, x_box)
    for conflict in ("all-gts", "choosers"):
        a = contest_scene(x_box, swap=swap).run(topk=1, alpha=1.0, beta=6.0, conflict=conflict)
        assert a.choosers[0, X].item() == 2
        assert a.pair_iou[a.pair_anchor == X].unique().numel() == 1  # really tied
        assert fg_anchors(a) == [X]
        assert a.target_gt_idx[0, X].item() == 0  # slot 0, whichever box it holds
        assert a.target_labels[0, X].item() == (1 if swap else 0)


# --- an anchor handed to a gt that never chose it -----------------------------------

GT_C = [14.0, 6.0, 30.0, 22.0]  # 16 x 16, centre (22, 14)
Y = 11  # anchor (28, 12)
# C's candidates: stride-8 x in {20, 28}, y in {12, 20} -> 10 (=X), 11 (=Y), 18, 19; stride-16
# (24, 8) -> 65. Y is no candidate of A (x < 24) nor of B (28 is B's edge).
# X and Y both predict exactly C's box. Scores: X has 0.9 for classes 0 and 1 and 0.1 for
# class 2; Y has 0.9 for class 2. With alpha 1, beta 6, topk 1:
# - C: t(X) = 0.1 * 1, t(Y) = 0.9 * 1 (other candidates FAR: 0) -> C selects Y;
# - A: only X is non-zero (CIoU(A, C's box) ~ 0.327 > 0) -> A selects X;
# - B: only X is non-zero (CIoU ~ 0.608) -> B selects X.
# X is contested by A and B; C never chose it. "all-gts": the largest IoU at X over all gts
# is C's (~1) -> X is handed to C. "choosers": only A and B compete -> B (0.608 > 0.327).


def handed_scene() -> Scene:
    scene = Scene([[(0, GT_A), (1, GT_B), (2, GT_C)]])
    scene.predict(X, GT_C, {0: 0.9, 1: 0.9, 2: 0.1})
    scene.predict(Y, GT_C, {2: 0.9})
    return scene


def test_handed_scene_premises() -> None:
    assert ciou_by_hand(GT_A, GT_C) == pytest.approx(140 / 372 - 40 / 808, abs=1e-6)
    assert ciou_by_hand(GT_B, GT_C) == pytest.approx(196 / 316 - 8 / 648, abs=1e-6)
    assert 0 < ciou_by_hand(GT_A, GT_C) < ciou_by_hand(GT_B, GT_C) < ciou_by_hand(GT_C, GT_C)


def test_all_gts_rule_hands_an_anchor_to_a_gt_that_never_chose_it() -> None:
    a = handed_scene().run(topk=1, alpha=1.0, beta=6.0, conflict="all-gts")
    chose = {(g, p) for g, p, s in zip(a.pair_gt.tolist(), a.pair_anchor.tolist(), a.pair_selected.tolist()) if s}
    assert chose == {(0, X), (1, X), (2, Y)}
    assert a.choosers[0, X].item() == 2
    assert fg_anchors(a) == [X, Y]
    assert a.target_gt_idx[0, [X, Y]].tolist() == [2, 2]
    assert a.target_labels[0, [X, Y]].tolist() == [2, 2]
    assert a.handed[0].nonzero().squeeze(1).tolist() == [X]
    # C's positives: t(X) = 0.1 u^6, t(Y) = 0.9 u^6 with u = CIoU(C, C) ~ 1;
    # target = t * u / (0.9 u^6 + 1e-9) -> X ~ 1/9, Y ~ 1
    u = ciou_by_hand(GT_C, GT_C)
    assert a.target_scores[0, X].tolist() == pytest.approx([0, 0, 0.1 * u**7 / (0.9 * u**6 + 1e-9)], abs=1e-6)
    assert a.target_scores[0, Y].tolist() == pytest.approx([0, 0, 0.9 * u**7 / (0.9 * u**6 + 1e-9)], abs=1e-6)
    assert a.gt_best_iou[0, :2].tolist() == [0, 0]  # A and B lost their only positive


def test_choosers_rule_keeps_the_anchor_among_its_choosers() -> None:
    a = handed_scene().run(topk=1, alpha=1.0, beta=6.0, conflict="choosers")
    assert fg_anchors(a) == [X, Y]
    assert a.target_gt_idx[0, [X, Y]].tolist() == [1, 2]
    assert not a.handed.any()
    u_b = ciou_by_hand(GT_B, GT_C)
    assert a.target_scores[0, X].tolist() == pytest.approx([0, u_b, 0], abs=1e-6)
    assert a.target_scores[0, Y, 2].item() == pytest.approx(1, abs=1e-6)


Z1 = [8.0, 0.0, 24.0, 16.0]  # holds 1 (12, 4), 2 (20, 4), 9, 10
Z2 = [8.0, 0.0, 32.0, 16.0]  # holds 1, 2, 3, 9, 10, 11 and the stride-16 anchor 65 (24, 8)
FAR_GT = [32.0, 32.0, 64.0, 64.0]  # slot 0, far from Z1 and Z2; holds 36 (36, 36)
# Only anchor 36 predicts a box near a gt (FAR_GT itself); everything else predicts FAR, so
# every metric of Z1 and Z2 is 0. topk 3 over all anchors with the tie rule (lower index
# first): Z1 and Z2 both take anchors 0, 1, 2; 0 is no candidate of either, so both keep 1
# and 2, which are contested with IoU 0 for every gt. FAR_GT takes 36 (t > 0), then 0 and 1
# (zeros, not its candidates).
# "all-gts": an all-zero IoU column goes to slot 0 -- FAR_GT, which neither holds nor chose
# anchors 1 and 2 (handed, with target score 0 since t(FAR_GT, 1) = 0).
# "choosers": the lowest chooser, slot 1 (Z1).


@pytest.mark.parametrize("conflict, winner", [("all-gts", 0), ("choosers", 1)])
def test_all_zero_iou_contest(conflict: str, winner: int) -> None:
    scene = Scene([[(0, FAR_GT), (1, Z1), (2, Z2)]])
    scene.predict(36, FAR_GT, {0: 0.9})
    a = scene.run(topk=3, alpha=1.0, beta=6.0, conflict=conflict)
    assert a.choosers[0, [1, 2]].tolist() == [2, 2]
    assert fg_anchors(a) == [1, 2, 36]
    assert a.target_gt_idx[0, [1, 2, 36]].tolist() == [winner, winner, 0]
    assert a.handed[0, [1, 2]].tolist() == [conflict == "all-gts"] * 2
    assert not a.target_scores[0, [1, 2]].any()  # t = 0 for the holder: target score 0
    assert a.target_scores[0, 36, 0].item() == pytest.approx(ciou_by_hand(FAR_GT, FAR_GT), abs=1e-6)


# --- no gts, padded slots, empty images --------------------------------------------------


@pytest.mark.parametrize("variant", ["yolov8", "ultralytics"])
def test_no_gt_slots_at_all(variant: str) -> None:
    scene = Scene([[], []], num_classes=3)  # B = 2, M = 0
    assert scene.gt_bboxes.shape == (2, 0, 4)
    labels, bboxes, scores, fg, gt_idx = TaskAlignedAssigner(num_classes=3, variant=variant)(*scene.inputs())
    a_count = scene.points.shape[0]
    assert labels.shape == (2, a_count) and labels.dtype == torch.int64 and labels.eq(3).all()  # filled with C
    assert bboxes.shape == (2, a_count, 4) and not bboxes.any()
    assert scores.shape == (2, a_count, 3) and not scores.any()
    assert fg.shape == (2, a_count) and fg.dtype == torch.bool and not fg.any()
    assert gt_idx.dtype == torch.int64 and not gt_idx.any()


def test_padded_slots_are_ignored_whatever_they_hold() -> None:
    # Contest scene with a padded slot between A and B holding exactly X's predicted box (it
    # would win X with IoU 1 if it were real) and an out-of-range label.
    x_box = [11.0, 8.0, 27.0, 24.0]
    scene = Scene([[(0, GT_A), None, (1, GT_B)]])
    scene.gt_bboxes[0, 1] = torch.tensor(x_box)
    scene.gt_labels[0, 1, 0] = 7  # not a class: must not raise for a padded slot
    scene.predict(X, x_box, {0: 0.9, 1: 0.9})
    a = scene.run(topk=1, alpha=1.0, beta=6.0)
    assert 1 not in a.pair_gt.tolist()
    assert fg_anchors(a) == [X]
    assert a.target_gt_idx[0, X].item() == 2 and a.target_labels[0, X].item() == 1
    # mask_gt and gt_labels may also come as [B, M]
    flat = assign(scene.pd_scores, scene.pd_bboxes, scene.points, scene.gt_labels[..., 0], scene.gt_bboxes,
                  scene.mask_gt[..., 0], a.settings)
    for x, y in zip(a.outputs(), flat.outputs()):
        assert torch.equal(x, y)


def test_one_empty_image_in_a_batch_of_two() -> None:
    x_box = [11.0, 8.0, 27.0, 24.0]
    scene = Scene([[(0, GT_A), (1, GT_B)], [None, None]])  # image 1: both slots padded
    scene.predict(X, x_box, {0: 0.9, 1: 0.9}, image=0)
    scene.predict(X, x_box, {0: 0.9, 1: 0.9}, image=1)  # same predictions, but nothing to match
    a = scene.run(topk=1, alpha=1.0, beta=6.0)
    assert fg_anchors(a, 0) == [X] and a.target_gt_idx[0, X].item() == 1
    assert not a.fg_mask[1].any() and not a.target_scores[1].any() and not a.target_gt_idx[1].any()
    assert a.target_labels[1].eq(0).all() and not a.target_bboxes[1].any()  # padded slot 0's values
    assert (a.pair_image == 0).all()
    # image 0 alone gives the same result
    alone = contest_scene(x_box).run(topk=1, alpha=1.0, beta=6.0)
    for x, y in zip(a.outputs(), alone.outputs()):
        assert torch.equal(x[:1], y)


# --- topk2 ------------------------------------------------------------------------------

GT_G = [8.0, 8.0, 40.0, 40.0]  # 32 x 32; candidates include 9 (12, 12), 27 (28, 28), 69 (24, 24)
P, Q, R = 9, 27, 69
# P, Q, R predict G exactly (u ~ 1) with class-0 scores 0.6, 0.9, 0.3; others FAR (t = 0).
# topk 3 selects exactly P, Q, R. With alpha 1 their metrics order Q > P > R.


def topk2_scene(scores: tuple[float, float, float] = (0.6, 0.9, 0.3)) -> Scene:
    scene = Scene([[(0, GT_G)]], num_classes=2)
    for anchor, s in zip((P, Q, R), scores):
        scene.predict(anchor, GT_G, {0: s})
    return scene


@pytest.mark.parametrize("topk2, kept", [(None, [P, Q, R]), (3, [P, Q, R]), (2, [P, Q]), (1, [Q])])
def test_topk2_keeps_each_gts_best(topk2: int | None, kept: list[int]) -> None:
    a = topk2_scene().run(variant="ultralytics", topk=3, topk2=topk2, alpha=1.0, beta=6.0)
    assert a.pair_selected.sum().item() == 3  # selection before topk2 is unchanged
    assert fg_anchors(a) == kept
    u = ciou_by_hand(GT_G, GT_G)
    want = {P: 0.6 / 0.9 * u, Q: u, R: 0.3 / 0.9 * u}
    assert a.target_scores[0, kept, 0].tolist() == pytest.approx([want[k] for k in kept], abs=1e-6)


def test_topk2_ties_keep_the_lower_anchor() -> None:
    # P and Q now have equal metrics (same box, same score 0.9): topk2 = 1 keeps P (9 < 27)
    a = topk2_scene((0.9, 0.9, 0.3)).run(variant="ultralytics", topk=3, topk2=1, alpha=1.0, beta=6.0)
    assert fg_anchors(a) == [P]


# --- plain IoU ---------------------------------------------------------------------------

P_BOX = [9.9375, 9.9375, 38.0625, 38.0625]  # concentric with G, 28.125 px square
Q_BOX = [12.0, 8.0, 44.0, 40.0]  # G shifted right by 4
# IoU(G, P_BOX) = 28.125^2 / 1024 ~ 0.7725 (CIoU the same: concentric, same aspect);
# IoU(G, Q_BOX) = 28 * 32 / (2048 - 896) ~ 0.7778, CIoU = that - 16 / (36^2 + 32^2) ~ 0.7709.
# Same scores: with CIoU topk 1 picks P's anchor, with plain IoU Q's.
P_ANCHOR, Q_ANCHOR = 18, 28  # (20, 20) and (36, 28), both inside G


def test_plain_iou_changes_the_choice() -> None:
    iou_p, iou_q = ciou_by_hand(GT_G, P_BOX, plain=True), ciou_by_hand(GT_G, Q_BOX, plain=True)
    ciou_p, ciou_q = ciou_by_hand(GT_G, P_BOX), ciou_by_hand(GT_G, Q_BOX)
    assert iou_q == pytest.approx(28 / 36, abs=1e-6) and iou_p == pytest.approx(28.125**2 / 1024, abs=1e-6)
    assert ciou_q < ciou_p <= iou_p < iou_q  # the premise of the scene (P: CIoU = IoU)
    scene = Scene([[(0, GT_G)]], num_classes=1)
    scene.predict(P_ANCHOR, P_BOX, {0: 0.5})
    scene.predict(Q_ANCHOR, Q_BOX, {0: 0.5})
    with_ciou = scene.run(topk=1, iou="ciou")
    with_iou = scene.run(topk=1, iou="iou")
    assert fg_anchors(with_ciou) == [P_ANCHOR]
    assert fg_anchors(with_iou) == [Q_ANCHOR]
    at_q = with_iou.pair_anchor == Q_ANCHOR
    assert with_iou.pair_iou[at_q].item() == pytest.approx(iou_q, abs=1e-6)
    assert with_ciou.pair_iou[with_ciou.pair_anchor == Q_ANCHOR].item() == pytest.approx(ciou_q, abs=1e-6)
    assert with_iou.target_scores[0, Q_ANCHOR, 0].item() == pytest.approx(iou_q, abs=1e-6)


# --- settings validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, named",
    [
        ({"variant": "yolov5"}, ["'yolov8'", "'ultralytics'"]),
        ({"iou": "giou"}, ["'ciou'", "'iou'"]),
        ({"conflict": "first"}, ["'all-gts'", "'choosers'"]),
        ({"topk": 0}, ["topk", ">= 1"]),
        ({"topk": 2.5}, ["topk", "integer"]),
        ({"num_classes": 0}, ["num_classes", ">= 1"]),
        ({"alpha": -0.5}, ["alpha", ">= 0"]),
        ({"beta": -1.0}, ["beta", ">= 0"]),
        ({"alpha": float("nan")}, ["alpha", ">= 0"]),
        ({"topk2": 5, "topk": 10, "variant": "yolov8"}, ["topk2", "'ultralytics'"]),
        ({"topk2": 11, "topk": 10, "variant": "ultralytics"}, ["topk2", "1..topk"]),
        ({"topk2": 0, "topk": 10, "variant": "ultralytics"}, ["topk2", "1..topk"]),
        ({"strides": ()}, ["strides"]),
    ],
)
def test_settings_validation(kwargs: dict, named: list[str]) -> None:
    for make in (AssignerSettings, TaskAlignedAssigner):
        with pytest.raises(ValueError) as err:
            make(**kwargs)
        for text in named:
            assert text in str(err.value), (make.__name__, str(err.value))


def test_valid_settings_are_accepted() -> None:
    s = AssignerSettings(variant="ultralytics", topk=10, topk2=3, strides=[8, 16, 32])
    assert s.strides == (8, 16, 32) and s.uses_topk2 and s.uses_floor and s.floor_side == 16.0
    assert not AssignerSettings(variant="yolov8", topk=10, topk2=10).uses_topk2  # equal to topk: no effect
    assert AssignerSettings(strides=(8,)).floor_side == 8.0
    with pytest.raises(ValueError):
        s.with_(topk=2)  # topk2 3 > topk 2: re-validated


# --- shape errors --------------------------------------------------------------------------


def _shape_inputs() -> dict[str, torch.Tensor]:
    scene = contest_scene([11.0, 8.0, 27.0, 24.0])  # B = 1, A = 80, C = 3, M = 2
    return dict(zip(("pd_scores", "pd_bboxes", "anc_points", "gt_labels", "gt_bboxes", "mask_gt"), scene.inputs()))


@pytest.mark.parametrize(
    "name, bad",
    [
        ("pd_scores", lambda t: t[0]),  # [A, C]: not 3-D
        ("pd_scores", lambda t: t[..., :2]),  # C = 2 != num_classes = 3
        ("pd_bboxes", lambda t: t[..., :3]),  # [B, A, 3]
        ("pd_bboxes", lambda t: t[:, :-1]),  # A - 1 anchors
        ("anc_points", lambda t: t[:-1]),  # [A - 1, 2]
        ("anc_points", lambda t: torch.cat((t, t[:, :1]), 1)),  # [A, 3]
        ("gt_bboxes", lambda t: t.repeat(2, 1, 1)),  # B = 2
        ("gt_bboxes", lambda t: t[..., :2]),  # [B, M, 2]
        ("gt_labels", lambda t: t[:, :1]),  # M = 1 != 2
        ("mask_gt", lambda t: t.repeat(1, 1, 2)),  # [B, M, 2]
    ],
)
def test_shape_errors(name: str, bad) -> None:
    inputs = _shape_inputs()
    inputs[name] = bad(inputs[name])
    with pytest.raises(ShapeError, match=r"expected .* got") as err:
        TaskAlignedAssigner(num_classes=3, topk=1)(**inputs)
    assert isinstance(err.value, ValueError)
    assert name in str(err.value)


@pytest.mark.parametrize("label", [3.0, -1.0])
def test_real_gt_with_a_class_outside_the_range(label: float) -> None:
    inputs = _shape_inputs()
    inputs["gt_labels"] = inputs["gt_labels"].clone()
    inputs["gt_labels"][0, 1, 0] = label
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        TaskAlignedAssigner(num_classes=3, topk=1)(**inputs)


# --- dtypes, batch sizes, strides ------------------------------------------------------------


def test_float64_inputs_give_float64_outputs() -> None:
    x_box = [11.0, 8.0, 27.0, 24.0]
    scene = Scene([[(0, GT_A), (1, GT_B)]], dtype=torch.float64)
    scene.predict(X, x_box, {0: 0.9, 1: 0.9})
    labels, bboxes, scores, fg, gt_idx = TaskAlignedAssigner(num_classes=3, topk=1)(*scene.inputs())
    assert bboxes.dtype == scores.dtype == torch.float64
    assert labels.dtype == gt_idx.dtype == torch.int64 and fg.dtype == torch.bool
    # in float64 the target score matches the hand formula to ~1e-15:
    # t = 0.9 * u^6, target = t * u / (t + 1e-9)
    u_b = ciou_by_hand(GT_B, x_box)
    t = 0.9 * u_b**6
    assert scores[0, X, 1].item() == pytest.approx(t * u_b / (t + 1e-9), abs=1e-12)
    single = contest_scene(x_box).run(topk=1)
    torch.testing.assert_close(scores.float(), single.target_scores, atol=1e-6, rtol=0)
    assert torch.equal(fg, single.fg_mask) and torch.equal(gt_idx, single.target_gt_idx)


TINY5 = [13.0, 13.0, 18.0, 18.0]  # 5 x 5 around (15.5, 15.5)
# Candidates of TINY5 on a 64 x 64 input, per strides and variant (index = level start + row * width + col):
# - yolov8 (no floor): centres strictly in (13, 18): stride 4 -> 14 (col/row 3); stride 32 -> 16 (col/row 0).
# - ultralytics, strides (8,): floor 8 -> [11.5, 19.5]: stride-8 centre 12 -> anchor 9.
# - (8, 16) / (8, 16, 32): floor 16 -> [7.5, 23.5]: stride 8 -> 12, 20 (9, 10, 17, 18); stride 16
#   (start 64) -> 8 (anchor 64); stride 32 (start 80) -> 16 (anchor 80).
# - (4, 8, 16, 32): floor 8 -> [11.5, 19.5]: stride 4 (16 x 16) -> 14, 18: 51, 52, 67, 68;
#   stride 8 (start 256) -> 12: 265; stride 16 (start 320) -> none; stride 32 (start 336) -> 16: 336.
TINY5_CANDIDATES = {
    ("yolov8", (8,)): [],
    ("yolov8", (8, 16)): [],
    ("yolov8", (8, 16, 32)): [80],
    ("yolov8", (4, 8, 16, 32)): [51, 336],
    ("ultralytics", (8,)): [9],
    ("ultralytics", (8, 16)): [9, 10, 17, 18, 64],
    ("ultralytics", (8, 16, 32)): [9, 10, 17, 18, 64, 80],
    ("ultralytics", (4, 8, 16, 32)): [51, 52, 67, 68, 265, 336],
}


@pytest.mark.parametrize("key", list(TINY5_CANDIDATES), ids=lambda k: f"{k[0]}-{'_'.join(map(str, k[1]))}")
@pytest.mark.parametrize("batch", [1, 2, 3])
def test_batch_sizes_and_stride_lists(key: tuple[str, tuple[int, ...]], batch: int) -> None:
    variant, strides = key
    # every image holds TINY5 (label b % 3); every anchor predicts TINY5 (t > 0 for every
    # candidate, <= 6 of them, topk 10): the positives are exactly the candidates
    scene = Scene([[(b % 3, TINY5)] for b in range(batch)], strides=strides, score=0.5)
    scene.pd_bboxes[:] = torch.tensor(TINY5)
    a = scene.run(variant=variant, topk=10)
    want = TINY5_CANDIDATES[key]
    for b in range(batch):
        assert a.pair_anchor[a.pair_image == b].tolist() == want
        assert fg_anchors(a, b) == want
        assert a.target_labels[b].eq(b % 3).all()
    # the batch is the images run one by one
    for b in range(batch):
        one = TaskAlignedAssigner(num_classes=3, variant=variant, strides=strides, topk=10)(
            *(t[b : b + 1] if t.ndim == 3 else t for t in scene.inputs()))
        for x, y in zip(a.outputs(), one):
            assert torch.equal(x[b : b + 1], y)


# --- regression: topk2 with zero-valued positives does not depend on slot order -----------

GT_X = [32.0, 32.0, 64.0, 64.0]
GT_Z = [8.0, 0.0, 24.0, 16.0]


@pytest.mark.parametrize("z_slot", [0, 1])
def test_topk2_zero_valued_positives_do_not_depend_on_slot_order(z_slot: int) -> None:
    # 64 x 64 input, strides (8,) only (floor 8 px: neither gt is floored); anchor 8 row + col
    # at (8 col + 4, 8 row + 4). Every anchor predicts FAR (t = 0) except 36 (36, 36),
    # 37 (44, 36) and 45 (44, 44), which predict X exactly (t > 0). topk 3:
    # - X selects 36, 37, 45 (its only positive metrics);
    # - Z holds anchors 1 (12, 4), 2 (20, 4), 9, 10, all with t = 0; its top 3 over all anchors
    #   are the zero-valued anchors of lowest index, 0, 1, 2; 0 is no candidate: Z keeps 1, 2.
    # topk2 2, "largest t * mask_pos over all anchors, lower anchor index first":
    # - X keeps 36, 37 (t equal: same box, same score -> lower index);
    # - Z's values are all 0: anchors 0 and 1 take the two slots -> Z keeps anchor 1 only.
    # The slot order of X and Z must not matter.
    scene = Scene([[(0, GT_Z), (0, GT_X)] if z_slot == 0 else [(0, GT_X), (0, GT_Z)]],
                  num_classes=1, strides=(8,), score=0.5)
    for anchor in (36, 37, 45):
        scene.predict(anchor, GT_X)
    before = scene.run(variant="ultralytics", topk=3)
    x_slot = 1 - z_slot
    assert before.target_gt_idx[0, [1, 2, 36, 37, 45]].tolist() == [z_slot] * 2 + [x_slot] * 3
    assert fg_anchors(before) == [1, 2, 36, 37, 45]
    a = scene.run(variant="ultralytics", topk=3, topk2=2)
    assert fg_anchors(a) == [1, 36, 37]
    assert a.target_gt_idx[0, [1, 36, 37]].tolist() == [z_slot, x_slot, x_slot]
