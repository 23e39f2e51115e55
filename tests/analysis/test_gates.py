"""CI gates on `tal assign` and `tal sweep`: pass, violate, exit code, messages."""

from __future__ import annotations

import json

import pytest

from tal_cli.analysis.counts import Count
from tal_cli.analysis.gates import EXIT_GATE, Gate, Outcome, outcome_of_gts, parse_gates
from tal_cli.core.errors import ConfigError

from ..clirun import run
from ..conftest import sample

HUBBLE = sample("hubble_left")
ASTRONAUT = sample("astronaut")


def test_parse_gates() -> None:
    gates = parse_gates(["0.05", "small=0.2"], ["3"])
    assert gates == [Gate("zero_positive_rate", 0.05), Gate("zero_positive_rate", 0.2, "small"),
                     Gate("positives_per_gt", 3.0)]
    assert [g.text for g in gates] == ["--max-zero-positive-rate 0.05", "--max-zero-positive-rate small=0.2",
                                       "--min-positives-per-gt 3"]


@pytest.mark.parametrize("zero,minimum,message", [
    (["1.5"], [], "--max-zero-positive-rate 1.5: expected a rate in 0..1, got 1.5"),
    (["tiny=0.1"], [], "--max-zero-positive-rate tiny=0.1: unknown size bucket 'tiny'; use small, medium, large"),
    (["lots"], [], "--max-zero-positive-rate lots: expected a number, got 'lots'"),
    ([], ["small=2"], "--min-positives-per-gt small=2: expected a number (over all gts), got a bucket"),
    ([], ["-1"], "--min-positives-per-gt -1: expected a number >= 0, got -1"),
])
def test_parse_errors(zero: list[str], minimum: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_gates(zero, minimum)
    assert str(err.value) == message


def test_outcome_values_and_buckets() -> None:
    # 10 gts, 4 small of which 3 have no positive, 25 positives
    o = Outcome(25, {None: Count(10, 3), "small": Count(4, 3), "medium": Count(6, 0), "large": Count(0, 0)})
    assert o.value(Gate("zero_positive_rate", 0.1)) == 0.3
    assert o.value(Gate("zero_positive_rate", 0.1, "small")) == 0.75
    assert o.value(Gate("zero_positive_rate", 0.1, "large")) is None  # no gts: nothing to judge
    assert o.value(Gate("positives_per_gt", 3)) == 2.5
    assert not Gate("zero_positive_rate", 0.25).passes(0.3) and Gate("zero_positive_rate", 0.3).passes(0.3)
    assert Gate("positives_per_gt", 2.5).passes(2.5) and not Gate("positives_per_gt", 3).passes(2.5)
    assert Outcome(0, {}).value(Gate("positives_per_gt", 3)) is None  # no gts at all


def test_outcome_of_gts_buckets_by_area() -> None:
    """``tal assign``'s rows are bucketed by width x height, 32² exactly being medium."""
    class Row:
        def __init__(self, w: float, h: float, positives: int) -> None:
            self.width, self.height, self.positives = w, h, positives

    rows = [Row(31, 33, 0), Row(32, 32, 2), Row(95, 97, 0), Row(96, 96, 1), Row(4, 4, 3)]
    o = outcome_of_gts(rows)
    assert o.positives == 6
    assert o.without_positives == {None: Count(5, 2), "small": Count(2, 1), "medium": Count(2, 1),
                                   "large": Count(1, 0)}


def test_assign_gate_passes() -> None:
    result = run("assign", *ASTRONAUT, "--max-zero-positive-rate", "0", "--min-positives-per-gt", "10")
    assert result.exit_code == 0 and result.stderr == ""


def test_assign_gate_violated_prints_everything_then_names_the_gate() -> None:
    # hubble_left under ultralytics: 79 of 332 gts (23.8 %) without positives, 729 positives (2.20 per gt)
    result = run("assign", *HUBBLE, "--variant", "ultralytics", "--max-zero-positive-rate", "0.05",
                 "--max-zero-positive-rate", "small=0.3", "--min-positives-per-gt", "3")
    assert result.exit_code == EXIT_GATE == 3
    assert "332 gts, 729 positives" in result.stdout  # the full result is still printed
    assert result.stderr == (
        f"Gate failed: --max-zero-positive-rate 0.05 violated by {HUBBLE[0]}: zero-positive rate 23.8% > 5.0%\n"
        f"Gate failed: --min-positives-per-gt 3 violated by {HUBBLE[0]}: positives per gt 2.20 < 3\n")


def test_assign_gate_in_json() -> None:
    result = run("assign", *HUBBLE, "--variant", "ultralytics", "--max-zero-positive-rate", "small=0.2", "--json")
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["gates"] == [{"gate": "--max-zero-positive-rate small=0.2", "subject": HUBBLE[0],
                             "value": pytest.approx(79 / 332), "limit": 0.2, "passed": False}]


def test_sweep_gate_names_the_setting() -> None:
    result = run("sweep", "--topk", "5", "10", "--min-positives-per-gt", "6")
    assert result.exit_code == 3
    assert result.stderr == ("Gate failed: --min-positives-per-gt 6 violated by setting topk 5 alpha 0.5 beta 6 "
                             "yolov8: positives per gt 5.00 < 6\n")
    assert "topk" in result.stdout  # the table came first
    ok = run("sweep", "--topk", "5", "10", "--min-positives-per-gt", "5", "--json")
    assert ok.exit_code == 0
    assert [g["passed"] for g in json.loads(ok.stdout)["gates"]] == [True, True]


def test_bad_gate_value_is_a_usage_error() -> None:
    result = run("assign", *ASTRONAUT, "--max-zero-positive-rate", "huge=0.1")
    assert result.exit_code == 2
    assert (
        result.stderr
        == "Error: --max-zero-positive-rate huge=0.1: unknown size bucket 'huge'; use small, medium, large\n"
    )
    assert result.stdout == ""


def test_readme_ci_job_passes_on_samples() -> None:
    from ..conftest import ROOT

    result = run("sweep", ROOT / "samples", "--variant", "ultralytics", "--max-zero-positive-rate", "0.3",
                 "--min-positives-per-gt", "2")
    assert result.exit_code == 0, result.stderr
    assert "tal sweep samples/ --variant ultralytics --max-zero-positive-rate 0.3 --min-positives-per-gt 2" in (
        ROOT / "docs" / "ci-gates.md").read_text(encoding="utf-8")


# --- tal check: --max-zero-candidate-rate and --strict ------------------------------------------


def test_parse_check_gates() -> None:
    gates = parse_gates(max_zero_candidate_rate=["0.1", "small=0.25"], strict=True)
    assert gates == [Gate("zero_candidate_rate", 0.1), Gate("zero_candidate_rate", 0.25, "small"),
                     Gate("dropped_files", 0)]
    assert [g.text for g in gates] == ["--max-zero-candidate-rate 0.1", "--max-zero-candidate-rate small=0.25",
                                       "--strict"]
    with pytest.raises(ConfigError) as err:
        parse_gates(max_zero_candidate_rate=["huge=0.1"])
    assert str(err.value) == "--max-zero-candidate-rate huge=0.1: unknown size bucket 'huge'; use small, medium, large"


def test_zero_candidate_and_strict_values_and_messages() -> None:
    from tal_cli.analysis.gates import GateResult

    # 20 gts, 8 small of which 2 have no candidate; 3 files dropped
    o = Outcome(0, {}, without_candidates={None: Count(20, 2), "small": Count(8, 2), "medium": Count(12, 0),
                                          "large": Count(0, 0)}, dropped=3)
    rate, small, large = (Gate("zero_candidate_rate", 0.05), Gate("zero_candidate_rate", 0.2, "small"),
                          Gate("zero_candidate_rate", 0.2, "large"))
    assert (o.value(rate), o.value(small), o.value(large)) == (0.1, 0.25, None)
    r = GateResult(small, "setting 640 yolov8", o.value(small))
    assert not r.passed
    assert r.message() == ("--max-zero-candidate-rate small=0.2 violated by setting 640 yolov8: zero-candidate rate "
                           "of small gts 25.0% > 20.0%")
    assert not GateResult(large, "setting 640 yolov8", None).passed  # 0 large gts: fails, as every gate over 0 gts
    strict = Gate("dropped_files", 0)
    assert o.value(strict) == 3.0
    assert (
        GateResult(strict, "dataset d.yaml", 3.0).message()
        == "--strict violated by dataset d.yaml: ultralytics' loader drops 3 files"
    )
    assert GateResult(strict, "dataset d.yaml", 0.0).passed
