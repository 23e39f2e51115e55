"""``--html``: one self-contained, offline page to explore an assignment, a check or a training run.

- :mod:`.assets`      the page shell; the CSS and JavaScript in ``static/`` inlined at build time
- :mod:`.encode`      printed numbers as integers, packed columns, deflate + base64
- :mod:`.assign_page` the one-image view (``tal assign --html``; reused by the sweep page)
- :mod:`.sweep_page`  ``tal sweep --html``: settings, charts, what changed, the worst images
- :mod:`.check_page`  ``tal check --html``: the check's tables and rates, the files worth a look
- :mod:`.train_page`  ``tal train-report --html``: a training run's record over its epochs
"""
