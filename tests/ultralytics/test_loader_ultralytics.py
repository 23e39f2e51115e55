"""ultralytics' own loader is the referee of tal's dataset reading, label verdicts and pixels.

Runs in the ultralytics venv of ``.ci/run`` (``pytest -m ultralytics``). On trees and label
files made here, ultralytics' ``check_det_dataset`` + ``YOLODataset`` (its label cache),
``verify_image_label`` and ``imread`` + ``LetterBox`` give the expected answers; tal's
``read_dataset`` / ``split_images`` / ``verify_pair`` and ``tal export``'s ``image_tensor``
must give the same: the same images in the same order, kept or dropped alike, the same gts in
the same order, the same pixels.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

if os.environ.get("TAL_REQUIRE_ULTRALYTICS"):  # .ci/run's ultralytics venv: a failed import must fail
    import ultralytics  # noqa: F401
else:
    pytest.importorskip("ultralytics")

from tal_cli.readers.datasets import label_path, read_dataset, split_images
from tal_cli.readers.labels import label_verdict
from tal_cli.readers.verdicts import verify_pair

from ..conftest import sample

pytestmark = pytest.mark.ultralytics

ROWS = {  # label texts, one file each: what ultralytics keeps, drops or reorders
    "ok": "5 0.5 0.5 0.2 0.2\n6 0.25 0.75 0.1 0.3\n",
    "dups": "7 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.2 0.2\n5 0.1 0.9 0.1 0.1\n",
    "tolerance": "5 1.005 0.5 0.2 0.2\n5 -0.005 0.5 0.2 0.2\n",
    "beyond": "5 0.5 0.5 0.2 1.02\n",
    "negative_wh": "5 0.5 0.5 -0.005 0.2\n",
    "classfloat": "5.0 0.5 0.5 0.2 0.2\n6e0 0.3 0.3 0.1 0.1\n",
    "classbig": "9 0.5 0.5 0.2 0.2\n",
    "mixed": "5 0.5 0.5 0.2 0.2\n5 0.1 0.1 0.3 0.1 0.3 0.3\n",
    "polygons": "5 0.1 0.1 0.3 0.1 0.3 0.3\n6 0.5 0.5 0.9 0.5 0.9 0.9 0.5 0.9\n5 0.1 0.1 0.3 0.1 0.3 0.3\n",
    "sixcols": "5 0.5 0.5 0.2 0.2 0.1\n",
    "text": "5 0.5 0.5 0.2 zero\n",
    "empty": "\n  \n",
    "nan": "5 nan 0.5 0.2 0.2\n",
}


def build_tree(root: Path) -> None:
    """root/images/{val,extra}/... with the coffee photo under many names, labels under root/labels/."""
    image = sample("coffee")[0]
    for i, (name, text) in enumerate(sorted(ROWS.items())):
        sub = "val" if i % 3 else "extra"
        (root / "images" / sub).mkdir(parents=True, exist_ok=True)
        (root / "labels" / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy(image, root / "images" / sub / f"{name}.png")
        (root / "labels" / sub / f"{name}.txt").write_text(text)
    shutil.copy(image, root / "images" / "val" / "nolabel.png")  # a background image
    (root / "images" / "val" / "tiny.png").parent.mkdir(exist_ok=True)
    Image.new("RGB", (8, 40)).save(root / "images" / "val" / "tiny.png")  # < 10 px: dropped
    (root / "labels" / "val" / "tiny.txt").write_text("5 0.5 0.5 0.2 0.2\n")
    (root / "images" / "val" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    (root / "list.txt").write_text("./images/extra/ok.png\n./images/val/dups.png\n./images/val/nolabel.png\n")


NAMES = "names: [a, b, c, d, e, f, g, h]\n"
YAMLS = {
    "path-dot": "path: .\ntrain: images/val\nval: images/val\n" + NAMES,
    "no-path": "train: images/val\nval: [images/val, images/extra]\n" + NAMES,
    "list-file": "train: list.txt\nval: list.txt\n" + NAMES,
    "list-of-both": "train: list.txt\nval: [list.txt, images/extra]\n" + NAMES,
}


def ultralytics_view(yaml: Path) -> list[tuple[str, list[int], np.ndarray]]:
    """(image, classes, xywh boxes) of every image ultralytics' loader keeps, in its order."""
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    data = check_det_dataset(str(yaml))
    dataset = YOLODataset(img_path=data["val"], data=data, task="detect", imgsz=640, augment=False, cache=False)
    return [(str(Path(lb["im_file"]).resolve()), lb["cls"][:, 0].astype(int).tolist(), lb["bboxes"])
            for lb in dataset.labels]


def tal_view(yaml: Path) -> list[tuple[str, list[int], np.ndarray]]:
    dataset = read_dataset(yaml)
    out = []
    for image in split_images(dataset, "val").images:
        verdict = verify_pair(image, label_path(image), dataset.num_classes, dataset.kpt_shape)
        if verdict.dropped:
            continue
        boxes = np.array(verdict.gts.boxes, dtype=np.float64).reshape(-1, 4)
        xywh = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2,
                         boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], 1)
        out.append((str(image.resolve()), list(verdict.gts.classes), xywh))
    return out


@pytest.mark.parametrize("form", sorted(YAMLS))
def test_dataset_yaml_reads_as_ultralytics(tmp_path: Path, monkeypatch, form: str) -> None:
    root = tmp_path / "ds"
    build_tree(root)
    (root / "data.yaml").write_text(YAMLS[form])
    monkeypatch.chdir(root)  # ultralytics reads path: . against the working folder; tal against the YAML's
    theirs = ultralytics_view(Path("data.yaml"))
    for label_cache in root.rglob("*.cache"):  # ultralytics writes its cache next to the labels
        label_cache.unlink()
    monkeypatch.chdir(tmp_path)  # tal gives the same answer from anywhere
    mine = tal_view(Path("ds/data.yaml"))
    assert [t[0] for t in mine] == [t[0] for t in theirs]  # the same images kept, in the same order
    for (image, classes, xywh), (_, their_classes, their_xywh) in zip(mine, theirs):
        assert classes == their_classes, image  # the same gts, in the same order
        np.testing.assert_allclose(xywh, their_xywh, atol=1e-6, err_msg=image)


def random_text(rng: random.Random) -> str:
    values = ["0", "1", "2", "0.5", "0.25", "1.0", "1.01", "1.02", "-0.01", "-0.005", "-0.02", "nan", "inf", "1e-3",
              "1.5", "3", "x", "0.1", "0.9", "7", "-0", "+0.3", ".5", "5."]
    rows = []
    for _ in range(rng.randint(1, 4)):
        n = rng.choice([5, 5, 5, 7, 9, 4, 6, 1, 8, 11])
        rows.append(" ".join(rng.choice(values) for _ in range(n)))
    if rng.random() < 0.3:
        rows.append(rows[0])
    if rng.random() < 0.2:
        rows.insert(rng.randint(0, len(rows)), "   ")
    return "\n".join(rows) + rng.choice(["", "\n", "\r\n"])


@pytest.mark.parametrize("pose", [False, True])
def test_label_verdicts_equal_verify_image_label(tmp_path: Path, pose: bool) -> None:
    from ultralytics.data.utils import verify_image_label

    image = tmp_path / "im.png"
    Image.new("RGB", (32, 32)).save(image)
    labels = tmp_path / "im.txt"
    rng = random.Random(7 + pose)
    kpt = (2, 3) if pose else None
    for case in range(600):
        text = random_text(rng)
        labels.write_text(text, encoding="utf-8")
        nc = rng.choice([3, 8])
        result = verify_image_label((str(image), str(labels), "", pose, nc, kpt[0] if pose else 0,
                                     kpt[1] if pose else 0, False))
        theirs = "dropped" if result[0] is None else ("background" if len(result[1]) == 0 else "kept")
        mine = label_verdict(text, nc, kpt)
        assert mine.status == theirs, (case, text, result[-1], mine)
        if theirs == "kept":
            lb = result[1]
            assert list(mine.labels.classes) == lb[:, 0].astype(int).tolist(), (case, text)
            boxes = np.array(mine.labels.boxes)
            np.testing.assert_allclose((boxes[:, :2] + boxes[:, 2:]) / 2, lb[:, 1:3], atol=1e-6, err_msg=text)


@pytest.mark.parametrize("sep", ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1e", "\x85", "\u2028", "\u2029"])
def test_rows_end_where_verify_image_label_ends_them(tmp_path: Path, sep: str) -> None:
    # valid rows (the random texts above are mostly dropped): every line break splits rows for both
    from ultralytics.data.utils import verify_image_label

    image = tmp_path / "im.png"
    Image.new("RGB", (32, 32)).save(image)
    labels = tmp_path / "im.txt"
    text = sep.join(["2 0.5 0.5 0.5 0.5", "0 0.25 0.25 0.125 0.125", "1 0.75 0.5 0.25 0.5"]) + "\n"
    labels.write_text(text, encoding="utf-8")
    result = verify_image_label((str(image), str(labels), "", False, 3, 0, 0, False))
    mine = label_verdict(labels.read_text(encoding="utf-8"), 3)
    assert result[0] is not None and mine.status == "kept"
    assert list(mine.labels.classes) == result[1][:, 0].astype(int).tolist() == [2, 0, 1]


def translucent_images(root: Path) -> list[Path]:
    """A translucent RGBA PNG, LA, palette with transparency, 16-bit grey and 16-bit RGBA ones."""
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (90, 130, 4), dtype=np.uint8)
    rgba[..., 3] = np.linspace(0, 255, 130, dtype=np.uint8)[None]
    paths = []
    Image.fromarray(rgba, "RGBA").save(p := root / "rgba.png")
    paths.append(p)
    Image.fromarray(rgba[..., 2:], "LA").save(p := root / "la.png")
    paths.append(p)
    pal = Image.fromarray(rgba[..., :3], "RGB").convert("P", palette=Image.ADAPTIVE, colors=64)
    pal.save(p := root / "palette.png", transparency=3)
    paths.append(p)
    grey16 = (rng.integers(0, 65536, (70, 50))).astype(np.uint16)
    Image.fromarray(grey16).save(p := root / "grey16.png")
    paths.append(p)
    return paths


def test_translucent_pixels_equal_ultralytics_loader(tmp_path: Path) -> None:
    from ultralytics.data.augment import LetterBox
    from ultralytics.utils.patches import imread

    from tal_cli.ultralytics.model import image_tensor

    for path in translucent_images(tmp_path):
        for size in ((640, 640), (320, 640)):
            ours = image_tensor(path, size)[0]  # (3, H, W) RGB
            bgr = imread(str(path))
            bgr = np.repeat(bgr, 3, axis=2) if bgr.shape[2] == 1 else bgr
            theirs = LetterBox(size, auto=False)(image=bgr)[..., ::-1].copy()
            assert torch.equal(ours, torch.from_numpy(theirs).permute(2, 0, 1).float() / 255), (path.name, size)
