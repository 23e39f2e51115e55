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

import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator
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


#: Threads that read and letterbox images ahead of the network (measured on 2 CPU cores, 200
#: images: none 22.9 s, one 20.1 s, two 19.8 s; the network alone 16.0 s).
READERS = 2


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
                   names: dict[int, str] | None = None, workers: int = READERS) -> Iterator[Forwarded]:
    """Yield every image's PREDS object, in order, running the network on batches of ``batch`` images.

    The stages overlap: ``workers`` threads read and letterbox a window of images ahead of the
    network (0: its own thread reads them), one thread runs the network on batches, at most two
    finished batches wait for the caller, and the caller consumes the results (e.g. assigns them)
    meanwhile. An image that cannot be
    read is yielded with its problem (and takes no place in a batch). Stopping the iteration (or
    Ctrl-C) stops the stages: reads not started are cancelled, the network finishes its batch and
    its thread ends before this returns.

    Raises:
        TalError: a model problem (the same for every image), which stops the run.
    """
    if batch < 1:
        raise TalError(f"--batch {batch}: expected an integer >= 1")
    done: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in _batches(model, images, imgsz, batch, head, names, workers, stop):
                while not stop.is_set():
                    try:
                        done.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            done.put(_END)
        except BaseException as exc:  # noqa: BLE001  handed to the caller's thread, raised there
            done.put(exc)

    interrupted = threading.Event()
    previous = _ctrl_c_sets((interrupted, stop))
    worker = threading.Thread(target=produce, name="tal-forward")
    worker.start()
    try:
        while True:
            item = _next(done, interrupted)
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            for one in item:
                if interrupted.is_set():
                    raise KeyboardInterrupt
                yield one
    finally:
        stop.set()
        worker.join()  # its batch finishes first: a thread still inside torch at exit aborts the process
        _restore_ctrl_c(previous)


def _next(done: queue.Queue, interrupted: threading.Event):
    """The next item of the network's stage; Ctrl-C raises here, at a known point."""
    while True:
        if interrupted.is_set():
            raise KeyboardInterrupt
        try:
            return done.get(timeout=0.1)
        except queue.Empty:
            continue


def _ctrl_c_sets(flags: tuple[threading.Event, ...]):
    """Make Ctrl-C (SIGINT) only set ``flags``; return the handler it replaces (None outside the main
    thread, where nothing changes). The consumer then raises KeyboardInterrupt at a known point: one
    raised wherever the interpreter happens to be (inside code that C calls back) was measured to be
    lost once in ten runs, and the sweep then ran to its end."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return None

    def on_sigint(signum, frame) -> None:
        for flag in flags:
            flag.set()

    return signal.signal(signal.SIGINT, on_sigint)


def _restore_ctrl_c(previous) -> None:
    import signal

    if previous is not None:
        signal.signal(signal.SIGINT, previous)


def _one_thread() -> None:
    """A reader thread's OpenCV work runs on one core (torch's thread setting is the process's: left alone)."""
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass


#: The last item a forward thread hands over.
_END = object()


def _batches(model, images: Iterable[Path], imgsz: tuple[int, int], batch: int, head: str | None,
             names: dict[int, str] | None, workers: int, stop: threading.Event) -> Iterator[list[Forwarded]]:
    """The network's stage: batches of ``batch`` readable images, one list of results per batch.

    A pool of ``workers`` threads reads a window of ``2 * batch`` images ahead; with ``workers`` 0
    the images are read in this thread just before their batch.
    """
    from .model import image_tensor

    def read(image: Path) -> Tensor:
        return image_tensor(image, imgsz)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tal-read",
                              initializer=_one_thread) if workers > 0 else None
    window: deque[tuple[Path, Future | None]] = deque()
    images = iter(images)
    pending: list[tuple[Path, Tensor | None, str | None]] = []

    def fill() -> None:
        while len(window) < (2 * batch if pool is not None else 1):
            image = next(images, None)
            if image is None:
                return
            image = Path(image)
            window.append((image, pool.submit(read, image) if pool is not None else None))

    def run() -> list[Forwarded]:
        ready = [t for _, t, _ in pending if t is not None]
        outputs = iter(head_outputs(model, torch.cat(ready)) if ready else [])
        chunk = [Forwarded(image, None, problem) if tensor is None
                 else Forwarded(image, preds_object(model, next(outputs), imgsz, image, head, names))
                 for image, tensor, problem in pending]
        pending.clear()
        return chunk

    try:
        fill()
        while window and not stop.is_set():
            image, future = window.popleft()
            try:
                pending.append((image, future.result() if future is not None else read(image), None))
            except InputFileError as exc:
                pending.append((image, None, str(exc)))
            fill()
            if sum(t is not None for _, t, _ in pending) >= batch:
                yield run()
        if pending and not stop.is_set():
            yield run()
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
