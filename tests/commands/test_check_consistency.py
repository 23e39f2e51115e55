"""`tal check` counts candidates as `tal assign` does: for every sample image, both variants and
input sizes 320, 640 and 1280, the candidates per stride of every gt and the gts without a
candidate equal what `tal assign --json` reports.

`tal assign` needs PREDS at each size: synthetic head outputs with their input size in the
metadata (candidates do not depend on the predictions).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tal_cli.analysis.check import check_settings, gt_candidates
from tal_cli.cli import app
from tal_cli.core.settings import AssignerSettings
from tal_cli.readers.verdicts import verify_pair

from ..conftest import sample
from .test_loader_rules import synthetic_preds

runner = CliRunner()
SIZES = (320, 640, 1280)
VARIANTS = ("yolov8", "ultralytics")


@pytest.fixture(scope="module")
def preds(tmp_path_factory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("preds")
    return {n: synthetic_preds(folder / f"p{n}.pt", n) for n in SIZES}


def run_json(*args: object) -> dict:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("stem", ["astronaut", "coffee", "hubble_left"])
def test_candidates_and_zero_candidate_gts_equal_tal_assign(stem: str, preds: dict[int, Path]) -> None:
    image, labels, _ = sample(stem)
    check = run_json("check", image, labels, "--imgsz", *SIZES, "--variant", *VARIANTS, "--json")
    settings = check_settings([(n, n) for n in SIZES], VARIANTS, AssignerSettings(topk=10), 16)
    assert [(s["imgsz"], s["variant"]) for s in check["settings"]] == [([n, n], v) for n in SIZES for v in VARIANTS]
    verdict = verify_pair(image, labels)
    for k, setting in enumerate(settings):
        n, variant = setting.imgsz[0], setting.variant
        assign = run_json("assign", image, labels, preds[n], "--variant", variant, "--json")
        per_gt = [[g["candidates_per_stride"][str(s)] for s in (8, 16, 32)] for g in assign["gts"]]
        assert gt_candidates(verdict, setting).tolist() == per_gt, (stem, n, variant)
        zero = sum(1 for g in assign["gts"] if g["candidates"] == 0)
        assert check["files"][0]["zero_candidate"][k] == zero, (stem, n, variant)
        assert check["settings"][k]["zero_candidate"]["all"] == zero
        assert check["settings"][k]["candidates_per_stride"] == {
            str(s): sum(row[i] for row in per_gt) for i, s in enumerate((8, 16, 32))}
