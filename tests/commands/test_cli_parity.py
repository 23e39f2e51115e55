"""`tal assign --json` against what ultralytics 8.4.190's own loss code assigned (reference/pipeline).

Positives (anchor, gt) must be identical and target scores within 1e-4 for the raw layouts
(head dict, per-level maps); the decoded eval layout must agree on >= 95 % of positives.
Small copies of the references live in tests/data/pipeline; the full set of layouts runs when
../shared/reference is present.
"""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from tal_cli.cli import app

from ..conftest import DATA, SHARED_REFERENCE, needs_shared, sample

runner = CliRunner()
REF = DATA / "pipeline"


def _assign_json(image: str, labels: str, preds: str, topk: int) -> dict:
    result = runner.invoke(app, ["assign", image, labels, preds, "--variant", "ultralytics", "--topk", str(topk),
                                 "--alpha", "0.5", "--beta", "6", "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _reference(stem: str, topk: int) -> tuple[dict[tuple[int, int], float], float]:
    ref = torch.load(REF / f"{stem}_ref_topk{topk}.pt", weights_only=True)
    labels = ref["gt_labels"][:, 0].long()
    gts = ref["target_gt_idx_fg"]
    scores = ref["target_scores_fg"][torch.arange(gts.numel()), labels[gts]]
    pairs = dict(zip(zip(ref["fg_anchor_index"].tolist(), gts.tolist()), scores.tolist()))
    return pairs, float(ref["target_scores_sum"])


def _check_exact(doc: dict, stem: str, topk: int) -> None:
    expected, expected_sum = _reference(stem, topk)
    got = {(p["anchor"], p["gt"]): p["target_score"] for p in doc["positives"]}
    assert set(got) == set(expected)
    worst = max(abs(got[k] - expected[k]) for k in expected)
    assert worst <= 1e-4, f"target score off by {worst}"
    assert doc["summary"]["target_scores_sum"] == pytest.approx(expected_sum, abs=1e-3)


CASES = [(stem, topk) for stem in ("astronaut", "coffee", "hubble_left") for topk in (5, 10, 13)]


@pytest.mark.parametrize("stem,topk", CASES)
def test_head_layout_matches_reference(stem: str, topk: int) -> None:
    _check_exact(_assign_json(*sample(stem), topk), stem, topk)


@pytest.mark.parametrize("topk", (5, 10, 13))
def test_maps_layout_matches_reference(topk: int) -> None:
    image, labels, _ = sample("coffee")
    _check_exact(_assign_json(image, labels, str(REF / "coffee_maps.pt"), topk), "coffee", topk)


def _agreement(doc: dict, stem: str, topk: int) -> float:
    expected, _ = _reference(stem, topk)
    got = {(p["anchor"], p["gt"]) for p in doc["positives"]}
    return len(got & set(expected)) / len(set(expected) | got)


@pytest.mark.parametrize("stem", ("astronaut", "coffee"))
@pytest.mark.parametrize("topk", (5, 10, 13))
def test_decoded_layout_agrees(stem: str, topk: int) -> None:
    image, labels, _ = sample(stem)
    doc = _assign_json(image, labels, str(REF / f"{stem}_decoded.pt"), topk)
    assert doc["layout"] == "decoded"
    assert _agreement(doc, stem, topk) >= 0.95


@needs_shared
@pytest.mark.parametrize("stem,topk", CASES)
@pytest.mark.parametrize("layout", ("head", "maps", "decoded"))
def test_full_reference_set(stem: str, topk: int, layout: str) -> None:
    image, labels, _ = sample(stem)
    doc = _assign_json(image, labels, str(SHARED_REFERENCE / "pipeline" / f"{stem}_{layout}.pt"), topk)
    assert doc["layout"] == layout
    if layout == "decoded":
        assert _agreement(doc, stem, topk) >= 0.95
    else:
        _check_exact(doc, stem, topk)


def _check_losses(doc: dict, stem: str, topk: int) -> None:
    ref = torch.load(REF / f"{stem}_ref_topk{topk}.pt", weights_only=True)
    expected = ref["loss_box_cls_dfl_gained"].tolist()
    got = [doc["losses"]["gained"][k] for k in ("box", "cls", "dfl")]
    assert got == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("stem,topk", CASES)
def test_head_layout_losses_match_reference(stem: str, topk: int) -> None:
    doc = _assign_json(*sample(stem), topk)
    _check_losses(doc, stem, topk)
    per_gt = doc["losses"]["per_gt"]  # shares of the totals add up
    assert sum(g["box"] for g in per_gt) == pytest.approx(doc["losses"]["raw"]["box"], rel=1e-5)
    assert sum(g["dfl"] for g in per_gt) == pytest.approx(doc["losses"]["raw"]["dfl"], rel=1e-5)
    assert sum(g["box_share"] for g in per_gt) == pytest.approx(1.0, abs=1e-5)
    assert sum(g["target_score_share"] for g in per_gt) == pytest.approx(1.0, abs=1e-5)
    assert sum(p["box_loss"] for p in doc["positives"]) == pytest.approx(doc["losses"]["raw"]["box"], rel=1e-5)


@pytest.mark.parametrize("topk", (5, 10, 13))
def test_maps_layout_losses_match_reference(topk: int) -> None:
    image, labels, _ = sample("coffee")
    _check_losses(_assign_json(image, labels, str(REF / "coffee_maps.pt"), topk), "coffee", topk)


def test_decoded_layout_has_no_dfl() -> None:
    image, labels, _ = sample("coffee")
    doc = _assign_json(image, labels, str(REF / "coffee_decoded.pt"), 10)
    assert doc["losses"]["raw"]["dfl"] is None and doc["losses"]["gained"]["dfl"] is None
    assert doc["losses"]["dfl_unavailable_reason"] == "decoded predictions carry no box distributions"
    assert all(g["dfl"] is None for g in doc["losses"]["per_gt"])


def test_beyond_reach_is_flagged() -> None:
    # astronaut at topk 13: the spacecraft (2) and flag (3) each have positives whose target side
    # exceeds 15 - 0.01 cells at their stride (found by tests/test_losses.py too).
    doc = _assign_json(*sample("astronaut"), 13)
    assert doc["losses"]["beyond_reach"] == 3
    assert {g["index"]: g["beyond_reach"] for g in doc["losses"]["per_gt"] if g["beyond_reach"]} == {2: 2, 3: 1}
    assert sum(p["beyond_reach"] for p in doc["positives"]) == 3
