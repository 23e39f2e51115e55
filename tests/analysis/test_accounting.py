"""Per-gt accounting of one image: a hand scene, and a naive per-gt loop over the pair lists on random batches."""

from __future__ import annotations

import pytest
import torch

from tal_cli.analysis.accounting import gt_accounts
from tal_cli.analysis.reasons import CONFLICT, HAS_POSITIVE, stage_counts
from tal_cli.core.anchors import grid_levels
from tal_cli.core.assigner import assign
from tal_cli.core.settings import AssignerSettings

from ..core.test_assigner_scenes import Scene
from .random_scenes import add_random_predictions, random_gt

LEVELS = grid_levels((64, 64), (8, 16))  # 64 stride-8 anchors, then 16 stride-16 ones


def _run(scene: Scene, settings: AssignerSettings):
    return assign(scene.pd_scores, scene.pd_bboxes, scene.points, scene.gt_labels, scene.gt_bboxes, scene.mask_gt,
                  settings)


def test_two_gts_fighting_by_hand() -> None:
    # Gt 0 and gt 1 hold the same five candidates (stride-8 anchors 18, 19, 26, 27, stride-16 anchor 69);
    # every prediction there is gt 0's box, so gt 0 wins all five and gt 1 loses them.
    c_box, d_box = [16.0, 16.0, 32.0, 32.0], [15.0, 15.0, 33.0, 33.0]
    scene = Scene([[(1, c_box), (1, d_box)]])
    for anchor in (18, 19, 26, 27, 69):
        scene.pd_bboxes[0, anchor] = torch.tensor(c_box)
    a = _run(scene, AssignerSettings(topk=5, num_classes=3, alpha=1.0, beta=6.0, strides=(8, 16)))
    acc = gt_accounts(a, 0, 2, LEVELS, scene.pd_scores[0], torch.tensor([1, 1]))
    assert acc.candidates == [5, 5] and acc.candidates_per_level == [[4, 1], [4, 1]]
    assert acc.selected == [5, 5] and acc.positives == [5, 0] and acc.positives_per_level == [[4, 1], [0, 0]]
    assert acc.lost == [0, 5] and acc.lost_to == [(), (0,)]
    assert acc.taken == [5, 0] and acc.taken_from == [(1,), ()] and acc.handed == [0, 0]
    assert acc.reason == [HAS_POSITIVE, CONFLICT] and acc.best_metric[1] is None and acc.best_score[1] is None
    assert acc.best_score[0] == pytest.approx(0.1) and acc.iou_zero == [False, False]
    assert acc.positive_anchor == [18, 19, 26, 27, 69] and acc.positive_gt == [0] * 5
    assert acc.positive_level == [0, 0, 0, 0, 1] and acc.positive_choosers == [(0, 1)] * 5
    assert acc.contested_anchors == 5 and acc.handed_anchors == 0


def _naive(a, b: int, m: int, scores: torch.Tensor, classes: torch.Tensor) -> dict[str, list]:
    """Every per-gt count of image ``b``, one gt at a time in Python over the pair lists."""
    fg, gidx, win = a.fg_mask[b].tolist(), a.target_gt_idx[b].tolist(), a.winner[b].tolist()
    choosers_n, handed, tscore = a.choosers[b].tolist(), a.handed[b].tolist(), a.target_score[b].tolist()
    pairs = [p for p in zip(a.pair_image.tolist(), a.pair_gt.tolist(), a.pair_anchor.tolist(),
                            a.pair_selected.tolist(), a.pair_in_box.tolist(), a.pair_tied.tolist(),
                            a.pair_iou.tolist()) if p[0] == b]
    level = [next(i for i, lv in enumerate(LEVELS) if an < lv.stop) for an in range(a.num_anchors)]
    out: dict[str, list] = {k: [] for k in ("candidates", "candidates_per_level", "floor_added", "selected", "tied",
                                            "positives", "positives_per_level", "lost", "lost_to", "dropped_topk2",
                                            "taken", "taken_from", "handed", "best_score", "max_target_score",
                                            "iou_zero")}
    for j in range(m):
        mine = [p for p in pairs if p[1] == j]
        sel = [p[2] for p in mine if p[3]]
        pos = [an for an in range(a.num_anchors) if fg[an] and gidx[an] == j]
        out["candidates"].append(len(mine))
        out["candidates_per_level"].append([sum(level[p[2]] == k for p in mine) for k in range(len(LEVELS))])
        out["floor_added"].append(sum(not p[4] for p in mine))
        out["selected"].append(len(sel))
        out["tied"].append(sum(p[5] for p in mine))
        out["positives"].append(len(pos))
        out["positives_per_level"].append([sum(level[an] == k for an in pos) for k in range(len(LEVELS))])
        out["lost"].append(sum(win[an] != j for an in sel))
        out["lost_to"].append(tuple(sorted({win[an] for an in sel if win[an] != j})))
        out["dropped_topk2"].append(sum(win[an] == j and not fg[an] for an in sel))
        out["taken"].append(sum(choosers_n[an] > 1 for an in pos))
        others = {p[1] for p in pairs if p[3] and p[2] in pos and p[1] != j and choosers_n[p[2]] > 1}
        out["taken_from"].append(tuple(sorted(others)))
        out["handed"].append(sum(handed[an] for an in pos))
        out["best_score"].append(max((float(scores[an, classes[j]]) for an in pos), default=None))
        out["max_target_score"].append(max((tscore[an] for an in pos), default=None))
        out["iou_zero"].append(all(p[6] <= 0 for p in mine))
    out["positive_choosers"] = [
        tuple(sorted(p[1] for p in pairs if p[2] == an and p[3])) if choosers_n[an] > 1
        else (() if handed[an] else (gidx[an],))
        for an in range(a.num_anchors) if fg[an]]
    return out


@pytest.mark.parametrize("seed", range(8))
def test_matches_a_naive_loop_on_random_batches(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    settings = [AssignerSettings(topk=3, num_classes=4, strides=(8, 16)),
                AssignerSettings(topk=4, topk2=2, num_classes=4, variant="ultralytics", strides=(8, 16)),
                AssignerSettings(topk=3, num_classes=4, strides=(8, 16), conflict="choosers"),
                AssignerSettings(topk=5, num_classes=4, strides=(8, 16), variant="ultralytics", iou="iou")][seed % 4]
    counts = [int(torch.randint(0, 8, (), generator=g)) for _ in range(3)]
    gts = []
    for n in counts:  # an image's gts are its first slots, padding after them (as batch_inputs pads)
        row = []
        for _ in range(n):
            row.append(random_gt(g))
        gts.append(row + [None] * (max(counts) - n))
    scene = Scene(gts, num_classes=4)
    add_random_predictions(scene, g)
    a = _run(scene, settings)
    stages = stage_counts(a)
    for b, m in enumerate(counts):
        classes = scene.gt_labels[b, :m, 0].long()
        acc = gt_accounts(a, b, m, LEVELS, scene.pd_scores[b], classes)
        for key, expected in _naive(a, b, m, scene.pd_scores[b], classes).items():
            assert getattr(acc, key) == expected, (b, key)
        assert stages.won[b, :m].tolist() == [s - lost for s, lost in zip(acc.selected, acc.lost)]
        assert len(acc.positive_anchor) == sum(acc.positives) == int(a.fg_mask[b].sum())
        assert sum(acc.tied) == int(a.pair_tied[a.pair_image == b].sum())


def test_matches_a_naive_loop_on_crowded_images() -> None:
    """Eight gts in a 40 px patch, topk 2: contested anchors everywhere, some handed to a gt of higher
    IoU that never selected them (rule ``all-gts``)."""
    handed = 0
    for seed in range(12):
        g = torch.Generator().manual_seed(seed)
        row = []
        for _ in range(8):
            x, y = (torch.rand(2, generator=g) * 16 + 8).tolist()
            w, h = (torch.rand(2, generator=g) * 20 + 4).tolist()
            row.append((int(torch.randint(0, 2, (), generator=g)), [x, y, x + w, y + h]))
        scene = Scene([row], num_classes=2)
        a_ = scene.points.shape[0]
        scene.pd_scores = torch.rand(1, a_, 2, generator=g)
        centre = scene.points[None] + torch.randn(1, a_, 2, generator=g) * 3
        half = torch.rand(1, a_, 2, generator=g) * 12 + 1
        scene.pd_bboxes = torch.cat((centre - half, centre + half), -1)
        a = _run(scene, AssignerSettings(topk=2, num_classes=2, strides=(8, 16)))
        classes = scene.gt_labels[0, :, 0].long()
        acc = gt_accounts(a, 0, 8, LEVELS, scene.pd_scores[0], classes)
        for key, expected in _naive(a, 0, 8, scene.pd_scores[0], classes).items():
            assert getattr(acc, key) == expected, (seed, key)
        handed += sum(acc.handed)
        for gt, chose, was_handed in zip(acc.positive_gt, acc.positive_choosers, acc.positive_handed):
            assert (gt not in chose) == was_handed  # a handed positive: its gt is not among the choosers
    assert handed > 0
