"""CI gates: thresholds on an assignment's outcome, checked after the full result is shown.

A gate is ``--max-zero-positive-rate RATE`` (overall, or for one COCO size bucket as
``small=RATE``) or ``--min-positives-per-gt N`` (mean positives per gt, overall); ``tal check``
adds ``--max-zero-candidate-rate [BUCKET=]RATE`` (gts with no candidate anchor) and
``--strict`` (no file that ultralytics' loader drops). Pure: builds results, prints nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..core.errors import ConfigError
from .counts import SIZE_BUCKETS, Count, size_bucket

#: Exit code of ``tal assign`` / ``tal sweep`` / ``tal check`` when a gate is violated.
EXIT_GATE = 3
OPTIONS = {"zero_positive_rate": "--max-zero-positive-rate", "positives_per_gt": "--min-positives-per-gt",
           "zero_candidate_rate": "--max-zero-candidate-rate", "dropped_files": "--strict"}
#: Rates of gts, per bucket or overall, and the words for them.
RATES = {"zero_positive_rate": "zero-positive rate", "zero_candidate_rate": "zero-candidate rate"}
#: The metric ``positives_per_gt`` is a lower bound; every other one an upper bound.
LOWER_BOUNDS = ("positives_per_gt",)


@dataclass(frozen=True)
class Gate:
    """One threshold. ``metric``: ``zero_positive_rate`` or ``zero_candidate_rate`` (upper bounds,
    0..1), ``positives_per_gt`` (lower bound) or ``dropped_files`` (upper bound 0, ``--strict``);
    ``bucket``: None for all gts, or a size bucket."""

    metric: str
    limit: float
    bucket: str | None = None

    @property
    def text(self) -> str:
        """The gate as it is written on the command line."""
        if self.metric == "dropped_files":
            return OPTIONS[self.metric]
        value = f"{self.bucket}={self.limit:g}" if self.bucket else f"{self.limit:g}"
        return f"{OPTIONS[self.metric]} {value}"

    def passes(self, value: float | None) -> bool:
        """None (evaluated over 0 gts) fails: a run that found no gts proves nothing."""
        if value is None:
            return False
        return value >= self.limit if self.metric in LOWER_BOUNDS else value <= self.limit


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
        metric = self.gate.metric
        if metric == "dropped_files":
            n = int(self.value or 0)
            files = f"{n} file{'s' if n != 1 else ''}"
            return f"{self.gate.text} violated by {self.subject}: ultralytics' loader drops {files}"
        rate = metric in RATES
        what = RATES.get(metric, "positives per gt")
        where = f" of {self.gate.bucket} gts" if self.gate.bucket else ""
        if self.value is None:
            gts = f"{self.gate.bucket} gts" if self.gate.bucket else "gts"
            return (f"{self.gate.text} cannot pass on {self.subject}: evaluated over 0 {gts} (were the labels "
                    "found?)")
        shown = f"{100 * self.value:.1f}%" if rate else f"{self.value:.2f}"
        limit = f"{100 * self.gate.limit:.1f}%" if rate else f"{self.gate.limit:g}"
        relation = ">" if rate else "<"
        return f"{self.gate.text} violated by {self.subject}: {what}{where} {shown} {relation} {limit}"


def parse_gates(max_zero_positive_rate: Iterable[str] = (), min_positives_per_gt: Iterable[str] = (),
                max_zero_candidate_rate: Iterable[str] = (), strict: bool = False) -> list[Gate]:
    """Gates from option values such as ``"0.05"``, ``"small=0.2"`` and ``"3"``, and ``--strict``.

    Raises:
        ConfigError: a value that is not a number in range or names an unknown bucket.
    """
    gates = [_rate_gate("zero_positive_rate", raw) for raw in max_zero_positive_rate]
    gates += [_rate_gate("zero_candidate_rate", raw) for raw in max_zero_candidate_rate]
    for raw in min_positives_per_gt:
        if "=" in raw:
            raise ConfigError(f"--min-positives-per-gt {raw}: expected a number (over all gts), got a bucket")
        limit = _number(f"--min-positives-per-gt {raw}", raw)
        if limit < 0:
            raise ConfigError(f"--min-positives-per-gt {raw}: expected a number >= 0, got {limit:g}")
        gates.append(Gate("positives_per_gt", limit))
    if strict:
        gates.append(Gate("dropped_files", 0))
    return gates


def _rate_gate(metric: str, raw: str) -> Gate:
    """``RATE`` or ``BUCKET=RATE`` of a rate option."""
    option = OPTIONS[metric]
    bucket, _, number = raw.rpartition("=")
    if bucket and bucket not in SIZE_BUCKETS:
        raise ConfigError(f"{option} {raw}: unknown size bucket {bucket!r}; use {', '.join(SIZE_BUCKETS)}")
    limit = _number(f"{option} {raw}", number)
    if not 0 <= limit <= 1:
        raise ConfigError(f"{option} {raw}: expected a rate in 0..1, got {limit:g}")
    return Gate(metric, limit, bucket or None)


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
    """What the gates look at.

    Attributes:
        positives: final positive anchors of the gts.
        without_positives: gts and those without a positive: over all gts (key None, as a
            gate without a bucket) and per size bucket.
        without_candidates: the same for gts without a candidate anchor (``tal check``).
        dropped: files ultralytics' loader drops (``tal check``).
    """

    positives: int
    without_positives: Mapping[str | None, Count]
    without_candidates: Mapping[str | None, Count] = field(default_factory=dict)
    dropped: int = 0

    def value(self, gate: Gate) -> float | None:
        if gate.metric == "positives_per_gt":
            gts = self.without_positives.get(None, Count(0, 0)).gts
            return self.positives / gts if gts else None
        if gate.metric == "dropped_files":
            return float(self.dropped)
        counts = self.without_candidates if gate.metric == "zero_candidate_rate" else self.without_positives
        return counts.get(gate.bucket, Count(0, 0)).rate


def outcome_of_gts(rows: Sequence) -> Outcome:
    """From ``tal assign``'s :class:`~tal_cli.views.report.GtRow` list."""
    gts, without = [0] * len(SIZE_BUCKETS), [0] * len(SIZE_BUCKETS)
    for r in rows:
        b = size_bucket(r.width * r.height)
        gts[b] += 1
        without[b] += r.positives == 0
    counts = {name: Count(gts[i], without[i]) for i, name in enumerate(SIZE_BUCKETS)}
    return Outcome(sum(r.positives for r in rows), {None: Count(len(rows), sum(without)), **counts})


def outcome_of_row(row) -> Outcome:
    """From a :class:`~tal_cli.analysis.sweep.SweepRow`."""
    return Outcome(row.positives, {None: Count(row.gts, row.gts_without_positives), **row.by_size})


def check(gates: Sequence[Gate], outcome: Outcome, subject: str) -> list[GateResult]:
    return [GateResult(g, subject, outcome.value(g)) for g in gates]


def results_to_json(results: Sequence[GateResult]) -> list[dict[str, object]]:
    """The ``gates`` list of a JSON document."""
    return [{"gate": r.gate.text, "subject": r.subject, "value": r.value, "limit": r.gate.limit, "passed": r.passed}
            for r in results]
