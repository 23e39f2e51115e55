#!/usr/bin/env python
"""Wall time and peak memory of tal's sparse assigner beside ultralytics' TaskAlignedAssigner.

Run from the repository root with the interpreter that has ``tal`` installed::

    python benchmarks/assigner.py                    # every case, 3 timed calls each, 1 thread
    python benchmarks/assigner.py --cases crowd-1280 --repeats 5
    python benchmarks/assigner.py --threads 0        # torch's default thread count
    python benchmarks/assigner.py --ultralytics-python none   # compare with tal's dense path

Cases (80 classes, strides 8/16/32, settings of current ultralytics training: topk 10,
alpha 0.5, beta 6.0, CIoU, small-box floor; tal runs ``variant="ultralytics"``):

    crowd-1280  2 images x 2,000 gts at 1280 x 1280
    crowd-640   16 images x 300 gts at 640 x 640
    sparse-640  8 images x 50 gts at 640 x 640

Inputs (the parent generates them once per case with ``numpy.random.RandomState(seed)`` and
hands the same arrays to every worker in an ``.npz``, so both torch versions see identical
tensors): gt sides log-uniform in [7, 250] px, centres uniform over the image, boxes
clipped to it, labels uniform over the classes; ``pd_scores = sigmoid(N(0, 1))``; each
anchor predicts a jittered copy (10 % of the side, Gaussian) of the gt with the fewest
candidate anchors among those whose floored box contains it, or a random box around
itself when none does, so many candidates have a nonzero IoU. The inputs are then made
tie-free: a gt whose top-k would depend on the order of equal (zero) metrics -- tal's
``pair_tied`` -- is redrawn until no gt is tied (a gt's tie status depends on its own
box and the predictions only), so the foregrounds of two correct assigners must agree
exactly. The number of gts redrawn is printed.

Measurement: one fresh process per (implementation, case) runs this same script with
``--worker``. It loads the inputs, calls the assigner once to warm up, runs the garbage
collector and ``malloc_trim(0)``, reads ``VmRSS`` from ``/proc/self/status``, resets the
peak (``VmHWM``) by writing 5 to ``/proc/self/clear_refs`` and calls the assigner again:
peak memory = ``VmHWM`` after that call minus ``VmRSS`` before it (outputs included; the
inputs are not). ``tracemalloc`` does not see torch's allocations, hence RSS. Where
clear_refs cannot be written the worker falls back to ``ru_maxrss`` minus the RSS before
the call (an upper bound when the warm-up peaked higher). Wall time is the median of that
call and ``--repeats - 1`` more. Each worker writes ``fg_mask`` and ``target_gt_idx`` (and
tal its tie flags) to an ``.npz`` that the parent compares.

Threads: both workers get the same number of torch intra-op threads, 1 unless
``--threads`` says otherwise (0: torch's default). Where the cores are shared with other
jobs, every parallel torch operation waits milliseconds for its second thread to be
scheduled; that swamps the sparse core's many small operations and slows the dense
reference too, while one thread gives both stable numbers.

Ultralytics is never imported into tal's process nor copied: it runs in its own venv.
Making one (no network needed afterwards; ``YOLO_OFFLINE=1`` is set for the worker)::

    python -m venv ulvenv
    ulvenv/bin/pip install torch==2.14.1 torchvision==0.29.1
    ulvenv/bin/pip install --no-deps ultralytics==8.4.190
    ulvenv/bin/pip install numpy pyyaml requests pillow opencv-python-headless matplotlib \
        scipy psutil polars ultralytics-thop   # the few packages `import ultralytics.utils.tal` needs
    ulvenv/bin/python -c "import ultralytics.utils.tal"   # must work

``--ultralytics-python`` picks its interpreter; by default the script tries this
interpreter, ``$ULTRALYTICS_PYTHON``, then ``../ulvenv/bin/python`` beside the repository.
Without one, the comparison is with ``dense_assign`` below: tal's semantics written the
dense way ([B, M, A] masks and metrics, as the reference implementations do).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib.util
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tal_cli") is None:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))
STRIDES = (8, 16, 32)
TOPK, ALPHA, BETA, EPS = 10, 0.5, 6.0, 1e-9
FLOOR = float(STRIDES[1])  # small-box floor of current ultralytics releases (second stride)


@dataclass(frozen=True)
class Case:
    name: str
    batch: int
    gts: int
    imgsz: int
    classes: int = 80


CASES = {c.name: c for c in (
    Case("crowd-1280", 2, 2000, 1280),
    Case("crowd-640", 16, 300, 640),
    Case("sparse-640", 8, 50, 640),
    Case("smoke-320", 2, 40, 320, 5),  # not run by default: a quick end-to-end check (tests use it)
)}
DEFAULT_CASES = ("crowd-1280", "crowd-640", "sparse-640")


# ----------------------------------------------------------------------------- inputs
def grid_anchors(imgsz: int, strides=STRIDES) -> np.ndarray:
    """Anchor centres ``((j + 0.5) s, (i + 0.5) s)``, levels in stride order, row-major. ``[A, 2] float32``."""
    pts = []
    for s in strides:
        n = -(-imgsz // s)
        c = (np.arange(n, dtype=np.float32) + np.float32(0.5)) * np.float32(s)
        yy, xx = np.meshgrid(c, c, indexing="ij")
        pts.append(np.stack((xx, yy), -1).reshape(-1, 2))
    return np.concatenate(pts)


def _random_gts(rs: np.random.RandomState, n: int, imgsz: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    side = np.exp(rs.uniform(np.log(7.0), np.log(250.0), size=(n, 2)))
    centre = rs.uniform(0, imgsz, size=(n, 2))
    boxes = np.concatenate((centre - side / 2, centre + side / 2), -1).clip(0, imgsz).astype(np.float32)
    return boxes, rs.randint(0, classes, size=n)


def _floored(boxes: np.ndarray) -> np.ndarray:
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    side = np.maximum(boxes[:, 2:] - boxes[:, :2], FLOOR)
    return np.concatenate((centre - side / 2, centre + side / 2), -1)


def _predictions(rs: np.random.RandomState, gts: np.ndarray, anc: np.ndarray) -> np.ndarray:
    """Per anchor: a jittered copy of the containing gt with the fewest candidates, else a random box. ``[A, 4]``."""
    a = anc.shape[0]
    fl = _floored(gts)
    ncand = np.zeros(len(gts))
    owner = np.full(a, -1)
    owner_n = np.full(a, np.inf)
    for j, (x1, y1, x2, y2) in enumerate(fl):
        inside = (anc[:, 0] > x1) & (anc[:, 0] < x2) & (anc[:, 1] > y1) & (anc[:, 1] < y2)
        ncand[j] = inside.sum()
        better = inside & (ncand[j] < owner_n)
        owner[better], owner_n[better] = j, ncand[j]
    side = np.exp(rs.uniform(np.log(7.0), np.log(250.0), size=(a, 2)))
    boxes = np.concatenate((anc - side / 2, anc + side / 2), -1)
    has = owner >= 0
    g = gts[owner[has]].astype(np.float64)
    wh = np.concatenate((g[:, 2:] - g[:, :2],) * 2, -1)
    boxes[has] = g + rs.normal(0, 0.1, size=(int(has.sum()), 4)) * wh
    return boxes.astype(np.float32)


def make_inputs(case: Case, seed: int = 0, untie: bool = True) -> tuple[dict[str, np.ndarray], int]:
    """The case's inputs as numpy arrays, and how many gts were redrawn to make them tie-free."""
    rs = np.random.RandomState(seed)
    anc = grid_anchors(case.imgsz)
    b, m, c = case.batch, case.gts, case.classes
    gt_bboxes = np.zeros((b, m, 4), np.float32)
    gt_labels = np.zeros((b, m, 1), np.int64)
    pd_bboxes = np.zeros((b, anc.shape[0], 4), np.float32)
    for i in range(b):
        gt_bboxes[i], gt_labels[i, :, 0] = _random_gts(rs, m, case.imgsz, c)
        pd_bboxes[i] = _predictions(rs, gt_bboxes[i], anc)
    logits = rs.standard_normal((b, anc.shape[0], c))
    pd_scores = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    arrays = {"pd_scores": pd_scores, "pd_bboxes": pd_bboxes, "anc_points": anc, "gt_labels": gt_labels,
              "gt_bboxes": gt_bboxes, "mask_gt": np.ones((b, m, 1), bool)}
    redrawn = 0
    if untie:
        todo = np.ones((b, m), bool)  # gts whose tie status is unknown
        for _ in range(100):
            tied = _tied_gts(arrays, todo)
            if not tied.any():
                break
            for i, j in zip(*tied.nonzero()):
                (gt_bboxes[i, j],), (gt_labels[i, j, 0],) = _random_gts(rs, 1, case.imgsz, c)
            redrawn += int(tied.sum())
            todo = tied
        else:
            raise RuntimeError("could not make the inputs tie-free")
    return arrays, redrawn


def _tied_gts(arrays: dict[str, np.ndarray], which: np.ndarray) -> np.ndarray:
    """``[B, M] bool``: gts (among ``which``) with a pair flagged ``pair_tied`` by tal."""
    import torch

    from tal_cli.core.assigner import assign

    t = {k: torch.from_numpy(v) for k, v in arrays.items()}
    mask = torch.from_numpy(which)[..., None] & t["mask_gt"]
    a = assign(t["pd_scores"], t["pd_bboxes"], t["anc_points"], t["gt_labels"], t["gt_bboxes"], mask,
               _tal_settings(t["pd_scores"].shape[2]))
    tied = np.zeros(which.shape, bool)
    tied[a.pair_image[a.pair_tied].numpy(), a.pair_gt[a.pair_tied].numpy()] = True
    return tied


def _tal_settings(classes: int):
    from tal_cli.core.settings import AssignerSettings

    return AssignerSettings(topk=TOPK, num_classes=classes, alpha=ALPHA, beta=BETA, eps=EPS, variant="ultralytics",
                            strides=STRIDES)


# ------------------------------------------------------------------ tal's dense path
def dense_assign(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, topk: int = TOPK,
                 alpha: float = ALPHA, beta: float = BETA, eps: float = EPS, floor: float | None = FLOOR):
    """tal's assignment rules written densely over [B, M, A], for comparison only (not the library).

    Same semantics as :func:`tal_cli.core.assigner.assign` with ``conflict="all-gts"``, CIoU and no
    topk2: top-k over all anchors with equal values taken lowest anchor first; contested
    anchors to the gt of largest IoU over all slots (lowest slot on ties). ``floor``: the
    small-box floor side, or None. Returns the drop-in 5-tuple.
    """
    import torch

    from tal_cli.core.boxes import box_ciou_paired, centres_inside, floor_small_boxes

    b, a, c = pd_scores.shape
    m = gt_bboxes.shape[1]
    dtype = pd_scores.dtype
    if m == 0:
        return (torch.full((b, a), c, dtype=torch.long), torch.zeros(b, a, 4, dtype=dtype),
                torch.zeros(b, a, c, dtype=dtype), torch.zeros(b, a, dtype=torch.bool),
                torch.zeros(b, a, dtype=torch.long))
    labels = gt_labels.reshape(b, m).long()
    real = mask_gt.reshape(b, m).bool()
    gt_bboxes = gt_bboxes.to(dtype)
    cand = floor_small_boxes(gt_bboxes, floor) if floor else gt_bboxes
    in_gts = centres_inside(anc_points[None, None], cand[:, :, None]) & real[..., None]  # (B, M, A)
    overlaps = torch.zeros(b, m, a, dtype=dtype)  # (B, M, A)
    overlaps[in_gts] = box_ciou_paired(gt_bboxes[:, :, None].expand(b, m, a, 4)[in_gts],
                                       pd_bboxes[:, None].expand(b, m, a, 4)[in_gts]).clamp(min=0)
    scores = torch.zeros(b, m, a, dtype=dtype)  # (B, M, A)
    scores[in_gts] = pd_scores.gather(2, labels[:, None, :].expand(b, a, m)).transpose(1, 2)[in_gts]
    metric = scores.pow(alpha) * overlaps.pow(beta)  # (B, M, A)
    del scores
    # top-k over all anchors; among values equal to the K-th, lowest anchors first.
    kth = metric.topk(topk, dim=2).values[..., -1:]  # (B, M, 1)
    above = metric > kth
    at = metric == kth
    room = topk - above.sum(2, keepdim=True)
    pos = (above | (at & (at.cumsum(2, dtype=torch.int32) <= room))) & in_gts  # (B, M, A)
    del above, at
    contested = pos.sum(1) > 1  # (B, A)
    best = torch.zeros_like(pos).scatter_(1, overlaps.argmax(1, keepdim=True), True)  # (B, M, A) one-hot over gts
    pos = torch.where(contested[:, None], best, pos)
    del best
    fg = pos.any(1)  # (B, A)
    gt_idx = pos.to(torch.uint8).argmax(1)  # (B, A), first positive gt (0 for background)
    align = metric * pos
    pos_align = align.amax(2, keepdim=True)  # (B, M, 1)
    pos_iou = (overlaps * pos).amax(2, keepdim=True)  # (B, M, 1)
    norm = (align * pos_iou / (pos_align + eps)).amax(1)  # (B, A)
    target_labels = labels.gather(1, gt_idx).clamp(min=0)
    target_bboxes = gt_bboxes.gather(1, gt_idx[..., None].expand(b, a, 4))
    target_scores = torch.nn.functional.one_hot(target_labels, c).to(dtype) * torch.where(fg, norm, 0)[..., None]
    return target_labels, target_bboxes, target_scores, fg, gt_idx


# --------------------------------------------------------------------------- worker
def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M).group(1))


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _trim() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def worker(impl: str, inputs: Path, result: Path, repeats: int, threads: int) -> None:
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
    data = np.load(inputs)
    t = {k: torch.from_numpy(data[k]) for k in data.files}
    args = (t["pd_scores"], t["pd_bboxes"], t["anc_points"], t["gt_labels"], t["gt_bboxes"], t["mask_gt"])
    classes = t["pd_scores"].shape[2]
    extra = {}
    if impl == "tal":
        from tal_cli.core.assigner import TaskAlignedAssigner

        assigner = TaskAlignedAssigner(topk=TOPK, num_classes=classes, alpha=ALPHA, beta=BETA, eps=EPS,
                                       variant="ultralytics", strides=STRIDES)

        def call():
            return assigner(*args)
    elif impl == "ultralytics":
        import ultralytics
        from ultralytics.utils.tal import TaskAlignedAssigner

        assigner = TaskAlignedAssigner(topk=TOPK, num_classes=classes, alpha=ALPHA, beta=BETA, stride=list(STRIDES),
                                       eps=EPS)
        extra["version"] = ultralytics.__version__

        def call():
            return assigner(*args)
    elif impl == "dense":
        def call():
            return dense_assign(*args)
    else:
        raise SystemExit(f"unknown implementation {impl!r}")

    with torch.no_grad():
        call()  # warm-up
        _trim()
        before = _status_kb("VmRSS")
        exact_peak = _reset_peak()
        start = time.perf_counter()
        out = call()
        times = [time.perf_counter() - start]
        peak = _status_kb("VmHWM") if exact_peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(repeats - 1):
            del out
            start = time.perf_counter()
            out = call()
            times.append(time.perf_counter() - start)
    fg, gt_idx = out[3].bool(), out[4].long()
    save = {"fg": fg.numpy(), "gt_idx": torch.where(fg, gt_idx, 0).numpy(),
            "score": out[2].sum(2).numpy()}
    if impl == "tal":
        a = assigner.assign(*args)
        tied = torch.zeros_like(fg)
        tied[a.pair_image[a.pair_tied], a.pair_anchor[a.pair_tied]] = True
        save["tied"] = tied.numpy()
    np.savez(result, **save)
    print(json.dumps({"times": times, "peak_kb": peak - before, "exact_peak": exact_peak,
                      "threads": torch.get_num_threads(), "torch": torch.__version__, **extra}))


# --------------------------------------------------------------------------- parent
def find_ultralytics_python(choice: str | None) -> str | None:
    if choice and choice.lower() == "none":
        return None
    candidates = [choice] if choice else [sys.executable, os.environ.get("ULTRALYTICS_PYTHON"),
                                          str(ROOT.parent / "ulvenv" / "bin" / "python")]
    for py in filter(None, candidates):
        if not Path(py).exists():
            if choice:
                raise SystemExit(f"--ultralytics-python {py}: no such file")
            continue
        probe = subprocess.run([py, "-c", "import ultralytics.utils.tal"], env=_worker_env(), capture_output=True)
        if probe.returncode == 0:
            return py
        if choice:
            raise SystemExit(f"{py} cannot import ultralytics.utils.tal:\n{probe.stderr.decode()[-2000:]}")
    return None


def _worker_env(threads: int = 0) -> dict[str, str]:
    env = dict(os.environ, YOLO_OFFLINE="1")
    if threads > 0:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    return env


def run_worker(python: str, impl: str, inputs: Path, result: Path, repeats: int, threads: int) -> dict:
    cmd = [python, str(Path(__file__).resolve()), "--worker", impl, "--inputs", str(inputs), "--result", str(result),
           "--repeats", str(repeats), "--threads", str(threads)]
    proc = subprocess.run(cmd, env=_worker_env(threads), capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{impl} worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(ours: Path, theirs: Path) -> tuple[str, str]:
    """Whether fg_mask and target_gt_idx (on fg) agree, and the largest target-score difference on fg."""
    a, b = np.load(ours), np.load(theirs)
    both = a["fg"] & b["fg"]
    score = f"{np.abs(a['score'] - b['score'])[both].max():.1e}" if both.any() else "-"
    if np.array_equal(a["fg"], b["fg"]) and np.array_equal(a["gt_idx"], b["gt_idx"]):
        return "yes", score
    differ = (a["fg"] != b["fg"]) | (a["gt_idx"] != b["gt_idx"])
    return f"NO: {int(differ.sum())} anchors ({int((differ & ~a['tied']).sum())} not tied)", score


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", default=",".join(DEFAULT_CASES), help="comma-separated: " + ", ".join(CASES))
    p.add_argument("--repeats", type=int, default=3, help="timed calls per measurement (median), after a warm-up")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads in both workers (default 1, see the module docstring); "
                        "0: torch's default")
    p.add_argument("--ultralytics-python", default=None,
                   help="interpreter that can import ultralytics 8.4.190; 'none' compares with tal's dense path")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.inputs, args.result, args.repeats, args.threads)
        return 0

    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        p.error(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    ul_python = find_ultralytics_python(args.ultralytics_python)
    other = "ultralytics" if ul_python else "dense"
    rows = []
    with tempfile.TemporaryDirectory(prefix="tal-bench-") as tmp:
        tmp = Path(tmp)
        for name in names:
            case = CASES[name]
            arrays, redrawn = make_inputs(case, args.seed)
            inputs = tmp / f"{name}.npz"
            np.savez(inputs, **arrays)
            del arrays
            ours = run_worker(sys.executable, "tal", inputs, tmp / f"{name}-tal.npz", args.repeats, args.threads)
            theirs = run_worker(ul_python or sys.executable, other, inputs, tmp / f"{name}-{other}.npz", args.repeats,
                                args.threads)
            t_ours, t_theirs = statistics.median(ours["times"]), statistics.median(theirs["times"])
            m_ours, m_theirs = ours["peak_kb"] / 1024, theirs["peak_kb"] / 1024
            same, score = compare(tmp / f"{name}-tal.npz", tmp / f"{name}-{other}.npz")
            rows.append((f"{case.batch} x {case.gts} @ {case.imgsz}", t_ours, t_theirs, t_theirs / t_ours, m_ours,
                         m_theirs, m_theirs / max(m_ours, 1e-9), same, score, redrawn))
            print(f"  {name}: tal {ours['times']}  {other} {theirs['times']}", file=sys.stderr, flush=True)
    label = f"ultralytics {theirs.get('version', '?')}" if ul_python else "tal dense"
    def threads(n: int) -> str:
        return f"{n} thread{'' if n == 1 else 's'}"

    print(f"tal (sparse, torch {ours['torch']}, {threads(ours['threads'])}) vs {label} "
          f"(torch {theirs['torch']}, {threads(theirs['threads'])}); peak = RSS high-water mark of the call "
          f"minus RSS before it{'' if ours['exact_peak'] else ' (ru_maxrss fallback)'}; time = median of "
          f"{args.repeats} after a warm-up")
    head = ("case", "tal s", "other s", "speed x", "tal MB", "other MB", "memory x", "fg identical",
            "max |d score| on fg", "gts redrawn")
    head = tuple(h.replace("other", "ultra" if ul_python else "dense") for h in head)
    table = [head] + [(r[0], f"{r[1]:.3f}", f"{r[2]:.3f}", f"{r[3]:.1f}", f"{r[4]:.1f}", f"{r[5]:.1f}", f"{r[6]:.1f}",
                       r[7], r[8], str(r[9])) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for i, row in enumerate(table):
        cells = (cell.ljust(w) if j in (0, 7) else cell.rjust(w) for j, (cell, w) in enumerate(zip(row, widths)))
        print("  ".join(cells))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
