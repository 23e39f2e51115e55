from __future__ import annotations

import pytest

from tal_cli.core.release import ALIASES, FIRST, LAST, Release, release_of


def test_parse_orders_numerically_not_as_text() -> None:
    assert Release.parse("8.4.100") > Release.parse("8.4.99") > Release.parse("8.3.253")
    assert str(Release.parse(" 8.4.190.dev0 ")) == "8.4.190"


def test_aliases_and_range() -> None:
    assert release_of("yolov8") == Release(8, 0, 200) and release_of("ultralytics") == LAST
    assert release_of("8.0.0") == FIRST
    with pytest.raises(ValueError, match=r"releases 8\.0\.0\.\.8\.4\.190"):
        release_of("8.4.191")
    with pytest.raises(ValueError, match="or a release number"):
        release_of("v8")
    assert set(ALIASES) == {"yolov8", "ultralytics"}
