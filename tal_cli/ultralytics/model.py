"""The detection network of an ultralytics model, loaded once, and its input: images read and
letterboxed exactly as ultralytics' loader reads them.

Needs the optional extra (``pip install "tal[ultralytics]"``); ultralytics is imported only when a
model is loaded, so the rest of ``tal`` never needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .. import __version__
from ..core.errors import InputFileError, MissingExtraError, TalError
from ..readers.preds import BRANCHES, PredsMeta

INSTALL_HINT = 'pip install "tal[ultralytics]"'
MODEL_SUFFIXES = (".pt", ".yaml", ".yml")


def import_ultralytics(command: str = "tal export"):
    """The ``ultralytics`` package, or :class:`MissingExtraError` saying what to install (``command`` needs it)."""
    try:
        import ultralytics
    except ImportError as exc:
        if exc.name == "ultralytics":
            raise MissingExtraError(f"{command} needs ultralytics, which is not installed: {INSTALL_HINT}") from None
        raise MissingExtraError(f"{command}: ultralytics is installed but cannot be imported ({exc}); "
                                f"install what it needs: {INSTALL_HINT}") from None
    return ultralytics


@dataclass(frozen=True)
class DetectionModel:
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

    def check_head(self, head: str | None, branches=None) -> None:
        """``--head`` must name a branch the network has (``branches``: of an actual output; default: the model's).

        Raises:
            TalError: it does not.
        """
        held = self.branches if branches is None else tuple(branches)
        if head is not None and head not in held:
            why = "not an end-to-end model" if head == "one2one" else "a fused network"
            raise TalError(f"{self.source}: --head {head}: the network has no {head} branch ({why})")

    def meta(self, imgsz: tuple[int, int], image: str | None = None, names: dict[int, str] | None = None) -> PredsMeta:
        """The file's metadata; ``names`` stand in when the model has only placeholder names."""
        return PredsMeta(imgsz, self.strides, self.reg_max, self.num_classes, self.names or dict(names or {}),
                         {"ultralytics": self.version, "torch": torch.__version__.split("+")[0], "tal": __version__},
                         self.source, image)


def load_model(model: str | Path, seed: int = 0, device: str = "cpu") -> DetectionModel:
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
        TalError: a device torch cannot use.
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
    except Exception as exc:  # noqa: BLE001  ultralytics raises many kinds on a bad file
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
    return DetectionModel(network, tuple(int(s) for s in head.stride.tolist()), int(head.reg_max), int(head.nc), names,
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
