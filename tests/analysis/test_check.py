"""tal_cli.analysis.check: per-file records and per-setting totals of `tal check`.

Hand-made verdicts (boxes chosen so that the letterboxed pixels are exact), then the batch
letterbox against ``Letterbox.boxes_to_input`` image by image, and totals that add up the
same in any grouping of the files.
"""

from __future__ import annotations

from pathlib import Path

import torch

from tal_cli.analysis.check import (
    SettingTotals,
    check_row,
    check_settings,
    letterbox_boxes,
    measure,
    most_exposed,
    problem_key,
)
from tal_cli.core.settings import AssignerSettings
from tal_cli.readers.images import Letterbox
from tal_cli.readers.labels import NO_LABELS, Labels
from tal_cli.readers.verdicts import BACKGROUND, DROPPED, KEPT, FileVerdict

BASE = AssignerSettings(topk=10)


def kept(boxes, classes=None, size=(640, 640), name="a.png") -> FileVerdict:
    classes = classes or [0] * len(boxes)
    return FileVerdict(Path(name), Path(name).with_suffix(".txt"), KEPT, None,
                       Labels(tuple(classes), tuple(map(tuple, boxes)), tuple(range(1, len(boxes) + 1))), 0, size)


def test_counts_by_hand() -> None:
    # 640x640 image at input 640: normalised x 640 px. gt 0: 0.5 px wide at 320 (no centre inside, small);
    # gt 1: 0..64 px square (8x8 + 4x4 + 2x2 = 84 candidates, medium); gt 2: 2..18 px (small): centres 4, 12 at
    # stride 8 (2 x 2), 8 at stride 16 and 16 at stride 32 (1 each): 6 candidates, fewer than topk 10
    a = kept(
        [(0.5, 0.5, 0.5 + 0.5 / 640, 0.5 + 0.5 / 640), (0.0, 0.0, 0.1, 0.1), (2 / 640, 2 / 640, 18 / 640, 18 / 640)],
        classes=[3, 1, 3],
    )
    [yolov8, ultra] = check_settings([(640, 640)], ["yolov8", "ultralytics"], BASE, 16)
    m = measure([a], [yolov8, ultra])
    assert m.zero_candidate == [(1, 0)] and m.not_finite == [0]
    row = check_row(yolov8, m.totals[0])
    assert (row.gts, row.zero_candidate) == (3, 1)
    assert {k: (v.gts, v.zero) for k, v in row.by_size.items()} == {"small": (2, 1), "medium": (1, 0), "large": (0, 0)}
    assert {k: (v.gts, v.zero) for k, v in row.by_class.items()} == {1: (1, 0), 3: (2, 1)}
    assert row.candidates_per_stride == {8: 64 + 4, 16: 16 + 1, 32: 4 + 1}
    assert row.fewer_than_topk == 1  # gt 2 (6 candidates); gt 0 has none and is counted as zero-candidate only
    assert row.beyond_reach == 0
    # gt 2's cells are gt 1's too: 6 shared anchors, and every candidate of gt 2 is shared
    assert row.shared_anchors == 6 and row.fully_shared == 1
    assert row.exposed[0].gt == 2 and (row.exposed[0].candidates, row.exposed[0].shared) == (6, 6)
    # the floor (16 px) gives gt 0 candidates
    assert check_row(ultra, m.totals[1]).zero_candidate == 0


def test_background_dropped_and_not_finite_gts() -> None:
    bg = FileVerdict(Path("b.png"), None, BACKGROUND, "no label file", NO_LABELS, 0, (50, 50))
    dropped = FileVerdict(Path("c.png"), Path("c.txt"), DROPPED, "bad", NO_LABELS, 0, (50, 50))
    inf = kept([(0.1, 0.1, 0.2, 0.2), (0.0, 0.0, float("inf"), 0.5)], name="d.png")
    [s] = check_settings([(320, 320)], ["yolov8"], BASE, 16)
    m = measure([bg, dropped, inf], [s])
    assert m.not_finite == [0, 0, 1] and m.zero_candidate == [(0,), (0,), (0,)]
    assert (m.totals[0].images, m.totals[0].gts) == (1, 1)


def test_batch_letterbox_equals_tal_assigns_per_image() -> None:
    gen = torch.Generator().manual_seed(0)
    sizes = [(480, 640), (1080, 1920), (640, 480), (333, 777), (1000, 10)]
    counts = torch.tensor([3, 1, 4, 2, 5])
    norm = torch.rand(int(counts.sum()), 4, generator=gen, dtype=torch.float64)
    norm[:, 2:] += norm[:, :2]
    for imgsz in ((640, 640), (1280, 1280), (384, 640)):
        got = letterbox_boxes(norm.float(), sizes, counts, imgsz)
        start = 0
        for hw, n in zip(sizes, counts.tolist()):
            expected = Letterbox.fit(hw, imgsz).boxes_to_input(norm[start:start + n])
            assert torch.equal(got[start:start + n], expected)
            start += n


def test_totals_add_up_in_any_grouping() -> None:
    gen = torch.Generator().manual_seed(1)
    files = []
    for i in range(7):
        n = int(torch.randint(1, 30, (1,), generator=gen))
        xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 0.9
        wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 0.2
        files.append(kept(torch.cat((xy, xy + wh), 1).tolist(), [int(c) for c in torch.randint(0, 4, (n,))],
                          size=(480 + 40 * i, 640), name=f"{i}.png"))
    settings = check_settings([(640, 640), (320, 320)], ["yolov8", "ultralytics"], BASE, 16)
    whole = measure(files, settings)
    parts = [measure(files[:3], settings), measure(files[3:5], settings), measure(files[5:], settings)]
    for k, s in enumerate(settings):
        merged = SettingTotals(3)
        for p in parts:
            merged.merge(p.totals[k])
        assert check_row(s, merged) == check_row(s, whole.totals[k])
    assert [z for p in parts for z in p.zero_candidate] == whole.zero_candidate


def test_most_exposed_and_problem_order() -> None:
    from tal_cli.analysis.check import ExposedGt, FileCheck

    gts = [ExposedGt("a", 1, 0, 0, (0, 0, 1, 1), 4, 2), ExposedGt("a", 2, 1, 0, (0, 0, 1, 1), 9, 9),
           ExposedGt("b", 1, 0, 0, (0, 0, 1, 1), 1, 1)]
    assert [(e.image, e.gt) for e in most_exposed(gts, 2)] == [("b", 0), ("a", 1)]  # all shared, fewer first

    def f(status, zero, dups=0):
        return FileCheck("x", None, None, status, None, None, dups, None, None, (), 1, zero)

    ordered = sorted([f(KEPT, (1,)), f(DROPPED, (0,)), f(KEPT, (0,), 2), f(KEPT, (5,))], key=problem_key)
    assert [(g.status, g.zero_candidate, g.duplicates_removed) for g in ordered] == [
        (DROPPED, (0,), 0), (KEPT, (5,), 0), (KEPT, (1,), 0), (KEPT, (0,), 2)]
