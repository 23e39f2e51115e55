"""What each command does between parsing its options and printing, as library calls.

- :mod:`.assign`       ``assign_image`` -> ``AssignResult``; ``write_overlays``
- :mod:`.sweep`        ``plan_sweep`` -> ``run_sweep`` -> ``SweepResult``; the CSV and the chart
- :mod:`.check`        ``plan_check`` -> ``run_check`` -> ``CheckResult``; the CSV and the chart
- :mod:`.html`         ``write_assign_html``, ``write_sweep_html``, ``write_check_html``: the ``--html`` pages
- :mod:`.train_report` a training run's record: ``read_train_record``, ``write_train_record``, its chart and page
"""
