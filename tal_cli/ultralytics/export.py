"""``tal export``: run an ultralytics model on images and save its raw head output as PREDS files.

Needs the optional extra (``pip install "tal[ultralytics]"``); ultralytics is imported only
when a model is loaded, so the rest of ``tal`` never needs it. Not part of the pure core: this
module reads images and models and writes files.

Each image is letterboxed exactly as ``tal assign`` letterboxes its labels
(:class:`~tal_cli.readers.images.Letterbox`, grey 114, no stride rounding: ultralytics' ``LetterBox``
with ``auto=False``), run once through the network in eval mode *without fusing* (fusing
drops the one-to-many branch of end-to-end heads), and its head output saved as
``{"boxes": [1, 4R, A], "scores": [1, C, A], "meta": {...}}``, or for end-to-end heads
``{"one2many": {...}, "one2one": {...}, "meta": {...}}`` (feature maps are not saved). The
``meta`` dict is :meth:`PredsMeta.to_dict <tal_cli.readers.preds.PredsMeta.to_dict>`; everything
loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .. import __version__
from ..core.errors import InputFileError, MissingExtraError, TalError
from ..readers.preds import BRANCHES, PredsMeta
from ..writers.files import torch_save

INSTALL_HINT = 'pip install "tal[ultralytics]"'
MODEL_SUFFIXES = (".pt", ".yaml", ".yml")


def import_ultralytics(command: str = "tal export"):
    """The ``ultralytics`` package, or :class:`MissingExtraError` saying what ``command`` needs installed."""
    try:
        import ultralytics
    except ImportError as exc:
        if exc.name == "ultralytics":
            raise MissingExtraError(f"{command} needs ultralytics, which is not installed: {INSTALL_HINT}") from None
        raise MissingExtraError(f"{command}: ultralytics is installed but cannot be imported ({exc}); "
                                f"install what it needs: {INSTALL_HINT}") from None
    return ultralytics


@dataclass(frozen=True)
class ExportModel:
    """A detection network ready to run, and what the PREDS files will say about it.

    Attributes:
        network: the ``torch.nn.Module``, float32, eval mode, not fused.
        strides: level strides, in the head's order.
        reg_max: R, DFL bins of the head (1: plain distances, YOLO26).
        num_classes: C.
        names: class names by id (empty when the model only has placeholder names).
        branches: ``("one2many",)`` for an ordinary head; both names for an end-to-end head.
        source: the model file's name.
        version: the ultralytics version that built it.
    """

    network: torch.nn.Module
    strides: tuple[int, ...]
    reg_max: int
    num_classes: int
    names: dict[int, str]
    branches: tuple[str, ...]
    source: str
    version: str

    def meta(self, imgsz: tuple[int, int], image: str | None = None, names: dict[int, str] | None = None) -> PredsMeta:
        """The file's metadata; ``names`` stand in when the model has only placeholder names."""
        return PredsMeta(imgsz, self.strides, self.reg_max, self.num_classes, self.names or dict(names or {}),
                         {"ultralytics": self.version, "torch": torch.__version__.split("+")[0], "tal": __version__},
                         self.source, image)


def load_model(model: str | Path, seed: int = 0, device: str = "cpu") -> ExportModel:
    """Load an ultralytics weights file (by ultralytics itself) or build a model YAML (random weights).

    Args:
        model: a ``.pt`` file the user trusts (ultralytics unpickles it), or a model YAML: a
            path, or a name ultralytics resolves from its own configs (``yolov8n.yaml``).
        seed: ``torch.manual_seed`` before building a YAML model, so its weights repeat.
        device: where to run the network (``cpu``, ``cuda:0``).

    Raises:
        MissingExtraError: ultralytics is not installed.
        InputFileError: a missing file (nothing is downloaded), or one ultralytics cannot load,
            or a network that is not a detector.
    """
    ultralytics = import_ultralytics()
    path = Path(model)
    suffix = path.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise InputFileError(f"{model}: expected ultralytics weights (.pt) or a model YAML (.yaml)")
    if suffix == ".pt" and not path.is_file():
        raise InputFileError(f"{model}: model file not found (tal export does not download weights)")
    if suffix != ".pt" and path.is_dir():
        raise InputFileError(f"{model}: is a folder, expected a model YAML")
    from ultralytics import YOLO

    torch.manual_seed(seed)
    try:
        network = YOLO(str(path)).model
    except FileNotFoundError:
        raise InputFileError(f"{model}: model not found (neither a file nor a model YAML ultralytics knows)") from None
    except Exception as exc:  # ultralytics raises many kinds on a bad file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputFileError(f"{model}: ultralytics could not load it ({type(exc).__name__}: {first[:160]})") from None
    head = network.model[-1] if hasattr(network, "model") else None
    if not type(head).__name__.endswith("Detect") or not all(hasattr(head, k) for k in ("reg_max", "nc", "stride")):
        raise InputFileError(f"{model}: not a detection model (its last layer is {type(head).__name__})")
    try:
        network = network.float().eval().to(device)
    except (RuntimeError, AssertionError) as exc:
        raise TalError(f"--device {device}: {str(exc).splitlines()[0]}") from None
    names = {int(k): str(v) for k, v in dict(getattr(network, "names", {}) or {}).items()}
    if all(v == str(k) for k, v in names.items()):
        names = {}  # placeholders of an untrained YAML model
    end2end = getattr(head, "one2one_cv2", None) is not None
    return ExportModel(network, tuple(int(s) for s in head.stride.tolist()), int(head.reg_max), int(head.nc), names,
                       BRANCHES if end2end else BRANCHES[:1], path.name, ultralytics.__version__)


def read_pixels(image: Path):
    """The image's pixels as ultralytics' loader reads them: its own ``imread`` (OpenCV; alpha
    dropped, not composited; 16-bit high byte; EXIF orientation as OpenCV applies it).

    Without OpenCV (it comes with ultralytics), Pillow's :func:`~tal_cli.readers.images.load_image`,
    which follows the same rules.

    Returns:
        ``ndarray[h, w, 3] uint8``, RGB.

    Raises:
        InputFileError: the image cannot be read, or OpenCV and Pillow disagree on its size after
            orientation (the labels would not line up with the pixels).
    """
    import numpy as np

    from ..readers.images import image_size, load_image

    hw = image_size(image)  # the labels' letterbox is fitted to this (Pillow, EXIF applied)
    try:
        import cv2
    except ImportError:
        return np.asarray(load_image(image), dtype=np.uint8)
    try:
        from ultralytics.utils.patches import imread
    except ImportError:  # an older release: OpenCV as its loader called it
        def imread(path):
            return cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    try:
        bgr = imread(str(image))
    except Exception as exc:  # noqa: BLE001  (a decoder failure of any kind is this image's problem)
        raise InputFileError(f"{image}: ultralytics' image reader failed ({type(exc).__name__}: "
                             f"{str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ''})") from None
    if bgr is None:
        raise InputFileError(f"{image}: OpenCV cannot read this image, so ultralytics' loader cannot either")
    if bgr.ndim == 2:
        bgr = bgr[..., None]
    if bgr.shape[2] == 1:
        bgr = np.repeat(bgr, 3, axis=2)
    if tuple(bgr.shape[:2]) != hw:
        raise InputFileError(f"{image}: OpenCV reads it as {bgr.shape[1]}x{bgr.shape[0]} px but Pillow, which places "
                             f"the labels, as {hw[1]}x{hw[0]} (EXIF orientation?); the labels would not line up")
    return np.ascontiguousarray(bgr[..., 2::-1])


def image_tensor(image: Path, imgsz: tuple[int, int]) -> Tensor:
    """The image letterboxed into ``imgsz`` as the network's input.

    The pixels are ultralytics' loader's (:func:`read_pixels`); the placement is
    :class:`~tal_cli.readers.images.Letterbox`'s (the labels' letterbox); the resize is OpenCV's
    ``INTER_LINEAR``, as ultralytics' ``LetterBox`` does it (without OpenCV, Pillow's bilinear
    resize, which smooths more when shrinking).

    Returns:
        ``Tensor[1, 3, H, W] float32``, RGB in [0, 1].
    """
    import numpy as np

    from ..readers.images import PAD_VALUE, Letterbox, letterbox_image

    rgb = read_pixels(image)  # (h, w, 3)
    box = Letterbox.fit(rgb.shape[:2], imgsz)
    try:
        import cv2
    except ImportError:
        from PIL import Image

        array = np.asarray(letterbox_image(Image.fromarray(rgb), box), dtype=np.uint8)  # (H, W, 3)
    else:
        if (rgb.shape[1], rgb.shape[0]) != box.resized_wh:
            rgb = cv2.resize(rgb, box.resized_wh, interpolation=cv2.INTER_LINEAR)
        array = np.full((imgsz[0], imgsz[1], 3), PAD_VALUE, dtype=np.uint8)
        w, h = box.resized_wh
        array[box.top:box.top + h, box.left:box.left + w] = rgb
    return torch.from_numpy(array.copy()).permute(2, 0, 1)[None].float() / 255.0


def _branch(obj: object) -> object:
    """One branch as saved: ``boxes``/``scores`` of a dict (``feats`` dropped), or a list of maps."""
    if isinstance(obj, dict) and "boxes" in obj and "scores" in obj:
        return {"boxes": obj["boxes"].detach().float().cpu().clone(), "scores": obj["scores"].detach().float().cpu().clone()}
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(t, Tensor) for t in obj):
        return [t.detach().float().cpu().clone() for t in obj]
    return None


def head_output(model: ExportModel, x: Tensor) -> dict[str, object]:
    """Run the network once (eval mode, no gradients) and keep its raw head output per branch.

    Args:
        x: ``Tensor[1, 3, H, W] float32``, see :func:`image_tensor`.

    Returns:
        ``{"one2many": branch, "one2one": branch}`` (the branches the model has), each branch
        ``{"boxes": Tensor[1, 4R, A], "scores": Tensor[1, C, A]}`` or a list of
        ``Tensor[1, 4R + C, H, W]`` maps (older releases).
    """
    device = next(model.network.parameters()).device
    with torch.inference_mode():
        out = model.network(x.to(device))
    raw = out[1] if isinstance(out, (tuple, list)) and len(out) == 2 and not isinstance(out[1], Tensor) else out
    if isinstance(raw, dict) and any(k in raw for k in BRANCHES):
        found = {k: _branch(raw[k]) for k in BRANCHES if k in raw}
        found = {k: v for k, v in found.items() if v is not None}  # a fused network has an empty one2many
    else:
        one = _branch(raw)
        found = {} if one is None else {"one2many": one}
    if not found:
        raise TalError(f"{model.source}: the network's output is not a head output ({type(raw).__name__})")
    return found


def export_image(model: ExportModel, image: Path, imgsz: tuple[int, int], target: Path,
                 head: str | None = None, names: dict[int, str] | None = None) -> Path:
    """Letterbox ``image``, run it, and save its head output (``head``: one branch only) to ``target``.

    ``names``: class names for the metadata when the model has only placeholders (a dataset's).

    Raises:
        InputFileError: an unreadable image or an unwritable target.
        TalError: a branch the model lacks (the same for every image).
    """
    branches = head_output(model, image_tensor(image, imgsz))
    if head is not None:
        if head not in branches:
            why = "not an end-to-end model" if head == "one2one" else "a fused network"
            raise TalError(f"{model.source}: --head {head}: the network has no {head} branch ({why})")
        branches = {head: branches[head]}
    if model.branches == ("one2many",) and isinstance(branches["one2many"], dict):
        obj = dict(branches["one2many"])  # an ordinary head: {"boxes", "scores"} at the top
    else:
        obj = dict(branches)
    obj["meta"] = model.meta(imgsz, image.name, names).to_dict()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(f"{target.parent}: cannot create output folder ({exc.strerror or exc})") from None
    return torch_save(obj, target)


@dataclass(frozen=True)
class ExportPlan:
    """What ``tal export`` will do: each image and the PREDS file it becomes.

    Attributes:
        jobs: ``(image, target .pt)`` pairs, in order.
        out: the output folder.
        description: the source in words.
        names: class names the source carries (a dataset YAML's), else None.
    """

    jobs: tuple[tuple[Path, Path], ...]
    out: Path
    description: str
    names: dict[int, str] | None = None


def plan_export(source: Path, out: Path | None, split: str = "val") -> ExportPlan:
    """Find the images of SOURCE and name their PREDS files so that ``tal sweep`` finds them.

    - an image: ``OUT/<stem>.pt``;
    - a dataset folder (with ``images/``): ``OUT/<path under images/>.pt``, OUT defaulting to
      ``SOURCE/preds`` (then ``tal sweep SOURCE`` works as it is);
    - another folder: ``OUT/<path under the folder>.pt``;
    - a dataset YAML: the ``split``'s images, ``OUT/<stem>.pt`` (``tal sweep YAML --preds OUT``).

    Raises:
        InputFileError: no such source, no images, or two images that would share a PREDS file.
        TalError: OUT is needed but not given.
    """
    from ..readers.datasets import DATASET_SUFFIXES, images_under, is_image_name
    from ..readers.images import IMG_FORMATS
    from ..readers.sources import dataset_images, plural

    names = None
    if not source.exists():
        raise InputFileError(f"{source}: not found")
    if source.is_dir():
        base = source / "images" if (source / "images").is_dir() else source
        images, _ = images_under(base)
        if not images:
            raise InputFileError(f"{base}: no images ({', '.join(sorted(IMG_FORMATS))})")
        if out is None and base != source:
            out = source / "preds"
        relative = [im.relative_to(base).with_suffix(".pt") for im in images]
        what = "dataset folder" if base != source else "folder"
        description = f"{what} {source} ({plural(len(images), 'image')})"
    elif source.suffix.lower() in DATASET_SUFFIXES:
        images, names = dataset_images(source, split)
        relative = [Path(f"{im.stem}.pt") for im in images]
        description = f"dataset {source} split {split} ({plural(len(images), 'image')})"
    elif is_image_name(source.name):
        images, relative = [source], [Path(f"{source.stem}.pt")]
        description = f"image {source}"
    else:
        raise InputFileError(f"{source}: expected an image, a folder of images, or a dataset YAML")
    if out is None:
        raise TalError(f"--out DIR is needed for {description.split(' (')[0]} "
                       "(only a dataset folder with images/ has a default: its preds/)")
    seen: dict[Path, Path] = {}
    for image, rel in zip(images, relative):
        if rel in seen:
            raise InputFileError(f"{image}: same PREDS file as {seen[rel]} ({out / rel}); rename one of them")
        seen[rel] = image
    return ExportPlan(tuple((im, out / rel) for im, rel in zip(images, relative)), out, description, names)


def run_export(model: ExportModel, plan: ExportPlan, imgsz: tuple[int, int], head: str | None = None,
               ) -> Iterator[tuple[Path, Path | None, str | None]]:
    """Export every image of ``plan``; yields ``(image, written file or None, error or None)``.

    An image that cannot be read or written is reported (its error text) and the export goes
    on; a model problem (:class:`TalError` that is not an :class:`InputFileError`) stops it.
    The metadata takes the plan's class names when the model has only placeholders.
    """
    for image, target in plan.jobs:
        try:
            yield image, export_image(model, image, imgsz, target, head, plan.names), None
        except InputFileError as exc:
            yield image, None, str(exc)


def check_imgsz(imgsz: Sequence[int], strides: Sequence[int]) -> None:
    """The input size must be a multiple of the largest stride (as training uses it)."""
    step = max(strides)
    for n in imgsz:
        if n % step:
            raise TalError(f"--imgsz {n}: must be a multiple of {step}, the model's largest stride "
                           f"(e.g. {max(step, n // step * step)})")


def check_targets(plan: ExportPlan, overwrite: bool) -> None:
    """Refuse to replace existing PREDS files unless ``overwrite``.

    Raises:
        InputFileError: naming the first existing file and how many more.
    """
    from ..readers.paths import display_path

    existing = [target for _, target in plan.jobs if target.exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise InputFileError(f"{display_path(existing[0])}{more} already exist; add --overwrite to replace them")


def next_command(source: Path, plan: ExportPlan, written: Sequence[Path], split: str, model: ExportModel) -> str:
    """The ``tal`` command that uses what was just exported (paths relative to the working folder)."""
    from ..readers.paths import display_path
    from ..readers.datasets import DATASET_SUFFIXES

    version = tuple(int(p) for p in model.version.split(".")[:2] if p.isdigit())
    flags = " --variant ultralytics" if version >= (8, 4) else ""
    src, out = display_path(source), display_path(plan.out)
    if source.is_dir() and plan.out == source / "preds":
        command = f"tal sweep {src}{flags}"
    elif source.suffix.lower() in DATASET_SUFFIXES:
        command = f"tal sweep {src} --preds {out} --split {split}{flags}"
    elif source.is_dir() and source.name == "images" and (source.parent / "labels").is_dir():
        command = f"tal sweep {display_path(source.parent)} --preds {out}{flags}"
    elif source.is_file():
        command = f"tal assign {src} LABELS {display_path(written[0])}{flags}"
    else:
        command = f"tal assign IMAGE LABELS {out}/<stem>.pt{flags}"
    if "one2one" in model.branches:
        command += "   (--head one2one: the one-to-one branch)"
    return command
