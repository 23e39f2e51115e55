"""Settings files (YAML) and their validation. Relative paths resolve against the file's folder."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, InputFileError
from ..core.settings import CONFLICT_RULES, IOU_KINDS, VARIANTS, AssignerSettings

#: The configs/ folder of a source checkout (absent from a plain wheel install).
CONFIGS_DIR = Path(__file__).resolve().parents[2] / "configs"


@dataclass(frozen=True)
class Sample:
    """An (image, labels, preds) triple named by a config; labels None means background.

    ``names``: the sample's class names (a config's ``samples`` carry their own, so that
    they never label anyone else's data), else None.
    """

    image: Path
    labels: Path | None
    preds: Path
    names: dict[int, str] | None = None


@dataclass(frozen=True)
class Config:
    """Everything ``tal`` reads from a config file; defaults equal ``configs/default.yaml``.

    Attributes:
        variant, topk, alpha, beta, eps, topk2, iou, conflict, small_box_floor: assigner
            settings (see :class:`~tal_cli.core.settings.AssignerSettings`).
        imgsz: network input ``(height, width)`` px.
        strides: level strides, in the head's order.
        reg_max: R, DFL bins of the head (1: no DFL).
        names: class names by id that the user's config sets for its data (empty: none; the
            shipped configs set none, their samples carry their own).
        samples: the images ``tal sweep`` uses when no source is given.
        gains: loss gains ``box``, ``cls``, ``dfl``.
        source: the file it came from, or None for built-in defaults.
    """

    variant: str = "yolov8"
    topk: int = 10
    alpha: float = 0.5
    beta: float = 6.0
    eps: float = 1e-9
    topk2: int | None = None
    iou: str = "ciou"
    conflict: str = "all-gts"
    small_box_floor: bool | None = None
    imgsz: tuple[int, int] = (640, 640)
    strides: tuple[int, ...] = (8, 16, 32)
    reg_max: int = 16
    names: dict[int, str] = field(default_factory=dict)
    samples: tuple[Sample, ...] = ()
    gains: dict[str, float] = field(default_factory=lambda: {"box": 7.5, "cls": 0.5, "dfl": 1.5})
    source: Path | None = None

    def assigner_settings(self, num_classes: int) -> AssignerSettings:
        """The assigner settings for a head with ``num_classes`` classes.

        Raises:
            ConfigError: a value the assigner refuses (message names the setting).
        """
        try:
            return AssignerSettings(
                topk=self.topk, num_classes=num_classes, alpha=self.alpha, beta=self.beta, eps=self.eps,
                variant=self.variant, strides=self.strides, topk2=self.topk2, iou=self.iou,
                conflict=self.conflict, small_box_floor=self.small_box_floor)
        except ValueError as exc:
            raise ConfigError(f"{self._where()}{exc}") from None

    def override(self, **changes: Any) -> "Config":
        """A copy with the given (non-None) assigner/grid values replaced and checked, e.g. from CLI flags.

        Raises:
            ConfigError: an unknown key or a bad value (named).
        """
        given = {k: v for k, v in changes.items() if v is not None}
        for key, value in given.items():
            if key not in _SCALAR_CHECKS:
                raise ConfigError(f"option {key}: not a setting that can be overridden")
            given[key] = _convert(key, value, "option")
        config = replace(self, **given)
        config.assigner_settings(1)  # cross-field checks (topk2 vs topk and variant)
        return config

    def class_name(self, class_id: int) -> str:
        return self.names.get(class_id, str(class_id))

    def _where(self) -> str:
        return f"{self.source}: " if self.source else ""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_SCALAR_CHECKS: dict[str, tuple[Any, str]] = {
    "variant": (lambda v: v in VARIANTS, " or ".join(VARIANTS)),
    "topk": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "alpha": (lambda v: _is_num(v) and v >= 0, "a number >= 0"),
    "beta": (lambda v: _is_num(v) and v >= 0, "a number >= 0"),
    "eps": (lambda v: _is_num(v) and v >= 0, "a number >= 0"),
    "topk2": (lambda v: v is None or (_is_int(v) and v >= 1), "null or an integer >= 1"),
    "iou": (lambda v: v in IOU_KINDS, " or ".join(IOU_KINDS)),
    "conflict": (lambda v: v in CONFLICT_RULES, " or ".join(CONFLICT_RULES)),
    "small_box_floor": (lambda v: v is None or isinstance(v, bool), "true, false or null"),
    "reg_max": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "imgsz": (lambda v: (_is_int(v) and v >= 32) or (isinstance(v, (list, tuple)) and len(v) == 2
                                                     and all(_is_int(x) and x >= 32 for x in v)),
              "an integer >= 32 or [height, width]"),
    "strides": (lambda v: isinstance(v, (list, tuple)) and len(v) >= 1 and all(_is_int(x) and x >= 1 for x in v),
                "a list of integers >= 1"),
}
KNOWN_KEYS = tuple(_SCALAR_CHECKS) + ("names", "samples", "gains")


def _check_value(key: str, value: Any, where: str) -> None:
    check = _SCALAR_CHECKS.get(key)
    if check is not None and not check[0](value):
        raise ConfigError(f"{where} {key}: expected {check[1]}, got {value!r}")


_YAML11_EXPONENT = re.compile(r"[-+]?[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+")


def _convert(key: str, value: Any, where: str) -> Any:
    """Check one scalar setting and bring it to its stored type."""
    if key in ("alpha", "beta", "eps") and isinstance(value, str) and _YAML11_EXPONENT.fullmatch(value):
        value = float(value)  # YAML 1.1 reads 1e-9 (no dot) as a string
    _check_value(key, value, where)
    if key == "imgsz":
        return _imgsz(value, where)
    if key == "strides":
        return tuple(value)
    if key in ("alpha", "beta", "eps"):
        return float(value)
    return value


def _imgsz(value: Any, where: str) -> tuple[int, int]:
    if _is_int(value):
        return (value, value)
    return (int(value[0]), int(value[1]))


def read_yaml(path: Path, what: str) -> Any:
    """Parse a YAML file; one-line errors naming the file (and line)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder, expected a {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read {what} ({exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputFileError(f"{path}{line}: {problem}") from None


def parse_names(value: Any, where: str, base: Path) -> dict[int, str]:
    """Class names from a list, a ``{id: name}`` mapping, or a path to a dataset YAML with ``names``."""
    if isinstance(value, str):
        data_path = (base / value) if not Path(value).is_absolute() else Path(value)
        return read_dataset_names(data_path)
    if isinstance(value, list) and all(isinstance(n, (str, int, float)) for n in value):
        return {i: str(n) for i, n in enumerate(value)}
    if isinstance(value, dict) and all(_is_int(k) or (isinstance(k, str) and k.isdigit()) for k in value):
        return {int(k): str(v) for k, v in value.items()}
    raise ConfigError(f"{where} names: expected a list, a mapping id: name, or a dataset YAML path, got {value!r}")


def read_dataset_names(path: Path) -> dict[int, str]:
    """The ``names`` of an ultralytics dataset YAML (list or mapping)."""
    return read_names_yaml(path)[0]


def read_names_yaml(path: Path) -> tuple[dict[int, str], tuple[int, int] | None]:
    """The ``names`` of a dataset YAML (``--names``), and its ``kpt_shape`` when it is a pose dataset.

    Raises:
        InputFileError: unreadable, no ``names``, or a ``kpt_shape`` that is not ``[K, 2 or 3]``.
    """
    data = read_yaml(path, "dataset YAML")
    if not isinstance(data, dict) or not isinstance(data.get("names"), (list, dict)):
        raise InputFileError(f"{path}: expected a dataset YAML with a 'names' list or mapping")
    kpt = data.get("kpt_shape")
    if kpt is not None and not (isinstance(kpt, list) and len(kpt) == 2 and all(_is_int(v) for v in kpt)
                                and kpt[0] >= 1 and kpt[1] in (2, 3)):
        raise InputFileError(f"{path}: 'kpt_shape' must be [keypoints, 2 or 3], got {kpt!r}")
    return parse_names(data["names"], f"{path}:", path.parent), (tuple(kpt) if kpt is not None else None)


def _samples(value: Any, where: str, base: Path) -> tuple[Sample, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where} samples: expected a list of {{image, labels, preds}}, got {value!r}")
    out = []
    for i, item in enumerate(value):
        if (not isinstance(item, dict) or not {"image", "preds"} <= set(item)
                or not set(item) <= {"image", "labels", "preds", "names"}):
            raise ConfigError(f"{where} samples[{i}]: expected keys image, labels, preds (and names), got {item!r}")
        if not all(isinstance(item.get(k), str) for k in ("image", "preds")) or not isinstance(
            item.get("labels", ""), (str, type(None))
        ):
            raise ConfigError(f"{where} samples[{i}]: paths must be strings, got {item!r}")
        labels = item.get("labels")
        names = parse_names(item["names"], f"{where} samples[{i}]", base) if "names" in item else None
        out.append(Sample(base / item["image"], base / labels if labels else None, base / item["preds"], names))
    return tuple(out)


def _gains(value: Any, where: str) -> dict[str, float]:
    if (
        not isinstance(value, dict)
        or not set(value) <= {"box", "cls", "dfl"}
        or not all(_is_num(v) and v >= 0 for v in value.values())
    ):
        raise ConfigError(f"{where} gains: expected a mapping of box, cls, dfl to numbers >= 0, got {value!r}")
    return {"box": 7.5, "cls": 0.5, "dfl": 1.5} | {k: float(v) for k, v in value.items()}


def config_from_dict(data: Any, source: Path | None = None) -> Config:
    """Validate a parsed config mapping; unknown keys and wrong types name the key."""
    where = f"{source}:" if source else "config:"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where} expected a mapping of settings, got {type(data).__name__}")
    base = source.parent if source else Path.cwd()
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in KNOWN_KEYS:
            raise ConfigError(f"{where} unknown key {key!r}; known keys: {', '.join(KNOWN_KEYS)}")
        if key == "names":
            values[key] = parse_names(value, where, base)
        elif key == "samples":
            values[key] = _samples(value, where, base)
        elif key == "gains":
            values[key] = _gains(value, where)
        else:
            values[key] = _convert(key, value, where)
    config = Config(source=source, **values)
    config.assigner_settings(1)  # cross-field checks (topk2 vs topk and variant)
    return config


def load_config(path: str | Path | None) -> Config:
    """Read a config file; ``None`` means ``configs/default.yaml`` of the checkout, else built-ins."""
    if path is None:
        default = CONFIGS_DIR / "default.yaml"
        if not default.is_file():
            return Config()
        path = default
    path = Path(path)
    return config_from_dict(read_yaml(path, "config file"), path)

