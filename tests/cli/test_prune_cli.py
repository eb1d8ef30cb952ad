"""`maskscan prune`: retention of clips and per-face rows, on SQLite and PostgreSQL."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from maskscan.cli.main import cli
from maskscan.storage import database, results
from tests.storage.test_reports import faces

NOW = datetime.now(timezone.utc)


def add_video(engine, tmp_path: Path, name: str, age: timedelta, status: str = "done") -> list[Path]:  # noqa: ANN001
    """A video recorded `age` ago: 3 frames of one masked and one unmasked person, a clip file per
    frame showing the unmasked one."""
    from maskscan.pipeline.people import PeopleTally

    policy = results.ClaimPolicy(f"worker-{name}")
    info = results.MediaInfo(f"/footage/{name}.mp4", name.ljust(64, "0"), 1, "det", "cls")
    clips, tally, track_rows = [], PeopleTally(1.0), {}
    found = faces(1, 1, people=[0, 1])
    with database.session_factory(engine)() as session:
        video = results.claim_video(session, info, policy).video
        results.set_stream_info(session, video, policy, results.StreamFacts(
            3.0, 1.0, 64, 48, "cam", NOW - age, "filename", 1.0, 0.45, 0.75, "test tracker"))
        results.add_frames(session, video, policy, [(i, float(i), found) for i in range(3)], NOW - age, track_rows)
        for i in range(3):
            tally.add(float(i), found)
            clips.append(tmp_path / "clips" / f"{name}_{i}.mp4")
            clips[-1].parent.mkdir(exist_ok=True)
            clips[-1].write_bytes(b"clip")
            results.add_clip(session, video, policy, float(i), i + 0.5, str(clips[-1]), "no_mask", [track_rows[1]])
        results.finish_tracks(session, video, policy, tally, track_rows, NOW - age)
        if status == "done":
            results.finish_video(session, video, policy)
    return clips


def count(db_url: str, table: str) -> int:
    engine = database.create_db_engine(db_url)
    with engine.connect() as connection:
        number = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    engine.dispose()
    return number


def prune(db_url: str, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["prune", "--db", db_url, "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def footage(db_url: str, tmp_path: Path) -> dict[str, list[Path]]:
    engine = database.create_db_engine(db_url)
    database.ensure_schema(engine)
    made = {"old": add_video(engine, tmp_path, "old", timedelta(days=40)),
            "recent": add_video(engine, tmp_path, "recent", timedelta(days=1)),
            "held": add_video(engine, tmp_path, "held", timedelta(days=40), status="running")}
    engine.dispose()
    return made


def test_dry_run_deletes_nothing(db_url: str, footage: dict[str, list[Path]]) -> None:
    planned = prune(db_url, "--older-than", "30d", "--detections", "--dry-run")
    assert sorted(planned["clips"]) == sorted(str(p) for p in footage["old"]) and planned["detections"] == 6
    assert all(p.is_file() for paths in footage.values() for p in paths)
    assert (count(db_url, "clips"), count(db_url, "detections")) == (9, 18)


def test_prune_removes_old_clips_and_faces_keeps_counts_and_is_idempotent(db_url: str,
                                                                          footage: dict[str, list[Path]]) -> None:
    done = prune(db_url, "--older-than", "30d", "--detections")
    assert sorted(done["clips"]) == sorted(str(p) for p in footage["old"]) and done["detections"] == 6
    assert not any(p.exists() for p in footage["old"])
    assert all(p.is_file() for p in footage["recent"] + footage["held"])  # too young, or a worker holds it
    assert (count(db_url, "clips"), count(db_url, "detections"), count(db_url, "frames")) == (6, 12, 9)
    assert (count(db_url, "tracks"), count(db_url, "clip_tracks")) == (6, 6)  # people stay; their old clips go
    again = prune(db_url, "--older-than", "30d", "--detections")
    assert (again["clips"], again["detections"]) == ([], 0)
    report = CliRunner().invoke(cli, ["report", "--db", db_url, "--format", "json"])
    assert json.loads(report.stdout)[0]["faces"] == 12  # the done videos' counts, old ones included


def test_prune_without_detections_keeps_faces_and_a_bad_duration_is_a_usage_error(
        db_url: str, footage: dict[str, list[Path]]) -> None:
    footage["old"][0].unlink()  # deleted by hand already
    done = prune(db_url, "--older-than", "2w")
    assert len(done["clips"]) == 3 and done["missing_files"] == 1 and count(db_url, "detections") == 18
    result = CliRunner().invoke(cli, ["prune", "--db", db_url, "--older-than", "30 days"])
    assert result.exit_code == 2 and "not a duration like 30d" in result.output
