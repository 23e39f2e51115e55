"""tal: see how task-aligned assignment (TAL) turns ground-truth boxes into positive anchors.

The package root imports nothing heavy so that ``tal --help`` and ``tal --version`` answer
without loading torch. The library lives in the submodules:

- ``tal_cli.assigner``   the assigner (``assign`` -> ``Assignment``, drop-in ``TaskAlignedAssigner``)
- ``tal_cli.assignment`` the ``Assignment`` result type and its conventions
- ``tal_cli.boxes``      box formats, IoU / CIoU, the small-box floor, DFL decoding
- ``tal_cli.anchors``    the anchor grid
"""

__version__ = "0.1.0"
