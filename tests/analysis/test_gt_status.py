"""analysis/gt_status.py: each gt's positives per setting, from the sweep's own assignments."""

from __future__ import annotations

from pathlib import Path

import torch

from tal_cli.analysis.gt_status import GtCounts, GtStatus
from tal_cli.analysis.sweep import sweep
from tal_cli.core.settings import AssignerSettings
from tal_cli.readers.scene import load_scene

from ..conftest import sample


def _status(positives: list[list[int]], image: list[int], images: int) -> GtStatus:
    g = len(image)
    return GtStatus(tuple(Path(f"i{k}.jpg") for k in range(images)), torch.tensor(image), torch.arange(g),
                    torch.zeros(g, dtype=torch.long), torch.zeros(g, dtype=torch.long),
                    torch.ones(g, dtype=torch.float64), torch.ones(g, dtype=torch.float64), torch.tensor(positives))


def test_hand_made_status() -> None:
    # 3 images; gts: image 0 has 2, image 1 has 3, image 2 has 1. Two settings.
    s = _status([[0, 3, 0, 0, 2, 1],
                 [2, 3, 0, 1, 0, 0]], [0, 0, 1, 1, 1, 2], 3)
    assert s.zero_per_image().tolist() == [[1, 2, 0], [0, 2, 1]]
    assert s.gts_per_image().tolist() == [2, 3, 1]
    assert s.changed().tolist() == [True, False, False, True, True, True]
    assert s.patterns() == [((False, True), 2), ((True, False), 2), ((False, False), 1), ((True, True), 1)]
    # worst under its worst setting: image 1 (2), then images 0 and 2 (1 each): 0 has more gts.
    assert s.worst_images(5) == [1, 0, 2]
    assert s.worst_images(1) == [1]
    assert s.worst_images(0) == []


def test_counts_add_up_to_the_sweep_rows() -> None:
    scenes = [load_scene(*sample(stem), (640, 640), (8, 16, 32), 16) for stem in ("astronaut", "hubble_left", "coffee")]
    settings = [AssignerSettings(topk=k, num_classes=1, variant=v) for k in (5, 10) for v in ("yolov8", "ultralytics")]
    counts = GtCounts(len(settings))
    rows = sweep(scenes, settings, batch_size=2, on_assignment=counts)
    status = counts.table()
    # The sweep batches scenes that share classes and grid: the 8-class photos first, then hubble_left (1 class).
    order = [scenes[0], scenes[2], scenes[1]]
    assert [p.name for p in status.images] == ["astronaut.png", "coffee.png", "hubble_left.jpg"]
    assert status.image.tolist() == [i for i, s in enumerate(order) for _ in range(s.num_gts)]
    assert status.slot.tolist() == [j for s in order for j in range(s.num_gts)]
    assert status.cls.tolist() == [c for s in order for c in s.gt_classes.tolist()]
    for k, row in enumerate(rows):
        assert int(status.positives[k].sum()) == row.positives
        assert int((status.positives[k] == 0).sum()) == row.gts_without_positives
        by_size = torch.bincount(status.size[status.positives[k] == 0], minlength=3).tolist()
        assert by_size == [row.by_size[n].zero for n in ("small", "medium", "large")]
    assert status.zero_per_image().sum(1).tolist() == [r.gts_without_positives for r in rows]
