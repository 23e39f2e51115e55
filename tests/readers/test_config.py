"""tal_cli.readers.config: YAML settings files, their validation and ``override``.

Every config is written into ``tmp_path``; messages must name the file and the key.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tal_cli.core.errors import InputFileError
from tal_cli.core.settings import PRESETS, AssignerSettings
from tal_cli.readers.config import CONFIGS_DIR, Config, ConfigError, Sample, config_from_dict, load_config

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_NAMES = {0: "person", 1: "helmet", 2: "spacecraft", 3: "flag", 4: "patch", 5: "cup", 6: "saucer", 7: "spoon"}


def write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def assert_preset(cfg: Config, preset: str) -> None:
    for key, value in PRESETS[preset].items():
        assert getattr(cfg, key) == value, key


# --- the shipped configs ----------------------------------------------------------------


def test_configs_dir_is_the_checkout() -> None:
    assert CONFIGS_DIR == ROOT / "configs"


def test_default_config() -> None:
    cfg = load_config(None)
    assert cfg.source == CONFIGS_DIR / "default.yaml"
    assert (cfg.variant, cfg.topk, cfg.alpha, cfg.beta, cfg.eps) == ("yolov8", 10, 0.5, 6.0, 1e-9)
    assert isinstance(cfg.alpha, float) and isinstance(cfg.beta, float)
    assert (cfg.topk2, cfg.iou, cfg.conflict, cfg.small_box_floor) == (None, "ciou", "all-gts", None)
    assert cfg.imgsz == (640, 640)
    assert cfg.strides == (8, 16, 32)
    assert cfg.reg_max == 16
    assert cfg.names == {}  # the shipped configs name no classes: they would label the user's data
    assert cfg.gains == {"box": 7.5, "cls": 0.5, "dfl": 1.5}
    assert len(cfg.samples) == 2
    assert [s.image.name for s in cfg.samples] == ["astronaut.png", "coffee.png"]
    for s in cfg.samples:
        assert isinstance(s, Sample)
        assert s.image.is_file() and s.labels is not None and s.labels.is_file() and s.preds.is_file()
        assert s.names == SAMPLE_NAMES  # the samples carry their own
    assert_preset(cfg, "yolov8")
    # the built-in defaults agree with the file (names and samples aside)
    builtin = Config()
    for key in ("variant", "topk", "alpha", "beta", "eps", "topk2", "iou", "conflict", "small_box_floor",
                "imgsz", "strides", "reg_max", "gains"):
        assert getattr(builtin, key) == getattr(cfg, key), key


def test_ultralytics_config() -> None:
    cfg = load_config(ROOT / "configs" / "ultralytics.yaml")
    assert_preset(cfg, "ultralytics")
    assert cfg.iou == "ciou" and cfg.imgsz == (640, 640) and cfg.strides == (8, 16, 32)
    assert cfg.names == {}
    assert cfg.samples == ()
    assert cfg.assigner_settings(8).uses_floor


def test_tood_config() -> None:
    cfg = load_config(str(ROOT / "configs" / "tood.yaml"))
    assert_preset(cfg, "tood")
    assert (cfg.topk, cfg.alpha, cfg.iou) == (13, 1.0, "iou")
    assert not cfg.assigner_settings(8).uses_floor


def test_assigner_settings() -> None:
    s = load_config(None).assigner_settings(8)
    assert s == AssignerSettings(topk=10, num_classes=8, alpha=0.5, beta=6.0, eps=1e-9, variant="yolov8",
                                 strides=(8, 16, 32), topk2=None, iou="ciou", conflict="all-gts", small_box_floor=None)


def test_empty_file_gives_builtin_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing\n")
    cfg = load_config(path)
    assert cfg == Config(source=path)


def test_values_read(tmp_path: Path) -> None:
    path = write(tmp_path, "variant: ultralytics\ntopk: 7\ntopk2: 3\nalpha: 1\nbeta: 2\neps: 0\niou: iou\n"
                           "conflict: choosers\nsmall_box_floor: false\nimgsz: [480, 640]\nstrides: [16, 32]\n"
                           "reg_max: 1\ngains: {cls: 1}\n")
    cfg = load_config(path)
    assert (cfg.variant, cfg.topk, cfg.topk2, cfg.iou, cfg.conflict, cfg.small_box_floor) == (
        "ultralytics", 7, 3, "iou", "choosers", False)
    assert (cfg.alpha, cfg.beta, cfg.eps) == (1.0, 2.0, 0.0)
    assert all(isinstance(v, float) for v in (cfg.alpha, cfg.beta, cfg.eps))
    assert cfg.imgsz == (480, 640) and cfg.strides == (16, 32) and cfg.reg_max == 1
    assert cfg.gains == {"box": 7.5, "cls": 1.0, "dfl": 1.5}
    assert cfg.source == path


# --- errors naming the key --------------------------------------------------------------


def test_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, "topk: 10\ntop_k: 13\n")
    with pytest.raises(
        ConfigError, match=f"^{re.escape(str(path))}: unknown key 'top_k'; known keys: variant, topk, "
    ) as info:
        load_config(path)
    assert "names, samples, gains" in str(info.value)


BAD_VALUES = [
    # (yaml, message after "<file>: ")
    ("topk: ten", "topk: expected an integer >= 1, got 'ten'"),
    ("topk: 0", "topk: expected an integer >= 1, got 0"),
    ("topk: 2.5", "topk: expected an integer >= 1, got 2.5"),
    ("topk: true", "topk: expected an integer >= 1, got True"),
    ("alpha: -1", "alpha: expected a number >= 0, got -1"),
    ("beta: '6'", "beta: expected a number >= 0, got '6'"),
    ("eps: .nan", "eps: expected a number >= 0, got nan"),
    ("imgsz: [640]", "imgsz: expected an integer >= 32 or [height, width], got [640]"),
    ("imgsz: 16", "imgsz: expected an integer >= 32 or [height, width], got 16"),
    ("imgsz: [640, 640.0]", "imgsz: expected an integer >= 32 or [height, width], got [640, 640.0]"),
    ("strides: []", "strides: expected a list of integers >= 1, got []"),
    ("strides: [8, 0]", "strides: expected a list of integers >= 1, got [8, 0]"),
    ("strides: 8", "strides: expected a list of integers >= 1, got 8"),
    ("variant: v5", "variant: expected yolov8 or ultralytics, got 'v5'"),
    ("iou: giou", "iou: expected ciou or iou, got 'giou'"),
    ("conflict: first", "conflict: expected all-gts or choosers, got 'first'"),
    ("small_box_floor: 1", "small_box_floor: expected true, false or null, got 1"),
    ("reg_max: 0", "reg_max: expected an integer >= 1, got 0"),
    ("topk2: 0", "topk2: expected null or an integer >= 1, got 0"),
    ("names: 5", "names: expected a list, a mapping id: name, or a dataset YAML path, got 5"),
    ("names: {a: person}", "names: expected a list, a mapping id: name, or a dataset YAML path, got {'a': 'person'}"),
    ("gains: {box: x}", "gains: expected a mapping of box, cls, dfl to numbers >= 0, got {'box': 'x'}"),
    ("gains: {obj: 1}", "gains: expected a mapping of box, cls, dfl to numbers >= 0, got {'obj': 1}"),
    ("gains: {box: -1}", "gains: expected a mapping of box, cls, dfl to numbers >= 0, got {'box': -1}"),
    ("samples: bad", "samples: expected a list of {image, labels, preds}, got 'bad'"),
    ("samples: [{image: a.png}]", "samples[0]: expected keys image, labels, preds (and names), got {'image': 'a.png'}"),
    (
        "samples: [{image: a.png, preds: a.pt, extra: 1}]",
        "samples[0]: expected keys image, labels, preds (and names), "
        "got {'image': 'a.png', 'preds': 'a.pt', 'extra': 1}",
    ),
    ("samples: [{image: a.png, preds: 3}]", "samples[0]: paths must be strings, got {'image': 'a.png', 'preds': 3}"),
    (
        "samples: [{image: a.png, preds: a.pt}, x]",
        "samples[1]: expected keys image, labels, preds (and names), got 'x'",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_VALUES)
def test_wrong_value_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, f"topk: 10\n{text}\n" if not text.startswith("topk:") else text + "\n")
    with pytest.raises(ConfigError, match="^" + re.escape(f"{path}: {message}") + "$"):
        load_config(path)


def test_topk2_needs_ultralytics_variant(tmp_path: Path) -> None:
    path = write(tmp_path, "variant: yolov8\ntopk: 10\ntopk2: 5\n")
    with pytest.raises(ConfigError, match="^" + re.escape(
            f"{path}: topk2 < topk needs variant 'ultralytics', got variant 'yolov8'") + "$"):
        load_config(path)
    # topk2 above topk is refused whatever the variant
    path = write(tmp_path, "variant: ultralytics\ntopk: 10\ntopk2: 11\n", "b.yaml")
    with pytest.raises(
        ConfigError, match="^" + re.escape(f"{path}: topk2 must be null or an integer in 1..topk (10), got 11") + "$"
    ):
        load_config(path)
    # topk2 == topk is allowed with yolov8 (no effect), topk2 < topk with ultralytics
    assert load_config(write(tmp_path, "topk: 10\ntopk2: 10\n", "c.yaml")).topk2 == 10
    assert load_config(write(tmp_path, "variant: ultralytics\ntopk2: 5\n", "d.yaml")).topk2 == 5


def test_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- topk: 10\n")
    with pytest.raises(ConfigError, match="^" + re.escape(f"{path}: expected a mapping of settings, got list") + "$"):
        load_config(path)


@pytest.mark.parametrize(("text", "line", "problem"), [
    ("topk: 10\nalpha: 0.5\n  beta: 6\n", 3, "mapping values are not allowed here"),
    ("topk: 10\n\tbeta: 6\n", 2, "found character '\\t' that cannot start any token"),
    ("topk: [1\n", 2, "expected ',' or ']', but got '<stream end>'"),
])
def test_invalid_yaml_names_file_and_line(tmp_path: Path, text: str, line: int, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputFileError, match="^" + re.escape(f"{path}, line {line}: {problem}") + "$"):
        load_config(path)


def test_missing_and_unreadable_config(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InputFileError, match="^" + re.escape(f"{missing}: config file not found") + "$"):
        load_config(missing)
    with pytest.raises(InputFileError, match="^" + re.escape(f"{tmp_path}: is a folder, expected a config file") + "$"):
        load_config(tmp_path)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00topk")
    with pytest.raises(InputFileError, match="^" + re.escape(f"{binary}: cannot read config file (")):
        load_config(binary)


def test_config_from_dict_without_source() -> None:
    with pytest.raises(ConfigError, match="^" + re.escape("config: topk: expected an integer >= 1, got -3") + "$"):
        config_from_dict({"topk": -3})
    assert config_from_dict(None) == Config()


# --- names ------------------------------------------------------------------------------


def test_names_list_and_dict(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "names: [cat, dog, 3]\n")).names == {0: "cat", 1: "dog", 2: "3"}
    # int keys, string-digit keys, gaps allowed
    cfg = load_config(write(tmp_path, "names: {0: cat, 2: dog, '5': bird}\n", "b.yaml"))
    assert cfg.names == {0: "cat", 2: "dog", 5: "bird"}
    assert cfg.class_name(2) == "dog" and cfg.class_name(1) == "1"


def test_names_from_dataset_yaml_relative_to_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # configs/sub/cfg.yaml names ../data/ds.yaml -> tmp/configs/data/ds.yaml, whatever the cwd
    write(tmp_path, "path: .\ntrain: images\nnames:\n  0: galaxy\n  1: star\n", "configs/data/ds.yaml")
    write(tmp_path, "names: [decoy]\n", "data/ds.yaml")  # what a cwd-relative lookup would find
    cfg_path = write(tmp_path, "names: ../data/ds.yaml\n", "configs/sub/cfg.yaml")
    monkeypatch.chdir(tmp_path)
    assert load_config(cfg_path).names == {0: "galaxy", 1: "star"}


def test_names_from_absolute_dataset_yaml(tmp_path: Path) -> None:
    ds = write(tmp_path, "names: [a, b]\n", "elsewhere/ds.yaml")
    cfg = load_config(write(tmp_path, f"names: {ds}\n", "cfg/c.yaml"))
    assert cfg.names == {0: "a", 1: "b"}


def test_shipped_configs_name_no_classes() -> None:
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        assert load_config(path).names == {}, path.name


def test_sample_names_key(tmp_path: Path) -> None:
    ds = write(tmp_path, "names: [a, b]\n", "ds.yaml")
    cfg = load_config(
        write(tmp_path, f"samples: [{{image: a.png, preds: a.pt, names: {ds}}}, {{image: b.png, preds: b.pt}}]\n")
    )
    assert [s.names for s in cfg.samples] == [{0: "a", 1: "b"}, None]


def test_names_dataset_yaml_errors(tmp_path: Path) -> None:
    cfg = write(tmp_path, "names: missing.yaml\n")
    ds = tmp_path / "missing.yaml"
    with pytest.raises(InputFileError, match="^" + re.escape(f"{ds}: dataset YAML not found") + "$"):
        load_config(cfg)
    write(tmp_path, "train: images\n", "missing.yaml")
    with pytest.raises(InputFileError, match="^" + re.escape(
            f"{ds}: expected a dataset YAML with a 'names' list or mapping") + "$"):
        load_config(cfg)
    for bad in ("names: 7\n", "names: missing.yaml\n"):  # a string would recurse into itself
        write(tmp_path, bad, "missing.yaml")
        with pytest.raises(InputFileError, match="^" + re.escape(
                f"{ds}: expected a dataset YAML with a 'names' list or mapping") + "$"):
            load_config(cfg)


# --- samples ----------------------------------------------------------------------------


def test_samples_relative_to_config(tmp_path: Path) -> None:
    path = write(tmp_path, "samples:\n  - {image: img/a.png, labels: lab/a.txt, preds: p/a.pt}\n"
                           "  - {image: img/b.png, preds: p/b.pt}\n"
                           "  - {image: img/c.png, labels: null, preds: p/c.pt}\n", "cfgs/c.yaml")
    base = tmp_path / "cfgs"
    assert load_config(path).samples == (
        Sample(base / "img/a.png", base / "lab/a.txt", base / "p/a.pt"),
        Sample(base / "img/b.png", None, base / "p/b.pt"),
        Sample(base / "img/c.png", None, base / "p/c.pt"),
    )


# --- override ---------------------------------------------------------------------------


def test_override_none_leaves_values() -> None:
    cfg = load_config(None)
    same = cfg.override(variant=None, topk=None, alpha=None, beta=None, imgsz=None)
    assert same == cfg


def test_override_replaces_and_converts() -> None:
    cfg = load_config(None)
    new = cfg.override(variant="ultralytics", topk=13, alpha=1.0, imgsz=320)
    assert (new.variant, new.topk, new.alpha, new.imgsz) == ("ultralytics", 13, 1.0, (320, 320))
    assert new.beta == cfg.beta and new.names == cfg.names and new.source == cfg.source
    assert cfg.topk == 10 and cfg.imgsz == (640, 640)  # the original is unchanged
    assert cfg.override(imgsz=[480, 640]).imgsz == (480, 640)


@pytest.mark.parametrize(("changes", "message"), [
    ({"topk": 0}, "option topk: expected an integer >= 1, got 0"),
    ({"alpha": -0.5}, "option alpha: expected a number >= 0, got -0.5"),
    ({"variant": "v5"}, "option variant: expected yolov8 or ultralytics, got 'v5'"),
    ({"imgsz": 8}, "option imgsz: expected an integer >= 32 or [height, width], got 8"),
    ({"imgsz": "640"}, "option imgsz: expected an integer >= 32 or [height, width], got '640'"),
    ({"topk": 5, "iou": "giou"}, "option iou: expected ciou or iou, got 'giou'"),
])
def test_override_validates(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message) + "$"):
        load_config(None).override(**changes)


def test_yaml11_exponent_is_a_number(tmp_path: Path) -> None:
    # PyYAML reads 1e-9 (no dot) as a string; it is still meant as a number
    assert load_config(write(tmp_path, "eps: 1e-9\nalpha: 5E-1\n")).eps == 1e-9
    with pytest.raises(ConfigError, match=re.escape("eps: expected a number >= 0, got 'small'")):
        load_config(write(tmp_path, "eps: small\n"))


def test_label_file_with_bom(tmp_path: Path) -> None:
    from tal_cli.readers.labels import read_labels

    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeff0 0.5 0.5 0.2 0.2\n".encode("utf-8"))
    assert read_labels(path).classes == (0,)


def test_override_checks_and_converts() -> None:
    cfg = load_config(None)
    assert cfg.override(strides=[8, 16], alpha=1).strides == (8, 16)
    assert isinstance(cfg.override(alpha=1).alpha, float)
    with pytest.raises(ConfigError, match="option names: not a setting"):
        cfg.override(names=5)
    with pytest.raises(ConfigError, match="topk2 < topk needs variant 'ultralytics'"):
        cfg.override(topk2=3)
