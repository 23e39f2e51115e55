"""The overlay renderer: one picture per stride, marks where the assignment says, caller's image untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tal_cli.core.anchors import grid_levels, make_anchors
from tal_cli.core.assigner import assign
from tal_cli.core.settings import AssignerSettings
from tal_cli.views.overlay import OverlayRenderer, OverlayStyle, level_summaries

SIZE = 64
STRIDES = (8, 16, 32)
GREY = (100, 100, 100)
FAR = [0.0, 0.0, 1.0, 1.0]  # a predicted box overlapping no gt


def _anchor(levels, stride: int, col: int, row: int) -> int:
    lv = next(lv for lv in levels if lv.stride == stride)
    return lv.start + row * lv.width + col


def _assign(gt_boxes, gt_classes, preds: dict, scores: dict | None = None, topk: int = 2, num_classes: int = 2,
            **settings):
    """Assign one 64x64 image. ``preds``: anchor -> predicted box (others: FAR); ``scores``:
    ``(anchor, class) -> probability`` (others 0.9)."""
    levels = grid_levels((SIZE, SIZE), STRIDES)
    points, _ = make_anchors(levels)
    a = points.shape[0]
    pd_boxes = torch.tensor(FAR).repeat(1, a, 1)
    for k, box in preds.items():
        pd_boxes[0, k] = torch.tensor(box, dtype=torch.float32)
    pd_scores = torch.full((1, a, num_classes), 0.9)
    for (k, c), v in (scores or {}).items():
        pd_scores[0, k, c] = v
    m = len(gt_boxes)
    result = assign(
        pd_scores,
        pd_boxes,
        points,
        torch.tensor(gt_classes).reshape(1, m, 1),
        torch.tensor(gt_boxes, dtype=torch.float32).reshape(1, m, 4),
        torch.ones(1, m, 1, dtype=torch.bool),
        AssignerSettings(topk=topk, num_classes=num_classes, alpha=0.5, beta=6.0, strides=STRIDES, **settings),
    )
    return result, levels


@pytest.fixture(scope="module")
def two_gts():
    """gt 0 (4,4)-(28,28) wins two stride-8 cells; gt 1 (36,36)-(60,60) wins two stride-16 cells."""
    levels = grid_levels((SIZE, SIZE), STRIDES)
    g0, g1 = [4.0, 4.0, 28.0, 28.0], [36.0, 36.0, 60.0, 60.0]
    preds = {
        _anchor(levels, 8, 1, 1): g0, _anchor(levels, 8, 2, 2): [4.0, 4.0, 26.0, 26.0],
        _anchor(levels, 16, 2, 2): g1, _anchor(levels, 16, 3, 3): [38.0, 38.0, 60.0, 60.0],
    }
    a, levels = _assign([g0, g1], [0, 1], preds)
    return a, levels


def _image() -> Image.Image:
    return Image.new("RGB", (SIZE, SIZE), GREY)


def _cell_centre(stride: int, col: int, row: int, scale: int) -> tuple[int, int]:
    c = stride * scale
    return col * c + c // 2, row * c + c // 2


def _toward(pixel, reference, colour) -> float:
    """Cosine between (pixel - reference) and (colour - reference); 0 when the pixel is the reference."""
    d = np.asarray(pixel[:3], float) - np.asarray(reference[:3], float)
    t = np.asarray(colour, float) - np.asarray(reference[:3], float)
    n = np.linalg.norm(d) * np.linalg.norm(t)
    return float(d @ t / n) if n else 0.0


def test_the_crafted_scene_assigns_as_designed(two_gts):
    a, levels = two_gts
    fg = a.fg_mask[0].nonzero().squeeze(1).tolist()
    assert fg == sorted([_anchor(levels, 8, 1, 1), _anchor(levels, 8, 2, 2),
                         _anchor(levels, 16, 2, 2), _anchor(levels, 16, 3, 3)])
    assert a.target_gt_idx[0, _anchor(levels, 16, 2, 2)] == 1


def test_one_image_per_stride_of_the_scaled_size(two_gts):
    a, levels = two_gts
    out = OverlayRenderer(OverlayStyle(scale=3, legend=False)).render(_image(), a, levels)
    assert list(out) == [8, 16, 32]
    for picture in out.values():
        assert picture.mode == "RGB" and picture.size == (SIZE * 3, SIZE * 3)
    with_legend = OverlayRenderer(OverlayStyle(scale=3)).render(_image(), a, levels)
    for picture in with_legend.values():
        assert picture.size[0] == SIZE * 3 and picture.size[1] > SIZE * 3
        legend = np.asarray(picture)[SIZE * 3:]
        assert legend.std() > 0  # something is written in it


def test_the_callers_image_is_unchanged_and_not_returned(two_gts):
    a, levels = two_gts
    img = _image()
    before = img.tobytes()
    out = OverlayRenderer().render(img, a, levels, names=["cat", "dog"])
    assert img.tobytes() == before and img.size == (SIZE, SIZE) and img.mode == "RGB"
    assert all(p is not img for p in out.values())


def test_positive_cells_carry_their_gt_colour_and_background_does_not(two_gts):
    a, levels = two_gts
    style = OverlayStyle(scale=2, legend=False)
    palette = style.colours()
    out = OverlayRenderer(style).render(_image(), a, levels)
    s8, s16 = out[8], out[16]
    background = s8.getpixel(_cell_centre(8, 7, 0, 2))  # far from both gts
    dimmed = round(GREY[0] * (1 - style.dim))
    assert all(abs(v - dimmed) <= 1 for v in background)
    for col, row in ((1, 1), (2, 2)):
        px = s8.getpixel(_cell_centre(8, col, row, 2))
        assert _toward(px, background, palette[0]) > 0.9
        assert np.abs(np.subtract(px, background)).max() > 40
    for col, row in ((2, 2), (3, 3)):
        px = s16.getpixel(_cell_centre(16, col, row, 2))
        assert _toward(px, background, palette[1]) > 0.9
    # The same cells at other strides are not positives of anything.
    assert s16.getpixel(_cell_centre(8, 7, 0, 2)) == background
    # A candidate of gt 1 that is no positive: only its centre dot is coloured, the rest of the cell is not.
    centre = _cell_centre(8, 5, 5, 2)
    assert _toward(s8.getpixel(centre), background, palette[1]) > 0.9
    assert np.abs(np.subtract(s8.getpixel((centre[0] - 5, centre[1] - 5)), background)).max() <= 1


def test_stronger_positives_are_more_opaque(two_gts):
    a, levels = two_gts
    style = OverlayStyle(scale=2, legend=False)
    out = OverlayRenderer(style).render(_image(), a, levels)[8]
    best, other = _anchor(levels, 8, 1, 1), _anchor(levels, 8, 2, 2)
    assert a.target_score[0, best] > a.target_score[0, other]
    background = np.asarray(out.getpixel(_cell_centre(8, 7, 0, 2)), float)
    shift = [np.abs(np.asarray(out.getpixel(_cell_centre(8, q, q, 2)), float) - background).sum() for q in (1, 2)]
    assert shift[0] > shift[1] > 0


def test_gts_subset_draws_only_those(two_gts):
    a, levels = two_gts
    style = OverlayStyle(scale=2, legend=False)
    palette = style.colours()
    everything = OverlayRenderer(style).render(_image(), a, levels)
    only1 = OverlayRenderer(style).render(_image(), a, levels, gts=[1])
    background = only1[8].getpixel(_cell_centre(8, 7, 0, 2))
    # gt 0's positive cell and box edge are gone...
    assert only1[8].getpixel(_cell_centre(8, 1, 1, 2)) == background
    edge = (4 * 2, 15 * 2)  # left edge of gt 0's box (off the grid lines)
    assert everything[8].getpixel(edge) != background and only1[8].getpixel(edge) == background
    # ... gt 1's remain.
    assert _toward(only1[16].getpixel(_cell_centre(16, 2, 2, 2)), background, palette[1]) > 0.9
    summary = level_summaries(a, levels, gts=[1])
    assert summary[16].positives == 2 and summary[8].positives == 0 and summary[16].gts == 1


def test_bad_arguments_are_refused(two_gts):
    a, levels = two_gts
    r = OverlayRenderer()
    with pytest.raises(ValueError, match="not real gt slots"):
        r.render(_image(), a, levels, gts=[2])
    with pytest.raises(ValueError, match="grid"):
        r.render(Image.new("RGB", (96, 64)), a, levels)
    with pytest.raises(IndexError):
        r.render(_image(), a, levels, image_index=1)
    with pytest.raises(ValueError):
        OverlayStyle(scale=0)
    with pytest.raises(ValueError):
        OverlayStyle(fill_alpha=(0.9, 0.1))


def test_summary_counts(two_gts):
    a, levels = two_gts
    sm = level_summaries(a, levels)
    assert [sm[s].positives for s in STRIDES] == [2, 2, 0]
    assert all(sm[s].positives_all == 4 and sm[s].gts == 2 and sm[s].gts_without_positive == 0 for s in STRIDES)
    assert sum(sm[s].candidates for s in STRIDES) == a.pair_gt.numel()
    assert sum(sm[s].selected for s in STRIDES) == int(a.pair_selected.sum())


def handed_scene():
    """Anchor X (stride 8, cell 3,3) is chosen by gts 0 and 1 but handed to gt 2 (largest IoU)."""
    levels = grid_levels((SIZE, SIZE), STRIDES)
    ga, gb, gc = [0.0, 0.0, 40.0, 40.0], [8.0, 8.0, 48.0, 48.0], [16.0, 16.0, 56.0, 56.0]
    x, y = _anchor(levels, 8, 3, 3), _anchor(levels, 8, 5, 5)
    return _assign([ga, gb, gc], [0, 0, 1], {x: gc, y: gc}, scores={(x, 1): 0.01}, topk=1) + (x,)


def test_contested_and_handed_cells_are_marked():
    a, levels, x = handed_scene()
    assert bool(a.contested[0, x]) and bool(a.handed[0, x]) and a.target_gt_idx[0, x] == 2
    style = OverlayStyle(scale=4, legend=False)
    out = OverlayRenderer(style).render(_image(), a, levels)[8]
    c = 8 * 4
    x0, y0 = 3 * c, 3 * c
    arr = np.asarray(out)
    cell = arr[y0:y0 + c, x0:x0 + c]
    white = (cell.min(axis=2) >= 250)
    assert white[c // 4, c // 4] or white[c // 4 + 1, c // 4 + 1]  # on the X's diagonal
    assert white[2, 2]  # the handed corner triangle
    assert _toward(cell[c // 2 - 3, c // 2 + 6], arr[2, c * 7 + c // 2], style.colours()[2]) > 0.8  # winner's fill
    sm = level_summaries(a, levels)[8]
    assert sm.contested == 1 and sm.handed == 1
    with_legend = OverlayRenderer().render(_image(), a, levels, names={0: "a", 1: "b"})
    assert set(with_legend) == {8, 16, 32}


def test_crowded_scene_renders_and_labels_at_most_max_labels():
    """Many tiny gts (the floor applies): renders, the legend notes the untagged gts."""
    rng = np.random.default_rng(0)
    xy = rng.uniform(2, 58, size=(40, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, 5, size=(40, 2))], 1).tolist()
    a, levels = _assign(boxes, [0] * 40, {}, variant="ultralytics", topk=3)
    out = OverlayRenderer(OverlayStyle(max_labels=5)).render(_image(), a, levels)
    assert set(out) == {8, 16, 32}
    assert (~a.pair_in_box).any()


def _reference_dir() -> Path | None:
    repo = Path(__file__).resolve().parents[2]
    for root in (repo / "tests" / "data", repo / "samples", repo.parent / "shared" / "reference" / "pipeline"):
        for image in ("astronaut.png", "images/astronaut.png"):
            if (root / image).exists():
                return root
    return None


def test_astronaut_smoke():
    root = _reference_dir()
    if root is None:
        pytest.skip("astronaut sample not available")
    from tal_cli.readers.images import letterbox_image, load_image
    from tal_cli.readers.scene import assign_scenes, load_scene

    if (root / "images").is_dir():
        image, labels, preds = root / "images/astronaut.png", root / "labels/astronaut.txt", root / "preds/astronaut.pt"
    else:
        image, labels, preds = root / "astronaut.png", root / "astronaut.txt", root / "astronaut_head.pt"
    if not (labels.exists() and preds.exists()):
        pytest.skip("astronaut labels or predictions not available")
    sc = load_scene(image, labels, preds, (640, 640), STRIDES, 16)
    a = assign_scenes([sc], AssignerSettings(topk=10, alpha=0.5, beta=6.0, num_classes=sc.head.num_classes))
    img = letterbox_image(load_image(sc.image), sc.letterbox)
    names = ["person", "helmet", "spacecraft", "flag", "patch", "cup", "saucer", "spoon"]
    out = OverlayRenderer().render(img, a, sc.head.levels, names=names)
    assert set(out) == {8, 16, 32}
    assert all(p.size[0] == 1280 and p.size[1] > 1280 for p in out.values())
    one = OverlayRenderer().render(img, a, sc.head.levels, names=names, gts=[4])
    assert sum(level_summaries(a, sc.head.levels, gts=[4])[s].positives for s in STRIDES) > 0
    assert set(one) == {8, 16, 32}


def test_an_image_without_gts_still_renders_grid_and_legend():
    levels = grid_levels((SIZE, SIZE), STRIDES)
    points, _ = make_anchors(levels)
    a = assign(torch.full((1, points.shape[0], 2), 0.5), torch.tensor(FAR).repeat(1, points.shape[0], 1), points,
               torch.zeros(1, 0, 1, dtype=torch.long), torch.zeros(1, 0, 4), torch.zeros(1, 0, 1, dtype=torch.bool),
               AssignerSettings(topk=3, num_classes=2, strides=STRIDES))
    out = OverlayRenderer().render(_image(), a, levels)
    assert set(out) == {8, 16, 32}
    assert level_summaries(a, levels)[8].positives == 0


def test_second_image_of_a_batch_and_any_input_mode(two_gts):
    """image_index picks the image; padded gt slots of the smaller image are never drawn."""
    levels = grid_levels((SIZE, SIZE), STRIDES)
    points, _ = make_anchors(levels)
    n = points.shape[0]
    boxes = torch.tensor(
        [[[4.0, 4.0, 28.0, 28.0], [0.0, 0.0, 0.0, 0.0]], [[4.0, 4.0, 28.0, 28.0], [36.0, 36.0, 60.0, 60.0]]]
    )
    pd = boxes[1].repeat(n // 2 + 1, 1)[:n].unsqueeze(0).repeat(2, 1, 1)
    a = assign(
        torch.full((2, n, 2), 0.5),
        pd,
        points,
        torch.zeros(2, 2, 1, dtype=torch.long),
        boxes,
        torch.tensor([[[True], [False]], [[True], [True]]]),
        AssignerSettings(topk=3, num_classes=2, strides=STRIDES),
    )
    r = OverlayRenderer(OverlayStyle(legend=False))
    assert level_summaries(a, levels, image_index=0)[8].gts == 1
    assert level_summaries(a, levels, image_index=1)[8].gts == 2
    with pytest.raises(ValueError, match="not real gt slots"):
        r.render(_image(), a, levels, image_index=0, gts=[1])
    out = r.render(_image().convert("L"), a, levels, image_index=1, gts=[1])
    assert all(p.mode == "RGB" for p in out.values())
