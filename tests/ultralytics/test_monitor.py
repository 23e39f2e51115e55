"""tal_cli.ultralytics.monitor without ultralytics: a stand-in assigner that retries after running out of memory.

ultralytics' TaskAlignedAssigner (8.4), on a CUDA out-of-memory error, redoes the batch one image at
a time: its conflict step (``select_highest_overlaps``) then runs for the failed attempt (when
memory ran out after it) and once per image. The monitor must count the retry's calls only, once
each. The stand-in does that dance around tal's own assignment; the monitor is driven through its
callbacks as a trainer would. Real training is in ``test_monitor_ultralytics.py``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from tal_cli.core.anchors import grid_levels, make_anchors
from tal_cli.core.assigner import assign
from tal_cli.core.settings import AssignerSettings
from tal_cli.ultralytics.monitor import TalMonitor

SETTINGS = AssignerSettings(topk=4, num_classes=3, strides=(8, 16), variant="yolov8")


class RetryingAssigner(torch.nn.Module):
    """Outputs as ultralytics' assigner gives them (tal's assignment); ``fail``: where the first, whole-batch
    attempt runs out of memory: ``"after"`` its conflict step, ``"before"`` it, or None (no failure)."""

    topk, num_classes = SETTINGS.topk, SETTINGS.num_classes

    def __init__(self, fail: str | None, skip_empty: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.skip_empty = skip_empty  # the retry returns early for an image without gts (no conflict step)

    def forward(self, pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt):
        try:
            return self._forward(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, self.fail)
        except RuntimeError as exc:
            if "out of memory" not in str(exc):
                raise
        parts = []
        for i in range(pd_scores.shape[0]):  # one image at a time, its gt slots up to its last real gt
            real = mask_gt[i].reshape(-1).nonzero()
            if self.skip_empty and not len(real):
                parts.append(_background(pd_scores[i:i + 1], pd_bboxes[i:i + 1]))
                continue
            m = max(1, int(real.max()) + 1) if len(real) else 1
            one = (pd_scores[i:i + 1], pd_bboxes[i:i + 1], anc_points, gt_labels[i:i + 1, :m], gt_bboxes[i:i + 1, :m],
                   mask_gt[i:i + 1, :m])
            parts.append(self._forward(*one, None))
        return tuple(torch.cat([p[k] for p in parts]) for k in range(5))

    def _forward(self, pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, fail):
        if fail == "before":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        a = assign(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, SETTINGS)
        b, m = gt_bboxes.shape[:2]
        mask_pos = torch.zeros(b, m, anc_points.shape[0])  # (B, M, A) selected candidates
        sel = a.pair_selected
        mask_pos[a.pair_image[sel], a.pair_gt[sel], a.pair_anchor[sel]] = 1.0
        self._answer = (a.target_gt_idx, a.fg_mask, mask_pos)
        self.select_highest_overlaps(mask_pos, torch.zeros_like(mask_pos), m, torch.zeros_like(mask_pos))
        if fail == "after":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return a.target_labels, a.target_bboxes, a.target_scores, a.fg_mask, a.target_gt_idx

    def select_highest_overlaps(self, mask_pos, overlaps, n_max_boxes, align_metric):
        """The conflict step's interface and outputs ``(target_gt_idx, fg_mask, mask_pos)``: tal's, which
        ``_forward`` computed for these images just before."""
        return self._answer


def _background(pd_scores: torch.Tensor, pd_bboxes: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The outputs for an image without gts: every anchor background."""
    b, a, c = pd_scores.shape
    return (torch.full((b, a), c, dtype=torch.long), torch.zeros_like(pd_bboxes), torch.zeros_like(pd_scores),
            torch.zeros((b, a), dtype=torch.bool), torch.zeros((b, a), dtype=torch.long))


def _batch() -> tuple[torch.Tensor, ...]:
    """3 images of a 64 x 64 input, overlapping gts (anchors selected by several gts in each image)."""
    points, _ = make_anchors(grid_levels((64, 64), SETTINGS.strides))  # (A, 2)
    gen = torch.Generator().manual_seed(5)
    centres = torch.tensor([[[20.0, 20.0], [26.0, 22.0], [44.0, 40.0]], [[30.0, 30.0], [34.0, 30.0], [0.0, 0.0]],
                            [[16.0, 40.0], [20.0, 44.0], [24.0, 40.0]]])  # (B, M, 2)
    half = torch.rand(3, 3, 2, generator=gen) * 8 + 8
    gt_bboxes = torch.cat((centres - half, centres + half), -1)  # (B, M, 4)
    mask_gt = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])[..., None]  # (B, M, 1)
    gt_labels = torch.randint(0, 3, (3, 3, 1), generator=gen)
    pd_scores = torch.rand(3, points.shape[0], 3, generator=gen)
    jitter = torch.randn(3, points.shape[0], 4, generator=gen) * 3
    pd_bboxes = torch.cat((points - 10, points + 10), -1)[None] + jitter  # (B, A, 4)
    return pd_scores, pd_bboxes, points, gt_labels, gt_bboxes, mask_gt


def _epoch(tmp_path: Path, fail: str | None, batch: tuple[torch.Tensor, ...] | None = None, skip_empty: bool = False):
    """One epoch of one batch (default :func:`_batch`) through the monitor's callbacks; the epoch's record."""
    assigner = RetryingAssigner(fail, skip_empty)
    model = SimpleNamespace(criterion=SimpleNamespace(assigner=assigner))
    trainer = SimpleNamespace(save_dir=str(tmp_path / f"{fail}-{skip_empty}"), model=model,
                              args=SimpleNamespace(model="stand-in", data="", imgsz=64), epoch=0, epochs=1,
                              batch_size=3, device="cpu", preprocess_batch=lambda batch: batch)
    monitor = TalMonitor(every=0)
    monitor.on_train_start(trainer)
    monitor.on_train_epoch_start(trainer)
    monitor.on_train_batch_start(trainer)
    assigner(*(batch or _batch()))
    monitor.on_train_batch_end(trainer)
    monitor.on_train_epoch_end(trainer)
    monitor.close()
    [record] = monitor.records
    return record


@pytest.mark.parametrize("fail", ["after", "before"])
def test_a_batch_retried_one_image_at_a_time_counts_its_retry_once(tmp_path: Path, fail: str) -> None:
    a = assign(*_batch(), SETTINGS)
    contested = (a.choosers > 1).sum(1).tolist()  # per image
    assert all(contested), contested  # every image holds contested anchors: each retry call matters
    plain, retried = _epoch(tmp_path, None), _epoch(tmp_path, fail)
    assert plain.batches == retried.batches == 1 and retried.images == 3
    assert plain.contested == retried.contested == sum(contested)
    assert plain.handed == retried.handed == int(a.handed.sum())
    assert (retried.gts, retried.positives) == (plain.gts, plain.positives) == (8, int(a.fg_mask.sum()))


def test_retry_calls_that_do_not_add_up_to_the_batch_are_never_double_counted(tmp_path: Path) -> None:
    # the middle image has no gt and its retry skips the conflict step: the calls seen are the failed
    # attempt's (3 images) and two of one image. Counting the failed attempt with them would double the
    # count; the monitor says it does not know (None) rather than give a wrong number
    pd_scores, pd_bboxes, points, gt_labels, gt_bboxes, mask_gt = _batch()
    mask_gt = mask_gt.clone()
    mask_gt[1] = 0
    batch = (pd_scores, pd_bboxes, points, gt_labels, gt_bboxes, mask_gt)
    a = assign(*batch, SETTINGS)
    true = int((a.choosers > 1).sum())
    assert true > 0
    assert _epoch(tmp_path, None, batch).contested == true
    retried = _epoch(tmp_path, "after", batch, skip_empty=True)
    assert retried.gts == 6 and retried.contested in (None, true) and retried.handed in (None, int(a.handed.sum()))
