"""The training monitor's counters: hand cases, and naive Python loops over random calls."""

from __future__ import annotations

import pytest
import torch

from tal_cli.analysis.reasons import REASONS, no_positive_reasons
from tal_cli.analysis.training import (
    BUCKETS,
    HIST_BINS,
    INT_FIELDS,
    Counts,
    ImageStat,
    conflict_counts,
    count_conflicts,
    count_outputs,
    count_rerun,
    gt_buckets,
    histogram_stats,
    merge_worst,
    worst_of,
)
from tal_cli.core.assigner import assign
from tal_cli.core.settings import AssignerSettings

from ..core.test_assigner_scenes import Scene

NAMES = [name for name, _ in BUCKETS]


def test_buckets_by_hand() -> None:
    boxes = torch.tensor([[[0, 0, 4, 4],        # 16 px²: small; longer side 4: < 16, < 8
                           [0, 0, 7.9, 20],     # 158: small; longer side 20
                           [0, 0, 10, 15.9],    # small; < 16, not < 8
                           [0, 0, 32, 32],      # 1024 = 32²: medium (small is < 32²)
                           [0, 0, 31.9, 32],    # just under 32²: small
                           [0, 0, 96, 96],      # 96²: large
                           [10, 10, 18, 18]]],  # 8 x 8: < 16, not < 8
                         dtype=torch.float32)
    got = gt_buckets(boxes)[:, 0].T.tolist()  # (M, buckets)
    expected = [
        [True, False, False, True, True],
        [True, False, False, False, False],
        [True, False, False, True, False],
        [False, True, False, False, False],
        [True, False, False, False, False],
        [False, False, True, False, False],
        [True, False, False, True, False],
    ]
    assert NAMES == ["small", "medium", "large", "lt16px", "lt8px"]
    assert got == expected


def test_a_box_of_unknown_area_is_large_as_everywhere() -> None:
    """A NaN area lands in ``large`` (:func:`~tal_cli.analysis.counts.size_bucket`), so the COCO
    buckets still add up to the gts."""
    boxes = torch.tensor([[[0, 0, float("nan"), 4], [0, 0, 2, 2]]])
    assert gt_buckets(boxes)[:3, 0].T.tolist() == [[False, False, True], [True, False, False]]


def test_histogram_stats_by_hand() -> None:
    hist = [0] * HIST_BINS
    hist[0], hist[2], hist[3] = 1, 2, 1  # counts 0, 2, 2, 3
    per = histogram_stats(hist, positives=7, gts=4)
    assert (per.mean, per.median, per.max) == (7 / 4, 2.0, 3)
    hist[9] = 1  # counts 0, 2, 2, 3, 9
    per = histogram_stats(hist, positives=16, gts=5)
    assert (per.mean, per.median, per.max) == (16 / 5, 2.0, 9)
    assert histogram_stats([0] * HIST_BINS, 0, 0).mean is None


def _random_call(seed: int, b: int = 3, m: int = 6, a: int = 40, c: int = 4, dtype=torch.float32):
    """Inputs' gts and five outputs of a made-up assigner call (consistent: positives belong to real gts)."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(b, m, generator=g) < 0.8
    labels = torch.randint(0, c, (b, m, 1), generator=g).float() * mask[..., None]
    xy = torch.rand(b, m, 2, generator=g) * 200
    wh = torch.exp(torch.rand(b, m, 2, generator=g) * 5) * 1.2  # 1.2 .. 178 px
    boxes = torch.cat((xy, xy + wh), -1) * mask[..., None]
    fg = torch.rand(b, a, generator=g) < 0.3
    gidx = torch.zeros(b, a, dtype=torch.long)
    for i in range(b):
        real = mask[i].nonzero().squeeze(1)
        if real.numel() == 0:
            fg[i] = False
            continue
        gidx[i] = real[torch.randint(0, real.numel(), (a,), generator=g)]
    gidx = torch.where(fg, gidx, 0)
    target_labels = labels[..., 0].long().gather(1, gidx)
    score = torch.rand(b, a, generator=g) * fg
    target_scores = (torch.nn.functional.one_hot(target_labels, c) * score[..., None]).to(dtype)
    return labels, boxes, mask[..., None].float(), target_labels, target_scores, fg, gidx


def _naive_outputs(labels, boxes, mask, target_labels, target_scores, fg, gidx, c):
    b, m = boxes.shape[:2]
    fg_, gidx_, mask_ = fg.tolist(), gidx.tolist(), mask[..., 0].tolist()
    out = {"batches": 1, "images": b, "gts": 0, "gts_without_positives": 0, "positives": int(fg.sum())}
    for name in NAMES:
        out[f"gts_{name}"] = out[f"without_{name}"] = 0
    counts, classes = [], {}
    for i in range(b):
        for j in range(m):
            if not mask_[i][j]:
                continue
            n = sum(1 for an in range(len(fg_[i])) if fg_[i][an] and gidx_[i][an] == j)
            counts.append(n)
            x1, y1, x2, y2 = boxes[i, j].double().tolist()
            w, h = x2 - x1, y2 - y1
            inside = {"small": w * h < 1024, "medium": 1024 <= w * h < 9216, "large": w * h >= 9216,
                      "lt16px": max(w, h) < 16, "lt8px": max(w, h) < 8}
            out["gts"] += 1
            out["gts_without_positives"] += n == 0
            cls = int(labels[i, j, 0])
            g_, z_ = classes.get(cls, (0, 0))
            classes[cls] = (g_ + 1, z_ + (n == 0))
            for name in NAMES:
                out[f"gts_{name}"] += inside[name]
                out[f"without_{name}"] += inside[name] and n == 0
    score_sum = sum(float(target_scores[i, an].double().sum())
                    for i in range(b) for an in range(len(fg_[i])) if fg_[i][an])
    return out, counts, classes, score_sum


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_count_outputs_matches_a_naive_loop(seed: int, dtype) -> None:
    call = _random_call(seed, dtype=dtype)
    files = ["a.jpg", "b.jpg", "c.jpg"]
    counts = count_outputs(*call, num_classes=4, files=files)
    expected, per_gt, classes, score_sum = _naive_outputs(*call, c=4)
    ints = dict(zip(INT_FIELDS, counts.ints.tolist()))
    assert {k: ints[k] for k in expected} == expected
    assert all(ints[k] == 0 for k in INT_FIELDS if k not in expected)
    hist = counts.hist.tolist()
    assert hist == [per_gt.count(k) for k in range(HIST_BINS)]
    assert float(counts.target_score_sum) == pytest.approx(score_sum, rel=1e-6)
    assert {c: (g, z) for c, (g, z) in enumerate(zip(counts.class_gts.tolist(), counts.class_without.tolist())) if g} \
        == classes
    rows, names = counts.images[0]
    assert names == files and rows.sum(0).tolist() == [expected["gts_without_positives"], expected["gts"]]


def test_count_outputs_without_gts() -> None:
    """The assigner's early return for M == 0: background everywhere, label C."""
    b, a, c = 2, 10, 3
    counts = count_outputs(torch.zeros(b, 0, 1), torch.zeros(b, 0, 4), torch.zeros(b, 0, 1),
                           torch.full((b, a), c), torch.zeros(b, a, c), torch.zeros(b, a, dtype=torch.bool),
                           torch.zeros(b, a), num_classes=c)
    ints = dict(zip(INT_FIELDS, counts.ints.tolist()))
    assert (ints["batches"], ints["images"], ints["gts"], ints["positives"]) == (1, 2, 0, 0)
    record = counts.record(1, "one2many")
    assert record.zero_positive_rate is None and record.positives_per_gt.mean is None and record.contested is None


@pytest.mark.parametrize("seed", range(4))
def test_count_conflicts_matches_a_naive_loop(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    b, m, a = 2, 5, 30
    mask_pos = (torch.rand(b, m, a, generator=g) < 0.25).to(torch.int8)
    overlaps = torch.rand(b, m, a, generator=g)
    # The conflict rule of both references: an anchor chosen by several gts goes to the gt of largest IoU.
    choosers = mask_pos.sum(1)
    best = overlaps.argmax(1)
    gidx = torch.where(choosers > 1, best, mask_pos.argmax(1))
    fg = choosers > 0
    got = count_conflicts(mask_pos.sum(-2, dtype=torch.int16), mask_pos, gidx, fg).tolist()
    contested = sum(1 for i in range(b) for an in range(a) if int(mask_pos[i, :, an].sum()) > 1)
    handed = sum(1 for i in range(b) for an in range(a) if fg[i, an] and mask_pos[i, gidx[i, an], an] == 0)
    assert got == [contested, handed]
    assert handed > 0  # the random overlaps hand some anchors to gts that did not select them
    ints = dict(zip(INT_FIELDS, conflict_counts(torch.tensor(got)).ints.tolist()))
    assert (ints["conflict_batches"], ints["contested"], ints["handed"], ints["batches"]) == (1, contested, handed, 0)


def _scene_batch(seed: int):
    g = torch.Generator().manual_seed(seed)
    gts = [[(int(torch.randint(0, 3, (), generator=g)),
             [x, y, x + w, y + h]) for x, y, w, h in (torch.rand(5, 4, generator=g) * torch.tensor([50, 50, 14, 14])
                                                     + torch.tensor([0, 0, 1, 1])).tolist()] for _ in range(2)]
    scene = Scene(gts)
    a_ = scene.points.shape[0]
    scene.pd_scores = torch.rand(2, a_, 3, generator=g)
    centre = scene.points[None].expand(2, -1, -1) + torch.randn(2, a_, 2, generator=g) * 2
    half = torch.rand(2, a_, 2, generator=g) * 8 + 1
    scene.pd_bboxes = torch.cat((centre - half, centre + half), -1)
    return scene


def test_count_rerun_by_hand_disagreement() -> None:
    scene = _scene_batch(3)
    settings = AssignerSettings(topk=3, num_classes=3, strides=(8, 16), variant="ultralytics")
    a = assign(scene.pd_scores, scene.pd_bboxes, scene.points, scene.gt_labels, scene.gt_bboxes, scene.mask_gt,
               settings, dense_scores=False)
    assert a.target_scores is None
    fg, gidx = a.fg_mask.clone(), a.target_gt_idx.clone()
    same = dict(zip(INT_FIELDS, count_rerun(a, fg, gidx).ints.tolist()))
    codes = no_positive_reasons(a)
    assert same["rerun_batches"] == 1 and same["rerun_gts"] == int(a.gt_mask.sum())
    assert same["rerun_without_positives"] == int((codes > 0).sum())
    assert [same[f"reason_{r}"] for r in REASONS] == [int((codes == k).sum()) for k in range(1, len(REASONS) + 1)]
    assert same["rerun_differing_anchors"] == 0 and same["rerun_tied_candidates"] == int(a.pair_tied.sum())
    # Another assigner that gives image 0's first positive to another gt and adds a positive to image 1.
    first = int(fg[0].nonzero()[0])
    gidx[0, first] = (gidx[0, first] + 1) % 5
    extra = int((~fg[1]).nonzero()[0])
    fg[1, extra] = True
    diff = dict(zip(INT_FIELDS, count_rerun(a, fg, gidx).ints.tolist()))
    tied_images = {int(i) for i in a.pair_image[a.pair_tied].tolist()}
    assert diff["rerun_differing_anchors"] == 2
    assert diff["rerun_unexplained_anchors"] == sum(1 for i in (0, 1) if i not in tied_images)


def test_counts_add_and_record() -> None:
    call = _random_call(0)
    one = count_outputs(*call, num_classes=4, files=["a", "b", "c"])
    two = count_outputs(*call, num_classes=4, files=["d", "e", "f"])
    total = Counts.zeros(4).add_(one).add_(two)
    rec = total.record(7, "one2one", worst=2)
    assert (rec.epoch, rec.branch, rec.batches, rec.images) == (7, "one2one", 2, 6)
    assert rec.gts == 2 * int(one.value("gts"))
    assert rec.contested is None  # no conflict step was seen
    total.add_(conflict_counts(torch.tensor([3, 1]))).add_(conflict_counts(torch.tensor([2, 0])))
    rec = total.record(7, "one2one", worst=2)
    assert (rec.contested, rec.handed) == (5, 1)
    assert rec.rerun is None
    assert len(rec.worst_images) == 2
    assert set(rec.by_class) == {c for c in range(4) if int(total.class_gts[c])}


def test_class_counters_grow_for_a_wider_head() -> None:
    total = Counts.zeros(2)
    total.add_(count_outputs(*_random_call(1, c=4), num_classes=4))
    assert total.class_gts.numel() == 4


def test_worst_images_order() -> None:
    rows = torch.tensor([[1, 10], [3, 4], [3, 30], [0, 5]])
    worst = worst_of([(rows[:2], ["b", "a"]), (rows[2:], ["c", "d"]), (rows[:1], None)], 3)
    assert worst == [ImageStat("a", 4, 3), ImageStat("c", 30, 3), ImageStat("b", 10, 1)]  # images with 0 left out
    merged = merge_worst([worst, [ImageStat("z", 5, 5)]], 2)
    assert merged == [ImageStat("z", 5, 5), ImageStat("a", 4, 3)]
    assert worst_of([(rows, None)], 5) == [] and worst_of([(rows[:1], ["x"])], 0) == []


def test_strided_inputs_count_the_same() -> None:
    """Non-contiguous target scores and selection masks take the gather paths, with the same counts."""
    call = _random_call(2)
    labels, boxes, mask, tl, ts, fg, gidx = call
    strided = ts.transpose(0, 1).contiguous().transpose(0, 1)
    assert not strided.is_contiguous()
    a = count_outputs(*call, num_classes=4)
    b = count_outputs(labels, boxes, mask, tl, strided, fg, gidx, num_classes=4)
    assert torch.equal(a.ints, b.ints) and float(a.target_score_sum) == pytest.approx(float(b.target_score_sum))
    g = torch.Generator().manual_seed(0)
    mask_pos = (torch.rand(3, 6, 40, generator=g) < 0.3).to(torch.int8)
    choosers = mask_pos.sum(-2, dtype=torch.int16)
    swapped = mask_pos.transpose(0, 2).contiguous().transpose(0, 2)
    assert not swapped.is_contiguous()
    assert (
        count_conflicts(choosers, mask_pos, gidx, fg).tolist() == count_conflicts(choosers, swapped, gidx, fg).tolist()
    )
