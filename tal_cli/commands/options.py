"""Every CLI argument and option, declared once as a typed ``Annotated`` alias.

Commands import the aliases they take; the help text lives here only. Nothing here imports
torch or Pillow (``tal --help`` must stay fast).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer


class Variant(str, Enum):
    yolov8 = "yolov8"
    ultralytics = "ultralytics"


class Head(str, Enum):
    one2many = "one2many"
    one2one = "one2one"


class GtOrder(str, Enum):
    problems = "problems"
    index = "index"


# --- shared by several commands --------------------------------------------------------------

ConfigOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--config", "-c", help="Settings YAML (default: configs/default.yaml).", show_default=False, metavar="FILE"
    ),
]
ImgszOpt = Annotated[
    Optional[int], typer.Option(help="Network input size N (NxN).", min=32, show_default=False, metavar="N")
]
NamesOpt = Annotated[
    Optional[Path],
    typer.Option(help="Dataset YAML with class 'names' (list or mapping).", show_default=False, metavar="FILE"),
]
HeadOpt = Annotated[Optional[Head], typer.Option(
    help="Branch of an end-to-end head (YOLO26, YOLOv10): one2many, or one2one with its own preset "
         "(topk 7, topk2 1, variant ultralytics; flags still win). Default: one2many, or the file's only branch.",
    show_default=False)]
SplitOpt = Annotated[str, typer.Option("--split", help="Split of a dataset YAML (train, val, test).", metavar="NAME")]
MaxZeroOpt = Annotated[Optional[list[str]], typer.Option(
    "--max-zero-positive-rate", metavar="[BUCKET=]RATE",
    help="CI gate: fail (exit 3) when more than RATE (0..1) of the gts get no positive; BUCKET small, "
         "medium or large limits it to that COCO size. Repeatable.", show_default=False)]
MinPosOpt = Annotated[Optional[list[str]], typer.Option(
    "--min-positives-per-gt", metavar="N",
    help="CI gate: fail (exit 3) when the mean number of positives per gt is below N.", show_default=False)]

WideOpt = Annotated[
    bool,
    typer.Option("--wide", help="Show every table column, however wide (default: the columns that fit the terminal)."),
]

# --- tal assign ------------------------------------------------------------------------------

ImageArg = Annotated[
    Path, typer.Argument(help="Image file (anything Pillow reads).", show_default=False, metavar="IMAGE")
]
LabelsArg = Annotated[
    Path,
    typer.Argument(help="YOLO label file: 'class cx cy w h' rows, normalised.", show_default=False, metavar="LABELS"),
]
PredsArg = Annotated[
    Optional[Path],
    typer.Argument(
        help="Saved head output (.pt), loaded with weights_only=True; or give --model.",
        show_default=False,
        metavar="PREDS",
    ),
]
VariantOpt = Annotated[
    Optional[Variant],
    typer.Option(
        help="yolov8: YOLOv8-era releases; ultralytics: current releases (small-box floor).", show_default=False
    ),
]
TopkOpt = Annotated[
    Optional[int], typer.Option(help="K: anchors each gt selects.", min=1, show_default=False, metavar="K")
]
AlphaOpt = Annotated[
    Optional[float],
    typer.Option(help="Exponent of the class score in the metric.", min=0, show_default=False, metavar="A"),
]
BetaOpt = Annotated[
    Optional[float], typer.Option(help="Exponent of the IoU in the metric.", min=0, show_default=False, metavar="B")
]
GtOpt = Annotated[
    Optional[int],
    typer.Option("--gt", help="Show every candidate anchor of gt N.", min=0, show_default=False, metavar="N"),
]
OutOpt = Annotated[
    Optional[Path],
    typer.Option(help="Write overlay PNGs, one per stride, to this folder.", show_default=False, metavar="DIR"),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON document (schema tal.assign/1) instead of tables.")
]
SortOpt = Annotated[GtOrder, typer.Option(help="Row order: problems (no positives, lost anchors) first, or index.")]
LimitOpt = Annotated[
    Optional[int],
    typer.Option(
        help="Show at most N gt rows (0: all). Default: all up to 40 gts, else 25.",
        min=0,
        show_default=False,
        metavar="N",
    ),
]

# --- tal sweep: list options take several values (--topk 5 10 13, --topk 5 --topk 10, --topk 5,10) ---

SourceArg = Annotated[
    Optional[list[Path]],
    typer.Argument(
        help="Nothing (the config's samples), a folder with images/ labels/ preds/, a dataset YAML (with --preds), "
        "or IMAGE LABELS PREDS.",
        show_default=False,
        metavar="SOURCE",
    ),
]
TopkListOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--topk",
        metavar="K...",
        help="Values of K to sweep (integers >= 1). Default: the config's.",
        show_default=False,
    ),
]
AlphaListOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--alpha", metavar="A...", help="Values of alpha to sweep (>= 0). Default: the config's.", show_default=False
    ),
]
BetaListOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--beta", metavar="B...", help="Values of beta to sweep (>= 0). Default: the config's.", show_default=False
    ),
]
VariantListOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--variant",
        metavar="V...",
        help="Variants to sweep: yolov8, ultralytics. Default: the config's.",
        show_default=False,
    ),
]
PredsDirOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--preds",
        help="Folder of <image stem>.pt predictions (dataset YAML; replaces a folder's preds/).",
        show_default=False,
        metavar="DIR",
    ),
]
SweepJsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON document (schema tal.sweep/1) instead of tables.")
]
CsvOpt = Annotated[
    Optional[Path],
    typer.Option("--csv", help="Also write the rows to this CSV file.", show_default=False, metavar="FILE"),
]
PlotOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--plot",
        help="Also write a PNG chart of positives per gt and gts without positives.",
        show_default=False,
        metavar="FILE",
    ),
]
ByClassOpt = Annotated[bool, typer.Option("--by-class", help="Add a table per class (and by_class to the JSON rows).")]

# --- tal check: --imgsz and --variant take several values, as tal sweep's lists ---------------

CheckSourceArg = Annotated[
    Optional[list[Path]],
    typer.Argument(
        help="Nothing (the config's samples), a dataset YAML (every split, or --split), "
        "a dataset folder (images/, labels/), or IMAGE LABELS.",
        show_default=False,
    ),
]
ImgszListOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--imgsz",
        metavar="N...",
        help="Input sizes to check (NxN, multiples of the largest stride). Default: the config's.",
        show_default=False,
    ),
]
CheckVariantOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--variant",
        metavar="V...",
        help="Variants to check: yolov8, ultralytics (small-box floor). Default: the config's.",
        show_default=False,
    ),
]
CheckSplitOpt = Annotated[
    Optional[str],
    typer.Option(
        "--split",
        help="One split of a dataset YAML (train, val, test). Default: every split it has.",
        show_default=False,
    ),
]
CheckTopkOpt = Annotated[
    Optional[int],
    typer.Option(
        "--topk",
        help="K: gts with fewer candidates than K get fewer than K positives. Default: the config's.",
        min=1,
        show_default=False,
    ),
]
VerifyImagesOpt = Annotated[
    bool,
    typer.Option(
        "--verify-images",
        help="Run Pillow's verify() on every image, as ultralytics' loader does (slower; default: headers only).",
    ),
]
CheckJsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON document (schema tal.check/1, every file's verdict included) instead of tables."
    ),
]
CheckPlotOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--plot", help="Also write a PNG chart of the gts with no candidate, by size and by class.", show_default=False
    ),
]
CheckByClassOpt = Annotated[
    bool, typer.Option("--by-class", help="Add a table of the gts with no candidate per class.")
]
FilesLimitOpt = Annotated[int, typer.Option("--limit", help="List at most N files worth a look (0: all).", min=0)]
WorkersOpt = Annotated[
    Optional[int],
    typer.Option(
        "--workers", help="Processes that read the files. Default: one per CPU (at most 8).", min=1, show_default=False
    ),
]
MaxZeroCandidateOpt = Annotated[Optional[list[str]], typer.Option(
    "--max-zero-candidate-rate", metavar="[BUCKET=]RATE",
    help="CI gate: fail (exit 3) when, under any setting, more than RATE (0..1) of the gts have no candidate anchor; "
         "BUCKET small, medium or large limits it to that COCO size. Repeatable.", show_default=False)]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="CI gate: fail (exit 3) when ultralytics' loader would drop any file.")
]

# --- --html: one self-contained page to explore the assignment (tal assign, tal sweep) ---------

HtmlOpt = Annotated[Optional[Path], typer.Option(
    "--html", metavar="FILE",
    help="Also write one self-contained HTML page to explore the assignment (offline: hover anchors, click gts).",
    show_default=False)]
HtmlImagesOpt = Annotated[int, typer.Option(
    "--html-images", metavar="N", min=0,
    help="With --html: the N images with the most gts without positives get their one-image view (0: none).")]

CheckHtmlOpt = Annotated[Optional[Path], typer.Option(
    "--html", metavar="FILE",
    help="Also write one self-contained HTML page to explore the check (offline: every setting, gts coloured by "
         "status, candidate centres per stride, dropped files with their reason).", show_default=False)]
CheckHtmlImagesOpt = Annotated[int, typer.Option(
    "--html-images", metavar="N", min=0,
    help="With --html: the N files most worth a look (the order of the files worth a look) get a drill-down "
         "view under every setting (0: none).")]

# --- tal export ------------------------------------------------------------------------------

ModelArg = Annotated[
    str,
    typer.Argument(
        help="Ultralytics weights (.pt; ultralytics unpickles it, so only files you trust) or a model YAML "
        "(random weights from --seed: a path, or a name such as yolov8n.yaml, yolo26n.yaml).",
        show_default=False,
        metavar="MODEL",
    ),
]
ExportSourceArg = Annotated[Path, typer.Argument(
    help="An image, a folder of images (a dataset folder's images/), or a dataset YAML (see --split).",
    show_default=False, metavar="SOURCE")]
ExportOutOpt = Annotated[Optional[Path], typer.Option(
    "--out", "-o", help="Folder for the <stem>.pt files. Default for a dataset folder with images/: its preds/.",
    show_default=False, metavar="DIR")]
ExportHeadOpt = Annotated[Optional[Head], typer.Option(
    "--head", help="Save only this branch of an end-to-end head. Default: every branch the model has.",
    show_default=False)]
SeedOpt = Annotated[int, typer.Option(help="Seed of the random weights of a model YAML.", metavar="N")]
DeviceOpt = Annotated[str, typer.Option(help="Where the network runs: cpu, cuda, cuda:1, mps.", metavar="NAME")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace .pt files that already exist in OUT.")]

# --- --model: the predictions straight from the user's model ---------------------------------

ModelOpt = Annotated[Optional[str], typer.Option(
    "--model", metavar="MODEL",
    help="Run this ultralytics model instead of reading PREDS files: weights you trust (.pt; ultralytics unpickles "
         "them) or a model YAML (random weights from --seed). Needs the ultralytics extra.", show_default=False)]
BatchOpt = Annotated[Optional[int], typer.Option(
    "--batch", metavar="N", min=1, help="Images per forward pass of the model (default: 4 on a CPU, 32 on CUDA).",
    show_default=False)]
SavePredsOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--save-preds",
        metavar="DIR",
        help="With --model: also keep each image's PREDS file here, as tal export writes it.",
        show_default=False,
    ),
]

# --- tal train, tal train-report ---------------------------------------------------------------

TrainModelArg = Annotated[str, typer.Argument(
    help="Ultralytics weights (.pt; ultralytics unpickles it, so only files you trust) or a model YAML "
         "(yolov8n.yaml, yolo26n.yaml: random weights).", show_default=False, metavar="MODEL")]
TrainDataArg = Annotated[str, typer.Argument(help="Dataset YAML, as for yolo train data=...", show_default=False,
                                             metavar="DATA")]
TrainArgsArg = Annotated[Optional[list[str]], typer.Argument(
    metavar="KEY=VALUE", help="Any yolo train argument, passed through: epochs=3 imgsz=320 batch=16 device=0 ...",
    show_default=False)]
EveryOpt = Annotated[
    int, typer.Option(help="Re-run tal's own assigner on the hooked tensors every N batches (0: never).", min=0)
]
WorstOpt = Annotated[
    int, typer.Option(help="Record the N images with the most gts without positives, per epoch.", min=0)
]
RunDirArg = Annotated[Path, typer.Argument(
    help="A run folder (runs/detect/train), its tal/ folder, or the epochs.json in it.", show_default=False,
    metavar="RUN_DIR")]
BranchOpt = Annotated[Optional[Head], typer.Option(
    "--branch", help="Show one branch of an end-to-end head (one2many, one2one). Default: every branch recorded.",
    show_default=False)]
EpochLimitOpt = Annotated[int, typer.Option("--limit", help="Show the last N epochs (0: all).", min=0)]
EpochOpt = Annotated[Optional[int], typer.Option(
    "--epoch", help="The epoch whose worst images (and classes) are listed, and the --html page opens on. "
                    "Default: the last.", min=1,
    show_default=False)]
TrainPlotOpt = Annotated[Optional[Path], typer.Option(
    "--plot", help="Also write the chart (the run's tal/epochs.png) to this file: .png, .jpg or .webp.",
    show_default=False)]
TrainJsonOpt = Annotated[bool, typer.Option("--json", help="Print the record (schema tal.train/1) instead of tables.")]
TrainByClassOpt = Annotated[bool, typer.Option("--by-class", help="Add a table of gts without positives per class.")]
TrainHtmlOpt = Annotated[Optional[Path], typer.Option(
    "--html", metavar="FILE",
    help="Also write one self-contained HTML page of the record (offline: charts with every epoch's numbers on hover, "
         "every epoch's tables, the classes and worst images of any epoch).", show_default=False)]
