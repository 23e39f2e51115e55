"""``tal train``: an ultralytics training run with the monitor attached, as library calls.

``yolo train model=M data=D key=value ...`` becomes ``tal train M D key=value ...``: the
key=value arguments are parsed by ultralytics' own parser and checked against its own
argument list, then handed to ``YOLO(M).train(data=D, trainer=TalDetectionTrainer, ...)``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ConfigError, InputFileError, TalError
from .model import import_ultralytics
from .monitor import ENV_EVERY, ENV_WORST

#: Arguments ``tal train`` sets itself (MODEL and DATA are positional; the task is detection).
RESERVED = ("model", "data", "mode", "task", "trainer")


@dataclass(frozen=True)
class TrainPlan:
    """A checked ``tal train`` call.

    Attributes:
        model: weights or a model YAML, as ultralytics resolves it.
        data: the dataset YAML (or a name ultralytics knows).
        overrides: the parsed key=value training arguments.
        every, worst: the monitor's settings.
        notes: remarks about the dataset worth a warning.
    """

    model: str
    data: str
    overrides: dict[str, object]
    every: int = 1
    worst: int = 10
    notes: tuple[str, ...] = ()


def parse_train_args(tokens: Sequence[str]) -> dict[str, object]:
    """``["epochs=3", "imgsz=320"]`` -> ``{"epochs": 3, "imgsz": 320}``, with ultralytics' own parser.

    Raises:
        ConfigError: a token without ``=``, an empty value, a key ``yolo train`` does not
            take (naming the closest ones), or one ``tal train`` sets itself.
    """
    import_ultralytics("tal train")
    from ultralytics.cfg import parse_key_value_pair
    from ultralytics.utils import DEFAULT_CFG_DICT

    out: dict[str, object] = {}
    for token in tokens:
        if "=" not in token or token.startswith("="):
            raise ConfigError(f"{token!r}: expected key=value (ultralytics arguments are key=value, e.g. epochs=3)")
        try:
            key, value = parse_key_value_pair(token)
        except (AssertionError, ValueError) as exc:
            raise ConfigError(f"{token!r}: {exc or 'expected key=value'}") from None
        if key in RESERVED:
            hint = " (give MODEL and DATA as the first two arguments)" if key in ("model", "data") else ""
            raise ConfigError(f"{token!r}: tal train sets {key} itself{hint}")
        if key not in DEFAULT_CFG_DICT:
            close = difflib.get_close_matches(key, list(DEFAULT_CFG_DICT), n=3)
            raise ConfigError(f"{token!r}: {key!r} is not an ultralytics training argument"
                              + (f" (did you mean {', '.join(close)}?)" if close else ""))
        out[key] = value
    return out


def plan_training(model: str, data: str, tokens: Sequence[str], every: int = 1, worst: int = 10) -> TrainPlan:
    """Check everything that can be checked before training starts.

    A DATA that is a file is read as ``tal`` reads datasets (ultralytics' rules): its
    ``train`` split must list images. A DATA that is not a file is left to ultralytics (a
    dataset name it knows).

    Raises:
        MissingExtraError: ultralytics is not installed. ConfigError: a bad argument.
        InputFileError: a missing model file, or a dataset YAML without training images.
    """
    from ..readers.datasets import read_dataset, split_images

    overrides = parse_train_args(tokens)
    path = Path(model)
    if path.suffix.lower() == ".pt" and not path.is_file():
        raise InputFileError(f"{model}: model file not found (tal train does not download weights; "
                             "a model YAML such as yolov8n.yaml starts from random weights)")
    notes: tuple[str, ...] = ()
    if Path(data).is_file():
        dataset = read_dataset(data)
        split_images(dataset, "train")
        notes = dataset.notes
    return TrainPlan(model, data, overrides, every, worst, notes)


def run_training(plan: TrainPlan) -> Path:
    """Train (ultralytics prints its progress) and return the run's folder.

    Raises:
        InputFileError: ultralytics cannot load the model, or it is not a detection model.
        TalError: training failed (ultralytics' first error line).
    """
    import_ultralytics("tal train")
    from ultralytics import YOLO

    from .trainer import TalDetectionTrainer

    try:
        yolo = YOLO(plan.model)
    except FileNotFoundError:
        raise InputFileError(f"{plan.model}: model not found (neither a file nor a model YAML ultralytics knows)") \
            from None
    except Exception as exc:  # noqa: BLE001  (ultralytics raises many kinds on a bad file)
        raise InputFileError(f"{plan.model}: ultralytics could not load it ({_first_line(exc)})") from None
    if getattr(yolo, "task", "detect") != "detect":
        raise InputFileError(f"{plan.model}: a {yolo.task} model; tal train watches detection training")
    saved = {name: os.environ.get(name) for name in (ENV_EVERY, ENV_WORST)}
    os.environ[ENV_EVERY], os.environ[ENV_WORST] = str(plan.every), str(plan.worst)  # DDP workers read these
    try:
        yolo.train(data=plan.data, trainer=TalDetectionTrainer, **plan.overrides)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001  (a failed run of any kind: one line, the files stay)
        raise TalError(f"training stopped: {_first_line(exc)}") from None
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return Path(yolo.trainer.save_dir)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200]}" if text else type(exc).__name__
