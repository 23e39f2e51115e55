"""Parity of the assigner with what the published ultralytics releases produced.

Reference files (see shared/reference/README.md): a dict with ``settings``, ``inputs``
(``pd_scores [B,A,C]`` and ``pd_bboxes [B,A,4]`` stored as float16, cast to float32 here,
``anc_points [A,2]``, ``gt_labels [B,M,1]``, ``gt_bboxes [B,M,4]``, ``mask_gt [B,M,1]``),
``outputs`` (``target_labels [B,A]``, ``target_bboxes [B,A,4]``, ``fg_mask [B,A]``,
``target_gt_idx [B,A]``, ``target_scores_fg [F,C]``, ``target_scores_sum``),
``intermediates`` (``in_gts_index [P,3]``, ``align_metric [P]``, ``overlaps [P]``) and
``tie_ambiguous_images`` (one bool per image).

A few small cases are copied into tests/data/assigner/ and always run; the full set runs
too when ``../shared/reference`` exists next to the repository.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
import torch

from tal_cli.core.assigner import TaskAlignedAssigner, assign
from tal_cli.core.assignment import Assignment

HERE = Path(__file__).resolve().parents[1]
LOCAL = HERE / "data" / "assigner"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "assigner"
VARIANT_OF_FOLDER = {"ultralytics-8.0.200": "yolov8", "ultralytics-8.4.190": "ultralytics"}

#: the share of anchors (fg and gt index) that must agree on tie-ambiguous images
TIE_AGREEMENT = 0.999


def _cases() -> list:
    local = sorted(LOCAL.glob("*/*.pt"))
    params = [pytest.param(p, id=f"local/{p.parent.name}/{p.stem}") for p in local]
    if SHARED.is_dir():
        params += [pytest.param(p, id=f"shared/{p.parent.name}/{p.stem}") for p in sorted(SHARED.glob("*/*.pt"))]
    else:
        params.append(pytest.param(None, id="shared", marks=pytest.mark.skip(reason=f"{SHARED} not found")))
    return params


CASES = _cases()


def test_local_cases_are_present() -> None:
    """The copies in tests/data must always be there (both variants, a 640 and a tie-ambiguous 320 case)."""
    names = {f"{p.parent.name}/{p.stem}" for p in LOCAL.glob("*/*.pt")}
    assert names >= {f"{v}/{c}" for v in VARIANT_OF_FOLDER for c in ("case_00", "case_08")}


@lru_cache(maxsize=None)
def _load(path: Path) -> tuple[dict, Assignment]:
    ref = torch.load(path, weights_only=True)
    s, i = ref["settings"], ref["inputs"]
    assigner = TaskAlignedAssigner(
        topk=s["topk"], num_classes=s["num_classes"], alpha=s["alpha"], beta=s["beta"], eps=s["eps"],
        variant=VARIANT_OF_FOLDER[path.parent.name], strides=tuple(s["strides"]),
    )
    a = assigner.assign(
        i["pd_scores"].float(),  # (B, A, C) float16 -> float32, exactly what the reference ran on
        i["pd_bboxes"].float(),  # (B, A, 4)
        i["anc_points"],  # (A, 2)
        i["gt_labels"],  # (B, M, 1)
        i["gt_bboxes"],  # (B, M, 4)
        i["mask_gt"],  # (B, M, 1)
    )
    return ref, a


@pytest.mark.parametrize("path", CASES)
def test_provenance_matches_the_folder(path: Path) -> None:
    ref, a = _load(path)
    assert ref["variant"].startswith({"yolov8": "yolov8", "ultralytics": "ultralytics"}[a.settings.variant])
    assert a.settings.uses_floor == (a.settings.variant == "ultralytics")


@pytest.mark.parametrize("path", CASES)
def test_exact_on_images_without_ties(path: Path) -> None:
    ref, a = _load(path)
    out = ref["outputs"]
    ref_fg = out["fg_mask"].bool()  # (B, A)
    flagged = torch.tensor(ref["tie_ambiguous_images"], dtype=torch.bool)  # (B,)
    assert a.fg_mask.shape == ref_fg.shape
    clean = (~flagged).nonzero().squeeze(1).tolist()
    for b in clean:
        fg = ref_fg[b]  # (A,)
        assert torch.equal(a.fg_mask[b], fg), f"image {b}: fg_mask differs"
        assert torch.equal(a.target_gt_idx[b][fg], out["target_gt_idx"][b][fg]), f"image {b}: gt idx"
        assert torch.equal(a.target_labels[b][fg], out["target_labels"][b][fg].long()), f"image {b}: labels"
        assert torch.equal(a.target_bboxes[b][fg], out["target_bboxes"][b][fg]), f"image {b}: bboxes"
        assert not a.target_scores[b][~fg].any(), f"image {b}: background rows must be 0"
    # target_scores_fg: rows of target_scores where fg, in row-major (image, anchor) order
    fg_rows = ref_fg.nonzero()  # (F, 2): image, anchor
    ref_scores = out["target_scores_fg"]  # (F, C)
    assert ref_scores.shape == (fg_rows.shape[0], a.settings.num_classes)
    keep = ~flagged[fg_rows[:, 0]]  # (F,)
    ours = a.target_scores[fg_rows[keep, 0], fg_rows[keep, 1]]  # (F', C)
    torch.testing.assert_close(ours, ref_scores[keep], atol=1e-5, rtol=0)
    if not flagged.any():
        assert a.target_scores.sum().item() == pytest.approx(out["target_scores_sum"], rel=1e-5)


@pytest.mark.parametrize("path", CASES)
def test_background_carries_slot_zero_like_the_reference(path: Path) -> None:
    """Background anchors carry gt slot 0's label and box in the references too."""
    ref, a = _load(path)
    out = ref["outputs"]
    flagged = torch.tensor(ref["tie_ambiguous_images"], dtype=torch.bool)
    for b in (~flagged).nonzero().squeeze(1).tolist():
        assert torch.equal(a.target_labels[b], out["target_labels"][b].long())
        assert torch.equal(a.target_bboxes[b], out["target_bboxes"][b])


@pytest.mark.parametrize("path", CASES)
def test_tie_ambiguous_images_mostly_agree(path: Path) -> None:
    ref, a = _load(path)
    out = ref["outputs"]
    ref_fg = out["fg_mask"].bool()
    for b, flagged in enumerate(ref["tie_ambiguous_images"]):
        if not flagged:
            continue
        same_fg = a.fg_mask[b] == ref_fg[b]  # (A,)
        same_gt = ~ref_fg[b] | (a.target_gt_idx[b] == out["target_gt_idx"][b])  # (A,)
        share = (same_fg & same_gt).float().mean().item()
        assert share >= TIE_AGREEMENT, f"image {b}: only {share:.5f} of anchors agree"


@pytest.mark.parametrize("path", CASES)
def test_tie_flags_match_the_reference_images(path: Path) -> None:
    """``pair_tied`` marks exactly the images the reference calls tie-ambiguous."""
    ref, a = _load(path)
    ours = [bool(a.pair_tied[a.pair_image == b].any()) for b in range(a.batch_size)]
    assert ours == list(ref["tie_ambiguous_images"])


@pytest.mark.parametrize("path", CASES)
def test_candidate_pairs_and_their_metrics(path: Path) -> None:
    ref, a = _load(path)
    inter = ref["intermediates"]
    assert list(inter["shape"]) == [a.batch_size, a.gt_mask.shape[1], a.num_anchors]
    ours = torch.stack((a.pair_image, a.pair_gt, a.pair_anchor), 1)  # (P, 3)
    assert torch.equal(ours, inter["in_gts_index"].long())
    torch.testing.assert_close(a.pair_metric, inter["align_metric"], atol=1e-6, rtol=0)
    torch.testing.assert_close(a.pair_iou, inter["overlaps"], atol=1e-6, rtol=0)


@pytest.mark.parametrize("path", CASES)
def test_function_and_callable_agree(path: Path) -> None:
    """``assign(...)`` and ``TaskAlignedAssigner(...)(...)`` return the same five tensors."""
    ref, a = _load(path)
    i = ref["inputs"]
    args = (i["pd_scores"].float(), i["pd_bboxes"].float(), i["anc_points"], i["gt_labels"], i["gt_bboxes"],
            i["mask_gt"])
    direct = assign(*args, a.settings)
    tup = TaskAlignedAssigner(**{k: getattr(a.settings, k) for k in (
        "topk", "num_classes", "alpha", "beta", "eps", "variant", "strides")})(*args)
    for x, y, z in zip(a.outputs(), direct.outputs(), tup):
        assert torch.equal(x, y) and torch.equal(x, z)
    labels, bboxes, scores, fg, gt_idx = tup
    b, n = fg.shape
    assert labels.dtype == torch.int64 and gt_idx.dtype == torch.int64 and fg.dtype == torch.bool
    assert bboxes.shape == (b, n, 4) and scores.shape == (b, n, a.settings.num_classes)
