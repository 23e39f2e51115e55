"""Benchmark of the ``tal train-report --html`` page: file size, write time, time to ready in headless Chromium.

Not a test: run it by hand. ::

    python benchmarks/train_html.py                 # the docs run and a long synthetic run
    python benchmarks/train_html.py --epochs 1000 --classes 80 --repeats 5

Cases:

- ``docs-run``: the recorded yolo26n run of docs/train-run (10 epochs, two branches, one class).
- ``long-run``: a synthetic record of ``--epochs`` epochs (default 300) of two branches (one2many,
  one2one), ``--classes`` classes with gts each epoch (default 80) and 10 worst images per epoch
  and branch (paths of 60 characters), every epoch re-run: a long COCO-like training.

For each: the page's size, and beside it the peer of the same run: the record's own ``epochs.json``
(which holds the same numbers); the seconds to read the record and write the page; and (with the
system Chromium) ms from navigation start until the page is built (its ``tal:built`` mark),
median and max over ``--repeats`` fresh pages, and the time to switch the picked epoch in the page
(rebuild both branches' class and worst-image tables, move the marks; layout included), median
over the first, middle and last epoch of each page.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not benchmarks/, whose html.py would shadow the standard library's html

from tal_cli.analysis.counts import Count  # noqa: E402
from tal_cli.analysis.reasons import REASONS  # noqa: E402
from tal_cli.analysis.sweep import PerGt  # noqa: E402
from tal_cli.analysis.training import BUCKETS, EpochRecord, ImageStat, RerunStats, RunInfo  # noqa: E402
from tal_cli.core.settings import AssignerSettings  # noqa: E402
from tal_cli.workflows.train_report import read_train_record, write_train_html, write_train_record  # noqa: E402


def synthetic_record(folder: Path, epochs: int, classes: int, seed: int = 0) -> Path:
    """Write a long two-branch record into ``folder`` (``epochs.json``, ``epochs.csv``); return the folder."""
    rng = random.Random(seed)
    settings = AssignerSettings(topk=10, num_classes=classes, alpha=0.5, beta=6.0, variant="ultralytics",
                                small_box_floor=True)
    run = RunInfo(save_dir="runs/detect/coco", model="yolo26n.yaml", data="coco.yaml", imgsz=640, epochs=epochs,
                  batch=64, world_size=1, every=10, names={c: f"class{c}" for c in range(classes)},
                  branches={"one2many": settings, "one2one": settings}, versions={"ultralytics": "8.4.190"})
    records = []
    for e in range(1, epochs + 1):
        for branch in ("one2many", "one2one"):
            by_class = {}
            for c in range(classes):
                g = rng.randint(50, 20000)
                by_class[c] = Count(g, rng.randint(0, g // 5))
            gts = sum(s.gts for s in by_class.values())
            zero = sum(s.zero for s in by_class.values())
            sizes = {}
            for name, _ in BUCKETS:
                g = rng.randint(1, gts)
                sizes[name] = Count(g, min(g, rng.randint(0, zero)))
            positives = gts * 3 + rng.randint(0, gts)
            reasons = dict(zip(REASONS, (zero // 4, zero // 2, zero // 8, zero - zero // 4 - zero // 2 - zero // 8)))
            worst = tuple(ImageStat(f"datasets/coco/images/train2017/{rng.randint(0, 10**12):012d}.jpg".ljust(60, "_"),
                                    rng.randint(20, 90), rng.randint(5, 20)) for _ in range(10))
            records.append(EpochRecord(
                epoch=e, branch=branch, batches=1849, images=118287, gts=gts, gts_without_positives=zero,
                positives=positives, positives_per_gt=PerGt(positives / gts, float(rng.randint(1, 4)), 40),
                contested=rng.randint(0, gts), handed=rng.randint(0, 100), target_score_sum=positives * rng.random(),
                by_size=sizes, by_class=by_class,
                rerun=RerunStats(185, gts // 10, zero // 10, reasons, 3, 40, 0), worst_images=worst))
    write_train_record(folder, run, records, chart=False)
    return folder


def chromium_times(page: Path, repeats: int) -> tuple[list[float], list[float]]:
    """(ms from navigation start until the page is built, per fresh page; ms per epoch switch, in the page:
    the picker's change handler and the layout it causes)."""
    from playwright.sync_api import sync_playwright

    ready, switch = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        for _ in range(repeats):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            tab = context.new_page()
            tab.goto(page.as_uri())
            tab.wait_for_selector('html[data-ready="1"]', state="attached", timeout=60000)
            ready.append(tab.evaluate('performance.getEntriesByName("tal:built")[0].startTime'))
            values = tab.locator("#epoch option").evaluate_all("(os) => os.map((o) => o.value)")
            for value in (values[0], values[len(values) // 2], values[-1]):
                switch.append(tab.evaluate("""(v) => {
                  const el = document.getElementById("epoch");
                  el.value = v;
                  const t0 = performance.now();
                  el.dispatchEvent(new Event("change"));
                  document.body.offsetHeight;  // the layout it causes
                  return performance.now() - t0;
                }""", value))
            context.close()
        browser.close()
    return ready, switch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--classes", type=int, default=80)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cases = {"docs-run": ROOT / "docs" / "train-run",
                 "long-run": synthetic_record(tmp / "long" / "tal", args.epochs, args.classes)}
        print(f"long-run: {args.epochs} epochs x 2 branches, {args.classes} classes, 10 worst images per epoch")
        print(f"{'case':10} {'page MB':>8} {'epochs.json MB':>15} {'write s':>8} {'ready ms (median, max)':>24} "
              f"{'epoch switch ms':>16}")
        for name, folder in cases.items():
            t0 = time.perf_counter()
            record = read_train_record(folder)
            page = write_train_html(tmp / f"{name}.html", record)
            write = time.perf_counter() - t0
            size = page.stat().st_size / 1e6
            peer = Path(record.path).stat().st_size / 1e6
            ready_text = switch_text = "-"
            if not args.no_browser and Path("/usr/bin/chromium").is_file():
                ready, switch = chromium_times(page, args.repeats)
                ready_text = f"{statistics.median(ready):.0f}, {max(ready):.0f}"
                switch_text = f"{statistics.median(switch):.0f}"
            print(f"{name:10} {size:8.3f} {peer:15.3f} {write:8.2f} {ready_text:>24} {switch_text:>16}")


if __name__ == "__main__":
    main()
