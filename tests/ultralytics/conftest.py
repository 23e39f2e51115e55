"""Shared set-up of the ultralytics tests: never go online (no update check, no downloads)."""

import os

os.environ.setdefault("YOLO_OFFLINE", "1")
