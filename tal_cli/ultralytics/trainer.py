"""``TalDetectionTrainer``: ultralytics' ``DetectionTrainer`` with the training monitor attached in every process.

Importing this module imports ultralytics (import it only where ultralytics is installed).
Plain callbacks reach DDP workers only where ultralytics pickles them into the workers
(8.4); older releases (8.0.x) start each worker from the trainer *class* and the training
arguments, so the monitor must come with the class::

    from ultralytics import YOLO
    from tal_cli.ultralytics.trainer import TalDetectionTrainer

    YOLO("yolov8n.yaml").train(data="data.yaml", epochs=3, device="0,1", trainer=TalDetectionTrainer)

The monitor's settings come from the environment, which the workers inherit:
``TAL_MONITOR_EVERY`` (re-run ``tal``'s assigner every N batches, 0: never; default 1) and
``TAL_MONITOR_WORST`` (worst images kept per epoch; default 10). A monitor already among
the callbacks (``add_tal_callbacks``, or pickled into an 8.4 worker) is kept as it is.
"""

from __future__ import annotations

from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils import DEFAULT_CFG

from .monitor import add_tal_callbacks, monitor_options_from_env


class TalDetectionTrainer(DetectionTrainer):
    """``DetectionTrainer`` whose constructor attaches the monitor (``self.tal_monitor``)."""

    def __init__(self, cfg=DEFAULT_CFG, overrides=None, _callbacks=None):
        super().__init__(cfg, overrides, _callbacks)
        self.tal_monitor = add_tal_callbacks(self, **monitor_options_from_env())
