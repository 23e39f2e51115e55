"""Presentation: rows, JSON documents, terminal tables, pictures. Builds objects, never prints.

- :mod:`.report`     ``tal assign``'s rows (per gt, positive, candidate) and its JSON
- :mod:`.tables`     rich tables of reports and sweeps
- :mod:`.overlay`    the per-stride overlay PNGs (``OverlayRenderer``)
- :mod:`.plot`       the ``tal sweep --plot`` chart
- :mod:`.sweep_json` ``tal sweep``'s JSON document and CSV rows
- :mod:`.html`       the ``--html`` pages (one offline file; JavaScript and CSS in ``html/static/``)
"""
