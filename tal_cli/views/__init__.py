"""Presentation: rows, JSON documents, terminal tables, pictures. Builds objects, never prints or writes.

- :mod:`.report`       ``tal assign``'s rows (per gt, positive, candidate) and its JSON
- :mod:`.tables`       rich tables of reports and sweeps, fitted to the terminal
- :mod:`.overlay`      the per-stride overlay PNGs (``OverlayRenderer``)
- :mod:`.plot`         the ``tal sweep --plot`` chart
- :mod:`.sweep_json`   ``tal sweep``'s JSON document and CSV rows
- :mod:`.json_text`    JSON documents as text, one record per line
- :mod:`.check`        ``tal check``'s lines, tables, JSON and CSV rows; :mod:`.check_plot` its chart
- :mod:`.train_record` the training record's files (``tal.train/1`` JSON, CSV, chart) and the JSON read back
- :mod:`.train_table`  ``tal train-report``'s tables; :mod:`.train_chart` its chart
- :mod:`.html`         the ``--html`` pages (one offline file; JavaScript and CSS in ``html/static/``)
"""
