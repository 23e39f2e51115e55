"""The ultralytics integration: the only package of ``tal`` that imports ultralytics (lazily).

- :mod:`.model`   loading a detection model once; images read and letterboxed as its loader reads them
- :mod:`.forward` the one forward path: read ahead, batch, cut each image's head output out
- :mod:`.export`  saving PREDS files (``tal export``)
- :mod:`.stream`  assigning straight from the model, no PREDS files (``--model``)
- :mod:`.monitor` the training monitor: ``add_tal_callbacks``, ``TalMonitor``
- :mod:`.trainer` ``TalDetectionTrainer``, the monitor attached in every process
- :mod:`.train`   ``tal train``: a training run with the monitor, as library calls

Needs the optional extra: ``pip install "tal[ultralytics]"``.
"""
