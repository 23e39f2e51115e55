"""Assigner settings: one validated, frozen record, and the named presets."""

from __future__ import annotations

from dataclasses import dataclass, replace

VARIANTS = ("yolov8", "ultralytics")
IOU_KINDS = ("ciou", "iou")
CONFLICT_RULES = ("all-gts", "choosers")


@dataclass(frozen=True)
class AssignerSettings:
    """Everything that decides an assignment besides the tensors.

    Attributes:
        topk: K, anchors each gt selects by alignment metric (>= 1).
        num_classes: C (>= 1).
        alpha: exponent of the class score in ``t = s**alpha * u**beta`` (>= 0).
        beta: exponent of the IoU (>= 0).
        eps: added to each gt's best metric before normalising (1e-9 in the references).
        variant: ``"yolov8"`` (YOLOv8-era releases: no floor) or ``"ultralytics"`` (current
            releases: small-box floor, and ``topk2``).
        strides: strides of the levels, used for the small-box floor (second stride, or the
            only one).
        topk2: with variant ``ultralytics``, after conflicts each gt keeps only its best
            ``topk2`` anchors (one-to-one heads); ``None`` means ``topk`` (no effect).
        iou: ``"ciou"`` as both references, or ``"iou"`` (plain IoU, as TOOD).
        conflict: ``"all-gts"``: an anchor chosen by several gts goes to the gt of highest IoU
            among all gts (as the references: it can go to a gt that never chose it);
            ``"choosers"``: only the gts that chose it compete.
        small_box_floor: widen gts smaller than the floor stride before the candidate test;
            ``None`` follows the variant.
    """

    topk: int = 13
    num_classes: int = 80
    alpha: float = 1.0
    beta: float = 6.0
    eps: float = 1e-9
    variant: str = "yolov8"
    strides: tuple[int, ...] = (8, 16, 32)
    topk2: int | None = None
    iou: str = "ciou"
    conflict: str = "all-gts"
    small_box_floor: bool | None = None

    def __post_init__(self) -> None:
        def bad(name: str, value: object, allowed: str) -> ValueError:
            return ValueError(f"{name} must be {allowed}, got {value!r}")

        if self.variant not in VARIANTS:
            raise bad("variant", self.variant, " or ".join(repr(v) for v in VARIANTS))
        if self.iou not in IOU_KINDS:
            raise bad("iou", self.iou, " or ".join(repr(v) for v in IOU_KINDS))
        if self.conflict not in CONFLICT_RULES:
            raise bad("conflict", self.conflict, " or ".join(repr(v) for v in CONFLICT_RULES))
        for name in ("topk", "num_classes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise bad(name, value, "an integer >= 1")
        for name in ("alpha", "beta", "eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise bad(name, value, "a number >= 0")
        strides = tuple(self.strides)
        if not strides or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in strides):
            raise bad("strides", self.strides, "a non-empty list of integers >= 1")
        object.__setattr__(self, "strides", strides)
        if self.small_box_floor is not None and not isinstance(self.small_box_floor, bool):
            raise bad("small_box_floor", self.small_box_floor, "true, false or null")
        if self.topk2 is not None:
            if isinstance(self.topk2, bool) or not isinstance(self.topk2, int) or not 1 <= self.topk2 <= self.topk:
                raise bad("topk2", self.topk2, f"null or an integer in 1..topk ({self.topk})")
            if self.topk2 < self.topk and self.variant != "ultralytics":
                raise ValueError(f"topk2 < topk needs variant 'ultralytics', got variant {self.variant!r}")

    @property
    def uses_floor(self) -> bool:
        """Whether the small-box floor applies (explicit setting, else the variant's)."""
        return self.variant == "ultralytics" if self.small_box_floor is None else self.small_box_floor

    @property
    def floor_side(self) -> float:
        """The floor in pixels: the second stride when there are several, else the only one."""
        return float(self.strides[1] if len(self.strides) > 1 else self.strides[0])

    @property
    def uses_topk2(self) -> bool:
        return self.variant == "ultralytics" and self.topk2 is not None and self.topk2 < self.topk

    def with_(self, **changes: object) -> "AssignerSettings":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


#: Named presets. ``yolov8`` is what YOLOv8/YOLO11 training uses and the tool's default.
PRESETS: dict[str, dict[str, object]] = {
    "yolov8": {"variant": "yolov8", "topk": 10, "alpha": 0.5, "beta": 6.0},
    "ultralytics": {"variant": "ultralytics", "topk": 10, "alpha": 0.5, "beta": 6.0},
    "tood": {"variant": "yolov8", "topk": 13, "alpha": 1.0, "beta": 6.0, "iou": "iou"},
}

#: Settings each branch of an end-to-end head (YOLO26, YOLOv10 style) is trained with, applied
#: over the config (flags still win). ``one2one``: the one-to-one assigner of ultralytics 8.4
#: (``E2ELoss``: topk 7, then topk2 1 after conflicts). ``one2many`` keeps the config's settings
#: (ultralytics 8.4 trains it with topk 10, topk2 = topk: the ``ultralytics`` preset).
HEAD_PRESETS: dict[str, dict[str, object]] = {
    "one2many": {},
    "one2one": {"variant": "ultralytics", "topk": 7, "topk2": 1},
}
