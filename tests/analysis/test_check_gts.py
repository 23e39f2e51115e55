"""Per-gt geometry of the --html drill-down (analysis/check_gts.py): hand-computed cases, and the
numbers of every sample file under every setting equal to what ``tal check`` totals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from tal_cli.analysis import check_gts
from tal_cli.analysis.check_gts import (
    BEYOND_REACH,
    FEWER_THAN_TOPK,
    FINE,
    NO_CANDIDATE,
    PageFiles,
    file_gts,
)
from tal_cli.readers.verdicts import verify_pair
from tal_cli.workflows.check import plan_check, run_check

from ..commands.test_cli_check import bad_tree
from ..conftest import SAMPLES


def _verdict(tmp_path: Path, rows: str, size: tuple[int, int] = (64, 64)):
    Image.new("RGB", size).save(tmp_path / "a.png")
    (tmp_path / "a.txt").write_text(rows)
    return verify_pair(str(tmp_path / "a.png"), str(tmp_path / "a.txt"), None, None, False, "")


def test_hand_computed_statuses(tmp_path: Path) -> None:
    # input 64: the gt 24..40 px holds the stride-8 centres 28 and 36 on each axis (4 candidates, all
    # within reach: 0.5 cells from the sides); the stride-16 centres 24 and 40 sit on its sides (not
    # strictly inside); the 1.28 px gt holds no centre; the 48 px gt (8..56) holds 6x6 centres at stride 8
    # (12..52), 2x2 at stride 16 (24, 40) and 2x2 at stride 32 (16, 48)
    v = _verdict(tmp_path, "0 0.5 0.5 0.25 0.25\n1 0.5 0.5 0.02 0.02\n2 0.5 0.5 0.75 0.75\n")
    plan = plan_check([], imgsz=[64], variant=["yolov8"])
    fg = file_gts(v, plan.settings[0])
    assert fg.candidates.tolist() == [[4, 0, 0], [0, 0, 0], [36, 4, 4]]
    assert fg.status.tolist() == [FEWER_THAN_TOPK, NO_CANDIDATE, FINE]
    assert fg.within_reach.tolist() == [[4, 0, 0], [0, 0, 0], [36, 4, 4]]
    assert (fg.inside.cells == fg.candidates).all()
    assert fg.zero_candidate == 1
    # gt 0's candidates are gt 2's too; gt 2 shares those 4 (stride 8) only
    assert fg.shared.tolist() == [4, 0, 4] and fg.image_shared == 4
    assert fg.inside.first[0, :, 0].tolist() == [3, 3] and fg.inside.stop[0, :, 0].tolist() == [5, 5]


def test_beyond_reach_and_floor(tmp_path: Path) -> None:
    v = _verdict(tmp_path, "0 0.5 0.5 0.75 0.75\n0 0.5 0.5 0.02 0.02\n")
    plan = plan_check([], imgsz=[64], variant=["ultralytics"])
    setting = plan.settings[0]
    fg = file_gts(v, setting)
    assert fg.status.tolist()[1] != NO_CANDIDATE  # widened by the small-box floor
    assert fg.in_box is not None and int(fg.in_box.cells[1].sum()) == 0 < int(fg.candidates[1].sum())
    # stride 32 alone, reg_max 2 (reach 0.99 cells): the gt 8..56 holds the centres 16 and 48 on each axis, each
    # 40 px = 1.25 cells from the far side
    only32 = type(setting)((64, 64), setting.settings.with_(strides=(32,)), 2)
    fg = file_gts(_verdict(tmp_path, "0 0.5 0.5 0.75 0.75\n"), only32)
    assert fg.candidates.tolist() == [[4]] and fg.within_reach.tolist() == [[0]]
    assert fg.status.tolist() == [BEYOND_REACH]


def test_every_sample_file_gives_the_check_numbers() -> None:
    plan = plan_check([SAMPLES], imgsz=[320, 640], variant=["yolov8", "ultralytics"], names=SAMPLES / "data.yaml",
                      workers=1)
    files = []
    result = run_check(plan, on_file=files.append)
    assert len(files) == 3
    for si, (setting, row) in enumerate(zip(plan.settings, result.rows)):
        per_level = torch.zeros(len(setting.strides), dtype=torch.long)
        fewer = beyond = shared = zero = 0
        for f in files:
            v = verify_pair(f.image, f.labels, plan.num_classes, plan.kpt_shape, False, plan.classes_of)
            fg = file_gts(v, setting)
            assert fg.zero_candidate == f.zero_candidate[si], (f.image, setting.label)
            total = fg.total
            per_level += fg.candidates.sum(0)
            fewer += int(((total > 0) & (total < setting.topk)).sum())
            beyond += int(((total > 0) & (fg.within_reach.sum(1) == 0)).sum())
            shared += fg.image_shared
            zero += fg.zero_candidate
            assert (fg.inside.cells == fg.candidates).all()
        assert per_level.tolist() == list(row.candidates_per_stride.values())
        assert (fewer, beyond, shared, zero) == (row.fewer_than_topk, row.beyond_reach, row.shared_anchors,
                                                 row.zero_candidate)


def test_page_files_keep_the_terminal_order_and_a_bounded_list(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    bad_tree(tmp_path / "ds")
    monkeypatch.setattr(check_gts, "MAX_LISTED", 2)
    plan = plan_check(["ds/data.yaml"], workers=1)
    kept = PageFiles(8)
    result = run_check(plan, limit=0, on_file=kept)
    worst = kept.worst()
    seen = [f for f in result.problems if f.status != "dropped"]  # dropped files: listed, never drilled into
    assert len(seen) == 2 and worst[:2] == seen  # the terminal's order
    assert len(worst) == 5 and {f.status for f in worst[2:]} <= {"kept", "background"}  # 10 files, 5 dropped
    assert kept.dropped_total == 5 and [Path(f.image).name for f in kept.dropped] == ["beyond.png", "broken.jpg"]
    assert kept.duplicates_total == 1 and [Path(f.image).name for f in kept.duplicates] == ["dups.png"]
    assert PageFiles(0).worst() == []


@pytest.mark.parametrize("n", [1, 3])
def test_page_files_stay_bounded(n: int) -> None:
    from tal_cli.analysis.check import FileCheck

    kept = PageFiles(n)
    for i in range(1000):
        kept(FileCheck(f"{i}.png", None, None, "kept", None, None, 0, (8, 8), "PNG", (), 1, (i % 7,)))
        assert len(kept._best) <= 4 * n + 64
    assert [f.zero_candidate[0] for f in kept.worst()] == [6] * n
    assert [f.image for f in kept.worst()] == [f"{i}.png" for i in range(6, 6 + 7 * n, 7)]


def test_page_files_leave_dropped_files_out_of_the_drill_down() -> None:
    from tal_cli.analysis.check import FileCheck

    kept = PageFiles(5)
    for i in range(3):
        kept(FileCheck(f"{i}.png", None, None, "dropped", "bad", 1, 0, (8, 8), "PNG", (), 0, (0,)))
    assert kept.worst() == [] and kept.dropped_total == 3 and len(kept.dropped) == 3
