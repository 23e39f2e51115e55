"""Ultralytics release numbers: parsed once, compared as tuples.

Every rule that changed between ultralytics releases (the assigner's small-box floor, the
training loader's geometry, its verdicts) is written as a comparison with a :class:`Release`.
``variant`` strings are release numbers (``"8.4.100"``) or one of the named aliases
(:data:`ALIASES`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERN = re.compile(r"(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True, order=True)
class Release:
    """An ultralytics release ``major.minor.patch``; ordered as the releases were published."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Release:
        """``"8.4.100"`` -> ``Release(8, 4, 100)``; a suffix after the third number is ignored
        (``"8.4.190.dev0"``, ``"8.3.2+local"``).

        Raises:
            ValueError: ``text`` does not start with three dot-separated integers.
        """
        found = _PATTERN.match(str(text).strip())
        if found is None:
            raise ValueError(f"expected a release number such as '8.4.100', got {text!r}")
        return cls(*(int(part) for part in found.groups()))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


#: The releases whose rules tal knows, inclusive.
FIRST = Release(8, 0, 0)
LAST = Release(8, 4, 190)

#: Named variants and the release each stands for. ``yolov8``: the YOLOv8-era rules (the
#: reference ``ultralytics-8.0.200``); ``ultralytics``: the newest release tal knows.
ALIASES: dict[str, Release] = {"yolov8": Release(8, 0, 200), "ultralytics": LAST}


def release_of(variant: str) -> Release:
    """The release a variant string stands for: an alias of :data:`ALIASES` or a release number.

    Raises:
        ValueError: neither an alias nor a release number within ``FIRST..LAST``.
    """
    if variant in ALIASES:
        return ALIASES[variant]
    try:
        release = Release.parse(variant)
    except ValueError:
        raise ValueError(f"variant must be {' or '.join(repr(a) for a in ALIASES)} or a release number "
                         f"{FIRST}..{LAST}, got {variant!r}") from None
    if not FIRST <= release <= LAST:
        raise ValueError(f"variant {variant!r}: tal knows the rules of releases {FIRST}..{LAST}")
    return release
