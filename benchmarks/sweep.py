"""Benchmark of ``tal sweep`` against a plain loop over ``tal assign``'s code path.

Not a test: run it by hand and read the numbers. ::

    python benchmarks/sweep.py                       # 500 images, 20 gts each, topk 5/10/13
    python benchmarks/sweep.py --images 100 --classes 8

The data are synthetic, written as FILES in a temporary folder laid out as ``tal sweep``
reads a dataset folder: ``images/`` (640x640 PNGs of one colour: only their size is read),
``labels/`` (``--gts`` random boxes per image, sides log-uniform between 4 and 320 px) and
``preds/`` (random head outputs in the ultralytics 8.4 ``head`` layout: DFL logits
``[1, 64, 8400]`` and class logits ``[1, C, 8400]``). Both contenders start from these files:

- **sweep**: what ``tal sweep DIR --topk 5 10 13`` runs: source discovery, each image read and
  decoded once, batches of 16 through the assigner under each setting, aggregation.
- **loop**: ``tal assign``'s path once per image and setting: ``load_scene`` +
  ``assign_scenes([scene])`` + ``losses_from_heads`` + ``build_report`` (no printing).

The two are timed in interleaved rounds (a slice of the images through the sweep, then the
same slice through the loop) so that both see the same machine load. Then the same comparison
on in-memory scenes (``make_scene`` with a decoded ``HeadOutput``, no file reading), which
isolates assignment and aggregation. The figure is images x settings per second; the ratio is
sweep over loop. Both results are checked to agree (positives per setting).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tal_cli.analysis.sweep import (  # noqa: E402
    LossTotals,
    settings_grid,
    sweep,
)
from tal_cli.core.losses import Gains, losses_from_heads  # noqa: E402
from tal_cli.readers.config import load_config  # noqa: E402
from tal_cli.readers.labels import Labels  # noqa: E402
from tal_cli.readers.preds import decode_head  # noqa: E402
from tal_cli.readers.scene import assign_scenes, load_scene, make_scene  # noqa: E402
from tal_cli.readers.sources import folder_source, iter_scenes  # noqa: E402
from tal_cli.views.report import build_report  # noqa: E402

IMGSZ = 640


def random_labels(
    gen: torch.Generator, n: int, num_classes: int
) -> tuple[list[int], list[tuple[float, float, float, float]]]:
    """``n`` boxes (normalised cx, cy, w, h) with sides log-uniform in 4..320 px, inside the image."""
    side = (
        torch.exp(
            torch.empty(n, 2).uniform_(
                float(torch.log(torch.tensor(4.0))), float(torch.log(torch.tensor(320.0))), generator=gen
            )
        )
        / IMGSZ
    )
    centre = side / 2 + torch.rand(n, 2, generator=gen) * (1 - side)
    classes = torch.randint(0, num_classes, (n,), generator=gen).tolist()
    boxes = [(float(c[0]), float(c[1]), float(s[0]), float(s[1])) for c, s in zip(centre, side)]
    return classes, boxes


def random_head(
    gen: torch.Generator, num_classes: int, anchors: int = 8400, reg_max: int = 16
) -> dict[str, torch.Tensor]:
    """The ``head`` layout: DFL logits and class logits (mostly low scores, as a trained head)."""
    return {"boxes": torch.randn(1, 4 * reg_max, anchors, generator=gen) * 2.0,
            "scores": torch.randn(1, num_classes, anchors, generator=gen) * 2.0 - 4.0}


def write_dataset(root: Path, images: int, gts: int, num_classes: int, seed: int) -> float:
    """Write the dataset folder; returns its size in bytes."""
    from PIL import Image

    gen = torch.Generator().manual_seed(seed)
    for sub in ("images", "labels", "preds"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    size = 0
    for i in range(images):
        stem = f"img{i:04d}"
        Image.new("RGB", (IMGSZ, IMGSZ), (i % 256, 90, 160)).save(root / "images" / f"{stem}.png", compress_level=1)
        classes, boxes = random_labels(gen, gts, num_classes)
        (root / "labels" / f"{stem}.txt").write_text(
            "".join(f"{c} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n" for c, (cx, cy, w, h) in zip(classes, boxes)))
        torch.save(random_head(gen, num_classes), root / "preds" / f"{stem}.pt")
        size += sum((root / sub / f"{stem}{ext}").stat().st_size
                    for sub, ext in (("images", ".png"), ("labels", ".txt"), ("preds", ".pt")))
    return size


def rate(count: int, seconds: float) -> str:
    return f"{count} image·settings in {seconds:6.2f} s = {count / seconds:7.1f} image·settings/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--gts", type=int, default=20)
    parser.add_argument("--classes", type=int, default=80)
    parser.add_argument("--topk", type=int, nargs="+", default=[5, 10, 13])
    parser.add_argument("--rounds", type=int, default=10,
                        help="interleave sweep and loop over this many slices of the images")
    parser.add_argument("--memory-images", type=int, default=200,
                        help="images for the in-memory comparison (each holds its decoded head)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-memory", action="store_true", help="skip the in-memory comparison")
    args = parser.parse_args()

    cfg = load_config(None)
    points = settings_grid(args.topk, [cfg.alpha], [cfg.beta], [cfg.variant])
    settings = [cfg.override(topk=p.topk).assigner_settings(args.classes) for p in points]
    print(
        f"tal sweep benchmark: {args.images} synthetic {IMGSZ}x{IMGSZ} images, {args.gts} gts each, "
        f"{args.classes} classes, "
        f"{len(points)} settings (topk {'/'.join(map(str, args.topk))}, alpha {cfg.alpha:g}, beta {cfg.beta:g}, "
        f"{cfg.variant}); torch {torch.__version__}, {torch.get_num_threads()} threads"
    )

    with tempfile.TemporaryDirectory(prefix="tal-sweep-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        size = write_dataset(root, args.images, args.gts, args.classes, args.seed)
        print(f"data: files in a temporary folder (images/ PNG, labels/ txt, preds/ head-layout .pt), "
              f"{size / 1e9:.2f} GB written in {time.perf_counter() - t:.1f} s")

        # Warm-up (first torch calls, page cache) on a few images, not timed.
        src = folder_source(root)
        warm = list(iter_scenes(src.items[:4], cfg.imgsz, cfg.strides, cfg.reg_max, strict=True))
        sweep(warm, settings, points)

        # Interleaved rounds: each round times the sweep, then the loop, on the same slice of
        # images, so that both see the same machine load (other processes, thermal state).
        rounds = max(1, min(args.rounds, args.images))
        chunk = -(-args.images // rounds)
        totals = {"sweep": 0.0, "loop": 0.0}
        per_round = []
        for r in range(rounds):
            items = src.items[r * chunk:(r + 1) * chunk]
            if not items:
                continue
            t = time.perf_counter()
            rows = sweep(iter_scenes(items, cfg.imgsz, cfg.strides, cfg.reg_max, strict=True), settings, points,
                         on_assignment=LossTotals(len(settings), Gains()))
            ts = time.perf_counter() - t
            t = time.perf_counter()
            positives = [0] * len(settings)
            for item in items:
                for k, s in enumerate(settings):
                    scene = load_scene(item.image, item.labels, item.preds, cfg.imgsz, cfg.strides, cfg.reg_max)
                    a = assign_scenes([scene], s)
                    report = build_report(scene, a, losses=losses_from_heads(a, [scene.head]))
                    positives[k] += report.summary.positives
            tl = time.perf_counter() - t
            assert positives == [row.positives for row in rows], (positives, [row.positives for row in rows])
            totals["sweep"] += ts
            totals["loop"] += tl
            per_round.append(tl / ts)
        n = args.images * len(points)
        print(f"from files   sweep: {rate(n, totals['sweep'])}")
        print(f"             loop:  {rate(n, totals['loop'])}")
        print(f"             ratio: {totals['loop'] / totals['sweep']:.1f}x "
              f"(per round of {chunk} images: {', '.join(f'{x:.1f}' for x in per_round)})")

        if not args.no_memory:
            gen = torch.Generator().manual_seed(args.seed + 1)
            scenes = []
            for i in range(min(args.images, args.memory_images)):
                classes, boxes = random_labels(gen, args.gts, args.classes)
                xyxy = tuple((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2) for cx, cy, w, h in boxes)
                head = decode_head(random_head(gen, args.classes), "memory", cfg.imgsz, cfg.strides, cfg.reg_max)
                scenes.append(make_scene(f"memory/{i}.png", Labels(tuple(classes), xyxy, tuple(range(1, args.gts + 1))),
                                         head, (IMGSZ, IMGSZ), cfg.imgsz))
            ts = tl = 0.0
            for r in range(rounds):
                part = scenes[r * chunk:(r + 1) * chunk]
                if not part:
                    continue
                t = time.perf_counter()
                sweep(part, settings, points, on_assignment=LossTotals(len(settings), Gains()))
                ts += time.perf_counter() - t
                t = time.perf_counter()
                for scene in part:
                    for s in settings:
                        a = assign_scenes([scene], s)
                        build_report(scene, a, losses=losses_from_heads(a, [scene.head]))
                tl += time.perf_counter() - t
            n = len(scenes) * len(points)
            print(f"in memory    sweep: {rate(n, ts)}   (Scene objects from make_scene + HeadOutput)")
            print(f"             loop:  {rate(n, tl)}   (assign_scenes([scene]) + losses + build_report)")
            print(f"             ratio: {tl / ts:.1f}x")
        print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
              "other busy processes on these cores distort both figures")


if __name__ == "__main__":
    main()
