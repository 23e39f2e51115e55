"""No traceback, no half-written file, no confusing message: the cases found by trying `tal` as a user.

Each test is one case of the issue "robustness under faults, scale and hostile input".
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from ..clirun import run
from ..conftest import ROOT, SAMPLES, sample

COFFEE = sample("coffee")
ASTRONAUT = sample("astronaut")


def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares ``width x height`` (no pixel data: only the header is read)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def jpeg_with_size(path: Path, width: int, height: int) -> Path:
    """A small real JPEG whose frame header is rewritten to declare ``width x height``."""
    Image.new("RGB", (16, 16), (40, 80, 120)).save(path, quality=90)
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


# --- huge images -----------------------------------------------------------------------------


def test_image_above_the_pixel_limit_is_one_line(tmp_path: Path) -> None:
    huge = png_header(tmp_path / "huge.png", 20000, 20000)
    result = run("assign", huge, COFFEE[1], COFFEE[2])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {huge}: image of 20000 x 20000 = 400,000,000 px is above Pillow's limit of "
                             "178,956,970 px; ultralytics' loader drops such images from training, and tal does not "
                             "read them\n")


def test_a_huge_image_in_a_sweep_is_dropped_not_fatal(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for sub in ("images", "labels", "preds"):
        (root / sub).mkdir(parents=True)
    for stem in ("a", "huge"):
        shutil.copy(COFFEE[1], root / "labels" / f"{stem}.txt")
        shutil.copy(COFFEE[2], root / "preds" / f"{stem}.pt")
    shutil.copy(COFFEE[0], root / "images" / "a.png")
    png_header(root / "images" / "huge.png", 20000, 20000)
    result = run("sweep", root)
    assert result.exit_code == 0, result.stderr
    assert "1 image assigned, 1 dropped by ultralytics' loader" in result.stdout
    assert "is above Pillow's limit of 178,956,970 px" in result.stderr


def test_a_108_megapixel_jpeg_prints_no_python_warning(tmp_path: Path) -> None:
    big = jpeg_with_size(tmp_path / "big.jpg", 12000, 9000)  # 108 Mpx: above Pillow's warning, below its limit
    result = run("assign", big, COFFEE[1], COFFEE[2], "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""


# --- output files ----------------------------------------------------------------------------


def test_two_runs_into_one_folder_leave_whole_pictures(tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "tal_cli", "assign", *ASTRONAUT, "--out", str(out)]
    procs = [subprocess.Popen(cmd + extra, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
             for extra in (["--topk", "5"], ["--topk", "13", "--variant", "ultralytics"])]
    for p in procs:
        assert p.wait(timeout=600) == 0, p.stderr.read()
        p.stderr.close()
    names = sorted(p.name for p in out.iterdir())
    assert names == ["astronaut_stride16.png", "astronaut_stride32.png", "astronaut_stride8.png"]  # no temporaries
    for path in out.iterdir():
        with Image.open(path) as im:
            im.load()  # a whole PNG, not run 1's followed by run 2's bytes


def test_out_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("keep me")
    result = run("assign", *COFFEE, "--out", target)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {target}: is a file, expected a folder to write into\n"
    assert target.read_text() == "keep me"


def test_plot_suffix_is_honoured_or_refused_before_the_work(tmp_path: Path) -> None:
    jpg = tmp_path / "p.jpg"
    result = run("sweep", "--plot", jpg)
    assert result.exit_code == 0, result.stderr
    with Image.open(jpg) as im:
        assert im.format == "JPEG"
    result = run("sweep", "--plot", tmp_path / "p.gif", "--csv", tmp_path / "s.csv")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (f"Error: {tmp_path / 'p.gif'}: cannot write a picture with suffix '.gif'; use .png, .jpg, "
                             ".jpeg, .webp\n")
    assert not (tmp_path / "s.csv").exists()


def test_unwritable_csv_is_found_before_the_sweep(tmp_path: Path) -> None:
    result = run("sweep", "--csv", tmp_path / "missing" / "s.csv")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (f"Error: {tmp_path / 'missing' / 's.csv'}: cannot write (folder {tmp_path / 'missing'} "
                             "not found)\n")


# --- pipes -----------------------------------------------------------------------------------


def test_closed_stdout_exits_quietly_with_141(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "tal_cli", "assign", *sample("hubble_left"), "--limit", "0", "--wide"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.read(100)  # `| head -c 100`
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=600) == 141
    assert err == ""


def test_broken_pipe_inside_a_command_is_141() -> None:
    from tal_cli.commands.common import EXIT_PIPE, reports_errors

    @reports_errors
    def writes() -> None:
        raise BrokenPipeError

    import typer

    with pytest.raises(typer.Exit) as info:
        writes()
    assert info.value.exit_code == EXIT_PIPE == 141


@pytest.mark.parametrize("columns, width", [("80", 80), ("132", 132), ("", 100), ("wide", 100)])
def test_piped_tables_follow_columns(monkeypatch, columns: str, width: int) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    out = run("assign", *sample("hubble_left"), "--names", SAMPLES / "hubble.yaml", "--limit", "3").stdout
    table = out.split("\n")[5:-3]
    assert max(map(len, table)) <= width
    assert f"not shown at {width} columns:" in out


# --- messages --------------------------------------------------------------------------------


def test_one_setting_is_singular() -> None:
    result = run("sweep")
    assert result.exit_code == 0
    assert "\n1 setting: topk 10 x alpha 0.5 x beta 6 x variant yolov8." in result.stdout


def test_help_has_no_placeholders_and_uncut_summaries() -> None:
    main = run("--help").stdout
    for line in ("Explain one image: every gt's candidates, top-k picks, conflicts", "Compare settings (topk, alpha, "):
        assert line in main.replace("\n          ", " ")
    assert "..." not in main.split("Commands:")[1]
    for command in ("assign", "sweep", "export"):
        text = run(command, "--help").stdout
        assert "{" not in text.split("\n")[0] and "<path>" not in text and "<list[Path]>" not in text, command
    assert run("assign", "--help").stdout.split("\n")[0].endswith(" assign [OPTIONS] IMAGE LABELS [PREDS]")


def test_samples_left_untouched() -> None:
    assert sorted(p.name for p in (SAMPLES / "images").iterdir()) == ["astronaut.png", "coffee.png", "hubble_left.jpg"]
    assert not any(p.name.endswith(".tmp") for p in SAMPLES.rglob("*"))
    assert os.access(SAMPLES / "preds" / "coffee.pt", os.R_OK)
