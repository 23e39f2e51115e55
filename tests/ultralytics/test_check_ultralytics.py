"""ultralytics referees `tal check`'s verdicts: a small version of benchmarks/check.py.

Runs in the ultralytics venv of ``.ci/run`` (``pytest -m ultralytics``). On a synthetic dataset
written by the benchmark's generator, with many defective files, ultralytics' label-cache build
(``YOLODataset.cache_labels``) and tal's ``run_check`` must reach the same verdict on every
file (kept / background / dropped) and keep the same gts in the same order; then the benchmark
script itself runs end to end and reports no disagreement.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

if os.environ.get("TAL_REQUIRE_ULTRALYTICS"):  # .ci/run's ultralytics venv: a failed import must fail
    import ultralytics  # noqa: F401
else:
    pytest.importorskip("ultralytics")

from tal_cli.readers.verdicts import verify_pair
from tal_cli.workflows.check import plan_check, run_check

from ..conftest import ROOT

pytestmark = pytest.mark.ultralytics
BENCHMARK = ROOT / "benchmarks" / "check.py"


def benchmark_module():
    spec = importlib.util.spec_from_file_location("check_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ultralytics_cache(root: Path) -> dict[str, dict]:
    """ultralytics' labels of every image it keeps, by resolved path (its cache file removed afterwards)."""
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import img2label_paths
    from ultralytics.utils import LOGGER

    LOGGER.setLevel(logging.CRITICAL)
    images = sorted(str(p) for p in (root / "images" / "train").iterdir())
    dataset = YOLODataset.__new__(YOLODataset)
    dataset.im_files, dataset.label_files = images, img2label_paths(images)
    dataset.prefix, dataset.single_cls, dataset.augment = "", False, False
    dataset.use_keypoints = dataset.use_segments = dataset.use_obb = False
    dataset.data = {"names": {i: f"c{i}" for i in range(80)}, "channels": 3}
    out = dataset.cache_labels(root / "labels" / "referee.cache")
    for path in (root / "labels").glob("referee.cache*"):
        path.unlink()
    return {str(Path(lb["im_file"]).resolve()): lb for lb in out["labels"]}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("check") / "data"
    counts = benchmark_module().write_dataset(root, 160, seed=3, defects=6.0)
    assert sum(v for k, v in counts.items() if k != "clean") > 40  # every kind of defect, several times
    # one PNG whose pixel data fails its checksum: only a full verify() (ultralytics', --verify-images) sees it
    png = next(p for p in sorted((root / "images" / "train").glob("*.png")) if p.stat().st_size > 1000)
    data = bytearray(png.read_bytes())
    data[data.index(b"IDAT") + 20] ^= 0xFF
    png.write_bytes(bytes(data))
    return root


def test_verdicts_and_gts_equal_ultralytics_label_cache(dataset: Path) -> None:
    theirs = ultralytics_cache(dataset)
    plan = plan_check([dataset / "data.yaml"], split="train", verify_images=True, workers=2)
    files = []
    run_check(plan, on_file=files.append)
    assert len(files) == 160
    for f in files:
        key = str(Path(f.image).resolve())
        lb = theirs.get(key)
        status = "dropped" if lb is None else ("background" if len(lb["cls"]) == 0 else "kept")
        assert f.status == status, (f.image, f.reason)
        if status == "kept":
            verdict = verify_pair(f.image, f.labels, 80)
            assert list(verdict.gts.classes) == lb["cls"][:, 0].astype(int).tolist(), f.image
            boxes = np.array(verdict.gts.boxes)
            xywh = np.concatenate(((boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]), 1)
            np.testing.assert_allclose(xywh, lb["bboxes"], atol=1e-6, err_msg=f.image)
            assert f.gts == len(lb["cls"])
    # headers only (the default): the one file whose pixel data is corrupt is the only difference
    header = []
    run_check(plan_check([dataset / "data.yaml"], split="train", workers=1), on_file=header.append)
    differ = [a.image for a, b in zip(header, files) if a.status != b.status]
    assert len(differ) == 1 and differ[0].endswith(".png")


def test_the_benchmark_script_finds_no_disagreement(dataset: Path, tmp_path: Path) -> None:
    env = dict(os.environ, ULTRALYTICS_PYTHON=sys.executable)
    proc = subprocess.run([sys.executable, str(BENCHMARK), "--images", "120", "--rounds", "1", "--defects", "5",
                           "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["disagreements"] == 0, proc.stdout
    assert "verdicts:    identical on every file" in proc.stdout
