"""Shared fixtures: where the samples and the reference data live; hypothesis' profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
DATA = ROOT / "tests" / "data"
#: The project's reference data beside the checkout (present in CI and dev sessions).
SHARED_REFERENCE = ROOT.parent / "shared" / "reference"

needs_shared = pytest.mark.skipif(not SHARED_REFERENCE.is_dir(), reason="../shared/reference not present")

# Hypothesis' profiles, chosen by HYPOTHESIS_PROFILE (default: "default", random examples, as hypothesis ships).
# "ci" (.ci/run): the examples are derived from each test's source, not drawn at random, so every run of a commit
# tries the same ones and a red run goes red again when re-run (docs/correctness.md); no example database, no
# deadline (a loaded machine's slow example is not a failure); a failure prints the blob that replays it.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _no_columns(monkeypatch) -> None:
    """Shown outputs are laid out for the piped width (100), whatever the developer's shell exports."""
    monkeypatch.delenv("COLUMNS", raising=False)


def sample(stem: str) -> tuple[str, str, str]:
    """(image, labels, preds) paths of a sample, as strings for the CLI."""
    ext = "jpg" if stem == "hubble_left" else "png"
    return (str(SAMPLES / "images" / f"{stem}.{ext}"), str(SAMPLES / "labels" / f"{stem}.txt"),
            str(SAMPLES / "preds" / f"{stem}.pt"))
