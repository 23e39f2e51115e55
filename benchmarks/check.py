"""Benchmark of ``tal check`` against ultralytics building its label cache, on the same files.

Not a test: run it by hand and read the numbers. ::

    python benchmarks/check.py                      # 20,000 images
    python benchmarks/check.py --images 118287      # COCO scale (about 2.5 GB of files)
    python benchmarks/check.py --images 300 --rounds 1 --keep /tmp/ds   # small, keep the files

**Data.** A synthetic dataset written as files in a temporary folder, laid out as ultralytics
reads one (``images/train``, ``labels/train``, ``data.yaml`` with 80 names): real images of
mixed sizes and formats (solid-colour JPEGs and PNGs from 480x640 to 4032x3024, every file a
valid image ultralytics' ``verify()`` accepts), 1-300 boxes per image (sides log-uniform,
classes uniform), and on purpose about 6 % of the files bad in the ways ultralytics cares
about: coordinates above 1.01, negative values, wrong column counts, classes >= 80, text that
is not a number, box and polygon rows mixed, duplicate rows, empty and missing label files,
images below 10 px, files that are not images, and valid polygon files.

**Contenders**, each in its own process, timed from inside it (imports not counted):

- **ultralytics**: ``YOLODataset.cache_labels`` of ultralytics (its ``verify_image_label``
  over every image/label pair in its thread pool, as building the dataset does; the cache it
  saves is removed afterwards), from the ultralytics venv (never imported here).
- **tal**: ``plan_check`` + ``run_check`` of ``tal check data.yaml --split train`` (the
  default setting of the config: input 640, variant yolov8; or ``--tal-imgsz`` /
  ``--tal-variant``), worker processes as the command uses them.

The two alternate for ``--rounds`` rounds (the files are read once before, so both read
from the page cache); the figure is the median. Each writes every file's verdict; they are
compared file by file (kept / background / dropped, and the number of gts), and every
disagreement is printed. Peak memory is the resident high-water mark of each process (and of
tal's workers); ``--memory-check`` also runs tal on a tenth of the files to show that its
peak does not grow with the number of images.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUM_CLASSES = 80
#: (width, height, format) of the image templates.
SIZES = [(640, 480, "JPEG"), (480, 640, "JPEG"), (1280, 720, "JPEG"), (1024, 768, "JPEG"), (640, 480, "PNG"),
         (1920, 1080, "PNG"), (1080, 1920, "PNG"), (4032, 3024, "PNG")]


# --------------------------------------------------------------------------- data
def _row(rng: random.Random) -> str:
    """One valid box row, sides log-uniform in 0.2 %..60 % of the image."""
    w, h = (min(0.6, 0.002 * 300 ** rng.random()) for _ in range(2))
    cx, cy = rng.uniform(w / 2, 1 - w / 2), rng.uniform(h / 2, 1 - h / 2)
    return f"{rng.randrange(NUM_CLASSES)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"


def _polygon(rng: random.Random) -> str:
    cx, cy, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.01, 0.15)
    points = " ".join(f"{cx + r * dx:.6f} {cy + r * dy:.6f}" for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)))
    return f"{rng.randrange(NUM_CLASSES)} {points}"


#: Ways a label file goes wrong, and how often (the rest are plain box files).
DEFECTS = {"coordinate > 1.01": 0.008, "negative value": 0.006, "wrong column count": 0.006,
           "class >= nc": 0.006, "not a number": 0.004, "boxes and polygons mixed": 0.004,
           "duplicate rows": 0.01, "empty label file": 0.005, "no label file": 0.005, "tiny image": 0.002,
           "not an image": 0.002, "polygons": 0.005}


def _label_text(rng: random.Random, pool: list[str], defect: str | None) -> str | None:
    rows = rng.sample(pool, rng.randint(1, 300))
    if defect == "coordinate > 1.01":
        parts = rows[-1].split()
        rows[-1] = " ".join([parts[0], "1.0500", *parts[2:]])
    elif defect == "negative value":
        parts = rows[0].split()
        rows[0] = " ".join([*parts[:3], "-0.0300", parts[4]])
    elif defect == "wrong column count":  # every row of six values, or one
        rows = [r + " 0.5" for r in rows] if rng.random() < 0.5 else [*rows[:-1], rows[-1] + " 0.5"]
    elif defect == "class >= nc":
        rows[0] = f"{NUM_CLASSES + rng.randrange(5)} " + rows[0].split(" ", 1)[1]
    elif defect == "not a number":
        rows[-1] = rows[-1].rsplit(" ", 1)[0] + " O.25"
    elif defect == "boxes and polygons mixed":
        rows.insert(rng.randrange(len(rows) + 1), _polygon(rng))
    elif defect == "duplicate rows":
        rows += rng.sample(rows, min(len(rows), rng.randint(1, 5)))
    elif defect == "empty label file":
        return ""
    elif defect == "no label file":
        return None
    elif defect == "polygons":
        rows = [_polygon(rng) for _ in range(rng.randint(1, 40))]
    return "\n".join(rows) + "\n"


def write_dataset(root: Path, images: int, seed: int, defects: float = 1.0) -> dict[str, int]:
    """Write ``root/images/train``, ``root/labels/train`` and ``root/data.yaml``; returns the defects written.

    ``defects`` scales how often each defect of :data:`DEFECTS` is drawn (a small test set wants more).
    """
    from PIL import Image

    rng = random.Random(seed)
    templates = {}
    for w, h, fmt in SIZES:
        buf = io.BytesIO()
        Image.new("RGB", (w, h), (rng.randrange(256), rng.randrange(256), rng.randrange(256))).save(buf, fmt)
        templates[(w, h, fmt)] = buf.getvalue()
    buf = io.BytesIO()
    Image.new("RGB", (8, 40), (90, 90, 90)).save(buf, "PNG")
    tiny = buf.getvalue()
    pool = list(dict.fromkeys(_row(rng) for _ in range(200_000)))
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "data.yaml").write_text(f"train: images/train\nval: images/train\n"
                                    f"names: [{', '.join(f'c{i}' for i in range(NUM_CLASSES))}]\n")
    names, weights = list(DEFECTS), [p * defects for p in DEFECTS.values()]
    counts: dict[str, int] = {}
    for i in range(images):
        r = rng.random()
        defect = None
        for name, p in zip(names, weights):
            if r < p:
                defect = name
                break
            r -= p
        counts[defect or "clean"] = counts.get(defect or "clean", 0) + 1
        w, h, fmt = rng.choice(SIZES)
        stem = f"im{i:06d}"
        suffix = ".jpg" if fmt == "JPEG" else ".png"
        data = tiny if defect == "tiny image" else (b"not an image at all" if defect == "not an image"
                                                    else templates[(w, h, fmt)])
        (root / "images" / "train" / f"{stem}{suffix}").write_bytes(data)
        text = _label_text(rng, pool, defect)
        if text is not None:
            (root / "labels" / "train" / f"{stem}.txt").write_text(text)
    return counts


# --------------------------------------------------------------------------- workers
def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _peak_kb() -> tuple[int, int]:
    """Peak resident memory (KiB) of this process and of its largest finished child."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def worker_ultralytics(data: Path, verdicts: Path) -> dict:
    """ultralytics' label-cache build over the split; every file's verdict to ``verdicts`` (JSON lines)."""
    import logging

    os.environ["YOLO_OFFLINE"] = "1"
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import img2label_paths
    from ultralytics.utils import LOGGER, NUM_THREADS

    LOGGER.setLevel(logging.CRITICAL)
    images = sorted(str(p) for p in (data.parent / "images" / "train").iterdir())
    dataset = YOLODataset.__new__(YOLODataset)  # only what cache_labels reads: no transforms, no images loaded
    dataset.im_files, dataset.label_files = images, img2label_paths(images)
    dataset.prefix, dataset.single_cls, dataset.augment = "", False, False
    dataset.use_keypoints = dataset.use_segments = dataset.use_obb = False
    dataset.data = {"names": {i: f"c{i}" for i in range(NUM_CLASSES)}, "channels": 3}
    cache = data.parent / "labels" / "bench.cache"
    devnull = open(os.devnull, "w")  # its progress bar
    saved, sys.stderr = sys.stderr, devnull
    try:
        t, cpu = time.perf_counter(), time.process_time()
        out = dataset.cache_labels(cache)
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    finally:
        sys.stderr = saved
    for path in cache.parent.glob("bench.cache*"):
        path.unlink()
    kept = {lb["im_file"]: len(lb["cls"]) for lb in out["labels"]}
    with verdicts.open("w") as fh:
        for image in images:
            n = kept.get(image)
            status = "dropped" if n is None else ("background" if n == 0 else "kept")
            fh.write(json.dumps([image, status, n or 0]) + "\n")
    return {"seconds": seconds, "cpu": cpu, "peak_kb": _peak_kb()[0], "threads": NUM_THREADS, "files": len(images)}


def worker_tal(data: Path, verdicts: Path, imgsz: list[int], variants: list[str], workers: int | None,
               listing: Path | None) -> dict:
    """``tal check`` over the split (``listing``: a text list of images instead); verdicts to ``verdicts``."""
    sys.path.insert(0, str(ROOT))
    from tal_cli.workflows.check import plan_check, run_check

    source = data
    if listing is not None:
        source = listing.with_suffix(".yaml")
        source.write_text(
            f"train: {listing.name}\nval: {listing.name}\nnames: [{', '.join(f'c{i}' for i in range(NUM_CLASSES))}]\n"
        )
    with verdicts.open("w") as fh:
        def on_file(f) -> None:
            fh.write(json.dumps([f.image, f.status, f.gts]) + "\n")

        t, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        plan = plan_check([source], imgsz=imgsz, variant=variants, split="train", workers=workers)
        result = run_check(plan, on_file=on_file)
        seconds = time.perf_counter() - t
        cpu = time.process_time() - cpu + _children_cpu() - children  # this process and its workers
    me, children = _peak_kb()
    row = result.rows[0]
    return {"seconds": seconds, "cpu": cpu, "peak_kb": me, "worker_peak_kb": children, "workers": plan.workers,
            "files": result.total.images, "settings": [r.label for r in result.rows],
            "zero_candidate": row.zero_candidate, "gts": row.gts}


# --------------------------------------------------------------------------- parent
def find_ultralytics_python(choice: str | None) -> str | None:
    """This interpreter, ``$ULTRALYTICS_PYTHON`` or ``../ulvenv/bin/python``: the first that imports ultralytics."""
    candidates = [choice] if choice else [sys.executable, os.environ.get("ULTRALYTICS_PYTHON"),
                                          str(ROOT.parent / "ulvenv" / "bin" / "python")]
    for py in filter(None, candidates):
        if Path(py).exists() and subprocess.run([py, "-c", "import ultralytics.data.utils"], capture_output=True,
                                                env=dict(os.environ, YOLO_OFFLINE="1")).returncode == 0:
            return py
        if choice:
            raise SystemExit(f"--ultralytics-python {py}: cannot import ultralytics")
    return None


def run_worker(python: str, kind: str, data: Path, verdicts: Path, extra: list[str]) -> dict:
    cmd = [python, str(Path(__file__).resolve()), "--worker", kind, "--data", str(data), "--verdicts", str(verdicts),
           *extra]
    env = dict(os.environ, YOLO_OFFLINE="1", PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                                                       os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(mine: Path, theirs: Path) -> list[str]:
    """Disagreements between the two verdict files, file by file."""
    a = {Path(x[0]).resolve(): (x[1], x[2]) for x in map(json.loads, mine.read_text().splitlines())}
    b = {Path(x[0]).resolve(): (x[1], x[2]) for x in map(json.loads, theirs.read_text().splitlines())}
    out = [f"{p}: only in {'tal' if p in a else 'ultralytics'}" for p in sorted(set(a) ^ set(b))]
    out += [f"{p}: tal {a[p][0]} ({a[p][1]} gts), ultralytics {b[p][0]} ({b[p][1]} gts)"
            for p in sorted(set(a) & set(b)) if a[p] != b[p]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2, help="alternating timed runs of each contender")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--defects", type=float, default=1.0, help="scale of the defect rates (1: about 6 %% of files)")
    parser.add_argument("--workers", type=int, default=None, help="tal's worker processes (default: CPU count)")
    parser.add_argument("--tal-imgsz", type=int, nargs="+", default=[], help="tal check --imgsz (default: config)")
    parser.add_argument("--tal-variant", nargs="+", default=[], help="tal check --variant (default: config)")
    parser.add_argument("--ultralytics-python", default=None)
    parser.add_argument("--memory-check", action="store_true", help="also run tal on a tenth of the files")
    parser.add_argument("--keep", type=Path, default=None, help="write the dataset here and keep it")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line at the end")
    parser.add_argument("--worker", choices=("tal", "ultralytics"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--verdicts", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--listing", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "ultralytics":
        print(json.dumps(worker_ultralytics(args.data, args.verdicts)))
        return
    if args.worker == "tal":
        print(json.dumps(worker_tal(args.data, args.verdicts, args.tal_imgsz, args.tal_variant, args.workers,
                                    args.listing)))
        return

    ul_python = find_ultralytics_python(args.ultralytics_python)
    tmp = None
    if args.keep is not None:
        root = args.keep
        if root.exists():
            shutil.rmtree(root)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="tal-check-bench-")
        root = Path(tmp.name) / "data"
    try:
        t = time.perf_counter()
        defects = write_dataset(root, args.images, args.seed, args.defects)
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        print(
            f"data: {args.images} images in {root} ({size / 1e6:.0f} MB, written in {time.perf_counter() - t:.1f} s); "
            f"defects: {', '.join(f'{k} {v}' for k, v in sorted(defects.items()) if k != 'clean')}",
            flush=True,
        )
        for path in root.rglob("*"):  # into the page cache: both contenders read warm files
            if path.is_file():
                path.read_bytes()
        data = root / "data.yaml"
        tal_args = (["--tal-imgsz", *map(str, args.tal_imgsz)] if args.tal_imgsz else []) + \
                   (["--tal-variant", *args.tal_variant] if args.tal_variant else []) + \
                   (["--workers", str(args.workers)] if args.workers else [])
        out = Path(tempfile.mkdtemp(prefix="tal-check-verdicts-"))
        runs: dict[str, list[dict]] = {"tal": [], "ultralytics": []}
        order = ["ultralytics", "tal"] if ul_python else ["tal"]
        for r in range(args.rounds):
            for kind in (order if r % 2 == 0 else order[::-1]):
                python = ul_python if kind == "ultralytics" else sys.executable
                runs[kind].append(run_worker(python, kind, data, out / f"{kind}.jsonl", tal_args))
                print(f"round {r + 1}: {kind:11s} {runs[kind][-1]['seconds']:7.2f} s "
                      f"(CPU {runs[kind][-1]['cpu']:6.2f} s)", flush=True)
        tal_s = statistics.median(x["seconds"] for x in runs["tal"])
        tal_cpu = statistics.median(x["cpu"] for x in runs["tal"])
        t0 = runs["tal"][0]
        print(f"tal check:   {tal_s:7.2f} s = {args.images / tal_s:7.0f} images/s; {t0['workers']} worker processes, "
              f"settings {', '.join(t0['settings'])}; peak memory {t0['peak_kb'] / 1024:.0f} MiB (main), "
              f"{t0['worker_peak_kb'] / 1024:.0f} MiB (largest worker); {t0['gts']} gts, {t0['zero_candidate']} "
              "without a candidate")
        print(f"             CPU {tal_cpu:7.2f} s = {tal_cpu / args.images * 1e3:.3f} ms per image, all processes")
        result = {"images": args.images, "tal_seconds": tal_s, "tal_cpu": tal_cpu, "tal_peak_mib": t0["peak_kb"] / 1024,
                  "tal_worker_peak_mib": t0["worker_peak_kb"] / 1024}
        if ul_python:
            ul_s = statistics.median(x["seconds"] for x in runs["ultralytics"])
            ul_cpu = statistics.median(x["cpu"] for x in runs["ultralytics"])
            u0 = runs["ultralytics"][0]
            print(f"ultralytics: {ul_s:7.2f} s = {args.images / ul_s:7.0f} images/s; YOLODataset.cache_labels, "
                  f"{u0['threads']} thread(s) in its pool; peak memory {u0['peak_kb'] / 1024:.0f} MiB")
            print(f"             CPU {ul_cpu:7.2f} s = {ul_cpu / args.images * 1e3:.3f} ms per image")
            print(f"ratio:       tal check is {ul_s / tal_s:.2f}x as fast as ultralytics' label-cache build (wall "
                  f"time, medians); it uses {tal_cpu / ul_cpu:.2f}x its CPU time")
            diff = compare(out / "tal.jsonl", out / "ultralytics.jsonl")
            print(f"verdicts:    {'identical on every file' if not diff else f'{len(diff)} files disagree'} "
                  f"({args.images} files: kept / background / dropped and gts per file)")
            for line in diff[:50]:
                print(f"  {line}")
            result.update(ultralytics_seconds=ul_s, ultralytics_cpu=ul_cpu, ratio=ul_s / tal_s, disagreements=len(diff),
                          ultralytics_peak_mib=u0["peak_kb"] / 1024)
        else:
            print("ultralytics: not found (give --ultralytics-python, $ULTRALYTICS_PYTHON or ../ulvenv); tal alone")
        if args.memory_check:
            listing = root / "tenth.txt"
            images = sorted((root / "images" / "train").iterdir())
            listing.write_text("".join(f"./images/train/{p.name}\n" for p in images[: max(1, len(images) // 10)]))
            small = run_worker(sys.executable, "tal", data, out / "tenth.jsonl", [*tal_args, "--listing", str(listing)])
            print(
                f"memory:      peak {small['peak_kb'] / 1024:.0f} MiB main / {small['worker_peak_kb'] / 1024:.0f} MiB "
                f"worker on {small['files']} images, {t0['peak_kb'] / 1024:.0f} / {t0['worker_peak_kb'] / 1024:.0f} "
                f"MiB on {t0['files']}"
            )
            result.update(tenth_peak_mib=small["peak_kb"] / 1024, tenth_worker_peak_mib=small["worker_peak_kb"] / 1024)
        shutil.rmtree(out)
        print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
              "other busy processes on these cores distort both figures")
        if args.json:
            print(json.dumps(result))
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
