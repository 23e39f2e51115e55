"""``tal check`` as library calls: plan (settings and source), run (every file judged and measured), write
(:class:`CheckOutputs`).

Before training, from the labels alone: for every image/label pair, the verdict ultralytics'
loader reaches (:func:`~tal_cli.readers.verdicts.verify_pair`), and for every setting (input
size x variant) what the boxes allow (:mod:`tal_cli.analysis.check`). A script calls these
without Typer::

    from tal_cli.workflows.check import plan_check, run_check
    plan = plan_check(["data.yaml"], imgsz=[640, 1280], variant=["yolov8", "ultralytics"])
    result = run_check(plan)
    [(row.label, row.zero_candidate_rate) for row in result.rows]

Files are streamed: they are judged in chunks, in worker processes when there are enough of
them, and only totals, the worst files and (through ``on_file``) each file's record leave a
chunk, so memory does not grow with the dataset beyond its list of paths.
"""

from __future__ import annotations

import heapq
import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from ..analysis.check import (
    CheckRow,
    CheckSetting,
    FileCheck,
    SettingTotals,
    SplitCounts,
    check_row,
    check_settings,
    is_problem,
    measure,
    problem_key,
)
from ..analysis.gates import Gate, GateResult, Outcome, check
from ..core.errors import ConfigError, InputFileError
from ..readers.config import Config, load_config, read_names_yaml
from ..readers.labels import NO_LABELS
from ..readers.pairs import PairSource, resolve_pairs
from ..readers.paths import display_path
from ..readers.verdicts import DROPPED, FileVerdict, verify_pair
from ..writers.files import atomic_write, check_writable, save_image

#: Files per chunk (one task of a worker process).
CHUNK = 64
#: Fewer files than this are judged in this process.
POOL_MIN_FILES = 4 * CHUNK
#: Worker processes by default: one per CPU, at most this many (file reading stops scaling).
MAX_WORKERS = 8


@dataclass(frozen=True)
class CheckPlan:
    """What a check will do, known before any file is read.

    Attributes:
        config: the config (strides, reg_max, topk, small-box floor) with ``--topk`` applied.
        settings: the input sizes x variants, in row order.
        source: the image/label pairs.
        names: class names from ``--names`` (None: not given).
        num_classes: the class count labels are checked against (None: not checked).
        classes_of: what ``num_classes`` is, in words (``"the dataset"``, ``"--names data.yaml"``).
        kpt_shape: ``(K, D)`` of a pose dataset, else None.
        verify_images: run Pillow's ``verify()`` on every image, as ultralytics does (else headers only).
        workers: processes that judge the files (1: this one).
        outputs: files the check will write (checked up front).
    """

    config: Config
    settings: tuple[CheckSetting, ...]
    source: PairSource
    names: dict[int, str] | None
    num_classes: int | None
    classes_of: str
    kpt_shape: tuple[int, int] | None
    verify_images: bool = False
    workers: int = 1
    outputs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """A finished check.

    Attributes:
        plan: what was asked.
        rows: one per setting.
        splits: ultralytics' scan of each split (one entry for sources without splits).
        problems: the files most worth a look (dropped, gts without a candidate, duplicates),
            worst first, at most the ``limit`` asked.
        problem_files: how many files are worth a look in all.
        class_names: class id -> name (empty: ids are shown).
        gate_results: each gate checked (zero-candidate gates per setting; ``--strict`` once).
        notes: remarks for a warning line.
    """

    plan: CheckPlan
    rows: tuple[CheckRow, ...]
    splits: tuple[SplitCounts, ...]
    problems: tuple[FileCheck, ...]
    problem_files: int
    class_names: dict[int, str]
    gate_results: tuple[GateResult, ...]
    notes: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        return self.plan.source.description

    @property
    def total(self) -> SplitCounts:
        """Every split added up."""
        out = SplitCounts(None)
        for s in self.splits:
            for f in fields(SplitCounts):
                if f.name != "split":
                    setattr(out, f.name, getattr(out, f.name) + getattr(s, f.name))
        return out


def plan_check(source: Sequence[str | Path] = (), *, config: str | Path | None = None,
               imgsz: Sequence[int | tuple[int, int]] = (), variant: Sequence[str] = (), topk: int | None = None,
               split: str | None = None, names: str | Path | None = None, verify_images: bool = False,
               workers: int | None = None, outputs: Sequence[str | Path | None] = ()) -> CheckPlan:
    """Resolve the settings and the source; check that ``outputs`` can be written.

    Args:
        source: nothing (the config's samples), a dataset YAML, a dataset folder, or IMAGE LABELS.
        imgsz: input sizes (N for N x N, or ``(height, width)``); empty: the config's.
        variant: ``yolov8`` / ``ultralytics``; empty: the config's.
        topk: K for "fewer candidates than topk" (None: the config's).
        split: one split of a dataset YAML (None: every split it has).
        names: a dataset YAML with class ``names`` (and ``kpt_shape``).
        workers: processes judging files (None: one per CPU, at most :data:`MAX_WORKERS`).
        outputs: files to be written after the check (None entries are ignored).

    Raises:
        TalError: bad settings, an input size that is not a multiple of the largest stride, an
            unwritable output, or a source that cannot be read.
    """
    cfg = load_config(config).override(topk=topk)
    sizes = [(n, n) if isinstance(n, int) else tuple(n) for n in imgsz] or [cfg.imgsz]
    step = max(cfg.strides)
    for h, w in sizes:
        for n in (h, w):
            if n % step:
                raise ConfigError(f"--imgsz {n}: must be a multiple of {step}, the largest stride (ultralytics "
                                  f"rounds it up to {-(-n // step) * step} for training)")
    settings = tuple(check_settings(sizes, list(variant) or [cfg.variant], cfg.assigner_settings(1), cfg.reg_max))
    written = tuple(Path(p) for p in outputs if p is not None)
    for out_path in written:  # fail before the work, not after it
        check_writable(out_path, picture=out_path.suffix.lower() != ".csv")
    samples = cfg.samples or (load_config(None).samples if config is not None else ())
    src = resolve_pairs([Path(p) for p in source], samples, display_path(cfg.source), split)
    given, kpt_shape = read_names_yaml(Path(names)) if names is not None else (None, None)
    if src.num_classes is not None:
        num_classes, classes_of = src.num_classes, "the dataset" if src.kind == "dataset" else "the samples' names"
    elif given is not None:
        num_classes, classes_of = len(given), f"--names {names}"
    else:
        num_classes, classes_of = None, ""
    count = min(os.cpu_count() or 1, MAX_WORKERS)
    return CheckPlan(cfg, settings, src, given, num_classes, classes_of, kpt_shape or src.kpt_shape, verify_images,
                     max(1, workers if workers is not None else count), written)


@dataclass(frozen=True)
class _Job:
    """What every chunk needs besides its files (sent once to each worker)."""

    settings: tuple[CheckSetting, ...]
    num_classes: int | None
    classes_of: str
    kpt_shape: tuple[int, int] | None
    verify_images: bool


@dataclass(frozen=True)
class _Task:
    """One chunk: files of one split, and the index of the first."""

    split: str | None
    start: int
    pairs: tuple[tuple[str, str | None], ...]


def _tasks(source: PairSource, size: int = CHUNK) -> Iterator[_Task]:
    """The source's files in chunks of ``size``, label paths made as they are needed."""
    start = 0
    for group in source.splits:
        pairs = group.pairs()
        while chunk := tuple(itertools.islice(pairs, size)):
            yield _Task(group.split, start, chunk)
            start += len(chunk)


def _judge(job: _Job, image: str, labels: str | None) -> FileVerdict:
    """ultralytics' verdict on one pair; an OS error nobody foresaw is a drop, as ultralytics counts it corrupt."""
    try:
        return verify_pair(image, labels, job.num_classes, job.kpt_shape, job.verify_images, job.classes_of)
    except OSError as exc:
        return FileVerdict(Path(image), Path(labels) if labels else None, DROPPED,
                           f"{image}: ultralytics drops this image: cannot read ({exc.strerror or exc})", NO_LABELS,
                           0, None)


def check_files(job: _Job, task: _Task) -> tuple[list[FileCheck], list[SettingTotals]]:
    """Judge and measure one chunk of files: their records, in order, and each setting's totals."""
    verdicts = [_judge(job, image, labels) for image, labels in task.pairs]
    measured = measure(verdicts, job.settings)
    files = []
    for (image, labels), v, zero, bad in zip(task.pairs, verdicts, measured.zero_candidate, measured.not_finite):
        notes = v.notes + ((f"{image}: {bad} gt{'s' if bad != 1 else ''} with a box that is not finite left out",)
                           if bad else ())
        files.append(FileCheck(image, labels, task.split, v.status, v.reason, v.line, v.duplicates_removed,
                               v.size_hw, v.format, notes, len(v.gts), zero, bad,
                               labels is not None and os.path.isfile(labels)))
    return files, measured.totals


_WORKER_JOB: _Job | None = None


def _start_worker(job: _Job) -> None:
    """A worker process: one torch thread (the processes are the parallelism), and the job."""
    import torch

    global _WORKER_JOB
    torch.set_num_threads(1)
    _WORKER_JOB = job


def _worker_task(task: _Task) -> tuple[list[FileCheck], list[SettingTotals]]:
    assert _WORKER_JOB is not None
    return check_files(_WORKER_JOB, task)


def _results(plan: CheckPlan, job: _Job) -> Iterator[tuple[list[FileCheck], list[SettingTotals]]]:
    """Every chunk's result in file order: from worker processes when there are enough files, else here."""
    tasks = _tasks(plan.source)
    forks = "fork" in multiprocessing.get_all_start_methods()
    if plan.workers > 1 and forks and plan.source.images >= POOL_MIN_FILES:
        # fork: workers start at once with everything imported; nothing here has run torch yet
        with multiprocessing.get_context("fork").Pool(plan.workers, _start_worker, (job,)) as pool:
            yield from pool.imap(_worker_task, tasks)
    else:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # small tensors: a second thread only adds waiting (restored after)
        try:
            for task in tasks:
                yield check_files(job, task)
        finally:
            torch.set_num_threads(threads)


def run_check(plan: CheckPlan, gates: Sequence[Gate] = (), *, limit: int = 10,
              on_file: Callable[[FileCheck], None] | None = None,
              on_progress: Callable[[int], None] | None = None) -> CheckResult:
    """Judge every file, measure every kept one under every setting, total the rows.

    Args:
        gates: CI gates (``--max-zero-candidate-rate`` per setting, ``--strict`` once).
        limit: how many of the worst files to keep (0: every file worth a look).
        on_file: called with each file's record, in ultralytics' order.
        on_progress: called with the number of files after each chunk (a progress bar).

    Raises:
        InputFileError: no image of the source has a label file (the labels were looked for
            in the wrong place).
    """
    job = _Job(plan.settings, plan.num_classes, plan.classes_of, plan.kpt_shape, plan.verify_images)
    totals = [SettingTotals(len(s.strides)) for s in plan.settings]
    splits = {g.split: SplitCounts(g.split) for g in plan.source.splits}
    problems: list[tuple[tuple, int, FileCheck]] = []
    problem_files = 0
    first_label = None
    for files, parts in _results(plan, job):
        for total, part in zip(totals, parts):
            total.merge(part)
        for f in files:
            splits[f.split].add(f)
            first_label = first_label or f.labels
            if is_problem(f):
                problem_files += 1
                problems.append((problem_key(f), problem_files, f))
            if on_file is not None:
                on_file(f)
        if limit and len(problems) > 4 * limit:
            problems = heapq.nsmallest(limit, problems)
        if on_progress is not None:
            on_progress(len(files))
    if plan.source.images and not any(s.label_files for s in splits.values()):
        raise InputFileError(f"{plan.source.description}: no label file found for any image; labels are looked for "
                             f"where ultralytics looks (the last images/ of the path becomes labels/, e.g. "
                             f"{first_label})")
    worst = sorted(problems)[:limit] if limit else sorted(problems)
    rows = tuple(check_row(s, t) for s, t in zip(plan.settings, totals))
    names = dict(plan.names if plan.names is not None else plan.source.names or {})
    results = _gate_results(gates, rows, sum(s.dropped for s in splits.values()), plan.source.description)
    notes = [f"split {s.split!r}: no label file for any of its {s.images} images (a background split)"
             for s in splits.values() if s.split is not None and s.images and not s.label_files]
    return CheckResult(plan, rows, tuple(splits.values()), tuple(f for _, _, f in worst), problem_files, names,
                       results, tuple(notes))


def _gate_results(
    gates: Sequence[Gate], rows: Sequence[CheckRow], dropped: int, description: str
) -> tuple[GateResult, ...]:
    per_setting = [g for g in gates if g.metric != "dropped_files"]
    once = [g for g in gates if g.metric == "dropped_files"]
    results = [r for row in rows for r in check(per_setting, row.outcome(), f"setting {row.label}")]
    results += check(once, Outcome(0, {}, dropped=dropped), description)
    return tuple(results)


def write_check_csv(path: str | Path, result: CheckResult) -> Path:
    """Write one row per setting (:func:`~tal_cli.views.check.csv_columns`).

    Raises:
        InputFileError: the file cannot be written.
    """
    import csv

    from ..views.check import csv_columns, csv_rows

    path = Path(path)
    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(csv_columns(result.rows))
        writer.writerows(csv_rows(result.rows))
    return path


def write_check_plot(path: str | Path, result: CheckResult) -> Path:
    """Write the chart of zero-candidate rates by size and by class, per setting (PNG, or JPEG / WebP by suffix).

    Raises:
        InputFileError: the file cannot be written, or its suffix is not a picture's.
    """
    from ..views.check_plot import check_chart

    total = result.total
    subtitle = (f"{result.description}: {total.kept} images with gts, {total.gts} gts; strides "
                f"{'/'.join(map(str, result.plan.config.strides))}")
    image = check_chart(result.rows, result.class_names, title="tal check: gts that can never get a positive "
                        "(no anchor centre inside the box)", subtitle=subtitle)
    return save_image(Path(path), image)


@dataclass(frozen=True)
class CheckOutputs:
    """The files ``tal check`` writes besides its tables; None: not written.

    Attributes:
        csv: one row per setting (:func:`write_check_csv`).
        plot: the chart (:func:`write_check_plot`).
        html: the page (:func:`~tal_cli.workflows.html.write_check_html`); it needs the files kept
            by :meth:`page_files`, fed by :func:`run_check`'s ``on_file`` hook.
        html_images: files in the page's drill-down.
    """

    csv: Path | None = None
    plot: Path | None = None
    html: Path | None = None
    html_images: int = 50

    def page_files(self):
        """The ``on_file`` hook the page needs (a :class:`~tal_cli.analysis.check_gts.PageFiles`), else None."""
        if self.html is None:
            return None
        from ..analysis.check_gts import PageFiles

        return PageFiles(self.html_images)


def write_check_outputs(outputs: CheckOutputs, result: CheckResult, page_files=None) -> list[Path]:
    """Write the CSV, the chart and the page that ``outputs`` asks for, in that order; returns their paths.

    Args:
        page_files: :meth:`CheckOutputs.page_files` after the run (needed for the page).

    Raises:
        InputFileError: a file cannot be written.
    """
    written = []
    if outputs.csv is not None:
        written.append(write_check_csv(outputs.csv, result))
    if outputs.plot is not None:
        written.append(write_check_plot(outputs.plot, result))
    if outputs.html is not None:
        from .html import write_check_html

        written.append(write_check_html(outputs.html, result, page_files))
    return written
