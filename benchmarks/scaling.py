"""How `tal assign` scales with the number of gts: time and peak memory of every output path.

    python benchmarks/scaling.py                      # 1k / 10k / 100k gts, table, --json, --out
    python benchmarks/scaling.py --gts 1000 10000     # a quicker run

One synthetic 640 x 640 image, N boxes of 2-26 px (uniform centres, 80 classes), and a PREDS
file of random head logits (80 classes, DFL 16) are written to a temporary folder; each
(N, output path) runs `tal assign` in a fresh process (the real entry point), timed on the
wall clock, its peak RSS read from the kernel (``os.wait4``). A background image (N = 0) is the
fixed cost of a run (imports, reading the PREDS file), so the *per-gt cost* is
``(time(N) - time(0)) / N``; the run passes when that cost at the largest N is at most twice
the cost at the smallest (linear time, not quadratic). Memory is reported the same way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = {"table": [], "json": ["--json"], "out": ["--out", "{out}"]}
#: Extra time below this (over the fixed cost) is within the timer's and the machine's noise.
NOISE_S = 0.2


def make_inputs(folder: Path, counts: list[int], seed: int = 0) -> None:
    import numpy as np
    import torch
    from PIL import Image

    from tal_cli.core.anchors import grid_levels

    rng = np.random.default_rng(seed)
    Image.new("RGB", (640, 640), (90, 90, 90)).save(folder / "img.png")
    for n in counts:
        cx, cy = rng.uniform(0.02, 0.98, n), rng.uniform(0.02, 0.98, n)
        w, h = rng.uniform(0.003, 0.04, n), rng.uniform(0.003, 0.04, n)
        classes = rng.integers(0, 80, n)
        rows = (f"{c} {x:.6f} {y:.6f} {a:.6f} {b:.6f}" for c, x, y, a, b in zip(classes, cx, cy, w, h))
        (folder / f"labels_{n}.txt").write_text("\n".join(rows) + ("\n" if n else ""))
    anchors = grid_levels((640, 640), (8, 16, 32))[-1].stop
    gen = torch.Generator().manual_seed(seed)
    torch.save({"boxes": torch.randn(1, 64, anchors, generator=gen),
                "scores": torch.randn(1, 80, anchors, generator=gen) - 3,
                "meta": {"imgsz": 640, "strides": [8, 16, 32], "reg_max": 16}}, folder / "preds.pt")


def run_once(folder: Path, n: int, mode: str) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one `tal assign` process."""
    out = folder / f"overlays_{n}"
    args = [a.format(out=out) for a in MODES[mode]]
    cmd = [sys.executable, "-m", "tal_cli", "assign", str(folder / "img.png"), str(folder / f"labels_{n}.txt"),
           str(folder / "preds.pt"), *args]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"tal assign failed ({code}) at {n} gts, {mode}: {err.strip()[-300:]}")
    shutil.rmtree(out, ignore_errors=True)
    return wall, usage.ru_maxrss / 1024  # KB -> MB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gts", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--repeats", type=int, default=3, help="runs per point; the fastest counts")
    args = parser.parse_args()
    counts = sorted(set(args.gts))
    folder = Path(tempfile.mkdtemp(prefix="tal-scaling-"))
    try:
        make_inputs(folder, [0, *counts])
        print(f"tal assign scaling: one 640x640 image, 80 classes; gts {', '.join(map(str, counts))}; "
              f"fixed cost = the run with 0 gts; {args.repeats} run(s) per point, fastest kept")
        print(f"{'path':<6} {'gts':>8} {'seconds':>9} {'peak MB':>9} {'ms per gt':>10} {'KB per gt':>10} "
              f"{'cost vs ref':>12}")
        verdicts = []
        for mode in args.modes:
            base_t, base_m = min(run_once(folder, 0, mode) for _ in range(args.repeats))
            print(f"{mode:<6} {0:>8} {base_t:>9.2f} {base_m:>9.0f} {'-':>10} {'-':>10} {'-':>12}")
            reference = None  # the per-gt cost at the smallest count whose extra time is above timer noise
            for n in counts:
                t, m = min(run_once(folder, n, mode) for _ in range(args.repeats))
                per_gt = max(t - base_t, 0.0) / n
                per_kb = max(m - base_m, 0.0) * 1024 / n
                if reference is None and t - base_t >= NOISE_S:
                    reference = (n, per_gt)
                ratio = f"{per_gt / reference[1]:.2f}x" if reference else "noise"
                print(f"{mode:<6} {n:>8} {t:>9.2f} {m:>9.0f} {per_gt * 1000:>10.3f} {per_kb:>10.2f} {ratio:>12}")
            verdicts.append((mode, reference, per_gt))
        print()
        for mode, reference, last in verdicts:
            if reference is None:
                print(f"{mode}: every count within {NOISE_S} s of the fixed cost: nothing to compare")
                continue
            ratio = last / reference[1]
            print(f"{mode}: per-gt cost at {counts[-1]} gts is {ratio:.2f}x that at {reference[0]} "
                  f"({'linear: PASS' if ratio <= 2.0 else 'FAIL: more than 2x'})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
