"""The robustness probe's items that only the command line shows: lines, exit codes, signals.

Item numbers as in `tests/pipeline/test_nightly_robustness.py`; item 12 (a double Ctrl-C) is
in `tests/cli/test_workers.py` with the other signals.
"""

import csv
import io
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from maskscan.cli.main import cli
from maskscan.pipeline.media import MediaFile
from tests.cli.test_process_cli import statuses
from tests.cli.test_workers import REPO, maskscan
from tests.factories import scripted_frames, write_video
from tests.pipeline.test_runner import make_processor


def test_06_07_08_10_odd_inputs_get_one_line_each_and_the_rest_is_processed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    footage = tmp_path / "footage"
    (footage / "locked").mkdir(parents=True)
    write_video(footage / "locked" / "hidden.mp4", scripted_frames(6), fps=10)
    good = write_video(footage / "good.mp4", scripted_frames(8), fps=10)
    latin1 = Path(os.fsdecode(os.fsencode(footage) + b"/caf\xe9.mp4"))
    write_video(footage / "x.mp4", scripted_frames(9), fps=10).rename(latin1)
    newline = footage / "two\nlines.mp4"
    newline.write_text("not a video")
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    unreadable = write_video(tmp_path / "secret.mp4", scripted_frames(7), fps=10)

    # root reads everything, so deny what a nightly job's user could not read, at the system calls
    real_open, real_scandir, real_access = os.open, os.scandir, os.access

    def guarded_access(path, mode, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if Path(os.fsdecode(path)) == unreadable and mode & os.R_OK:
            return False  # what option parsers ask before opening (click refused the whole run: exit 2)
        return real_access(path, mode, *args, **kwargs)

    def guarded_open(path, flags, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if Path(os.fsdecode(path)) == unreadable:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    def guarded_scandir(path="."):  # noqa: ANN001, ANN202
        if Path(os.fsdecode(path)) == footage / "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(os, "scandir", guarded_scandir)
    monkeypatch.setattr(os, "access", guarded_access)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    result = CliRunner().invoke(cli, ["process", str(fifo), str(unreadable), str(footage), "--db", db,
                                      "--no-clips", "--quiet", "--sample-fps", "0"], catch_exceptions=False)
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.strip().split("\n")
    assert "Traceback" not in result.stderr and all(line.startswith("maskscan: error: ") for line in lines), lines
    assert len(lines) == 4, lines
    assert any(str(fifo) in line and "not a regular file" in line for line in lines)
    assert any(str(unreadable) in line and "Permission denied" in line for line in lines)
    assert any(str(footage / "locked") in line and "cannot read folder (Permission denied)" in line for line in lines)
    assert any(repr(str(newline)) in line and "not a readable video" in line for line in lines)  # quoted, one line
    assert statuses(db) == {"good.mp4": ("done", None), "caf\\xe9.mp4": ("done", None),
                            "secret.mp4": ("failed", "cannot read file (Permission denied)"),
                            "two\nlines.mp4": statuses(db)["two\nlines.mp4"]}
    assert good.exists()


def test_16_csv_cells_never_run_as_spreadsheet_formulas(tmp_path: Path) -> None:
    camera = tmp_path / '=HYPERLINK("example.invalid","click")'
    camera.mkdir()
    path = write_video(camera / "clip.mp4", scripted_frames(10), fps=10)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    assert make_processor(db, sample_fps=0, clips_dir=None).process(MediaFile(path, "video")).status == "done"
    result = CliRunner().invoke(cli, ["report", "--db", db, "--by", "camera", "--format", "csv"])
    assert result.exit_code == 0, result.output
    (row,) = csv.DictReader(io.StringIO(result.stdout))
    assert row["camera"] == "'" + camera.name


def test_17_an_empty_video_filter_is_a_usage_error(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    result = CliRunner().invoke(cli, ["report", "--db", db, "--video", ""])
    assert result.exit_code == 2 and "must not be empty" in result.output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_18_a_signal_during_start_up_is_one_line_and_exit_130(tmp_path: Path, signum: int) -> None:
    path = write_video(tmp_path / "clip.mp4", scripted_frames(10), fps=10)
    worker = subprocess.Popen(maskscan("process", str(path), "--db", f"sqlite:///{tmp_path / 'r.db'}"), cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)  # Python is still importing
    worker.send_signal(signum)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 130, err
    assert err == "maskscan: error: interrupted\n"


def test_a_reader_that_stops_early_ends_the_report_quietly(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    path = write_video(tmp_path / "clip.mp4", scripted_frames(10), fps=10)
    assert make_processor(db, sample_fps=0, clips_dir=None).process(MediaFile(path, "video")).status == "done"
    report = subprocess.Popen(maskscan("report", "--db", db, "--by", "video", "--format", "csv"), cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    report.stdout.close()  # as `| head -0` would, long before the report is written
    err = report.stderr.read()
    report.wait(timeout=60)
    assert (report.returncode, err) == (1, b"")
