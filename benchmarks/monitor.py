#!/usr/bin/env python
"""What the training monitor adds to ultralytics' assigner call: counters alone, and with tal's re-run.

Run from the repository root with an interpreter that has ultralytics (its venv; tal from
this checkout on the path)::

    PYTHONPATH=$PWD ../ulvenv/bin/python benchmarks/monitor.py              # both cases, 1 thread
    PYTHONPATH=$PWD ../ulvenv/bin/python benchmarks/monitor.py --gts 20 --rounds 15
    PYTHONPATH=$PWD ../ulvenv/bin/python benchmarks/monitor.py --threads 0  # torch's default threads

One case per ``--gts`` value: a batch of 16 images at 640 x 640 (8,400 anchors at strides
8/16/32), 80 classes, that many gts per image (sides log-uniform in [4, 200] px, centres
uniform); ``pd_scores = sigmoid(N(0, 1))``; every anchor inside a gt predicts a jittered
copy of it (10 % of the side), the others a random box around themselves. The assigner is
ultralytics' own ``TaskAlignedAssigner`` as its detection loss builds it (topk 10, alpha
0.5, beta 6, strides 8/16/32).

First, the monitor's own work alone on one call's tensors (what its hooks compute, with
ultralytics' own pre-conflict mask for the conflict counts; ``tal``'s re-run), against the
call itself: the most stable figure on a busy machine. Then three ways of making the same
call, measured in the same process on the same tensors:

- ``plain``: ``assigner(...)`` alone;
- ``counters``: with the monitor attached (``every=0``): its forward hooks, the wrapped
  conflict step, and the batch-end commit;
- ``re-run``: the monitor with ``every=1``: also ``tal``'s own assignment of the same
  inputs in float32, every call.

The monitor is attached through its callbacks to a stand-in trainer whose loss object holds
that assigner, as in training. Each round times the three once, in a rotating order (so a
busy neighbour on a shared machine slows all three alike); the table gives the median of
``--rounds`` rounds after one warm-up round: the fastest round (the least disturbed, the
cost itself) and, in brackets, the median; and the overhead ratios against ``plain``. Two
clocks: the CPU time of the calling thread (with one torch thread all the work runs there;
time spent waiting for a core that another process holds is not counted, so this is the
figure to trust on a shared machine) and the wall time.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

BATCH, IMGSZ, CLASSES, STRIDES = 16, 640, 80, (8, 16, 32)


def anchors(imgsz: int) -> torch.Tensor:
    """``Tensor[A, 2]`` anchor centres in px, levels in stride order, row-major."""
    pts = []
    for s in STRIDES:
        n = imgsz // s
        ys, xs = torch.meshgrid(torch.arange(n) + 0.5, torch.arange(n) + 0.5, indexing="ij")
        pts.append(torch.stack((xs, ys), -1).reshape(-1, 2) * s)
    return torch.cat(pts)


def make_inputs(gts: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """The six assigner inputs of one case (see the module docstring)."""
    g = torch.Generator().manual_seed(seed)
    anc = anchors(IMGSZ)
    a = anc.shape[0]
    side = torch.exp(torch.empty(BATCH, gts, 2).uniform_(math.log(4), math.log(200), generator=g))
    centre = torch.rand(BATCH, gts, 2, generator=g) * IMGSZ
    gt_bboxes = torch.cat((centre - side / 2, centre + side / 2), -1).clamp(0, IMGSZ)
    gt_labels = torch.randint(0, CLASSES, (BATCH, gts, 1), generator=g).float()
    mask_gt = torch.ones(BATCH, gts, 1)
    pd_scores = torch.randn(BATCH, a, CLASSES, generator=g).sigmoid()
    around = torch.rand(BATCH, a, 2, generator=g) * 60 + 4
    pd_bboxes = torch.cat((anc - around / 2, anc + around / 2), -1)
    inside = ((anc[None, None] > gt_bboxes[:, :, None, :2]) & (anc[None, None] < gt_bboxes[:, :, None, 2:])).all(-1)
    has = inside.any(1)  # (B, A)
    first = inside.float().argmax(1)  # (B, A): a gt holding the anchor
    held = gt_bboxes.gather(1, first[..., None].expand(-1, -1, 4))  # (B, A, 4)
    size = (held[..., 2:] - held[..., :2]).repeat(1, 1, 2)
    jitter = held + torch.randn(held.shape, generator=g) * 0.1 * size
    pd_bboxes = torch.where(has[..., None], jitter, pd_bboxes)
    return pd_scores, pd_bboxes, anc, gt_labels, gt_bboxes, mask_gt


def build(every: int | None):
    """(assigner, monitor or None, stand-in trainer) for one way of calling."""
    from ultralytics.utils.tal import TaskAlignedAssigner

    from tal_cli.ultralytics.monitor import TalMonitor

    assigner = TaskAlignedAssigner(topk=10, num_classes=CLASSES, alpha=0.5, beta=6.0, stride=list(STRIDES))
    if every is None:
        return assigner, None, None
    model = types.SimpleNamespace(criterion=types.SimpleNamespace(assigner=assigner), init_criterion=None)
    trainer = types.SimpleNamespace(
        model=model, save_dir=tempfile.mkdtemp(prefix="tal-bench-"), epoch=0, epochs=1, start_epoch=0,
        batch_size=BATCH, world_size=0, device=torch.device("cpu"), data={"names": {}},
        args=types.SimpleNamespace(model="benchmark", data="synthetic", imgsz=IMGSZ),
        preprocess_batch=lambda batch: batch)
    monitor = TalMonitor(every=every)
    monitor.on_train_start(trainer)
    monitor.on_train_epoch_start(trainer)
    return assigner, monitor, trainer


def timed_call(assigner, monitor, trainer, inputs) -> tuple[float, float]:
    """(thread CPU seconds, wall seconds) of one call, with the monitor's batch start and end."""
    cpu, wall = time.thread_time(), time.perf_counter()
    if monitor is not None:
        monitor.on_train_batch_start(trainer)
    assigner(*inputs)
    if monitor is not None:
        monitor.on_train_batch_end(trainer)
    return time.thread_time() - cpu, time.perf_counter() - wall


def run_case(gts: int, rounds: int) -> dict[str, dict[str, tuple[float, float]]]:
    """Per way, per clock (``cpu``, ``wall``): (fastest round, median round) in seconds."""
    inputs = make_inputs(gts)
    ways = {"plain": build(None), "counters": build(0), "re-run": build(1)}
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in ways}
    names = list(ways)
    for r in range(rounds + 1):
        order = names[r % 3:] + names[: r % 3]
        for name in order:
            t = timed_call(*ways[name], inputs)
            if r:  # round 0 warms up
                times[name].append(t)
    for name, (_, monitor, trainer) in ways.items():
        if monitor is not None:  # the epoch end: one sync, the files (not timed)
            monitor.on_train_epoch_end(trainer)
            monitor.close()
            rec = monitor.records[-1]
            rerun = f", re-run unexplained anchors {rec.rerun.unexplained_anchors}" if rec.rerun else ""
            print(f"  {name}: recorded {rec.batches} calls, {rec.gts} gts, {rec.gts_without_positives} without "
                  f"positives, {rec.contested} contested{rerun}", flush=True)
    out = {}
    for name, ts in times.items():
        out[name] = {}
        for k, clock in enumerate(("cpu", "wall")):
            values = [t[k] for t in ts]
            out[name][clock] = (min(values), statistics.median(values))
    return out


def table(rows, clock: str, heading: str) -> None:
    print(heading)
    print(f"{'gts/image':>9}  {'plain':>14}  {'counters':>14}  {'re-run':>14}  {'counters':>15}  {'re-run':>15}")
    for gts, t in rows:
        (p_min, p_med), (c_min, c_med), (r_min, r_med) = (t[k][clock] for k in ("plain", "counters", "re-run"))

        def ms(a: float, b: float) -> str:
            return f"{1000 * a:6.1f} ({1000 * b:5.1f})"

        def pct(a: float, b: float, pa: float, pb: float) -> str:
            return f"{100 * (a / pa - 1):+5.1f}% ({100 * (b / pb - 1):+5.1f}%)"

        print(f"{gts:>9}  {ms(p_min, p_med):>14}  {ms(c_min, c_med):>14}  {ms(r_min, r_med):>14}  "
              f"{pct(c_min, c_med, p_min, p_med):>15}  {pct(r_min, r_med, p_min, p_med):>15}")


def components(gts: int, rounds: int) -> dict[str, float]:
    """The monitor's own work for one call, alone, on that call's tensors: fastest of ``rounds``, thread CPU seconds.

    ``counters``: what the hooks compute (outputs, the int16 gt-axis sum and the conflict
    counts on ultralytics' own pre-conflict mask, the batch-end commit); ``re-run``: ``tal``'s
    assignment of the inputs and its comparison. ``plain``: the assigner call.
    """
    from tal_cli.analysis.training import Counts, conflict_counts, count_conflicts, count_outputs, count_rerun
    from tal_cli.core.assigner import assign
    from tal_cli.ultralytics.monitor import assigner_settings

    inputs = make_inputs(gts)
    assigner, _, _ = build(None)
    target_labels, _, target_scores, fg, gidx = assigner(*inputs)
    pd_scores, pd_bboxes, anc, labels, boxes, mask = inputs
    assigner.bs, assigner.n_max_boxes = BATCH, gts
    mask_pos, _, _ = assigner.get_pos_mask(pd_scores, pd_bboxes, labels, boxes, anc, mask)
    settings = assigner_settings(assigner)
    total = Counts.zeros(CLASSES)

    def counters() -> None:
        counts = count_outputs(labels, boxes, mask, target_labels, target_scores, fg, gidx, CLASSES)
        counts.add_(conflict_counts(count_conflicts(mask_pos.sum(-2, dtype=torch.int16), mask_pos, gidx, fg)))
        total.add_(counts)

    def rerun() -> None:
        a = assign(pd_scores.float(), pd_bboxes.float(), anc.float(), labels, boxes.float(), mask, settings,
                   dense_scores=False)
        count_rerun(a, fg, gidx)

    out = {}
    for name, func in (("plain", lambda: assigner(*inputs)), ("counters", counters), ("re-run", rerun)):
        func()
        times = []
        for _ in range(rounds):
            start = time.thread_time()
            func()
            times.append(time.thread_time() - start)
        out[name] = min(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gts", type=int, nargs="+", default=[20, 100], help="gts per image, one case each")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per case (after one warm-up)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import ultralytics

    print(f"ultralytics {ultralytics.__version__}, torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"batch {BATCH}, {IMGSZ} px, {CLASSES} classes, {args.rounds} rounds", flush=True)
    rows = []
    for gts in args.gts:
        print(f"case: {gts} gts per image", flush=True)
        t = run_case(gts, args.rounds)
        rows.append((gts, t))
    print()
    print("the monitor's own work alone, thread CPU time, fastest round; share of the plain call")
    print(f"{'gts/image':>9}  {'plain ms':>9}  {'counters ms':>11}  {'re-run ms':>9}  {'counters':>9}  {'re-run':>8}")
    for gts in args.gts:
        c = components(gts, args.rounds)
        print(f"{gts:>9}  {1000 * c['plain']:>9.1f}  {1000 * c['counters']:>11.2f}  {1000 * c['re-run']:>9.1f}  "
              f"{100 * c['counters'] / c['plain']:>8.1f}%  {100 * c['re-run'] / c['plain']:>7.1f}%")
    print()
    table(rows, "cpu", "CPU time of the calling thread, ms per call: fastest round (median); overhead against plain")
    table(rows, "wall", "wall time, ms per call: fastest round (median); overhead against plain")
    print("targets: counters <= +5 %, re-run every batch <= +30 % of the plain call")


if __name__ == "__main__":
    main()
