"""Watch the assignment of an ultralytics training run, per epoch, from the exact tensors the loss uses.

One line in a training script::

    from ultralytics import YOLO
    from tal_cli.ultralytics.monitor import add_tal_callbacks

    model = YOLO("yolov8n.yaml")
    add_tal_callbacks(model)              # or add_tal_callbacks(trainer); a second call changes nothing
    model.train(data="data.yaml", epochs=3)
    # -> {save_dir}/tal/epochs.csv, epochs.json (schema tal.train/1), epochs.png

How (nothing of ultralytics is copied; only its objects are watched):

- At train start the loss object, which ultralytics builds lazily at the first loss call, is
  built with the model's own ``init_criterion()``; every task-aligned assigner in it
  (``assigner``, or ``one2many.assigner`` and ``one2one.assigner`` of an end-to-end head) gets
  a forward pre-hook and a forward hook (with kwargs): the hook sees the six input tensors
  and the five outputs of each call.
- Contested anchors are not in the outputs: the conflict step is wrapped (the instance's
  ``select_highest_overlaps`` on 8.4; the module-level function of ``ultralytics.utils.tal``
  on 8.0.x) and counts, from its input and outputs, anchors selected by several gts and
  positives handed to a gt that did not select them. The gt-axis sum is taken in int16.
- Counts stay on the training device (:class:`~tal_cli.analysis.training.Counts`); a
  batch's counts are committed at ``on_train_batch_end``, so a batch the trainer abandons
  (out of memory) is not counted; a call the assigner retries one image at a time counts
  its retry only. The host synchronises once per epoch.
- Every ``every``-th batch (1: every batch, 0: never) ``tal``'s own assigner re-runs the
  hooked inputs in float32 (so AMP's half-precision scores are read as they are) with the
  hooked assigner's settings (topk, alpha, beta, eps, classes, topk2, the small-box floor):
  the reason of each gt without positives, and the anchors where the two disagree.
- Hooks are detached at each epoch's end, before validation and checkpoint saves (8.0.x
  saves the training model with its loss object), and attached again at the next epoch's
  start: a checkpoint never refers to ``tal``.
- Under DDP each rank counts its own batches; at epoch end the counts are all-reduced and
  rank 0 writes. The launching process trains nothing: the results are the files.

Older releases drop plain callbacks in DDP workers:
:class:`tal_cli.ultralytics.trainer.TalDetectionTrainer` registers the monitor in its
constructor, in every process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .. import __version__
from ..analysis.training import (
    Counts,
    EpochRecord,
    RunInfo,
    all_reduce_counts,
    conflict_counts,
    count_conflicts,
    count_outputs,
    count_rerun,
)
from ..core.assigner import assign
from ..core.errors import TalError
from ..core.settings import AssignerSettings

#: The callback events the monitor uses.
EVENTS = ("on_train_start", "on_train_epoch_start", "on_train_batch_start", "on_train_batch_end",
          "on_train_epoch_end", "on_train_end", "teardown")
#: The assigner's six inputs, in call order.
INPUTS = ("pd_scores", "pd_bboxes", "anc_points", "gt_labels", "gt_bboxes", "mask_gt")
#: Environment variables :class:`~tal_cli.ultralytics.trainer.TalDetectionTrainer` reads (DDP
#: workers of older releases get only the trainer class and the environment).
ENV_EVERY, ENV_WORST = "TAL_MONITOR_EVERY", "TAL_MONITOR_WORST"
_CONFLICT_METHOD = "select_highest_overlaps"


def add_tal_callbacks(model_or_trainer: Any, every: int = 1, worst: int = 10) -> "TalMonitor":
    """Attach the monitor to an ultralytics ``YOLO`` model or trainer; idempotent.

    Args:
        model_or_trainer: anything with ultralytics' ``callbacks`` dict (``YOLO(...)``, a trainer).
        every: re-run ``tal``'s assigner every N batches (1: every batch; 0: never).
        worst: how many of each epoch's worst images to record.

    Returns:
        the :class:`TalMonitor`: the one already attached, if any (its settings kept).

    Raises:
        TypeError: not an ultralytics model or trainer. ValueError: negative ``every`` or ``worst``.
    """
    callbacks = getattr(model_or_trainer, "callbacks", None)
    if not isinstance(callbacks, dict):
        raise TypeError(f"add_tal_callbacks: expected an ultralytics YOLO model or trainer, got "
                        f"{type(model_or_trainer).__name__}")
    existing = find_monitor(callbacks)
    if existing is not None:
        return existing
    monitor = TalMonitor(every=every, worst=worst)
    for event in EVENTS:
        callbacks.setdefault(event, []).append(getattr(monitor, event))
    return monitor


def find_monitor(callbacks: dict) -> "TalMonitor | None":
    """The :class:`TalMonitor` among ultralytics ``callbacks`` ({event: [callables]}), or None."""
    for funcs in callbacks.values():
        for func in funcs:
            owner = getattr(func, "__self__", None)
            if isinstance(owner, TalMonitor):
                return owner
    return None


def monitor_options_from_env() -> dict[str, int]:
    """``every`` and ``worst`` from :data:`ENV_EVERY` / :data:`ENV_WORST` (unset: defaults)."""
    out = {}
    for key, name in (("every", ENV_EVERY), ("worst", ENV_WORST)):
        raw = os.environ.get(name)
        if raw:
            try:
                out[key] = int(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r}: expected an integer >= 0") from None
    return out


def assigner_settings(assigner: Any) -> AssignerSettings | None:
    """``tal``'s settings for an ultralytics task-aligned assigner, read from the object.

    ``topk``, ``alpha``, ``beta``, ``eps``, ``num_classes``; ``topk2`` where present (then
    variant ``ultralytics``); the small-box floor where the object has ``stride_val`` (at
    ``stride_val`` px, which must be the floor ``tal`` derives from ``stride``). None for
    subclasses (rotated, pose, segmentation-aware assigners score pairs differently) and for
    settings ``tal`` cannot express: those are counted, not re-run.
    """
    if type(assigner).__name__ != "TaskAlignedAssigner":
        return None
    try:
        topk = int(assigner.topk)
        topk2 = getattr(assigner, "topk2", None)
        topk2 = None if topk2 is None or int(topk2) == topk else int(topk2)
        floor = hasattr(assigner, "stride_val")
        stride = getattr(assigner, "stride", None)
        strides = tuple(int(s) for s in stride) if stride is not None else (8, 16, 32)
        settings = AssignerSettings(
            topk=topk, num_classes=int(assigner.num_classes), alpha=float(assigner.alpha), beta=float(assigner.beta),
            eps=float(assigner.eps), variant="ultralytics" if floor or hasattr(assigner, "topk2") else "yolov8",
            strides=strides, topk2=topk2, small_box_floor=floor)
    except (AttributeError, TypeError, ValueError):
        return None
    if floor and float(assigner.stride_val) != settings.floor_side:
        return None
    return settings


def find_assigners(criterion: Any) -> dict[str, torch.nn.Module]:
    """Branch name -> task-aligned assigner of an ultralytics loss object.

    ``criterion.assigner`` is ``one2many``; an end-to-end loss holds ``one2many.assigner`` and
    ``one2one.assigner``.
    """
    found = {}
    for branch, owner in (("one2many", criterion), ("one2many", getattr(criterion, "one2many", None)),
                          ("one2one", getattr(criterion, "one2one", None))):
        assigner = getattr(owner, "assigner", None)
        if isinstance(assigner, torch.nn.Module) and hasattr(assigner, "topk") and branch not in found:
            found[branch] = assigner
    return found


def _unwrap(model: Any) -> Any:
    """The model inside DDP / DataParallel wrappers and ``torch.compile``."""
    while True:
        if isinstance(model, torch.nn.Module) and hasattr(model, "module") and hasattr(model, "device_ids"):
            model = model.module
        elif isinstance(model, torch.nn.Module) and isinstance(getattr(model, "_orig_mod", None), torch.nn.Module):
            model = model._orig_mod
        else:
            return model


def _rank() -> int:
    return int(os.environ.get("RANK", -1))


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized() and \
        torch.distributed.get_world_size() > 1


def _last_calls(calls: list[tuple[int, Tensor]], images: int) -> Tensor | None:
    """Sum of the last conflict-step calls that cover ``images`` images, or None when they do not.

    After an out-of-memory error the assigner redoes the batch one image at a time: the
    calls of the failed attempt come first and are left out.
    """
    total, seen = None, 0
    for size, values in reversed(calls):
        seen += size
        total = values if total is None else total + values
        if seen >= images:
            return total if seen == images else None
    return None


@dataclass
class _Branch:
    """One hooked assigner and its counters (runtime state of :class:`TalMonitor`)."""

    name: str
    assigner: torch.nn.Module
    settings: AssignerSettings | None
    num_classes: int
    totals: Counts | None = None
    pending: Counts | None = None
    calls: int = 0
    conflicts: list = field(default_factory=list)
    handles: list = field(default_factory=list)


class TalMonitor:
    """The training monitor; its methods are ultralytics callbacks (see the module docstring).

    Holds only its settings until training starts, so it pickles small (8.4 pickles the
    callbacks into the DDP workers). After training, :attr:`records` holds what this process
    recorded; under DDP the launching process records nothing: read the files
    (:func:`tal_cli.workflows.train_report.read_train_record`).

    Attributes:
        every: re-run ``tal``'s assigner every N batches (0: never).
        worst: worst images kept per epoch and branch.
        records: the epochs recorded so far (on rank 0).
        folder: where the files go (``{save_dir}/tal``), once training started.
    """

    def __init__(self, every: int = 1, worst: int = 10) -> None:
        for name, value in (("every", every), ("worst", worst)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        self.every = every
        self.worst = worst
        self.records: list[EpochRecord] = []
        self.folder: Path | None = None
        self._reset_runtime()

    def _reset_runtime(self) -> None:
        self._trainer = None
        self._branches: list[_Branch] = []
        self._active: _Branch | None = None
        self._files = None
        self._patched: list[tuple[Any, str, Any, bool]] = []  # (owner, name, original, was in owner.__dict__)
        self._patched_preprocess: tuple[Any, Any, bool] | None = None  # (trainer, original, was in its __dict__)
        self._run = None
        self._warned: set[str] = set()

    def __getstate__(self) -> dict:
        return {"every": self.every, "worst": self.worst}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    # --- callbacks ---------------------------------------------------------------------------

    def on_train_start(self, trainer: Any) -> None:
        """Find the assigners (building the loss object), start the record, watch the batches."""
        from ..readers.train_record import RECORD_FOLDER

        self._trainer = trainer
        self.folder = Path(trainer.save_dir) / RECORD_FOLDER
        self._wrap_preprocess(trainer)
        self._find_branches(trainer)
        self._run = _run_info(trainer, {b.name: b.settings for b in self._branches}, self.every)
        self.records = self._resumed_records(trainer)

    def on_train_epoch_start(self, trainer: Any) -> None:
        if self._trainer is None:  # added after on_train_start had run
            self.on_train_start(trainer)
        self._find_branches(trainer)  # the model may have been replaced (NaN recovery)
        for b in self._branches:
            b.totals, b.pending = None, None
        self._attach()

    def on_train_batch_start(self, trainer: Any) -> None:
        for b in self._branches:
            b.pending = None  # a batch abandoned after an out-of-memory error is not counted

    def on_train_batch_end(self, trainer: Any) -> None:
        for b in self._branches:
            if b.pending is not None:
                b.totals = b.pending if b.totals is None else b.totals.add_(b.pending)
                b.pending = None

    def on_train_epoch_end(self, trainer: Any) -> None:
        """Detach (before validation and saves), reduce over ranks, write the files on rank 0."""
        self._detach()
        if not self._branches:
            self._warn_once("the loss has no task-aligned assigner: nothing to record")
            return
        epoch = int(trainer.epoch) + 1
        records = []
        for b in self._branches:
            totals = b.totals if b.totals is not None else Counts.zeros(b.num_classes, _device(trainer))
            worst = all_reduce_counts(totals, self.worst) if _distributed() else None
            records.append(totals.record(epoch, b.name, self.worst, worst))
            b.totals = None
        if _rank() in (-1, 0):
            self.records = [r for r in self.records if r.epoch < epoch] + records
            try:
                self._write(records)
            except TalError as exc:  # e.g. a full disk: training goes on, the next epoch tries again
                self._warn_once(f"could not write the record: {exc}")

    def on_train_end(self, trainer: Any) -> None:
        self.close()

    def teardown(self, trainer: Any) -> None:
        self.close()

    def close(self) -> None:
        """Remove every hook and wrapper (also after a crash); the records stay."""
        self._detach()
        if self._patched_preprocess is not None:
            trainer, original, own = self._patched_preprocess
            if own:
                trainer.preprocess_batch = original
            else:
                vars(trainer).pop("preprocess_batch", None)
            self._patched_preprocess = None
        self._trainer = None

    # --- inner workings ----------------------------------------------------------------------

    def _wrap_preprocess(self, trainer: Any) -> None:
        """Keep each batch's ``im_file`` (the trainer's own ``preprocess_batch`` does the work)."""
        original = trainer.preprocess_batch
        if getattr(original, "_tal_monitor", None) is self:
            return

        def preprocess_batch(batch):
            batch = original(batch)
            self._files = batch.get("im_file") if isinstance(batch, dict) else None
            return batch

        preprocess_batch._tal_monitor = self
        self._patched_preprocess = (trainer, original, "preprocess_batch" in vars(trainer))
        trainer.preprocess_batch = preprocess_batch

    def _find_branches(self, trainer: Any) -> None:
        model = _unwrap(trainer.model)
        if getattr(model, "criterion", None) is None:
            model.criterion = model.init_criterion()  # what the first loss call would build
        assigners = find_assigners(model.criterion)
        if [b.assigner for b in self._branches] == list(assigners.values()):
            return
        self._detach()
        self._branches = [_Branch(name, a, assigner_settings(a), int(getattr(a, "num_classes", 1)))
                          for name, a in assigners.items()]

    def _attach(self) -> None:
        self._detach()
        for b in self._branches:
            b.handles = [b.assigner.register_forward_pre_hook(self._before_hook(b)),
                         b.assigner.register_forward_hook(self._after_hook(b), with_kwargs=True)]
            self._wrap_conflict_step(b.assigner)

    def _detach(self) -> None:
        for b in self._branches:
            for h in b.handles:
                h.remove()
            b.handles = []
            b.conflicts.clear()
        for owner, name, original, own in reversed(self._patched):
            if own:
                setattr(owner, name, original)
            else:
                owner.__dict__.pop(name, None)
        self._patched = []
        self._active = None

    def _wrap_conflict_step(self, assigner: torch.nn.Module) -> None:
        """Wrap the conflict step: the instance's method (8.4), else the module function (8.0.x)."""
        import sys

        if callable(getattr(type(assigner), _CONFLICT_METHOD, None)):
            owner, own = assigner, False
        else:
            owner, own = sys.modules.get(type(assigner).__module__), True
            if owner is None or not callable(getattr(owner, _CONFLICT_METHOD, None)):
                return  # no conflict step to watch: contested and handed stay unknown
            if any(p[0] is owner for p in self._patched):
                return  # one module function serves every assigner; wrapped once
        original = getattr(owner, _CONFLICT_METHOD)

        def conflict_step(*args, **kwargs):
            branch = self._active
            mask_pos = args[0] if args else kwargs.get("mask_pos")
            choosers = mask_pos.sum(-2, dtype=torch.int16) if branch is not None else None  # (B, A)
            out = original(*args, **kwargs)
            if branch is not None:
                branch.conflicts.append((mask_pos.shape[0], count_conflicts(choosers, mask_pos, out[0], out[1])))
            return out

        self._patched.append((owner, _CONFLICT_METHOD, original, own))
        setattr(owner, _CONFLICT_METHOD, conflict_step)

    def _before_hook(self, branch: _Branch):
        def before(module, args):
            branch.conflicts.clear()
            self._active = branch

        return before

    def _after_hook(self, branch: _Branch):
        def after(module, args, kwargs, output):
            self._active = None
            try:
                with torch.no_grad():
                    counts = self._count(branch, args, kwargs, output)
            except Exception as exc:  # noqa: BLE001  (the monitor must never stop the user's training)
                self._warn_once(f"{branch.name}: a call was not counted ({type(exc).__name__}: {exc})")
                return
            branch.pending = counts if branch.pending is None else branch.pending.add_(counts)

        return after

    def _count(self, branch: _Branch, args: tuple, kwargs: dict, output: tuple) -> Counts:
        """Everything one assigner call contributes (on its device; no host sync unless re-run)."""
        inputs = dict(zip(INPUTS, args))
        inputs.update({k: v for k, v in kwargs.items() if k in INPUTS})
        target_labels, _, target_scores, fg_mask, target_gt_idx = output[:5]
        gt_bboxes = inputs["gt_bboxes"]
        b, m = gt_bboxes.shape[:2]
        counts = count_outputs(inputs["gt_labels"], gt_bboxes, inputs["mask_gt"], target_labels, target_scores,
                               fg_mask, target_gt_idx, target_scores.shape[-1], self._files)
        if m == 0:  # the assigner returns before its conflict step: nothing contested
            conflicts = torch.zeros(2, dtype=torch.long, device=fg_mask.device)
        else:
            conflicts = _last_calls(branch.conflicts, b)
        branch.conflicts.clear()
        if conflicts is not None:
            counts.add_(conflict_counts(conflicts))
        due = self.every > 0 and branch.calls % self.every == 0
        branch.calls += 1
        if due and m > 0 and branch.settings is not None:
            try:
                a = assign(inputs["pd_scores"].float(), inputs["pd_bboxes"].float(), inputs["anc_points"].float(),
                           inputs["gt_labels"], gt_bboxes.float(), inputs["mask_gt"], branch.settings,
                           dense_scores=False)
                counts.add_(count_rerun(a, fg_mask, target_gt_idx))
            except RuntimeError as exc:  # out of memory: this call is counted, not re-run
                if "out of memory" not in str(exc).lower():
                    raise
                self._warn_once(f"{branch.name}: out of memory in tal's re-run; those calls are counted, not re-run "
                                "(a larger --every re-runs fewer)")
        return counts

    def _warn_once(self, text: str) -> None:
        if text not in self._warned:
            self._warned.add(text)
            _log(text, warning=True)

    def _resumed_records(self, trainer: Any) -> list[EpochRecord]:
        """A resumed run keeps the epochs it had recorded up to where it resumes."""
        from ..readers.train_record import read_record_json
        from ..views.train_record import train_record

        start = int(getattr(trainer, "start_epoch", 0) or 0)
        if start <= 0 or self.folder is None or not self.folder.is_dir():
            return []
        try:
            return [r for r in train_record(*read_record_json(self.folder)).epochs if r.epoch <= start]
        except TalError:
            return []

    def _write(self, records: list[EpochRecord]) -> None:
        from ..views.train_record import record_files
        from ..views.train_table import epoch_summary
        from ..writers.files import write_files

        written = write_files(self.folder, record_files(self._run, self.records))
        _log("; ".join(epoch_summary(r) for r in records) + f"; wrote {', '.join(p.name for p in written)} "
             f"to {self.folder}")


def _device(trainer: Any) -> torch.device:
    return torch.device(getattr(trainer, "device", "cpu"))


def _run_info(trainer: Any, branches: dict[str, AssignerSettings | None], every: int) -> RunInfo:
    """What the record says about the run, read from the trainer."""
    try:
        from ultralytics import __version__ as ul
    except ImportError:
        ul = "unknown"
    args = trainer.args
    data = getattr(trainer, "data", None) or {}
    names = {int(k): str(v) for k, v in dict(data.get("names") or {}).items()} if isinstance(data, dict) else {}
    return RunInfo(save_dir=str(trainer.save_dir), model=str(getattr(args, "model", "")),
                   data=str(getattr(args, "data", "")), imgsz=getattr(args, "imgsz", None),
                   epochs=int(getattr(trainer, "epochs", 0) or 0), batch=int(getattr(trainer, "batch_size", 0) or 0),
                   world_size=max(1, int(getattr(trainer, "world_size", 1) or 1)), every=every, names=names,
                   branches=branches,
                   versions={"ultralytics": ul, "torch": torch.__version__.split("+")[0], "tal": __version__})


def _log(text: str, warning: bool = False) -> None:
    """One line in the training log (ultralytics' logger)."""
    try:
        from ultralytics.utils import LOGGER
    except ImportError:
        import logging

        LOGGER = logging.getLogger("tal")
    (LOGGER.warning if warning else LOGGER.info)(f"tal: {text}")
