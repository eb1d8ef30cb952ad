"""`maskscan status`, and commands that only read refusing a database that is not there."""

import json
from pathlib import Path

from click.testing import CliRunner

from maskscan.cli.main import cli
from maskscan.pipeline.media import MediaFile
from tests.factories import scripted_frames, write_video
from tests.pipeline.test_runner import make_processor


def test_status_lists_every_file_and_filters(db_url: str, tmp_path: Path) -> None:
    for camera in ("gate", "hall"):
        (tmp_path / camera).mkdir()
    good = write_video(tmp_path / "gate" / "clip.mp4", scripted_frames(30), fps=10)
    bad = tmp_path / "hall" / "notes.mp4"
    bad.write_text("not a video")
    processor = make_processor(db_url, sample_fps=0, clips_dir=tmp_path / "clips")
    for path in (good, bad):
        processor.process(MediaFile(path, "video"))

    result = CliRunner().invoke(cli, ["status", "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    rows = {Path(row["path"]).name: row for row in json.loads(result.stdout)}
    assert {k: rows["clip.mp4"][k] for k in ("status", "camera", "frames", "faces", "unmasked", "clips", "attempts")} \
        == {"status": "done", "camera": "gate", "frames": 30, "faces": 40, "unmasked": 10, "clips": 1, "attempts": 1}
    assert (rows["clip.mp4"]["people"], rows["clip.mp4"]["people_unmasked"], rows["clip.mp4"]["sample_fps"]) == (2, 1, 0)
    assert rows["clip.mp4"]["recorded_at"] and rows["clip.mp4"]["error"] is None
    assert rows["notes.mp4"]["status"] == "failed" and "not a readable video" in rows["notes.mp4"]["error"]

    failed = json.loads(CliRunner().invoke(cli, ["status", "--db", db_url, "--failed", "--json"]).stdout)
    assert [Path(row["path"]).name for row in failed] == ["notes.mp4"]
    hall = json.loads(CliRunner().invoke(cli, ["status", "--db", db_url, "--camera", "gate", "--json"]).stdout)
    assert [Path(row["path"]).name for row in hall] == ["clip.mp4"]
    table = CliRunner().invoke(cli, ["status", "--db", db_url], env={"COLUMNS": "160"})
    assert table.exit_code == 0 and "clip.mp4" in table.stdout and "notes.mp4" in table.stdout


def test_commands_that_read_refuse_a_missing_sqlite_file(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    for command in (["status"], ["report"], ["report", "--db", f"sqlite:///{tmp_path / 'elsewhere.db'}"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2 and "no database at" in result.stderr, result.output
    assert not list(tmp_path.glob("*.db"))  # nothing was created
