"""`--model` on the command line without the ultralytics extra: usage errors and the install hint.

What `--model` computes is tested against `tal export` in tests/ultralytics/test_stream_ultralytics.py.
"""

from __future__ import annotations

import importlib.util

import pytest

from ..clirun import run
from ..conftest import sample

IMAGE, LABELS, PREDS = sample("coffee")
HAS_ULTRALYTICS = importlib.util.find_spec("ultralytics") is not None


def test_assign_needs_preds_or_model() -> None:
    result = run("assign", IMAGE, LABELS)
    assert (result.exit_code, result.stderr) == (2, "Error: give PREDS (the saved head output) or --model MODEL\n")
    result = run("assign", IMAGE, LABELS, PREDS, "--model", "yolov8n.yaml")
    assert (result.exit_code, result.stderr) == (2, "Error: give PREDS or --model MODEL, not both\n")


def test_sweep_model_forms() -> None:
    result = run("sweep", IMAGE, LABELS, PREDS, "--model", "yolov8n.yaml")
    assert result.exit_code == 2
    assert result.stderr == ("Error: SOURCE: with --model, expected nothing, one folder or dataset YAML, or IMAGE "
                             "LABELS; got 3 paths\n")
    for flag, value in (("--batch", "4"), ("--save-preds", "keep")):
        result = run("sweep", flag, value)
        assert (result.exit_code, result.stderr) == (1, f"Error: {flag} goes with --model MODEL\n")


@pytest.mark.skipif(HAS_ULTRALYTICS, reason="ultralytics is installed here")
def test_model_without_the_extra() -> None:
    result = run("sweep", "--model", "yolov8n.yaml")
    assert (result.exit_code, result.stderr) == (
        1, 'Error: tal sweep --model needs ultralytics, which is not installed: pip install "tal[ultralytics]"\n')
    result = run("assign", IMAGE, LABELS, "--model", "yolov8n.yaml")
    assert (result.exit_code, result.stderr) == (
        1, 'Error: tal assign --model needs ultralytics, which is not installed: pip install "tal[ultralytics]"\n')
