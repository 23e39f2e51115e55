"""Running an ultralytics detection network over many images: read ahead, batch, split per image.

:func:`forward_images` is the one forward path of ``tal``: ``tal export`` saves what it yields,
``tal sweep --model`` and ``tal assign --model`` assign it straight away. Both therefore batch
the same way (the same images, in the same order, ``batch`` readable images per forward call),
so a PREDS file written by ``tal export --batch N`` holds exactly the tensors that ``tal sweep
--model --batch N`` assigns.

Images are read and letterboxed by a small pool of threads ahead of the network (a bounded
window of ``2 * batch`` images), the network runs on stacked batches in eval mode without
gradients, and each image's head output is cut out of the batch, copied to the CPU as float32,
and packed as the PREDS object ``tal export`` saves: ``{"boxes", "scores", "meta"}`` for an
ordinary head, ``{"one2many", "one2one", "meta"}`` for an end-to-end head.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..core.errors import InputFileError, TalError
from ..readers.preds import BRANCHES

#: Images per forward call when ``--batch`` is not given: small on a CPU (memory, and no gain
#: from larger batches), larger on a GPU.
DEFAULT_BATCH = {"cpu": 4, "cuda": 32, "mps": 16}


def default_batch(device: str) -> int:
    """The default batch for a device name (``cpu``, ``cuda``, ``cuda:1``, ``mps``)."""
    return DEFAULT_BATCH.get(device.split(":")[0], DEFAULT_BATCH["cpu"])


@dataclass(frozen=True)
class Forwarded:
    """One image's turn through the network.

    Attributes:
        image: the image file.
        preds: the PREDS object as ``tal export`` saves it (branches and ``meta``), or None.
        problem: why the image could not be run (unreadable), one line; None when it ran.
    """

    image: Path
    preds: dict | None
    problem: str | None = None


def _branch(obj: object, i: int) -> object:
    """Image ``i``'s part of one branch: ``boxes``/``scores`` (``feats`` dropped) or a list of maps,
    each ``Tensor[1, ...] float32`` on the CPU, copied out of the batch."""
    if isinstance(obj, dict) and "boxes" in obj and "scores" in obj:
        return {k: obj[k][i:i + 1].detach().float().cpu().clone() for k in ("boxes", "scores")}
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(t, Tensor) for t in obj):
        return [t[i:i + 1].detach().float().cpu().clone() for t in obj]
    return None


def head_outputs(model, x: Tensor) -> list[dict[str, object]]:
    """Run the network once on a batch and cut each image's raw head output out of it.

    Args:
        model: an :class:`~tal_cli.ultralytics.model.DetectionModel`.
        x: ``Tensor[B, 3, H, W] float32``, RGB in [0, 1] (:func:`~tal_cli.ultralytics.model.image_tensor`).

    Returns:
        B dicts ``{"one2many": branch, "one2one": branch}`` (the branches the model has), each
        branch ``{"boxes": Tensor[1, 4R, A], "scores": Tensor[1, C, A]}`` or a list of
        ``Tensor[1, 4R + C, H, W]`` maps (older releases).

    Raises:
        TalError: the network's output is not a detection head's.
    """
    device = next(model.network.parameters()).device
    with torch.inference_mode():
        out = model.network(x.to(device))
    raw = out[1] if isinstance(out, (tuple, list)) and len(out) == 2 and not isinstance(out[1], Tensor) else out
    per_image = []
    for i in range(x.shape[0]):
        if isinstance(raw, dict) and any(k in raw for k in BRANCHES):
            found = {k: _branch(raw[k], i) for k in BRANCHES if k in raw}
            found = {k: v for k, v in found.items() if v is not None}  # a fused network has an empty one2many
        else:
            one = _branch(raw, i)
            found = {} if one is None else {"one2many": one}
        if not found:
            raise TalError(f"{model.source}: the network's output is not a head output ({type(raw).__name__})")
        per_image.append(found)
    return per_image


def preds_object(model, branches: dict[str, object], imgsz: tuple[int, int], image: Path,
                 head: str | None = None, names: dict[int, str] | None = None) -> dict:
    """The PREDS object of one image, as ``tal export`` saves it (``head``: that branch only).

    Raises:
        TalError: ``head`` is a branch the model lacks.
    """
    if head is not None:
        model.check_head(head, branches)
        branches = {head: branches[head]}
    if model.branches == ("one2many",) and isinstance(branches["one2many"], dict):
        obj = dict(branches["one2many"])  # an ordinary head: {"boxes", "scores"} at the top
    else:
        obj = dict(branches)
    obj["meta"] = model.meta(imgsz, image.name, names).to_dict()
    return obj


def forward_images(model, images: Iterable[Path], imgsz: tuple[int, int], batch: int, head: str | None = None,
                   names: dict[int, str] | None = None, workers: int = 2) -> Iterator[Forwarded]:
    """Yield every image's PREDS object, in order, running the network on batches of ``batch`` images.

    An image that cannot be read is yielded with its problem (and takes no place in a batch);
    the others are read by ``workers`` threads ahead of the network. Stopping the iteration
    (or Ctrl-C) cancels the reads that have not started.

    Raises:
        TalError: a model problem (the same for every image), which stops the run.
    """
    from .model import image_tensor

    if batch < 1:
        raise TalError(f"--batch {batch}: expected an integer >= 1")
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="tal-read")
    window: deque[tuple[Path, Future]] = deque()
    images = iter(images)
    pending: list[tuple[Path, Tensor | None, str | None]] = []

    def fill() -> None:
        while len(window) < 2 * batch:
            image = next(images, None)
            if image is None:
                return
            window.append((Path(image), pool.submit(image_tensor, Path(image), imgsz)))

    def run() -> Iterator[Forwarded]:
        ready = [t for _, t, _ in pending if t is not None]
        outputs = iter(head_outputs(model, torch.cat(ready)) if ready else [])
        for image, tensor, problem in pending:
            if tensor is None:
                yield Forwarded(image, None, problem)
            else:
                yield Forwarded(image, preds_object(model, next(outputs), imgsz, image, head, names))
        pending.clear()

    try:
        fill()
        while window:
            image, future = window.popleft()
            try:
                pending.append((image, future.result(), None))
            except InputFileError as exc:
                pending.append((image, None, str(exc)))
            fill()
            if sum(t is not None for _, t, _ in pending) >= batch:
                yield from run()
        yield from run()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
