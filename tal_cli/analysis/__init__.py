"""Aggregations over assignments: totals per sweep setting, CI gates. No files, no printing.

- :mod:`.sweep`  one :class:`~.sweep.SweepRow` of totals per setting
- :mod:`.gates`  ``--max-zero-positive-rate`` / ``--min-positives-per-gt`` thresholds
"""
