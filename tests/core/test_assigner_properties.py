"""Hypothesis properties of the assigner on random, tie-free scenes.

Scenes live on a 64 x 64 input, strides (8, 16, 32) (84 anchors). Gt centres lie in
[8, 56] and every gt lies inside the image (half of them are shifted copies of an earlier
gt, so that anchors are contested), so even floored to 16 px a gt never reaches an
anchor outside the 64 x 64 region (needed by the translation property). Coordinates of gts
and predicted boxes are multiples of 1/4 px, so translating a scene by a multiple of 32 px
is exact in float32 and every computation on a translated pair gives the same bits.

Scores are in [0.05, 1) and most anchors predict a box close to a gt that holds them, so
metrics of candidates are mostly > 0; scenes where the top-k order could still depend on
the tie rule are discarded with ``assume(not a.pair_tied.any())``.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tal_cli.core.anchors import grid_levels, make_anchors
from tal_cli.core.assigner import TaskAlignedAssigner
from tal_cli.core.assignment import Assignment

SIZE = 64
STRIDES = (8, 16, 32)
FLOOR = 16.0  # second stride: the floor of variant "ultralytics"
SMALL_LEVELS = grid_levels((SIZE, SIZE), STRIDES)
SMALL_POINTS, _ = make_anchors(SMALL_LEVELS)  # (A, 2) float32, A = 84


def quarter(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x) * 4) / 4


def floored(box: list[float], floor: bool) -> list[float]:
    if not floor:
        return box
    cx, cy, w, h = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0], box[3] - box[1]
    w, h = max(w, FLOOR), max(h, FLOOR)
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def strictly_inside(x: float, y: float, box: list[float]) -> bool:
    return min(x - box[0], y - box[1], box[2] - x, box[3] - y) > 1e-9


def make_scene(seed: int, batch: int, slots: int, classes: int) -> dict[str, torch.Tensor]:
    """Random scene on the 64 x 64 grid.

    Returns:
        ``pd_scores [B, A, C]``, ``pd_bboxes [B, A, 4]``, ``gt_labels [B, M, 1]``,
        ``gt_bboxes [B, M, 4]``, ``mask_gt [B, M, 1]``, all float32.
    """
    rng = np.random.default_rng(seed)
    points = SMALL_POINTS.tolist()
    a_count = len(points)
    gt_bboxes = np.zeros((batch, slots, 4))
    gt_labels = np.zeros((batch, slots, 1))
    mask_gt = np.zeros((batch, slots, 1))
    for b in range(batch):
        for j in range(slots):
            if rng.random() < 0.2:
                continue  # padded slot (zeros)
            previous = [k for k in range(j) if mask_gt[b, k, 0]]
            box = None
            if previous and rng.random() < 0.5:  # a shifted copy of an earlier gt: contested anchors
                box = gt_bboxes[b, rng.choice(previous)] + np.repeat(quarter(rng.uniform(-6, 6, 2)), 2)[[0, 2, 1, 3]]
                centre = (box[:2] + box[2:]) / 2
                if box.min() < 0 or box.max() > SIZE or centre.min() < 8 or centre.max() > SIZE - 8:
                    box = None
            if box is None:
                c = quarter(rng.uniform(8, SIZE - 8, 2))  # centre
                half = quarter(rng.uniform(0.5, np.minimum(c, SIZE - c)))  # box stays inside the image
                box = np.concatenate((c - np.maximum(half, 0.25), c + np.maximum(half, 0.25)))
            gt_bboxes[b, j] = box
            gt_labels[b, j, 0] = rng.integers(0, classes)
            mask_gt[b, j, 0] = 1
    # A "trio" in some images (as the hand scene of test_assigner_scenes): gts p and q are
    # copies of gt r shifted by 2..6 px, of another class; anchors inside all three predict r's
    # box with a low score for r's class, so p and q select them while r may not: the
    # all-gts rule then hands them to r.
    trio: list[tuple[int, int, int] | None] = [None] * batch
    for b in range(batch):
        real = [j for j in range(slots) if mask_gt[b, j, 0]]
        if classes > 1 and len(real) >= 3 and rng.random() < 0.5:
            r, p, q = (int(j) for j in rng.choice(real, 3, replace=False))
            c = quarter(rng.uniform(18, SIZE - 18, 2))  # shifted copies stay inside the image
            half = quarter(rng.uniform(7, 12))
            gt_bboxes[b, r] = np.concatenate((c - half, c + half))
            for j in (p, q):
                dx, dy = quarter(rng.uniform(2, 6)) * rng.choice([-1, 1]), quarter(rng.uniform(-2, 2))
                gt_bboxes[b, j] = gt_bboxes[b, r] + [dx, dy, dx, dy]
                gt_labels[b, j, 0] = 1
            gt_labels[b, r, 0] = 0
            trio[b] = (r, p, q)
    pd_scores = rng.uniform(0.05, 1.0, (batch, a_count, classes))
    pd_bboxes = np.zeros((batch, a_count, 4))
    for b in range(batch):
        real = [j for j in range(slots) if mask_gt[b, j, 0]]
        for a, (x, y) in enumerate(points):
            holding = [j for j in real if strictly_inside(x, y, floored(gt_bboxes[b, j].tolist(), True))]
            if trio[b] is not None and set(trio[b]) <= set(holding) and rng.random() < 0.7:
                box = gt_bboxes[b, trio[b][0]] + quarter(rng.uniform(-0.5, 0.5, 4))
                pd_scores[b, a, 0], pd_scores[b, a, 1] = 0.05, 0.9
            elif holding:  # a jittered copy of one gt holding the anchor
                box = gt_bboxes[b, rng.choice(holding)] + quarter(rng.uniform(-1, 1, 4))
            else:  # a box around the anchor
                half = quarter(rng.uniform(1, 12, 2))
                box = np.concatenate(([x, y] - half, [x, y] + half))
            pd_bboxes[b, a] = [min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])]
    f32 = lambda v: torch.tensor(v, dtype=torch.float32)  # noqa: E731
    return {"pd_scores": f32(pd_scores), "pd_bboxes": f32(pd_bboxes), "gt_labels": f32(gt_labels),
            "gt_bboxes": f32(gt_bboxes), "mask_gt": f32(mask_gt)}


@st.composite
def configs(draw) -> dict:
    variant = draw(st.sampled_from(["yolov8", "ultralytics"]))
    topk = draw(st.integers(1, 13))
    topk2 = draw(st.one_of(st.none(), st.integers(1, topk))) if variant == "ultralytics" else None
    alpha, beta = draw(st.sampled_from([(0.5, 6.0), (1.0, 6.0), (1.0, 2.0), (2.0, 4.0)]))
    return {"variant": variant, "topk": topk, "topk2": topk2, "alpha": alpha, "beta": beta,
            "iou": draw(st.sampled_from(["ciou", "iou"])), "conflict": draw(st.sampled_from(["all-gts", "choosers"])),
            "strides": STRIDES}


SCENE = {
    "seed": st.integers(0, 2**32 - 1),
    "batch": st.integers(1, 2),
    "slots": st.integers(1, 5),
    "classes": st.integers(1, 3),
    "cfg": configs(),
}
FAST = settings(max_examples=40, deadline=None)


def run(scene: dict[str, torch.Tensor], cfg: dict, points: torch.Tensor = SMALL_POINTS) -> Assignment:
    assigner = TaskAlignedAssigner(num_classes=scene["pd_scores"].shape[-1], **cfg)
    return assigner.assign(scene["pd_scores"], scene["pd_bboxes"], points, scene["gt_labels"], scene["gt_bboxes"],
                           scene["mask_gt"])


def tie_free(seed: int, batch: int, slots: int, classes: int, cfg: dict) -> tuple[dict, Assignment]:
    scene = make_scene(seed, batch, slots, classes)
    a = run(scene, cfg)
    assume(not a.pair_tied.any())
    return scene, a


# --- structure ------------------------------------------------------------------------------


@FAST
@given(**SCENE)
def test_at_most_one_gt_per_anchor(seed, batch, slots, classes, cfg) -> None:
    # structural: holds on every scene, tied or not
    a = run(make_scene(seed, batch, slots, classes), cfg)
    b_count, a_count = a.fg_mask.shape
    positive_pairs = torch.zeros(b_count, a_count, dtype=torch.long)  # (B, A): gts holding each anchor
    positive_pairs.index_put_((a.pair_image[a.pair_positive], a.pair_anchor[a.pair_positive]),
                              torch.ones(int(a.pair_positive.sum()), dtype=torch.long), accumulate=True)
    assert (positive_pairs <= 1).all()
    assert (positive_pairs <= a.fg_mask.long()).all()
    # every fg anchor was chosen by some gt and is held by its winner
    assert (a.choosers[a.fg_mask] >= 1).all()
    assert torch.equal(a.winner[a.fg_mask], a.target_gt_idx[a.fg_mask])
    assert (a.winner[a.choosers == 0] == -1).all()
    # background: gt index 0, score rows 0
    assert (a.target_gt_idx[~a.fg_mask] == 0).all() and not a.target_scores[~a.fg_mask].any()
    # a positive that was not handed is a selected pair of its gt
    kept = a.fg_mask & ~a.handed
    assert torch.equal(positive_pairs.bool() & kept, kept)


@FAST
@given(**SCENE)
def test_positive_centres_lie_inside_their_floored_gt(seed, batch, slots, classes, cfg) -> None:
    scene, a = tie_free(seed, batch, slots, classes, cfg)
    points = SMALL_POINTS.tolist()
    floor = cfg["variant"] == "ultralytics"
    for b, anchor in a.fg_mask.nonzero().tolist():
        gt = a.target_gt_idx[b, anchor].item()
        assert scene["mask_gt"][b, gt, 0] == 1
        box = floored(scene["gt_bboxes"][b, gt].tolist(), floor)
        assert strictly_inside(*points[anchor], box), (b, anchor, gt, box)


@FAST
@given(**SCENE)
def test_each_gt_selects_its_topk_before_conflicts(seed, batch, slots, classes, cfg) -> None:
    scene, a = tie_free(seed, batch, slots, classes, cfg)
    real = scene["mask_gt"][..., 0].bool()  # (B, M)
    for b, j in real.nonzero().tolist():
        mine = (a.pair_image == b) & (a.pair_gt == j)  # (P,)
        chosen = int(a.pair_selected[mine].sum())
        assert chosen <= cfg["topk"]
        assert chosen == min(cfg["topk"], int((a.pair_metric[mine] > 0).sum()))
        # the selected ones carry the largest metrics
        left_out = mine & ~a.pair_selected
        if chosen and left_out.any():
            assert a.pair_metric[mine & a.pair_selected].min() > a.pair_metric[left_out].max()
    assert not (~real[a.pair_image, a.pair_gt]).any()  # padded slots have no pairs


@FAST
@given(**SCENE)
def test_choosers_rule_never_hands_anchors(seed, batch, slots, classes, cfg) -> None:
    cfg = {**cfg, "conflict": "choosers"}
    scene, a = tie_free(seed, batch, slots, classes, cfg)
    assert not a.handed.any()
    # so every gt has at most topk positives, each one a selected pair of that gt
    for b, j in scene["mask_gt"][..., 0].nonzero().tolist():
        mine = (a.target_gt_idx[b] == j) & a.fg_mask[b]
        assert int(mine.sum()) <= cfg["topk"]
        pairs = (a.pair_image == b) & (a.pair_gt == j) & a.pair_selected
        assert set(mine.nonzero().squeeze(1).tolist()) <= set(a.pair_anchor[pairs].tolist())


@FAST
@given(**SCENE)
def test_target_scores_are_normalised_per_gt(seed, batch, slots, classes, cfg) -> None:
    scene, a = tie_free(seed, batch, slots, classes, cfg)
    scores = a.target_scores  # (B, A, C)
    assert (scores >= 0).all() and (scores <= 1 + 1e-6).all()
    assert ((scores > 0).sum(-1) <= 1).all()  # one class per row
    for b, j in scene["mask_gt"][..., 0].nonzero().tolist():
        mine = (a.pair_image == b) & (a.pair_gt == j) & a.pair_positive  # its final positives
        if not mine.any():
            continue
        t_max, u_max = a.pair_metric[mine].max().item(), a.pair_iou[mine].max().item()
        best = scores[b, a.pair_anchor[mine]].max().item()
        # the gt's best anchor gets t_max * u_max / (t_max + eps) ~ its best IoU
        assert abs(best - t_max * u_max / (t_max + 1e-9)) <= 1e-5 * max(u_max, 1e-6)


# --- translation -----------------------------------------------------------------------------

BIG = (128, 160)  # (height, width) of the larger input
BIG_LEVELS = grid_levels(BIG, STRIDES)
BIG_POINTS, _ = make_anchors(BIG_LEVELS)


def shifted_index(dx: int, dy: int) -> torch.Tensor:
    """``Tensor[A_small] int64``: the big-grid anchor of each small-grid anchor shifted by (dx, dy) px."""
    out = []
    for small, big in zip(SMALL_LEVELS, BIG_LEVELS):
        s = small.stride
        for row in range(small.height):
            for col in range(small.width):
                out.append(big.start + (row + dy // s) * big.width + (col + dx // s))
    return torch.tensor(out)


@FAST
@given(**SCENE, dx=st.integers(0, 3).map(lambda k: 32 * k), dy=st.integers(0, 2).map(lambda k: 32 * k))
def test_translation_by_a_multiple_of_the_largest_stride(seed, batch, slots, classes, cfg, dx, dy) -> None:
    scene, a = tie_free(seed, batch, slots, classes, cfg)
    index = shifted_index(dx, dy)  # (A_small,)
    shift = torch.tensor([dx, dy, dx, dy], dtype=torch.float32)
    assert torch.equal(BIG_POINTS[index], SMALL_POINTS + shift[:2])
    big_a = BIG_POINTS.shape[0]
    rng = np.random.default_rng(seed + 1)
    b_count, _, c_count = scene["pd_scores"].shape
    # the rest of the big grid: random scores, boxes somewhere (no gt holds those anchors)
    pd_scores = torch.tensor(rng.uniform(0.05, 1, (b_count, big_a, c_count)), dtype=torch.float32)  # (B, A_big, C)
    pd_bboxes = BIG_POINTS.repeat(1, 2)[None].repeat(b_count, 1, 1) + torch.tensor([-3.0, -3.0, 3.0, 3.0])
    pd_scores[:, index] = scene["pd_scores"]
    pd_bboxes[:, index] = scene["pd_bboxes"] + shift
    big_scene = {"pd_scores": pd_scores, "pd_bboxes": pd_bboxes, "gt_labels": scene["gt_labels"],
                 "gt_bboxes": scene["gt_bboxes"] + shift * scene["mask_gt"], "mask_gt": scene["mask_gt"]}
    big = run(big_scene, cfg, BIG_POINTS)
    # the same pairs, anchors re-indexed, the same numbers bit for bit
    assert torch.equal(big.pair_gt, a.pair_gt) and torch.equal(big.pair_image, a.pair_image)
    assert torch.equal(big.pair_anchor, index[a.pair_anchor])
    assert torch.equal(big.pair_metric, a.pair_metric) and torch.equal(big.pair_iou, a.pair_iou)
    assert torch.equal(big.fg_mask[:, index], a.fg_mask)
    assert int(big.fg_mask.sum()) == int(a.fg_mask.sum())  # nothing outside the shifted region
    fg = a.fg_mask
    assert torch.equal(big.target_gt_idx[:, index][fg], a.target_gt_idx[fg])
    assert torch.equal(big.target_labels[:, index][fg], a.target_labels[fg])
    assert torch.equal(big.target_bboxes[:, index][fg], a.target_bboxes[fg] + shift)
    assert torch.equal(big.target_scores[:, index], a.target_scores)
    assert torch.equal(big.handed[:, index], a.handed)


def test_scene_generator_produces_contested_and_handed_anchors() -> None:
    """Guard: the tie-free scenes above do contain contested anchors, and anchors that the
    all-gts rule hands to a non-chooser, so the conflict properties are not vacuous."""
    cfg = {"variant": "yolov8", "topk": 5, "alpha": 0.5, "beta": 6.0, "strides": STRIDES}
    contested = handed = tie_free_scenes = 0
    for seed in range(30):
        scene = make_scene(seed, batch=2, slots=5, classes=3)
        a = run(scene, {**cfg, "conflict": "all-gts"})
        if a.pair_tied.any():
            continue
        tie_free_scenes += 1
        contested += int(a.contested.sum())
        handed += int(a.handed.sum())
        assert not run(scene, {**cfg, "conflict": "choosers"}).handed.any()
    assert tie_free_scenes >= 10 and contested > 0 and handed > 0, (tie_free_scenes, contested, handed)
