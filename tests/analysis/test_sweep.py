"""`tal sweep`: totals against per-image `tal assign` results, the three outputs, parsing, sources, errors.

The dataset (about 50 images) is made once per module from the samples: shifted and scaled
copies of the label files beside links to the sample images and predictions.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tal_cli.analysis.counts import SIZE_BINS, size_bucket, xyxy_area
from tal_cli.analysis.sweep import settings_grid, sweep
from tal_cli.cli import expand_list_options
from tal_cli.readers.config import load_config
from tal_cli.readers.scene import assign_scenes
from tal_cli.readers.sources import folder_source, iter_scenes
from tal_cli.views.report import build_report

from ..clirun import run
from ..conftest import ROOT, SAMPLES

runner = CliRunner()
IMAGES = {"astronaut": "astronaut.png", "coffee": "coffee.png", "hubble_left": "hubble_left.jpg"}
#: The settings checked against per-image reports: (topk, alpha, beta, variant).
CHECKED = [(10, 0.5, 6.0, "yolov8"), (5, 1.0, 4.0, "ultralytics"), (13, 0.5, 6.0, "ultralytics")]


def link(target: Path, path: Path) -> None:
    try:
        path.symlink_to(target)
    except OSError:  # no symlinks here: copy
        shutil.copyfile(target, path)


def transformed_labels(text: str, scale: float, dx: float, dy: float) -> str:
    """Each box scaled about the image centre and shifted, then clipped to the image."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        c, cx, cy, w, h = line.split()
        cx, cy = 0.5 + (float(cx) - 0.5) * scale + dx, 0.5 + (float(cy) - 0.5) * scale + dy
        w, h = float(w) * scale, float(h) * scale
        x1, y1 = max(cx - w / 2, 0.0), max(cy - h / 2, 0.0)
        x2, y2 = min(cx + w / 2, 1.0), min(cy + h / 2, 1.0)
        if x2 - x1 > 1e-4 and y2 - y1 > 1e-4:
            rows.append(f"{c} {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}")
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """50 images: 24 astronaut and 22 coffee copies, 2 hubble copies, one background (no label
    file), one without predictions (skipped)."""
    root = tmp_path_factory.mktemp("sweepdata")
    for sub in ("images", "labels", "preds"):
        (root / sub).mkdir()
    rng = random.Random(0)
    scales = [0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.85, 1.0, 1.1]
    plan = [("astronaut", 24), ("coffee", 22), ("hubble_left", 2)]
    for stem, count in plan:
        text = (SAMPLES / "labels" / f"{stem}.txt").read_text()
        suffix = Path(IMAGES[stem]).suffix
        for i in range(count):
            name = f"{stem}_{i:02d}"
            link(SAMPLES / "images" / IMAGES[stem], root / "images" / f"{name}{suffix}")
            link(SAMPLES / "preds" / f"{stem}.pt", root / "preds" / f"{name}.pt")
            scale = scales[i % len(scales)] if stem != "hubble_left" else (1.0, 0.8)[i]
            shift = (0.0, 0.0) if i == 0 else (rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15))
            (root / "labels" / f"{name}.txt").write_text(transformed_labels(text, scale, *shift))
    link(SAMPLES / "images" / "coffee.png", root / "images" / "background.png")  # no label file
    link(SAMPLES / "preds" / "coffee.pt", root / "preds" / "background.pt")
    link(SAMPLES / "images" / "astronaut.png", root / "images" / "nopreds.png")  # no predictions
    (root / "labels" / "nopreds.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    return root


@pytest.fixture(scope="module")
def scenes(dataset: Path) -> list:
    cfg = load_config(None)
    src = folder_source(dataset)
    return list(iter_scenes(src.items, cfg.imgsz, cfg.strides, cfg.reg_max, strict=True))


def sweep_json(*args: object) -> dict:
    result = run("sweep", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def checked_doc(dataset: Path) -> dict:
    """One CLI sweep over the dataset under the CHECKED settings (a cartesian product that holds them)."""
    return sweep_json(dataset, "--topk", 10, 5, 13, "--alpha", 0.5, 1, "--beta", 6, 4,
                      "--variant", "yolov8", "ultralytics", "--by-class", "--names", SAMPLES / "data.yaml")


def row_of(doc: dict, topk: int, alpha: float, beta: float, variant: str) -> dict:
    (row,) = [
        r for r in doc["settings"] if (r["topk"], r["alpha"], r["beta"], r["variant"]) == (topk, alpha, beta, variant)
    ]
    return row


def expected_totals(scenes: list, topk: int, alpha: float, beta: float, variant: str) -> tuple[dict, set]:
    """What summing `tal assign`'s per-image reports gives (the library path of `tal assign --json`)."""
    cfg = load_config(None).override(topk=topk, alpha=alpha, beta=beta, variant=variant)
    counts, sizes, classes, ious, scores, positive_set = [], [], {}, [], [], set()
    tot = dict(images=0, gts=0, positives=0, gts_without_positives=0, contested_anchors=0, handed_anchors=0,
               target_scores_sum=0.0)
    for i, scene in enumerate(scenes):
        report = build_report(scene, assign_scenes([scene], cfg.assigner_settings(scene.head.num_classes)))
        s = report.summary
        tot["images"] += 1
        for key in ("gts", "positives", "gts_without_positives", "contested_anchors", "handed_anchors"):
            tot[key] += getattr(s, key)
        tot["target_scores_sum"] += s.target_scores_sum
        for g in report.gts:
            counts.append(g.positives)
            area = g.width * g.height
            sizes.append((next(name for name, limit in SIZE_BINS if area < limit), g.positives == 0))
            c = classes.setdefault(g.class_id, [0, 0, 0])
            c[0] += 1
            c[1] += g.positives
            c[2] += g.positives == 0
        for p in report.positives:
            ious.append(p.iou)
            scores.append(p.target_score)
            positive_set.add((i, p.anchor, p.gt))
    tot["positives_per_gt"] = {
        "mean": sum(counts) / len(counts),
        "median": statistics.median(counts),
        "max": max(counts),
    }
    tot["by_size"] = {name: {"gts": sum(1 for n, _ in sizes if n == name),
                             "without_positives": sum(1 for n, z in sizes if n == name and z)} for name, _ in SIZE_BINS}
    tot["mean_iou"] = sum(ious) / len(ious)
    tot["mean_target_score"] = sum(scores) / len(scores)
    tot["by_class"] = classes
    return tot, positive_set


@pytest.fixture(scope="module")
def expected(scenes: list) -> dict:
    return {setting: expected_totals(scenes, *setting) for setting in CHECKED}


# --- totals ------------------------------------------------------------------------------


def test_dataset_shape(dataset: Path, scenes: list) -> None:
    assert len(list((dataset / "images").iterdir())) == 50
    assert len(scenes) == 49  # nopreds.png is skipped
    assert sum(s.num_gts == 0 for s in scenes) == 1  # background.png
    assert {s.head.num_classes for s in scenes} == {1, 8}  # two batch groups
    bins = {int(i) for s in scenes for i in size_bucket(xyxy_area(s.gt_boxes))}
    assert bins == {0, 1, 2}  # small, medium and large gts


@pytest.mark.parametrize("setting", CHECKED, ids=lambda s: f"k{s[0]}-a{s[1]:g}-b{s[2]:g}-{s[3]}")
def test_totals_equal_sum_of_per_image_reports(checked_doc: dict, expected: dict, setting: tuple) -> None:
    exp, _ = expected[setting]
    row = row_of(checked_doc, *setting)
    for key in ("images", "gts", "positives", "gts_without_positives", "contested_anchors", "handed_anchors"):
        assert row[key] == exp[key], key
    assert row["skipped"] == 1
    assert row["target_scores_sum"] == pytest.approx(exp["target_scores_sum"], rel=1e-6)
    assert row["zero_positive_rate"] == pytest.approx(exp["gts_without_positives"] / exp["gts"], abs=1e-6)
    assert row["positives_per_gt"]["mean"] == pytest.approx(exp["positives_per_gt"]["mean"], abs=1e-6)
    assert row["positives_per_gt"]["median"] == exp["positives_per_gt"]["median"]
    assert row["positives_per_gt"]["max"] == exp["positives_per_gt"]["max"]
    for name, _ in SIZE_BINS:
        assert row["by_size"][name]["gts"] == exp["by_size"][name]["gts"], name
        assert row["by_size"][name]["without_positives"] == exp["by_size"][name]["without_positives"], name
    assert sum(v["gts"] for v in row["by_size"].values()) == row["gts"]
    assert row["mean_iou"] == pytest.approx(exp["mean_iou"], abs=2e-6)
    assert row["mean_target_score"] == pytest.approx(exp["mean_target_score"], abs=2e-6)
    by_class = {c["class_id"]: c for c in row["by_class"]}
    assert {k: [by_class[k]["gts"], by_class[k]["positives"], by_class[k]["gts_without_positives"]]
            for k in by_class} == exp["by_class"]
    assert row["gts_without_positives"] > 0 and row["contested_anchors"] > 0  # the data exercise both


def test_jaccard_against_positive_sets(checked_doc: dict, expected: dict) -> None:
    first = checked_doc["settings"][0]
    assert (first["topk"], first["alpha"], first["beta"], first["variant"]) == CHECKED[0]
    assert first["jaccard_vs_first"] == 1.0
    p0 = expected[CHECKED[0]][1]
    for setting in CHECKED[1:]:
        p = expected[setting][1]
        assert row_of(checked_doc, *setting)["jaccard_vs_first"] == pytest.approx(len(p & p0) / len(p | p0), abs=1e-6)


def test_assign_cli_agrees_with_the_library_path(dataset: Path, scenes: list, expected: dict) -> None:
    """A subset through `tal assign --json` itself: its summaries equal the reports summed above."""
    topk, alpha, beta, variant = CHECKED[1]
    chosen = [s for s in scenes if s.image.stem in ("astronaut_03", "coffee_05", "hubble_left_01", "background")]
    assert len(chosen) == 4
    cfg = load_config(None).override(topk=topk, alpha=alpha, beta=beta, variant=variant)
    for scene in chosen:
        labels = dataset / "labels" / f"{scene.image.stem}.txt"
        args = [scene.image, labels, dataset / "preds" / f"{scene.image.stem}.pt"] if labels.exists() else None
        if args is None:  # background: an empty label file is what `tal assign` takes
            empty = dataset.parent / "empty.txt"
            empty.write_text("")
            args = [scene.image, empty, dataset / "preds" / f"{scene.image.stem}.pt"]
        result = run("assign", *args, "--topk", topk, "--alpha", alpha, "--beta", beta, "--variant", variant, "--json")
        assert result.exit_code == 0, result.stderr
        summary = json.loads(result.stdout)["summary"]
        lib = build_report(scene, assign_scenes([scene], cfg.assigner_settings(scene.head.num_classes))).summary
        for key in ("gts", "positives", "gts_without_positives", "contested_anchors", "handed_anchors"):
            assert summary[key] == getattr(lib, key), (scene.image, key)
        assert summary["target_scores_sum"] == pytest.approx(lib.target_scores_sum, abs=1e-6)


def test_library_batches_equal_single_images(scenes: list) -> None:
    cfg = load_config(None)
    batch = [s for s in scenes if s.head.num_classes == 8][:5]
    settings8 = cfg.assigner_settings(8)
    batched = assign_scenes(batch, settings8)
    for b, scene in enumerate(batch):  # padding other images' gts changes nothing
        alone = assign_scenes([scene], settings8)
        assert torch.equal(batched.fg_mask[b], alone.fg_mask[0])
        assert torch.equal(batched.target_gt_idx[b], alone.target_gt_idx[0])
        assert torch.equal(batched.target_score[b], alone.target_score[0])
    points = settings_grid([10], [0.5], [6.0], ["yolov8"])
    settings = [cfg.assigner_settings(1)]
    batched = sweep(scenes, settings, points)[0]
    single = sweep(scenes, settings, points, batch_size=1)[0]
    assert batched.positives == single.positives and batched.by_size == single.by_size
    assert batched.target_scores_sum == pytest.approx(single.target_scores_sum, rel=1e-9)
    assert batched.jaccard_vs_first == 1.0 and batched.losses is None


def test_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    # 12 gts: hubble_left's first 6 (0 0 0 0 0 2 positives) and astronaut's 6 (10 each): sorted, the middle
    # two are 2 and 10, so the median is 6 (not either of them, as a lower or upper median would say)
    import dataclasses

    cfg = load_config(None)
    by_stem = {s.image.stem: s for s in iter_scenes(folder_source(SAMPLES).items, cfg.imgsz, cfg.strides,
                                                     cfg.reg_max, strict=True)}
    hubble = by_stem["hubble_left"]
    few = dataclasses.replace(hubble, gt_classes=hubble.gt_classes[:6], gt_boxes=hubble.gt_boxes[:6],
                              label_lines=hubble.label_lines[:6])
    scenes = [few, by_stem["astronaut"]]
    counts = []
    for scene in scenes:  # positives per gt slot, from the assignment itself
        a = assign_scenes([scene], cfg.assigner_settings(scene.head.num_classes))
        counts += torch.bincount(a.target_gt_idx[a.fg_mask], minlength=scene.num_gts).tolist()
    ordered = sorted(counts)
    assert len(ordered) == 12 and ordered[5:7] == [2, 10]
    points = settings_grid([10], [0.5], [6.0], ["yolov8"])
    for batch_size in (None, 1):
        (row,) = sweep(scenes, [cfg.assigner_settings(80)], points, batch_size=batch_size)
        assert row.gts == 12 and row.positives_per_gt.median == 6.0 == statistics.median(counts)


# --- the outputs ---------------------------------------------------------------------------


def test_json_document(checked_doc: dict, dataset: Path) -> None:
    assert checked_doc["schema"] == "tal.sweep/1"
    rows = checked_doc["settings"]
    assert len(rows) == 3 * 2 * 2 * 2
    assert [(r["topk"], r["alpha"], r["beta"], r["variant"]) for r in rows[:3]] == [
        (10, 0.5, 6.0, "yolov8"), (10, 0.5, 6.0, "ultralytics"), (10, 0.5, 4.0, "yolov8")]
    keys = {"topk", "alpha", "beta", "variant", "images", "skipped", "gts", "positives", "positives_per_gt",
            "gts_without_positives", "zero_positive_rate", "by_size", "contested_anchors", "handed_anchors",
            "mean_iou", "mean_target_score", "target_scores_sum", "jaccard_vs_first", "by_class"}
    assert all(keys <= set(r) for r in rows)
    assert set(rows[0]["by_size"]) == {"small", "medium", "large"}
    assert set(rows[0]["by_size"]["small"]) == {"gts", "without_positives", "rate"}
    assert checked_doc["skipped"] == [{"image": str(dataset / "images" / "nopreds.png"),
                                       "reason": f"no predictions ({dataset / 'preds' / 'nopreds.pt'} not found)",
                                       "kind": "skipped"}]
    assert checked_doc["fixed"]["iou"] == "ciou" and checked_doc["fixed"]["imgsz"] == [640, 640]
    names = {c["class_id"]: c["class_name"] for c in rows[0]["by_class"]}
    assert names[0] == "person" and names[7] == "spoon"


def test_table_csv_and_plot(dataset: Path, tmp_path: Path, checked_doc: dict) -> None:
    import numpy as np
    from PIL import Image

    out_csv, out_png = tmp_path / "s.csv", tmp_path / "s.png"
    result = run("sweep", dataset, "--topk", 10, 5, 13, "--variant", "yolov8", "ultralytics",
                 "--csv", out_csv, "--plot", out_png, "--by-class", "--names", SAMPLES / "data.yaml")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"folder {dataset} (50 images): 49 images assigned, 1 skipped" in out
    assert "class 0 (person)" in out and "class 7 (spoon)" in out
    assert f"1 image skipped:\n  {dataset / 'images' / 'nopreds.png'}: no predictions" in out
    assert f"wrote {out_csv}\nwrote {out_png}\n" in out
    # the image without predictions is a warning; no progress bar off a terminal
    assert result.stderr == (f"Warning: skipped {dataset / 'images' / 'nopreds.png'}: no predictions "
                             f"({dataset / 'preds' / 'nopreds.pt'} not found)\n")

    with out_csv.open(newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [(int(x["topk"]), x["variant"]) for x in table] == [
        (k, v) for k in (10, 5, 13) for v in ("yolov8", "ultralytics")]
    for line in table:
        row = row_of(checked_doc, int(line["topk"]), float(line["alpha"]), float(line["beta"]), line["variant"])
        assert int(line["positives"]) == row["positives"] and int(line["gts"]) == row["gts"]
        assert float(line["positives_per_gt_mean"]) == row["positives_per_gt"]["mean"]
        assert int(line["small_without_positives"]) == row["by_size"]["small"]["without_positives"]
        assert float(line["target_scores_sum"]) == row["target_scores_sum"]
        assert float(line["jaccard_vs_first"]) == row["jaccard_vs_first"]

    with Image.open(out_png) as im:
        assert im.format == "PNG"
        w, h = im.size
        pixels = np.asarray(im.convert("RGB"), dtype=float)
    assert w >= 800 and h >= 6 * 74  # a row per setting
    assert pixels.std() > 20  # not blank
    colours = {tuple(c) for c in pixels.reshape(-1, 3)[:: 7].astype(int).tolist()}
    assert (58, 110, 165) in colours and (190, 45, 45) in colours  # mean bars and zero-positive bars drawn


# --- the default form, list options, sources ------------------------------------------------------


def test_default_form_from_the_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    doc = sweep_json("--topk", 5, 10, 13)
    assert [r["positives"] for r in doc["settings"]] == [45, 90, 117]  # astronaut 30/60/78 + coffee 15/30/39
    assert all(r["images"] == 2 and r["gts"] == 9 and r["skipped"] == 0 for r in doc["settings"])


def test_process_with_stderr_on_a_terminal(dataset: Path) -> None:
    """The real entry point, run from the repository root: a terminal on stderr gets the progress
    bar, and stdout is byte-identical to a run without any terminal.

    The terminal is drained by a thread while the process runs: a progress bar redrawn many times
    (a slow, loaded machine redraws more) would otherwise fill the pty's buffer and block the
    process on its own stderr (the cause of an earlier time-out).
    """
    import pty
    import threading

    tal = Path(sys.executable).parent / "tal"
    cmd = [str(tal)] if tal.exists() else [sys.executable, "-m", "tal_cli"]
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the slave side closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.Popen(cmd + ["sweep", str(dataset), "--json"], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=slave)
        os.close(slave)
        slave = -1
        stdout, _ = proc.communicate(timeout=600)
        reader.join(timeout=60)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    assert b"sweeping 1 setting" in b"".join(chunks)  # the progress bar, on stderr only
    assert stdout.decode() == run("sweep", dataset, "--json").stdout


@pytest.mark.parametrize("args,expanded", [
    (["--topk", "5", "10", "13"], ["--topk", "5", "--topk", "10", "--topk", "13"]),
    (["--topk", "5", "--topk", "10"], ["--topk", "5", "--topk", "10"]),
    (["--topk", "5,10,13"], ["--topk", "5,10,13"]),
    (["--topk=5", "10", "d/"], ["--topk=5", "--topk", "10", "d/"]),
    (["--alpha", "0.5", "1e-1", "--json"], ["--alpha", "0.5", "--alpha", "1e-1", "--json"]),
    (["--variant", "yolov8", "ultralytics", "x.yaml"], ["--variant", "yolov8", "--variant", "ultralytics", "x.yaml"]),
    (["--variant", "yolov8", "10"], ["--variant", "yolov8", "10"]),
    (["--topk", "5", "--", "10"], ["--topk", "5", "--", "10"]),
])
def test_list_option_expansion(args: list[str], expanded: list[str]) -> None:
    assert expand_list_options(args) == expanded


def test_list_values_end_at_the_source(dataset: Path, checked_doc: dict) -> None:
    doc = sweep_json("--variant", "yolov8", "ultralytics", "--topk", "13", "10", dataset, "--alpha", "1", "0.5",
                     "--beta", "4,6")
    assert len(doc["settings"]) == 16 and doc["settings"][0]["images"] == 49
    assert {(r["topk"], r["alpha"], r["beta"], r["variant"]) for r in doc["settings"]} == {
        (k, a, b, v) for k in (13, 10) for a in (1.0, 0.5) for b in (4.0, 6.0) for v in ("yolov8", "ultralytics")}
    for r in doc["settings"]:  # the same data as the first sweep: the same totals per setting
        assert r["positives"] == row_of(checked_doc, r["topk"], r["alpha"], r["beta"], r["variant"])["positives"]


def test_triple_form_after_a_list() -> None:
    image, labels, preds = (SAMPLES / "images" / "astronaut.png", SAMPLES / "labels" / "astronaut.txt",
                            SAMPLES / "preds" / "astronaut.pt")
    doc = sweep_json("--topk", "5", "10", "13", image, labels, preds)
    assert [r["positives"] for r in doc["settings"]] == [30, 60, 78]


def test_settings_from_the_config(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("topk: 7\nalpha: 1\nbeta: 2\nvariant: ultralytics\n")
    doc = sweep_json("--config", cfg, "--beta", "3", "6")  # no samples in c.yaml: those of configs/default.yaml
    assert [(r["topk"], r["alpha"], r["beta"], r["variant"]) for r in doc["settings"]] == [
        (7, 1.0, 3.0, "ultralytics"), (7, 1.0, 6.0, "ultralytics")]
    assert doc["settings"][0]["images"] == 2


def test_dataset_yaml_form(dataset: Path, tmp_path: Path, checked_doc: dict) -> None:
    data = tmp_path / "data.yaml"
    data.write_text(f"path: {dataset}\ntrain: images\nval: images\n")
    doc = sweep_json(data, "--preds", dataset / "preds", "--topk", 10)
    row = doc["settings"][0]
    assert row["images"] == 49 and row["skipped"] == 1
    assert row["positives"] == row_of(checked_doc, 10, 0.5, 6.0, "yolov8")["positives"]
    assert row["gts"] == row_of(checked_doc, 10, 0.5, 6.0, "yolov8")["gts"]
    # with 8 names, the dataset has 8 classes: the 1-class hubble predictions do not belong to it
    named = tmp_path / "named.yaml"
    named.write_text(f"path: {dataset}\ntrain: images\nval: images\nnames: [a, b, c, d, e, f, g, h]\n")
    doc = sweep_json(named, "--preds", dataset / "preds", "--topk", 10, "--by-class")
    row = doc["settings"][0]
    assert row["images"] == 47 and row["skipped"] == 3
    assert [s["reason"] for s in doc["skipped"] if "hubble" in s["image"]] == [
        f"{dataset / 'preds' / f'hubble_left_0{i}.pt'}: the predictions have 1 class, but the dataset has 8"
        for i in range(2)]
    assert [c["class_name"] for c in row["by_class"]][:2] == ["a", "b"]  # the YAML's names
    result = run("sweep", data, "--split", "test")
    assert result.exit_code == 1 and result.stderr == (
        f"Error: {data}: a dataset YAML needs --preds DIR, the folder of <image stem>.pt files (or --model MODEL)\n")
    result = run("sweep", data, "--split", "test", "--preds", dataset / "preds")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {data}: no 'test' split (it has: train, val); choose one with --split\n"


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("args,message", [
    (["--topk", "0"], "Error: --topk: expected integers >= 1, got '0'\n"),
    (["--topk", "5", "2.5"], "Error: --topk: expected integers >= 1, got '2.5'\n"),
    (["--alpha", "1", "-1"], "Error: --alpha: expected numbers >= 0, got '-1'\n"),
    (["--beta", "x"], "Error: --beta: expected numbers >= 0, got 'x'\n"),
    (["--variant", "v5"], "Error: --variant: expected yolov8 or ultralytics, got 'v5'\n"),
    (["a", "b"], "Error: SOURCE: expected nothing, one folder or dataset YAML, or IMAGE LABELS PREDS; got 2 paths\n"),
])
def test_bad_values_are_one_line(args: list[str], message: str) -> None:
    result = run("sweep", *args)
    assert result.exit_code == 2  # bad usage
    assert result.stderr == message and result.stdout == ""


def test_bad_sources(tmp_path: Path) -> None:
    result = run("sweep", tmp_path / "nope")
    assert (result.exit_code, result.stderr) == (1, f"Error: {tmp_path / 'nope'}: not found\n")
    (tmp_path / "d" / "images").mkdir(parents=True)
    (tmp_path / "d" / "preds").mkdir()
    (tmp_path / "d" / "images" / "notes.txt").write_text("not an image")
    result = run("sweep", tmp_path / "d")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {tmp_path / 'd' / 'images'}: no images (avif, bmp, dng, heic, heif, jp2, jpeg, "
                             "jpg, mpo, png, tif, tiff, webp)\n")
    result = run("sweep", tmp_path)
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: {tmp_path}: expected a dataset folder holding images/, labels/ and preds/ (no images/ folder)\n"
    )
    (tmp_path / "d" / "images" / "a.png").write_bytes(b"\x89PNG broken")
    (tmp_path / "d" / "preds" / "a.pt").write_bytes(b"broken")
    result = run("sweep", tmp_path / "d")  # nothing readable
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(
        f"Error: no image to assign in folder {tmp_path / 'd'} (1 image): 1 left out;"
    )
    cfg = tmp_path / "c.yaml"
    cfg.write_text("topk: 10\n")
    result = run("sweep", cfg)
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {cfg}: expected an ultralytics dataset YAML with train/val/test entries\n",
    )
    result = run("sweep", SAMPLES / "images" / "coffee.png")
    assert result.exit_code == 1 and "one image needs its labels and predictions" in result.stderr
    result = run("sweep", "--preds", tmp_path)
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: --preds needs a SOURCE: a dataset folder or a dataset YAML\n",
    )


def test_unreadable_files_are_warnings(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for sub in ("images", "labels", "preds"):
        (root / sub).mkdir(parents=True)
    for stem in ("good", "badlabel", "badpreds", "badimage"):
        if stem == "badimage":
            (root / "images" / f"{stem}.png").write_bytes(b"\x89PNG broken")
        else:
            link(SAMPLES / "images" / "coffee.png", root / "images" / f"{stem}.png")
        if stem == "badpreds":
            (root / "preds" / f"{stem}.pt").write_text("not torch")
        else:
            link(SAMPLES / "preds" / "coffee.pt", root / "preds" / f"{stem}.pt")
        (root / "labels" / f"{stem}.txt").write_text("5 0.5 0.5 0.2 0.2\n" if stem != "badlabel" else "5 0.5 0.5\n")
    result = run("sweep", root, "--topk", 5, 10)
    assert result.exit_code == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert len(warnings) == 3
    # a bad label row or a bad image: ultralytics' loader drops the image, so the sweep does too
    assert (f"Warning: dropped {root / 'images' / 'badlabel.png'}: {root / 'labels' / 'badlabel.txt'}, line 1: "
            "ultralytics drops this image: 3 values per row") in result.stderr
    assert (f"Warning: dropped {root / 'images' / 'badimage.png'}: ultralytics drops this image: unreadable image "
            "(not an image Pillow can read") in result.stderr
    # unreadable predictions: tal cannot assign it
    assert (f"Warning: skipped {root / 'images' / 'badpreds.png'}: {root / 'preds' / 'badpreds.pt'}: "
            "this is a text file, not a PREDS file") in result.stderr
    assert "1 image assigned, 2 dropped by ultralytics' loader, 1 skipped" in result.stdout
    assert "2 images dropped by ultralytics' loader" in result.stdout and "1 image skipped:" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_triple_errors_are_fatal(tmp_path: Path) -> None:
    bad = tmp_path / "a.txt"
    bad.write_text("9 0.5 0.5 0.2 0.2\n")
    result = run("sweep", SAMPLES / "images" / "coffee.png", bad, SAMPLES / "preds" / "coffee.pt")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {bad}, line 1: ultralytics drops this image: class 9 is outside the 8 classes of "
                             "the predictions (0-7)\n")


def test_help_does_not_import_torch() -> None:
    code = ("import sys\nfrom tal_cli.cli import app\n"
            "try:\n    app(['sweep', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("NO-TORCH")
    assert "tal sweep --topk 5 10 13" in out


def test_sweep_losses_are_the_mean_of_per_image_assign_losses() -> None:
    import json as _json

    from typer.testing import CliRunner as _Runner

    from tal_cli.cli import app as _app

    from ..conftest import ROOT as _ROOT
    from ..conftest import sample as _sample

    runner = _Runner()
    doc = _json.loads(runner.invoke(_app, ["sweep", "--topk", "5", "10", "--json"]).stdout)
    config = _ROOT / "configs" / "default.yaml"
    for row in doc["settings"]:
        per_image = []
        for stem in ("astronaut", "coffee"):
            out = runner.invoke(_app, ["assign", *_sample(stem), "--config", str(config), "--topk", str(row["topk"]),
                                       "--json"]).stdout
            per_image.append(_json.loads(out)["losses"]["gained"])
        for term in ("box", "cls", "dfl"):
            mean = sum(p[term] for p in per_image) / len(per_image)
            assert row["losses"][term] == pytest.approx(mean, rel=1e-5), (row["topk"], term)
