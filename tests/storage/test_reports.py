"""Reports against a database filled with known counts, on SQLite and PostgreSQL."""

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from maskscan.cli.main import cli
from maskscan.detections import FaceDetections
from maskscan.storage import database, results
from maskscan.storage.reports import ReportFilter, clip_table, compliance_report, frame_table

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)


def faces(masked: int, unmasked: int) -> FaceDetections:
    n = masked + unmasked
    boxes = np.array([[10 * i, 10, 10 * i + 8, 18] for i in range(n)], np.float32).reshape(-1, 4)
    return FaceDetections(boxes, np.full(n, 0.9, np.float32), np.array([0.9] * masked + [0.1] * unmasked, np.float32))


def add_video(engine, name: str, camera: str, start: datetime, frame_faces: list[tuple[int, int]],  # noqa: ANN001
              clip_starts: list[float], status: str = "done") -> None:
    """A video of one frame per second with the given (masked, unmasked) faces per frame."""
    policy = results.ClaimPolicy("filler")
    info = results.MediaInfo(f"/footage/{camera}/{name}", name.ljust(64, "0"), 1, "det", "cls")
    with database.session_factory(engine)() as session:
        video = results.claim_video(session, info, policy).video
        results.set_stream_info(session, video, policy, results.StreamFacts(
            float(len(frame_faces)), 1.0, 64, 48, camera, start, "filename"))
        results.add_frames(session, video, policy, [(i, float(i), faces(m, u)) for i, (m, u) in enumerate(frame_faces)],
                           start)
        for clip_start in clip_starts:
            results.add_clip(session, video, policy, clip_start, clip_start + 2, f"/clips/{name}.mp4", "no_mask")
        if status == "done":
            results.finish_video(session, video, policy)


@pytest.fixture
def filled(db_url: str) -> str:
    engine = database.create_db_engine(db_url)
    database.ensure_schema(engine)
    # camera a: day 1 07:00, 4 frames; 07:59:58 to 08:00:01 crosses the hour
    add_video(engine, "a1.mp4", "a", START, [(2, 0), (1, 1), (0, 3), (2, 0)], [1.0])
    add_video(engine, "a2.mp4", "a", START + timedelta(minutes=59, seconds=58), [(1, 0), (1, 0), (0, 2), (0, 1)], [2.0])
    # camera b: day 2
    add_video(engine, "b1.mp4", "b", START + timedelta(days=1), [(3, 1), (0, 0)], [])
    # an unfinished video never counts
    add_video(engine, "c1.mp4", "c", START, [(0, 9)], [0.0], status="running")
    engine.dispose()
    return db_url


def report(db_url: str, grouping: tuple[str, ...], filters: ReportFilter = ReportFilter()) -> pd.DataFrame:
    engine = database.create_db_engine(db_url)
    try:
        return compliance_report(frame_table(engine, filters), clip_table(engine, filters), grouping)
    finally:
        engine.dispose()


def test_totals(filled: str) -> None:
    row = report(filled, ()).iloc[0]
    assert (row.frames, row.faces, row.masked, row.unmasked, row.peak_unmasked, row.clips) == (10, 18, 10, 8, 3, 2)
    assert row.compliance == pytest.approx(10 / 18)
    assert row.footage_hours == pytest.approx(10 / 3600)


def test_by_camera_and_hour(filled: str) -> None:
    by_camera = report(filled, ("camera",)).set_index("camera")
    assert by_camera.loc["a", ["frames", "faces", "masked", "unmasked", "clips"]].tolist() == [8, 14, 7, 7, 2]
    assert by_camera.loc["b", ["frames", "faces", "masked", "unmasked", "clips"]].tolist() == [2, 4, 3, 1, 0]
    assert "c" not in by_camera.index
    by_hour = report(filled, ("camera", "hour"))
    hours = {(r.camera, r.hour.hour, r.hour.day): (r.frames, r.unmasked, r.clips) for r in by_hour.itertuples()}
    # a2's frames at 07:59:58 and :59 fall in hour 7, those at 08:00:00 and :01 in hour 8; its clip starts 08:00:00
    assert hours == {("a", 7, 23): (6, 4, 1), ("a", 8, 23): (2, 3, 1), ("b", 7, 24): (2, 1, 0)}


def test_filters(filled: str) -> None:
    day_two = report(filled, (), ReportFilter(since=START + timedelta(hours=12)))
    assert day_two.iloc[0].frames == 2
    only_a2 = report(filled, ("video",), ReportFilter(videos=("a2.mp4",)))
    assert only_a2["frames"].tolist() == [4]
    assert report(filled, ("day",), ReportFilter(cameras=("nowhere",))).empty
    assert report(filled, (), ReportFilter(since=START, until=START)).empty


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_cli_formats_and_empty_reports(filled: str, tmp_path: Path) -> None:
    code, out, _ = run("report", "--db", filled, "--by", "day", "--format", "csv")
    assert code == 0
    assert out.splitlines()[0] == "day,footage_hours,frames,faces,masked,unmasked,compliance,peak_unmasked,clips"
    assert len(out.splitlines()) == 3
    code, out, _ = run("report", "--db", filled, "--by", "camera", "--format", "json")
    assert [(r["camera"], r["faces"]) for r in __import__("json").loads(out)] == [("a", 14), ("b", 4)]
    code, out, err = run("report", "--db", filled, "--camera", "nowhere", "--format", "json")
    assert code == 0 and out.strip() == "[]" and "no analysed footage matches (cameras nowhere)" in err
    code, out, err = run("report", "--db", filled, "--since", "2030-01-01", "--format", "csv")
    assert code == 0 and len(out.splitlines()) == 1 and "no analysed footage matches (recorded 2030-01-01 00:00:00+00:00 to ..." in err
    code, _, err = run("report", "--db", filled, "--since", "24/11/2026")
    assert code == 2 and "%Y-%m-%d" in err


def test_html_report_is_self_contained_with_charts(filled: str, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    code, _, err = run("report", "--db", filled, "--by", "camera", "--format", "html", "--output", str(target))
    assert code == 0, err
    page = target.read_text()
    assert page.count("src='data:image/png;base64,") == 2  # compliance over time, cameras
    assert "Worst violation moments" in page and "footage no longer available" in page  # the files are fictional
    assert "http" not in page.lower().replace("http-equiv", "")


def readme_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


def test_readme_queries_run_on_both_databases(filled: str) -> None:
    queries = readme_queries()
    assert len(queries) >= 4
    engine = database.create_db_engine(filled)
    with engine.connect() as connection:
        answers = [connection.execute(text(query)).all() for query in queries]
    engine.dispose()
    daily = {(row[0], str(row[1])): tuple(row[2:4]) for row in answers[0]}
    assert daily == {("a", "2026-11-23"): (7, 14), ("b", "2026-11-24"): (3, 4)}
    assert all(answers)


def test_html_thumbnails_show_the_worst_moments_blurred(db_url: str, tmp_path: Path) -> None:
    from maskscan.pipeline.media import MediaFile
    from tests.factories import scripted_frames, write_video
    from tests.pipeline.test_runner import make_processor

    (tmp_path / "cam").mkdir()
    path = write_video(tmp_path / "cam" / "clip.mp4", scripted_frames(30), fps=10)
    make_processor(db_url, sample_fps=5, clips_dir=None).process(MediaFile(path, "video"))
    target = tmp_path / "report.html"
    code, _, err = run("report", "--db", db_url, "--format", "html", "--output", str(target), "--thumbnails", "2",
                       "--blur-faces")
    assert code == 0, err
    page = target.read_text()
    assert page.count("src='data:image/jpeg;base64,") == 2 and "Faces blurred." in page
    assert "1 unmasked of 2 faces, camera cam" in page
