"""Shared fixtures: where the samples and the reference data live."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
DATA = ROOT / "tests" / "data"
#: The project's reference data beside the checkout (present in CI and dev sessions).
SHARED_REFERENCE = ROOT.parent / "shared" / "reference"

needs_shared = pytest.mark.skipif(not SHARED_REFERENCE.is_dir(), reason="../shared/reference not present")


@pytest.fixture(autouse=True)
def _no_columns(monkeypatch) -> None:
    """Shown outputs are laid out for the piped width (100), whatever the developer's shell exports."""
    monkeypatch.delenv("COLUMNS", raising=False)


def sample(stem: str) -> tuple[str, str, str]:
    """(image, labels, preds) paths of a sample, as strings for the CLI."""
    ext = "jpg" if stem == "hubble_left" else "png"
    return (str(SAMPLES / "images" / f"{stem}.{ext}"), str(SAMPLES / "labels" / f"{stem}.txt"),
            str(SAMPLES / "preds" / f"{stem}.pt"))
