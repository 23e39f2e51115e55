"""tal: see how task-aligned assignment (TAL) turns ground-truth boxes into positive anchors.

The public API, importable from the package root (loaded on first use, so that ``tal
--help`` and ``tal --version`` answer without importing torch)::

    from tal_cli import TaskAlignedAssigner, assign, Assignment, AssignerSettings
    from tal_cli import assign_image, plan_sweep, run_sweep

Subpackages, by role:

- ``tal_cli.core``        the pure assigner, its ``Assignment`` result, settings, anchors, boxes, losses
- ``tal_cli.readers``     images and the letterbox, labels and the loader's verdicts, datasets, PREDS,
  configs, sweep and check sources, scenes, the training record's file
- ``tal_cli.writers``     every output file, written atomically
- ``tal_cli.analysis``    size buckets and counts, per-gt accounts and reasons, sweep and check totals,
  CI gates, box geometry, the training monitor's counters
- ``tal_cli.views``       report rows and JSON, terminal tables, overlay PNGs, charts, the ``--html`` pages
- ``tal_cli.ultralytics`` the ultralytics integration (``tal export``, ``--model``, ``tal train`` and the
  training monitor); the only importer of ultralytics
- ``tal_cli.workflows``   what each command does, as library calls
- ``tal_cli.commands``    one module per CLI command; ``tal_cli.cli`` assembles them

Each imports only those listed above it (``tests/test_layout.py``).
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.2.0"

#: Public name -> the module that defines it.
_PUBLIC = {
    "TaskAlignedAssigner": "tal_cli.core.assigner",
    "assign": "tal_cli.core.assigner",
    "Assignment": "tal_cli.core.assignment",
    "AssignerSettings": "tal_cli.core.settings",
    "PRESETS": "tal_cli.core.settings",
    "HEAD_PRESETS": "tal_cli.core.settings",
    "compute_losses": "tal_cli.core.losses",
    "Losses": "tal_cli.core.losses",
    "Gains": "tal_cli.core.losses",
    "grid_levels": "tal_cli.core.anchors",
    "make_anchors": "tal_cli.core.anchors",
    "TalError": "tal_cli.core.errors",
    "InputFileError": "tal_cli.core.errors",
    "ConfigError": "tal_cli.core.errors",
    "ShapeError": "tal_cli.core.errors",
    "load_scene": "tal_cli.readers.scene",
    "assign_scenes": "tal_cli.readers.scene",
    "load_config": "tal_cli.readers.config",
    "read_labels": "tal_cli.readers.labels",
    "read_predictions": "tal_cli.readers.preds",
    "assign_image": "tal_cli.workflows.assign",
    "AssignResult": "tal_cli.workflows.assign",
    "plan_sweep": "tal_cli.workflows.sweep",
    "run_sweep": "tal_cli.workflows.sweep",
    "SweepResult": "tal_cli.workflows.sweep",
    "OverlayRenderer": "tal_cli.views.overlay",
    "OverlayStyle": "tal_cli.views.overlay",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'tal_cli' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
