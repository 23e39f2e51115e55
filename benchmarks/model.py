"""`tal sweep --model` against the network's bare forward time and against export-then-sweep.

Run it where ultralytics is installed (the ultralytics venv of .ci/run, see benchmarks/README.md):

    python benchmarks/model.py                        # 200 images, yolov8n.yaml at 640, 3 settings
    python benchmarks/model.py --images 500 --batch 8
    python benchmarks/model.py --memory               # also: peak RSS of 100 images against 1,000

A dataset of synthetic photos (random sizes 480-1280 px, smooth colour fields so JPEG decoding
costs what a photo costs, 1-40 boxes each) is generated once. Then, in this one run and on the
same files:

- **bare forward**: the network alone on the same batches (images letterboxed beforehand, not
  timed): the physical floor of any tool that runs the model;
- **sweep --model**: `tal sweep DATA --model MODEL --topk 5 10 13` in a fresh process (wall time,
  the model build included, as a user meets it);
- **export + sweep**: `tal export MODEL DATA` then `tal sweep DATA --topk 5 10 13` on the files.

It prints images/s and the ratios the issue sets targets for (sweep --model within 1.25x of the
bare forward; export + sweep at least 1.5x slower than sweep --model), and with ``--memory``
the peak RSS of a 100-image and a 1,000-image `sweep --model` (flat: within 100 MB).
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

ROOT = Path(__file__).resolve().parents[1]


def make_dataset(root: Path, count: int, seed: int = 0) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        w, h = int(rng.integers(480, 1281)), int(rng.integers(480, 1281))
        base = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        picture = Image.fromarray(base, "RGB").resize((w, h), Image.BILINEAR)
        picture.save(root / "images" / f"im{i:05d}.jpg", quality=90)
        n = int(rng.integers(1, 41))
        cx, cy = rng.uniform(0.1, 0.9, n), rng.uniform(0.1, 0.9, n)
        bw, bh = rng.uniform(0.01, 0.2, n), rng.uniform(0.01, 0.2, n)
        rows = [f"{int(c)} {x:.5f} {y:.5f} {a:.5f} {b:.5f}" for c, x, y, a, b in
                zip(rng.integers(0, 80, n), cx, cy, bw, bh)]
        (root / "labels" / f"im{i:05d}.txt").write_text("\n".join(rows) + "\n")


def bare_forward_in_child(model_name: str, data: Path, batch: int, imgsz: int) -> float:
    """:func:`bare_forward` in a fresh process, which then exits: a process that has run torch keeps
    its OpenMP threads spinning for a while and slowed the next measurement by half (measured)."""
    out = subprocess.run([sys.executable, __file__, "--bare-forward", str(data), "--model", model_name, "--batch",
                          str(batch), "--imgsz", str(imgsz)], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "YOLO_OFFLINE": "1"}, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def bare_forward(model_name: str, images: list[Path], batch: int, imgsz: int) -> float:
    """Seconds the network spends on the batches alone (letterboxing beforehand, untimed)."""
    import torch

    from tal_cli.ultralytics.model import image_tensor, load_model

    model = load_model(model_name, seed=0)
    total = 0.0
    for start in range(0, len(images), batch):
        x = torch.cat([image_tensor(p, (imgsz, imgsz)) for p in images[start:start + batch]])
        t = time.perf_counter()
        with torch.inference_mode():
            model.network(x)
        total += time.perf_counter() - t
    return total


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one command in a fresh process."""
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err[-500:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--model", default="yolov8n.yaml")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--memory", action="store_true", help="also compare the peak RSS of 100 and 1,000 images")
    parser.add_argument("--bare-forward", type=Path, help=argparse.SUPPRESS)  # the child of bare_forward_in_child
    args = parser.parse_args()
    if args.bare_forward is not None:
        print(bare_forward(args.model, sorted((args.bare_forward / "images").iterdir()), args.batch, args.imgsz))
        return
    tal = [sys.executable, "-m", "tal_cli"]
    settings = ["--topk", "5", "10", "13", "--variant", "ultralytics"]
    folder = Path(tempfile.mkdtemp(prefix="tal-model-bench-"))
    try:
        data = folder / "data"
        make_dataset(data, args.images)
        images = sorted((data / "images").iterdir())
        n = len(images)
        print(f"{n} images, {args.model} at {args.imgsz}, batch {args.batch}, {os.cpu_count()} CPUs, 3 settings "
              "(topk 5/10/13); each measurement in a fresh process")
        forward = bare_forward_in_child(args.model, data, args.batch, args.imgsz)
        stream, stream_mb = timed([*tal, "sweep", str(data), "--model", args.model, "--batch", str(args.batch),
                                   "--imgsz", str(args.imgsz), *settings])
        export, _ = timed([*tal, "export", args.model, str(data), "--batch", str(args.batch), "--imgsz",
                           str(args.imgsz)])
        files, _ = timed([*tal, "sweep", str(data), *settings])
        print(f"{'':24} {'seconds':>9} {'images/s':>9}")
        for name, t in (("bare forward", forward), ("sweep --model", stream), ("export", export),
                        ("sweep on the files", files), ("export + sweep", export + files)):
            print(f"{name:24} {t:>9.1f} {n / t:>9.2f}")
        print(f"\nsweep --model / bare forward: {stream / forward:.2f}x (target <= 1.25x)")
        print(f"export + sweep / sweep --model: {(export + files) / stream:.2f}x (target >= 1.5x)")
        print(f"sweep --model peak RSS: {stream_mb:.0f} MB")
        if args.memory:
            small, big = folder / "m100", folder / "m1000"
            make_dataset(small, 100, seed=1)
            make_dataset(big, 1000, seed=1)
            _, mb100 = timed([*tal, "sweep", str(small), "--model", args.model, "--batch", str(args.batch), *settings])
            _, mb1000 = timed([*tal, "sweep", str(big), "--model", args.model, "--batch", str(args.batch), *settings])
            print(f"peak RSS: 100 images {mb100:.0f} MB, 1,000 images {mb1000:.0f} MB, difference "
                  f"{mb1000 - mb100:+.0f} MB (target: within 100 MB)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
