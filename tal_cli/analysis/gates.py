"""CI gates: thresholds on an assignment's outcome, checked after the full result is shown.

A gate is ``--max-zero-positive-rate RATE`` (overall, or for one COCO size bucket as
``small=RATE``) or ``--min-positives-per-gt N`` (mean positives per gt, overall). Pure: builds
results, prints nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..core.errors import ConfigError

#: Exit code of ``tal assign`` / ``tal sweep`` when a gate is violated.
EXIT_GATE = 3
BUCKETS = ("small", "medium", "large")
OPTIONS = {"zero_positive_rate": "--max-zero-positive-rate", "positives_per_gt": "--min-positives-per-gt"}


@dataclass(frozen=True)
class Gate:
    """One threshold. ``metric``: ``zero_positive_rate`` (upper bound, 0..1) or
    ``positives_per_gt`` (lower bound); ``bucket``: None for all gts, or a size bucket."""

    metric: str
    limit: float
    bucket: str | None = None

    @property
    def text(self) -> str:
        """The gate as it is written on the command line."""
        value = f"{self.bucket}={self.limit:g}" if self.bucket else f"{self.limit:g}"
        return f"{OPTIONS[self.metric]} {value}"

    def passes(self, value: float | None) -> bool:
        """None (evaluated over 0 gts) fails: a run that found no gts proves nothing."""
        if value is None:
            return False
        return value <= self.limit if self.metric == "zero_positive_rate" else value >= self.limit


@dataclass(frozen=True)
class GateResult:
    """A gate checked on one subject (an image, or a sweep setting); ``value`` None: 0 gts, which fails."""

    gate: Gate
    subject: str
    value: float | None

    @property
    def passed(self) -> bool:
        return self.gate.passes(self.value)

    def message(self) -> str:
        what = "zero-positive rate" if self.gate.metric == "zero_positive_rate" else "positives per gt"
        where = f" of {self.gate.bucket} gts" if self.gate.bucket else ""
        if self.value is None:
            gts = f"{self.gate.bucket} gts" if self.gate.bucket else "gts"
            return (f"{self.gate.text} cannot pass on {self.subject}: evaluated over 0 {gts} (were the labels "
                    "found?)")
        shown = (f"{100 * self.value:.1f}%" if self.gate.metric == "zero_positive_rate" else f"{self.value:.2f}")
        limit = (f"{100 * self.gate.limit:.1f}%" if self.gate.metric == "zero_positive_rate" else f"{self.gate.limit:g}")
        relation = ">" if self.gate.metric == "zero_positive_rate" else "<"
        return f"{self.gate.text} violated by {self.subject}: {what}{where} {shown} {relation} {limit}"


def parse_gates(max_zero_positive_rate: Iterable[str] = (), min_positives_per_gt: Iterable[str] = ()) -> list[Gate]:
    """Gates from option values such as ``"0.05"``, ``"small=0.2"`` and ``"3"``.

    Raises:
        ConfigError: a value that is not a number in range or names an unknown bucket.
    """
    gates = []
    for raw in max_zero_positive_rate:
        bucket, _, number = raw.rpartition("=")
        if bucket and bucket not in BUCKETS:
            raise ConfigError(f"--max-zero-positive-rate {raw}: unknown size bucket {bucket!r}; use {', '.join(BUCKETS)}")
        limit = _number(f"--max-zero-positive-rate {raw}", number)
        if not 0 <= limit <= 1:
            raise ConfigError(f"--max-zero-positive-rate {raw}: expected a rate in 0..1, got {limit:g}")
        gates.append(Gate("zero_positive_rate", limit, bucket or None))
    for raw in min_positives_per_gt:
        if "=" in raw:
            raise ConfigError(f"--min-positives-per-gt {raw}: expected a number (over all gts), got a bucket")
        limit = _number(f"--min-positives-per-gt {raw}", raw)
        if limit < 0:
            raise ConfigError(f"--min-positives-per-gt {raw}: expected a number >= 0, got {limit:g}")
        gates.append(Gate("positives_per_gt", limit))
    return gates


def _number(where: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{where}: expected a number, got {text!r}") from None
    if value != value:
        raise ConfigError(f"{where}: expected a number, got {text!r}")
    return value


@dataclass(frozen=True)
class Outcome:
    """What the gates look at: gts, positives and gts without positives, overall and per bucket."""

    gts: int
    positives: int
    without_positives: int
    bucket_gts: dict[str, int]
    bucket_without: dict[str, int]

    def value(self, gate: Gate) -> float | None:
        if gate.metric == "positives_per_gt":
            return self.positives / self.gts if self.gts else None
        gts = self.bucket_gts[gate.bucket] if gate.bucket else self.gts
        without = self.bucket_without[gate.bucket] if gate.bucket else self.without_positives
        return without / gts if gts else None


def size_bucket(width: float, height: float) -> str:
    """COCO size bucket of a box in network pixels: small < 32², medium < 96², else large."""
    area = width * height
    return "small" if area < 32.0**2 else ("medium" if area < 96.0**2 else "large")


def outcome_of_gts(rows: Sequence) -> Outcome:
    """From ``tal assign``'s :class:`~tal_cli.views.report.GtRow` list."""
    gts = {b: 0 for b in BUCKETS}
    without = {b: 0 for b in BUCKETS}
    for r in rows:
        b = size_bucket(r.width, r.height)
        gts[b] += 1
        without[b] += r.positives == 0
    return Outcome(len(rows), sum(r.positives for r in rows), sum(without.values()), gts, without)


def outcome_of_row(row) -> Outcome:
    """From a :class:`~tal_cli.analysis.sweep.SweepRow`."""
    return Outcome(row.gts, row.positives, row.gts_without_positives,
                   {k: v.gts for k, v in row.by_size.items()}, {k: v.without_positives for k, v in row.by_size.items()})


def check(gates: Sequence[Gate], outcome: Outcome, subject: str) -> list[GateResult]:
    return [GateResult(g, subject, outcome.value(g)) for g in gates]


def results_to_json(results: Sequence[GateResult]) -> list[dict[str, object]]:
    """The ``gates`` list of a JSON document."""
    return [{"gate": r.gate.text, "subject": r.subject, "value": r.value, "limit": r.gate.limit, "passed": r.passed}
            for r in results]
