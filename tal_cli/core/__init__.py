"""The pure core: task-aligned assignment and its losses. Imports only torch and itself.

- :mod:`.assigner`   ``assign`` -> :class:`~.assignment.Assignment`, and the drop-in ``TaskAlignedAssigner``
- :mod:`.assignment` the ``Assignment`` result and its conventions (tie rule, background)
- :mod:`.release`    ultralytics release numbers (`Release`, aliases) the per-release rules compare with
- :mod:`.settings`   validated ``AssignerSettings`` and the named presets
- :mod:`.anchors`    the anchor grid
- :mod:`.boxes`      box formats, IoU / CIoU, the small-box floor, DFL decoding
- :mod:`.losses`     the box, classification and DFL / L1 losses of an assignment
- :mod:`.errors`     the ``TalError`` hierarchy every layer raises

No printing, no files, no state kept between calls.
"""
