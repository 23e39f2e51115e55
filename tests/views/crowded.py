"""A synthetic crowded image as files (picture, YOLO labels, PREDS), for the browser tests and
``benchmarks/html.py``: ``n`` small gts (sides log-uniform in 6..60 px) on a ``size`` x ``size``
picture, and a head output in the ultralytics ``head`` layout (reg_max 16, strides 8/16/32,
``meta`` with the input size) whose anchors inside a gt predict a jittered copy of it with a
fair score for its class, so that the assignment has every stage: candidates, top-k,
conflicts, positives of varied target scores, and gts left without positives."""

from __future__ import annotations

from pathlib import Path

import torch

STRIDES = (8, 16, 32)
REG_MAX = 16


def crowded_files(folder: Path, n: int = 2000, size: int = 1280, classes: int = 8, seed: int = 0,
                  stem: str = "crowd", layout: bool = False) -> tuple[Path, Path, Path]:
    """Write ``<stem>.jpg``, ``<stem>.txt`` and ``<stem>.pt`` into ``folder`` (``layout``: into its
    ``images/``, ``labels/`` and ``preds/``, a dataset folder ``tal sweep`` reads); returns their paths."""
    from PIL import Image, ImageDraw

    from tal_cli.core.anchors import grid_levels, make_anchors

    gen = torch.Generator().manual_seed(seed)
    lo, hi = torch.log(torch.tensor(6.0)), torch.log(torch.tensor(60.0))
    side = torch.exp(torch.empty(n, 2).uniform_(float(lo), float(hi), generator=gen))
    centre = side / 2 + torch.rand(n, 2, generator=gen) * (size - side)
    boxes = torch.cat((centre - side / 2, centre + side / 2), 1)  # (n, 4) xyxy px
    cls = torch.randint(0, classes, (n,), generator=gen)

    where = [folder / sub for sub in ("images", "labels", "preds")] if layout else [folder] * 3
    for f in where:
        f.mkdir(parents=True, exist_ok=True)
    image, labels, preds = where[0] / f"{stem}.jpg", where[1] / f"{stem}.txt", where[2] / f"{stem}.pt"
    ramp = torch.linspace(40, 110, size)
    base = torch.stack(
        (ramp[None, :].expand(size, size), ramp[:, None].expand(size, size), torch.full((size, size), 70.0)), -1
    )
    base = base + torch.randn(size, size, 3, generator=gen) * 6
    picture = Image.fromarray(base.clamp(0, 255).to(torch.uint8).numpy(), "RGB")
    draw = ImageDraw.Draw(picture)
    tones = torch.randint(90, 255, (n, 3), generator=gen).tolist()
    for (x1, y1, x2, y2), tone in zip(boxes.tolist(), tones):
        draw.ellipse((x1, y1, x2, y2), fill=tuple(tone))
    picture.save(image, quality=90)
    cxcywh = torch.cat((centre, side), 1) / size
    labels.write_text(
        "".join(f"{int(c)} {' '.join(f'{v:.6f}' for v in row)}\n" for c, row in zip(cls.tolist(), cxcywh.tolist()))
    )

    levels = grid_levels((size, size), STRIDES)
    points, strides = make_anchors(levels)  # (A, 2) px, (A,)
    a = points.shape[0]
    target = torch.full((a,), -1, dtype=torch.long)  # a gt whose box holds the anchor centre
    for j in torch.randperm(n, generator=gen).tolist():
        x1, y1, x2, y2 = boxes[j].tolist()
        for lv in levels:
            s = lv.stride
            c0, c1 = max(0, int(x1 // s)), min(lv.width - 1, int(x2 // s))
            r0, r1 = max(0, int(y1 // s)), min(lv.height - 1, int(y2 // s))
            if c0 > c1 or r0 > r1:
                continue
            rows = torch.arange(r0, r1 + 1)[:, None] * lv.width + torch.arange(c0, c1 + 1)[None, :] + lv.start
            target[rows.reshape(-1)] = j
    held = target >= 0
    jitter = 1 + 0.25 * torch.randn(a, 4, generator=gen)
    pred = boxes[target.clamp(min=0)]  # (A, 4)
    wh = (pred[:, 2:] - pred[:, :2]).repeat(1, 2)
    pred = pred + (jitter - 1) * wh * 0.5
    dist = torch.cat((points - pred[:, :2], pred[:, 2:] - points), 1) / strides[:, None]  # (A, 4) l, t, r, b in cells
    dist = torch.where(held[:, None], dist, torch.rand(a, 4, generator=gen) * 3).clamp(0, REG_MAX - 1.01)
    bins = torch.arange(REG_MAX, dtype=torch.float32)
    logits = -2.0 * (bins[None, None, :] - dist[:, :, None]) ** 2  # (A, 4, R)
    scores = torch.randn(a, classes, generator=gen) - 4.0
    fair = torch.randn(a, generator=gen) * 1.5 + 0.5
    scores[held, cls[target[held]]] = fair[held]
    obj = {"boxes": logits.reshape(a, 4 * REG_MAX).T[None].contiguous(), "scores": scores.T[None].contiguous(),
           "meta": {"imgsz": size, "strides": list(STRIDES), "reg_max": REG_MAX}}
    torch.save(obj, preds)
    return image, labels, preds
