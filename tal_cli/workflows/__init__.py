"""What each command does between parsing its options and printing, as library calls.

- :mod:`.assign` ``assign_image`` -> ``AssignResult``; ``write_overlays``
- :mod:`.sweep`  ``plan_sweep`` -> ``run_sweep`` -> ``SweepResult``; the CSV and the chart
- :mod:`.html`   ``write_assign_html``, ``write_sweep_html``: the ``--html`` pages
"""
