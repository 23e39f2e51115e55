"""The training monitor on real ultralytics training code: one loss call, a 1-epoch train, a DDP worker, checkpoints.

Runs where ultralytics is installed (``.ci/run``'s second venv: ``pytest -m ultralytics``).
Every expected number is computed here from the tensors the assigner really got and
returned, captured by this test's own forward hook: counts by Python loops, contested
anchors from ultralytics' own pre-conflict mask (``get_pos_mask``), and the re-run from
``tal``'s core assigner with the reasons counted one gt at a time. Models are built from
``yolov8n.yaml`` and ``yolo26n.yaml`` (random weights, nothing downloaded) at 160 px.
"""

from __future__ import annotations

import csv
import io
import os
import pickle
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

if os.environ.get("TAL_REQUIRE_ULTRALYTICS"):  # .ci/run's ultralytics venv: a failed import must fail
    import ultralytics
else:
    ultralytics = pytest.importorskip("ultralytics")

from tal_cli.analysis.reasons import REASONS
from tal_cli.cli import app
from tal_cli.core.assigner import assign
from tal_cli.ultralytics.monitor import (
    TalMonitor,
    add_tal_callbacks,
    assigner_settings,
    find_assigners,
    find_monitor,
    monitor_options_from_env,
)
from tal_cli.views.train_record import CSV_COLUMNS

from ..analysis.test_reasons import _naive as naive_reasons
from ..analysis.test_training import _naive_outputs
from ..conftest import ROOT, SAMPLES

pytestmark = pytest.mark.ultralytics
runner = CliRunner()
STEMS = {"astronaut": "png", "coffee": "png", "hubble_left": "jpg"}
BRANCHES = {"yolov8n.yaml": ["one2many"], "yolo26n.yaml": ["one2many", "one2one"]}
#: Training arguments of every run here: tiny, CPU, reproducible, offline, no plots.
TRAIN = dict(epochs=1, imgsz=160, batch=2, mosaic=0, seed=0, deterministic=True, workers=0, plots=False, val=False,
             device="cpu", amp=False, exist_ok=True, verbose=False)


# --- what the assigner really saw, and what every counter should be ----------------------------

class Capture:
    """This test's own forward hook: every call's inputs and outputs, cloned."""

    def __init__(self, assigner) -> None:
        self.assigner, self.calls = assigner, []
        self.handle = assigner.register_forward_hook(self._hook, with_kwargs=True)

    def _hook(self, module, args, kwargs, output) -> None:
        self.calls.append(([t.detach().clone() for t in args], [t.detach().clone() for t in output]))


def expected_totals(assigner, calls) -> dict[str, object]:
    """Every CSV counter of an epoch, from the captured calls."""
    settings = assigner_settings(assigner)
    total: dict[str, object] = {k: 0 for k in ("batches", "images", "gts", "gts_without_positives", "positives",
                                               "contested", "handed")}
    for name in ("small", "medium", "large", "lt16px", "lt8px"):
        total[f"gts_{name}"] = total[f"without_{name}"] = 0
    for k in ("rerun_batches", "rerun_gts", "rerun_without_positives", *(f"reason_{r}" for r in REASONS),
              "rerun_differing_anchors", "rerun_tied_candidates", "rerun_unexplained_anchors"):
        total[k] = 0
    per_gt, score_sum = [], 0.0
    for (pd_scores, pd_bboxes, anc, labels, boxes, mask), (tl, _, ts, fg, gidx) in calls:
        b, m = boxes.shape[:2]
        counts, n_per_gt, _, s_sum = _naive_outputs(labels, boxes, mask, tl, ts, fg, gidx, ts.shape[-1])
        for k, v in counts.items():
            total[k] += v
        per_gt += n_per_gt
        score_sum += s_sum
        if m == 0:
            continue
        # contested and handed: ultralytics' own selection before conflicts, one anchor at a time
        assigner.bs, assigner.n_max_boxes = b, m
        mask_pos, _, _ = assigner.get_pos_mask(pd_scores, pd_bboxes, labels, boxes, anc, mask)
        chosen, fg_, gidx_ = mask_pos.tolist(), fg.tolist(), gidx.tolist()
        for i in range(b):
            for an in range(len(fg_[i])):
                total["contested"] += sum(chosen[i][j][an] for j in range(m)) > 1
                total["handed"] += bool(fg_[i][an]) and not chosen[i][gidx_[i][an]][an]
        # tal's re-run
        a = assign(pd_scores.float(), pd_bboxes.float(), anc.float(), labels, boxes.float(), mask, settings)
        codes = [c for row, mrow in zip(naive_reasons(a), mask[..., 0].tolist()) for c, real in zip(row, mrow) if real]
        total["rerun_batches"] += 1
        total["rerun_gts"] += len(codes)
        total["rerun_without_positives"] += sum(1 for c in codes if c)
        for k, r in enumerate(REASONS, 1):
            total[f"reason_{r}"] += codes.count(k)
        tied_images = set(a.pair_image[a.pair_tied].tolist())
        our_fg, our_gidx = a.fg_mask.tolist(), a.target_gt_idx.tolist()
        for i in range(b):
            for an in range(len(fg_[i])):
                ours, theirs = our_fg[i][an], bool(fg_[i][an])
                if ours != theirs or (ours and our_gidx[i][an] != gidx_[i][an]):
                    total["rerun_differing_anchors"] += 1
                    total["rerun_unexplained_anchors"] += i not in tied_images
        total["rerun_tied_candidates"] += int(a.pair_tied.sum())
    total["positives_per_gt_max"] = max(per_gt, default=None)
    total["target_score_sum"] = score_sum
    return total


def check_row(row: dict[str, str], expected: dict[str, object]) -> None:
    for key, value in expected.items():
        if key == "target_score_sum":
            assert float(row[key]) == pytest.approx(value, rel=1e-4, abs=1e-9), key
        else:
            assert row[key] == str(value), (key, row[key], value)


# --- one loss call ---------------------------------------------------------------------------

def sample_batch(imgsz: int = 160) -> dict[str, object]:
    """The three samples' labels as one training batch (pixels random: only the gts matter here)."""
    rows, files = [], []
    for i, (stem, ext) in enumerate(STEMS.items()):
        for line in (SAMPLES / "labels" / f"{stem}.txt").read_text().split("\n"):
            if line.strip():
                rows.append([i, *map(float, line.split())])
        files.append(str(SAMPLES / "images" / f"{stem}.{ext}"))
    t = torch.tensor(rows)
    g = torch.Generator().manual_seed(0)
    return {"img": torch.rand(len(STEMS), 3, imgsz, imgsz, generator=g), "batch_idx": t[:, 0], "cls": t[:, 1:2],
            "bboxes": t[:, 2:], "im_file": files}


def stand_in_trainer(net, save_dir: Path):
    """What the monitor reads of a trainer, around a bare model (no dataset, no optimiser)."""
    return types.SimpleNamespace(
        model=net, save_dir=save_dir, epoch=0, epochs=1, start_epoch=0, batch_size=3, world_size=0,
        device=torch.device("cpu"), data={"names": {0: "person"}},
        args=types.SimpleNamespace(model="m.yaml", data="d.yaml", imgsz=160), preprocess_batch=lambda batch: batch)


def build(model: str):
    from ultralytics import YOLO

    torch.manual_seed(0)
    net = YOLO(model).model
    net.args = types.SimpleNamespace(box=7.5, cls=0.5, dfl=1.5, epochs=100)  # the default gains
    return net.train()


@pytest.mark.parametrize("model", list(BRANCHES))
def test_one_loss_call_equals_the_recomputation(model: str, tmp_path) -> None:
    net = build(model)
    trainer = stand_in_trainer(net, tmp_path)
    monitor = TalMonitor(every=1)
    monitor.on_train_start(trainer)
    assert net.criterion is not None  # built with the model's own init_criterion
    assigners = find_assigners(net.criterion)
    assert list(assigners) == BRANCHES[model]
    monitor.on_train_epoch_start(trainer)
    captures = {b: Capture(a) for b, a in assigners.items()}
    monitor.on_train_batch_start(trainer)
    batch = trainer.preprocess_batch(sample_batch())
    net.loss(batch)
    monitor.on_train_batch_end(trainer)
    monitor.on_train_epoch_end(trainer)
    rows = {r["branch"]: r for r in csv.DictReader(open(tmp_path / "tal" / "epochs.csv"))}
    assert sorted(rows) == sorted(BRANCHES[model])
    for branch, cap in captures.items():
        assert len(cap.calls) == 1
        expected = expected_totals(assigners[branch], cap.calls)
        assert expected["gts"] == 341 and expected["gts_lt8px"] > 0 and expected["gts_without_positives"] > 0
        check_row(rows[branch], expected)
        assert rows[branch]["rerun_unexplained_anchors"] == "0"
    record = {r.branch: r for r in monitor.records}
    worst = record["one2many"].worst_images
    assert worst and worst[0].file.endswith("hubble_left.jpg")  # the crowded, tiny-object sample
    if model == "yolo26n.yaml":
        assert monitor.records[-1].positives_per_gt.max == 1  # one2one keeps one anchor per gt (topk2 1)
        assert assigner_settings(assigners["one2one"]).topk2 == 1
    # nothing of the monitor is left on the assigners
    for cap in captures.values():
        cap.handle.remove()
    for a in assigners.values():
        assert not a._forward_hooks and not a._forward_pre_hooks and "select_highest_overlaps" not in vars(a)


def test_hooks_are_gone_when_ultralytics_8_0_saves_the_training_model(tmp_path) -> None:
    """8.0.x saves the training model, loss object included: with live hooks that save fails."""
    net = build("yolov8n.yaml")
    trainer = stand_in_trainer(net, tmp_path)
    monitor = TalMonitor()
    monitor.on_train_start(trainer)
    monitor.on_train_epoch_start(trainer)
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        torch.save(net, io.BytesIO())
    monitor.on_train_epoch_end(trainer)  # ultralytics saves after this callback
    buf = io.BytesIO()
    torch.save(net, buf)
    assert b"tal_cli" not in buf.getvalue()
    monitor.on_train_epoch_start(trainer)  # attached again for the next epoch
    assert net.criterion.assigner._forward_hooks
    monitor.close()


def test_registration_is_idempotent(tmp_path, monkeypatch) -> None:
    from ultralytics import YOLO

    from tal_cli.ultralytics.trainer import TalDetectionTrainer

    yolo = YOLO("yolov8n.yaml")
    first = add_tal_callbacks(yolo, every=3)
    assert add_tal_callbacks(yolo, every=1) is first and first.every == 3
    assert sum(1 for fs in yolo.callbacks.values() for f in fs if getattr(f, "__self__", None) is first) == 7
    with pytest.raises(TypeError, match="expected an ultralytics YOLO model or trainer, got str"):
        add_tal_callbacks("yolov8n.yaml")
    monkeypatch.setenv("TAL_MONITOR_EVERY", "4")
    monkeypatch.delenv("TAL_MONITOR_WORST", raising=False)
    assert monitor_options_from_env() == {"every": 4}
    monkeypatch.setenv("TAL_MONITOR_WORST", "x")
    with pytest.raises(ValueError, match="TAL_MONITOR_WORST='x': expected an integer >= 0"):
        monitor_options_from_env()
    monkeypatch.delenv("TAL_MONITOR_WORST")
    trainer = TalDetectionTrainer(overrides=dict(TRAIN, model="yolov8n.yaml", data=str(dataset(tmp_path)),
                                                 project=str(tmp_path), name="t"))
    assert trainer.tal_monitor.every == 4 and find_monitor(trainer.callbacks) is trainer.tal_monitor
    again = TalDetectionTrainer(overrides=dict(TRAIN, model="yolov8n.yaml", data=str(dataset(tmp_path)),
                                               project=str(tmp_path), name="t"), _callbacks=yolo.callbacks)
    assert again.tal_monitor is first  # the monitor the callbacks bring is kept
    assert pickle.loads(pickle.dumps(first)).every == 3  # pickles small (8.4 sends callbacks to DDP workers)


# --- real training ---------------------------------------------------------------------------

def dataset(tmp_path: Path) -> Path:
    """The three samples as a dataset (their labels; class names of the photos)."""
    root = tmp_path / "data"
    if not root.is_dir():
        for sub in ("images", "labels"):
            (root / sub).mkdir(parents=True)
        for stem, ext in STEMS.items():
            (root / "images" / f"{stem}.{ext}").symlink_to(SAMPLES / "images" / f"{stem}.{ext}")
            (root / "labels" / f"{stem}.txt").write_text((SAMPLES / "labels" / f"{stem}.txt").read_text())
        (root / "data.yaml").write_text(f"path: {root}\ntrain: images\nval: images\n"
                                        "names: [person, helmet, spacecraft, flag, patch, cup, saucer, spoon]\n")
    return root / "data.yaml"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 1-epoch yolo26n training with the monitor attached by the one-liner, every call captured."""
    from ultralytics import YOLO

    tmp = tmp_path_factory.mktemp("train")
    yolo = YOLO("yolo26n.yaml")
    monitor = add_tal_callbacks(yolo)
    captures: dict[str, Capture] = {}

    def capture(trainer) -> None:  # registered after the monitor: the loss object exists by now
        for branch, a in find_assigners(trainer.model.criterion).items():
            captures[branch] = Capture(a)

    yolo.add_callback("on_train_start", capture)
    yolo.train(data=str(dataset(tmp)), project=str(tmp), name="run", **TRAIN)
    return Path(yolo.trainer.save_dir), monitor, captures


def test_train_writes_one_row_per_epoch_and_branch(trained) -> None:
    save_dir, monitor, captures = trained
    rows = list(csv.DictReader(open(save_dir / "tal" / "epochs.csv")))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [(r["epoch"], r["branch"]) for r in rows] == [("1", "one2many"), ("1", "one2one")]
    assert (save_dir / "tal" / "epochs.json").is_file() and (save_dir / "tal" / "epochs.png").stat().st_size > 5000
    for row in rows:
        cap = captures[row["branch"]]
        assert len(cap.calls) == 2  # 3 images in batches of 2
        expected = expected_totals(cap.assigner, cap.calls)
        assert expected["batches"] == 2 and expected["gts"] > 0
        check_row(row, expected)
    assert [r.epoch for r in monitor.records] == [1, 1]


def test_checkpoints_load_without_tal(trained) -> None:
    save_dir, _, _ = trained
    for name in ("last.pt", "best.pt"):
        path = save_dir / "weights" / name
        with zipfile.ZipFile(path) as z:
            pickled = b"".join(z.read(n) for n in z.namelist() if n.endswith(".pkl"))
        assert b"tal_cli" not in pickled
        code = ("import sys, torch\n"
                f"ckpt = torch.load({str(path)!r}, map_location='cpu', weights_only=False)\n"
                "assert ckpt['ema'] is not None or ckpt['model'] is not None\n"
                "print('TAL', sorted(m for m in sys.modules if m.startswith('tal_cli')))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                             env={**os.environ, "YOLO_OFFLINE": "1"}, cwd=save_dir)
        assert out.returncode == 0, out.stderr[-2000:]
        assert "TAL []" in out.stdout


# --- tal train, and the DDP worker ultralytics generates ---------------------------------------

def test_tal_train_and_a_ddp_worker_write_the_same_record(tmp_path) -> None:
    """``tal train`` in this process, then ultralytics' generated DDP script in a subprocess.

    On CPU ultralytics trains in one process (world size 0), so the DDP launch is simulated:
    the script ``generate_ddp_file`` writes (the pickled trainer class, arguments and
    callbacks, as ``torch.distributed.run`` would start on every rank) runs in a fresh
    interpreter, where the monitor comes back with the callbacks and its trainer class.
    The all-reduce of two real ranks is tests/analysis/test_training_ddp.py.
    """
    # ultralytics 8.4 pickles the DDP state with cloudpickle, which it installs on the first multi-GPU
    # launch (never offline, never here): .ci/run installs it; without it the test is skipped.
    pytest.importorskip("cloudpickle", reason="ultralytics' DDP launch needs cloudpickle (.ci/run installs it)")
    from ultralytics.utils.dist import generate_ddp_file

    from tal_cli.ultralytics.trainer import TalDetectionTrainer

    data = dataset(tmp_path)
    args = [f"{k}={v}" for k, v in TRAIN.items()]
    result = runner.invoke(app, ["train", "yolov8n.yaml", str(data), *args, f"project={tmp_path}", "name=cli",
                                 "--every", "1"])
    assert result.exit_code == 0, result.stderr or result.stdout[-2000:]
    report = result.stdout[result.stdout.rindex("1 epoch recorded of 1 planned; tal re-run every batch."):]
    assert "one2many: gts without positives" in report and "one2many: why no positive (tal's re-run)" in report
    cli_rows = list(csv.DictReader(open(tmp_path / "cli" / "tal" / "epochs.csv")))

    trainer = TalDetectionTrainer(overrides=dict(TRAIN, model="yolov8n.yaml", data=str(data), project=str(tmp_path),
                                                 name="ddp"))
    script = generate_ddp_file(trainer)
    try:
        env = {**os.environ, "YOLO_OFFLINE": "1",
               "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        out = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=600, env=env,
                             cwd=tmp_path)
    finally:
        os.remove(script)
        Path(script).with_suffix(".pt").unlink(missing_ok=True)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    ddp_rows = list(csv.DictReader(open(tmp_path / "ddp" / "tal" / "epochs.csv")))
    assert ddp_rows == cli_rows and len(cli_rows) == 1 and int(cli_rows[0]["gts"]) > 0
    assert "TAL_MONITOR_EVERY" not in os.environ  # tal train sets it for its workers only while training


@pytest.mark.parametrize("args,message", [
    (["epoch=3"], "Error: 'epoch=3': 'epoch' is not an ultralytics training argument (did you mean epochs"),
    (["data=x.yaml"], "Error: 'data=x.yaml': tal train sets data itself (give MODEL and DATA as the first two"),
    (["epochs"], "Error: 'epochs': expected key=value (ultralytics arguments are key=value, e.g. epochs=3)"),
    (["epochs="], "Error: 'epochs=': missing 'epochs' value"),
])
def test_tal_train_bad_arguments(tmp_path, args, message) -> None:
    result = runner.invoke(app, ["train", "yolov8n.yaml", str(dataset(tmp_path)), *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_tal_train_bad_inputs(tmp_path) -> None:
    result = runner.invoke(app, ["train", str(tmp_path / "none.pt"), str(dataset(tmp_path)), "epochs=1"])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {tmp_path / 'none.pt'}: model file not found (tal train does not download "
                             "weights; a model YAML such as yolov8n.yaml starts from random weights)\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text(f"path: {tmp_path}\ntrain: nothing\nval: nothing\nnames: [a]\n")
    result = runner.invoke(app, ["train", "yolov8n.yaml", str(empty), "epochs=1"])
    assert result.exit_code == 1 and result.stderr.startswith("Error: ") and "nothing" in result.stderr
