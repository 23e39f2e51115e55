"""Benchmark of the ``--html`` pages: file size, time to ready and hover latency in headless Chromium.

Not a test: run it by hand and read the numbers against the budgets of issue 14. ::

    python benchmarks/html.py                  # hubble_left and a synthetic 2,000-gt image at 1280 px
    python benchmarks/html.py --repeats 9

Cases: ``hubble_left`` (332 gts, 640 px, variant ultralytics) and ``crowd-2000`` (2,000 gts with
sides log-uniform in 6..60 px on a 1280 x 1280 picture, PREDS with ``meta`` imgsz 1280, made by
``tests/views/crowded.py``). For each case:

- **size**: the page file, split into the embedded picture (JPEG, quality 85, as a ``data:`` URL)
  and the rest (scripts, styles, data). Budget: rest <= 1.5 MB for 2,000 gts.
- **write**: seconds to build and write the page (``write_assign_html``), beside the peer in the
  same run: writing the three PNG overlays of ``--out`` (``write_overlays``).
- **ready**: ms from navigation start until ``<html data-ready="1">`` (the page decoded its data,
  built the tables and drew the image), in a fresh page each time; median and max. Budget: 1 s.
- **paint**: ms for one full repaint of the whole input (every mark of every stride).
- **hover**: ms the page takes to answer a pointer move over an anchor (the handler finds the
  anchor, fills the tooltip, highlights the cell; layout forced), over 300 anchors at random;
  median, 95th percentile and max; and ``e2e``: Playwright's ``mouse.move`` until the tooltip
  names the anchor (includes the round trip to the browser). Budget: 50 ms.

And a sweep page: ``tal sweep DIR --topk 5 10 13 --html FILE --html-images 50`` over a folder of 60
synthetic 640 px images (30 gts each): its size per drill-down image, time to ready, and the time to
open one image (unpack its views, draw it).

And a check page: ``tal check DIR --html FILE --html-images 50`` over 2,000 synthetic files (one
640x480 JPEG under 2,000 names, 30 gts each, one file in 50 dropped): its size (bounded: totals,
the dropped files and 50 drill-down files, never per-file data for every file), the time to write
it beside the check itself, time to ready and to open a file. ``--cases check`` runs this one alone.

Chromium is the system one (``/usr/bin/chromium``), headless, one page at a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not benchmarks/, where this file would shadow the standard library's html

from tal_cli.analysis.check_gts import PageFiles  # noqa: E402
from tal_cli.analysis.gt_status import GtCounts  # noqa: E402
from tal_cli.workflows.assign import assign_image, write_overlays  # noqa: E402
from tal_cli.workflows.check import plan_check, run_check  # noqa: E402
from tal_cli.workflows.html import write_assign_html, write_check_html, write_sweep_html  # noqa: E402
from tal_cli.workflows.sweep import plan_sweep, run_sweep  # noqa: E402
from tests.views.crowded import crowded_files  # noqa: E402

MB = 1_000_000
READY_SCRIPT = """new MutationObserver(() => {
  if (document.documentElement.dataset.ready === "1" && !window.__readyAt) window.__readyAt = performance.now();
}).observe(document, {attributes: true, subtree: true});"""
HOVER_SCRIPT = """async ([n, seed]) => {
  const view = TAL.view, canvas = document.getElementById("view"), tip = document.getElementById("tooltip");
  const r = canvas.getBoundingClientRect(), k = r.width / view.W;
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out = [];
  for (let i = 0; i < n; i++) {
    const lv = view.ix.levels[Math.floor(rand() * view.ix.levels.length)];
    const c = Math.floor(rand() * lv.w), row = Math.floor(rand() * lv.h);
    const x = r.left + (c + 0.5) * lv.stride * k, y = r.top + (row + 0.5) * lv.stride * k;
    const t0 = performance.now();
    canvas.dispatchEvent(new MouseEvent("mousemove", {clientX: x, clientY: y, bubbles: true}));
    void tip.offsetHeight;
    out.push(performance.now() - t0);
    if (!tip.textContent.startsWith("anchor ")) throw new Error("no tooltip");  // (client coordinates are whole px)
    await new Promise((res) => requestAnimationFrame(res));
  }
  return out;
}"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def fresh_page(browser, page_path: Path):
    """A new context (network blocked) and page at ``page_path``, ready; returns ``(context, page, ms to ready)``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort())
    context.add_init_script(READY_SCRIPT)
    page = context.new_page()
    page.goto(page_path.as_uri())
    page.wait_for_selector('html[data-ready="1"]', state="attached", timeout=30000)  # (no eval: the page's CSP)
    return context, page, page.evaluate("window.__readyAt")


def measure(browser, page_path: Path, repeats: int, hovers: int) -> dict:
    ready = []
    for _ in range(repeats):
        context, _, ms = fresh_page(browser, page_path)
        ready.append(ms)
        context.close()
    context, page, _ = fresh_page(browser, page_path)
    hover = page.evaluate(HOVER_SCRIPT, [hovers, 14])
    repaint = page.evaluate("""() => Array.from({length: 7}, () => {
      const t0 = performance.now(); TAL.view.paint(); TAL.view.canvas.getContext("2d").getImageData(0, 0, 1, 1);
      return performance.now() - t0; })""")
    e2e = []
    box = page.locator("#view").bounding_box()
    width = page.evaluate("TAL.view.W")
    k = box["width"] / width
    for i in range(30):  # stride-8 anchor centres in the top-left 640 px
        col, row = i * 7 % 80, i * 13 % 80
        anchor = row * (width // 8) + col
        t0 = time.perf_counter()
        page.mouse.move(box["x"] + (8 * col + 4) * k, box["y"] + (8 * row + 4) * k)
        page.locator("#tooltip:not([hidden]) .tip-head", has_text=f"anchor {anchor} ·").wait_for(state="attached")
        e2e.append(1000 * (time.perf_counter() - t0))
        page.mouse.move(0, 0)
    context.close()
    return {"ready": ready, "hover": hover, "e2e": e2e, "repaint": repaint}


def measure_sweep(browser, page_path: Path, repeats: int, item: str = "[data-image]") -> dict:
    ready, opened = [], []
    for _ in range(repeats):
        context, page, ms = fresh_page(browser, page_path)
        ready.append(ms)
        first = page.locator(item).first
        t0 = time.perf_counter()
        first.click()
        page.wait_for_selector('html[data-ready="1"] #view', state="attached")
        opened.append(1000 * (time.perf_counter() - t0))
        context.close()
    return {"ready": ready, "open": opened}


def check_dataset(root: Path, files: int, gts: int = 30, seed: int = 5) -> Path:
    """root/images/train: one 640x480 JPEG under ``files`` names; labels with ``gts`` boxes each (sides
    log-uniform in 0.002..0.2 of the image), one file in 50 dropped (a coordinate beyond 1.01)."""
    import random

    from PIL import Image

    rng = random.Random(seed)
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    photo = root / "photo.jpg"
    Image.effect_noise((640, 480), 40).convert("RGB").save(photo, quality=85)
    data = photo.read_bytes()
    for i in range(files):
        (root / "images" / "train" / f"f{i:05d}.jpg").write_bytes(data)
        rows = []
        for _ in range(gts):
            w, h = (0.002 * 100 ** rng.random() for _ in range(2))
            rows.append(f"{rng.randrange(8)} {rng.uniform(w / 2, 1 - w / 2):.6f} {rng.uniform(h / 2, 1 - h / 2):.6f} "
                        f"{w:.6f} {h:.6f}")
        if i % 50 == 7:
            rows.append("0 0.5 0.5 0.2 1.05")
        (root / "labels" / "train" / f"f{i:05d}.txt").write_text("\n".join(rows) + "\n")
    (root / "data.yaml").write_text("train: images/train\nnames: [a, b, c, d, e, f, g, h]\n")
    return root / "data.yaml"


def run_check_case(browser, tmp: Path, files: int, repeats: int) -> None:
    """Build, write and load the check page of a synthetic dataset; print its numbers."""
    plan = plan_check([check_dataset(tmp / "check", files)], imgsz=[640, 1280], variant=["yolov8", "ultralytics"])
    kept = PageFiles(50)
    t0 = time.perf_counter()
    result = run_check(plan, on_file=kept)
    t_check = time.perf_counter() - t0
    page = tmp / "check.html"
    t0 = time.perf_counter()
    write_check_html(page, result, kept)
    t_page = time.perf_counter() - t0
    text = page.read_text(encoding="utf-8")
    m = measure_sweep(browser, page, repeats, "[data-file]:has(img)")  # the first file with a picture
    pictures = text.count("data:image/jpeg;base64,")
    print(f"check page: {files} files x 30 gts, imgsz 640/1280 x yolov8/ultralytics, {kept.dropped_total} dropped, "
          "--html-images 50")
    print(f"  size   {len(text) / MB:.2f} MB, {len(text) / 50 / 1000:.0f} kB per drill-down file "
          f"({pictures} pictures and thumbnails embedded)")
    print(f"  write  {t_page:.2f} s for the page (the check itself, {plan.workers} workers: {t_check:.2f} s; "
          f"ratio {t_page / t_check:.2f})")
    print(f"  ready  median {statistics.median(m['ready']):.0f} ms, max {max(m['ready']):.0f} ms; "
          f"open a file median {statistics.median(m['open']):.0f} ms, max {max(m['open']):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="page loads per case (time to ready)")
    parser.add_argument("--hovers", type=int, default=300, help="anchors hovered per case")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--cases", default="assign,sweep,check", help="which pages: assign, sweep, check")
    parser.add_argument("--check-files", type=int, default=2000, help="files of the check page's dataset")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    if args.cases == "check":
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium)
            run_check_case(browser, Path(tmp), args.check_files, args.repeats)
            browser.close()
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        crowd = crowded_files(tmp / "crowd", n=2000, size=1280)
        cases = [
            (
                "hubble_left",
                (
                    str(ROOT / "samples/images/hubble_left.jpg"),
                    str(ROOT / "samples/labels/hubble_left.txt"),
                    str(ROOT / "samples/preds/hubble_left.pt"),
                ),
            ),
            ("crowd-2000", tuple(map(str, crowd))),
        ]
        dataset = tmp / "dataset"
        for i in range(60):
            crowded_files(dataset, n=30, size=640, seed=100 + i, stem=f"img{i:03d}", layout=True)
        rows = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium)
            for name, files in cases:
                result = assign_image(*files, variant="ultralytics")
                path = tmp / f"{name}.html"
                t0 = time.perf_counter()
                write_assign_html(result, path, {"image": files[0], "labels": files[1], "preds": files[2]})
                t_html = time.perf_counter() - t0
                t0 = time.perf_counter()
                pngs = write_overlays(result, tmp / f"{name}_png")
                t_png = time.perf_counter() - t0
                text = path.read_text(encoding="utf-8")
                start = text.index("data:image/jpeg;base64,")
                picture = text.index('"', start) - start
                m = measure(browser, path, args.repeats, args.hovers)
                rows.append((name, result, len(text), picture, sum(q.stat().st_size for q in pngs), t_html, t_png, m))
            plan = plan_sweep([dataset], topk=[5, 10, 13], variant=["ultralytics"])
            counts = GtCounts(len(plan.settings))
            t0 = time.perf_counter()
            swept = run_sweep(plan, on_assignment=counts)
            t_sweep = time.perf_counter() - t0
            sweep_page = tmp / "sweep.html"
            t0 = time.perf_counter()
            write_sweep_html(sweep_page, swept, counts, 50)
            t_page = time.perf_counter() - t0
            sweep_text = sweep_page.read_text(encoding="utf-8")
            sweep_m = measure_sweep(browser, sweep_page, args.repeats)
            check_case = "check" in args.cases.split(",")
            if check_case:
                print("(the check page's numbers come first)")
                run_check_case(browser, tmp, args.check_files, args.repeats)
            browser.close()

    print(f"--html pages in headless Chromium ({args.repeats} loads, {args.hovers} hovers per case)\n")
    for name, result, size, picture, png, t_html, t_png, m in rows:
        s = result.report.summary
        rest = size - picture
        print(
            f"{name}: {s.gts} gts, {result.assignment.pair_metric.shape[0]} candidate pairs, {s.positives} positives, "
            f"input {result.scene.letterbox.input_hw[1]}x{result.scene.letterbox.input_hw[0]}"
        )
        print(f"  size   {size / MB:.2f} MB = picture {picture / MB:.2f} MB + the rest {rest / MB:.2f} MB "
              f"(budget 1.50 MB: {rest / (1.5 * MB):.2f}x of it); the 3 overlay PNGs: {png / MB:.2f} MB")
        print(f"  write  {t_html:.2f} s (the 3 overlay PNGs: {t_png:.2f} s; ratio {t_html / t_png:.2f})")
        print(f"  ready  median {statistics.median(m['ready']):.0f} ms, max {max(m['ready']):.0f} ms "
              f"(budget 1000 ms: {max(m['ready']) / 1000:.2f}x of it)")
        print(f"  hover  median {statistics.median(m['hover']):.2f} ms, p95 {pct(m['hover'], 0.95):.2f} ms, "
              f"max {max(m['hover']):.2f} ms (budget 50 ms: {max(m['hover']) / 50:.2f}x of it); "
              f"e2e via Playwright median {statistics.median(m['e2e']):.1f} ms, max {max(m['e2e']):.1f} ms")
        print(f"  paint  a full repaint of the whole input: median {statistics.median(m['repaint']):.0f} ms "
              "(wheel and drag move the last frame and repaint once the pointer rests)\n")
    pictures = sweep_text.count("data:image/jpeg;base64,")
    print("sweep page: 60 images x 30 gts, topk 5/10/13, --html-images 50")
    print(f"  size   {len(sweep_text) / MB:.2f} MB, {len(sweep_text) / 50 / 1000:.0f} kB per drill-down image "
          f"({pictures} pictures and thumbnails embedded)")
    print(f"  write  {t_page:.2f} s for the page (the sweep itself: {t_sweep:.2f} s; ratio {t_page / t_sweep:.2f})")
    print(f"  ready  median {statistics.median(sweep_m['ready']):.0f} ms, max {max(sweep_m['ready']):.0f} ms; "
          f"open an image median {statistics.median(sweep_m['open']):.0f} ms, max {max(sweep_m['open']):.0f} ms")


if __name__ == "__main__":
    main()
