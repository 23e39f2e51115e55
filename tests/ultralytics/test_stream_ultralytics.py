"""`--model`: `tal sweep` and `tal assign` straight from an ultralytics model equal export-then-read.

Runs in the ultralytics venv of ``.ci/run`` (``pytest -m ultralytics``). For ``yolov8n.yaml`` and
``yolo26n.yaml`` (random weights, seed 0) on the samples, both heads of YOLO26: every image's
positives (anchor, gt), target scores and losses from ``--model`` must equal those from ``tal
export`` (same batch) followed by ``tal assign`` / ``tal sweep`` on the files it wrote;
``--save-preds`` must write exactly the files ``tal export`` writes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

if os.environ.get("TAL_REQUIRE_ULTRALYTICS"):  # .ci/run's ultralytics venv: a failed import must fail
    import ultralytics  # noqa: F401
else:
    pytest.importorskip("ultralytics")


from ..clirun import run, run_json
from ..conftest import ROOT, SAMPLES, sample

pytestmark = pytest.mark.ultralytics
STEMS = ("astronaut", "coffee", "hubble_left")
MODELS = {"yolov8n.yaml": ("one2many",), "yolo26n.yaml": ("one2many", "one2one")}
BATCH = "2"  # both paths batch alike: astronaut+coffee, then hubble_left


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stream") / "data"
    shutil.copytree(SAMPLES / "images", root / "images")
    shutil.copytree(SAMPLES / "labels", root / "labels")
    return root


@pytest.fixture(scope="module")
def exported(dataset: Path, tmp_path_factory) -> dict[str, Path]:
    out = {}
    for model in MODELS:
        folder = tmp_path_factory.mktemp(model.split(".")[0])
        result = run("export", model, dataset / "images", "--out", folder, "--batch", BATCH)
        assert result.exit_code == 0, result.stderr
        out[model] = folder
    return out


def positives(doc: dict) -> list[tuple[int, int, float]]:
    return [(p["anchor"], p["gt"], p["target_score"]) for p in doc["positives"]]


def close(a: float | None, b: float | None) -> bool:
    return a == b or (a is not None and b is not None and abs(a - b) <= 1e-5 * max(abs(a), abs(b), 1e-12))


@pytest.mark.parametrize("model,head", [(m, h) for m, heads in MODELS.items() for h in heads])
def test_assign_model_equals_assign_file(exported, model: str, head: str) -> None:
    for stem in STEMS:
        image, labels, _ = sample(stem)
        from_model = run_json("assign", image, labels, "--model", model, "--head", head)
        from_file = run_json("assign", image, labels, exported[model] / f"{stem}.pt", "--head", head)
        assert positives(from_model) == positives(from_file), (model, head, stem)
        for kind in ("raw", "gained"):
            for key, value in from_model["losses"][kind].items():
                assert close(value, from_file["losses"][kind][key]), (model, head, stem, kind, key)


@pytest.mark.parametrize("model,head", [(m, h) for m, heads in MODELS.items() for h in heads])
def test_sweep_model_equals_export_then_sweep(dataset: Path, exported, model: str, head: str) -> None:
    args = ["--topk", "5", "10", "13", "--variant", "ultralytics", "--head", head]
    from_model = run_json("sweep", dataset, "--model", model, "--batch", BATCH, *args)
    from_files = run_json("sweep", dataset, "--preds", exported[model], *args)
    assert from_model["fixed"]["model"] == model and from_files["fixed"]["model"] is None
    for a, b in zip(from_model["settings"], from_files["settings"]):
        for key in ("images", "gts", "positives", "gts_without_positives", "contested_anchors", "jaccard_vs_first"):
            assert a[key] == b[key], (model, head, key)
        for key in ("target_scores_sum", "mean_iou", "mean_target_score"):
            assert close(a[key], b[key]), (model, head, key)
        for key in ("box", "cls", a["losses"]["third"]):
            assert close(a["losses"][key], b["losses"][key]), (model, head, key)


def test_save_preds_writes_what_export_writes(dataset: Path, exported, tmp_path: Path) -> None:
    keep = tmp_path / "keep"
    result = run("sweep", dataset, "--model", "yolo26n.yaml", "--batch", BATCH, "--save-preds", keep)
    assert result.exit_code == 0, result.stderr
    for stem in STEMS:
        mine = torch.load(keep / f"{stem}.pt", weights_only=True)
        theirs = torch.load(exported["yolo26n.yaml"] / f"{stem}.pt", weights_only=True)
        assert mine["meta"] == theirs["meta"]
        for branch in ("one2many", "one2one"):
            for key in ("boxes", "scores"):
                assert torch.equal(mine[branch][key], theirs[branch][key]), (stem, branch, key)
    again = run("sweep", dataset, "--model", "yolo26n.yaml", "--save-preds", keep)
    assert again.exit_code == 1
    assert again.stderr == (f"Error: {keep / 'astronaut.pt'} and 2 more already exist; --save-preds does not replace "
                            "PREDS files (choose an empty folder)\n")


def test_model_errors(dataset: Path, tmp_path: Path) -> None:
    image, labels, preds = sample("coffee")
    result = run("assign", image, labels, preds, "--model", "yolov8n.yaml")
    assert (result.exit_code, result.stderr) == (2, "Error: give PREDS or --model MODEL, not both\n")
    result = run("sweep", dataset, "--model", "yolov8n-cls.yaml")
    assert result.exit_code == 1
    assert result.stderr == "Error: yolov8n-cls.yaml: not a detection model (its last layer is Classify)\n"
    data = tmp_path / "d.yaml"
    data.write_text(f"path: {dataset}\ntrain: images\nval: images\nnames: [a, b, c, d, e, f, g, h]\n")
    result = run("sweep", data, "--model", "yolov8n.yaml")
    assert result.exit_code == 1
    assert result.stderr == ("Error: yolov8n.yaml has 80 classes, but the dataset has 8: the model was not trained "
                             "on this dataset\n")
    result = run("sweep", dataset, "--model", "yolov8n.yaml", "--head", "one2one")
    assert (result.exit_code, result.stderr) == (
        1, "Error: yolov8n.yaml: --head one2one: the network has no one2one branch (not an end-to-end model)\n")
    result = run("sweep", dataset, "--preds", dataset, "--model", "yolov8n.yaml")
    assert (result.exit_code, result.stderr) == (
        1, "Error: --preds and --model: give one (the model makes the predictions)\n")


def test_unreadable_image_is_skipped_and_counted(dataset: Path, tmp_path: Path) -> None:
    root = tmp_path / "d"
    shutil.copytree(dataset, root)
    (root / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (root / "labels" / "broken.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    result = run("sweep", root, "--model", "yolov8n.yaml")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(f"Warning: dropped {root / 'images' / 'broken.png'}: ") or \
        result.stderr.startswith(f"Warning: skipped {root / 'images' / 'broken.png'}: ")
    assert "3 images assigned" in result.stdout


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "many"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i in range(40):
        shutil.copy(sample("coffee")[0], root / "images" / f"c{i:02d}.png")
        shutil.copy(sample("coffee")[1], root / "labels" / f"c{i:02d}.txt")
    cmd = [sys.executable, "-m", "tal_cli", "sweep", str(root), "--model", "yolov8n.yaml", "--save-preds",
           str(tmp_path / "keep"), "--csv", str(tmp_path / "s.csv")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "YOLO_OFFLINE": "1"})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list((tmp_path / "keep").glob("*.pt")):
        time.sleep(0.2)  # interrupt while the model is working
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err.decode()[-500:]
    assert b"Traceback" not in err and out == b""
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))  # nothing half-written
    assert not (tmp_path / "s.csv").exists()
