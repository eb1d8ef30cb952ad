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
from maskscan.storage.reports import ReportFilter, clip_table, compliance_report, frame_table, track_table

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)


def faces(masked: int, unmasked: int, people: list[int] | None = None) -> FaceDetections:
    """`masked` then `unmasked` faces; `people` gives each its person number (masked ones first)."""
    n = masked + unmasked
    boxes = np.array([[10 * i, 10, 10 * i + 8, 18] for i in range(n)], np.float32).reshape(-1, 4)
    return FaceDetections(boxes, np.full(n, 0.9, np.float32), np.array([0.9] * masked + [0.1] * unmasked, np.float32),
                          track_ids=people)


def add_video(engine, name: str, camera: str, start: datetime, frame_faces: list[tuple[int, int]],  # noqa: ANN001
              clip_starts: list[float], status: str = "done", source: str = "filename",
              people: list[list[int]] | None = None) -> None:
    """A video of one frame per second with the given (masked, unmasked) faces per frame, and per
    frame the person number of each face (masked ones first); a clip shows everyone unmasked in it."""
    from maskscan.pipeline.people import PeopleTally

    policy = results.ClaimPolicy("filler")
    info = results.MediaInfo(f"/footage/{camera}/{name}", name.ljust(64, "0"), 1, "det", "cls")
    people = people or [[-1] * (m + u) for m, u in frame_faces]
    found = [faces(m, u, ids) for (m, u), ids in zip(frame_faces, people)]
    tally, track_rows = PeopleTally(1.0), {}
    with database.session_factory(engine)() as session:
        video = results.claim_video(session, info, policy).video
        results.set_stream_info(session, video, policy, results.StreamFacts(
            float(len(frame_faces)), 1.0, 64, 48, camera, start, source, 5.0, 0.45, 0.75, "test tracker"))
        results.add_frames(session, video, policy, [(i, float(i), f) for i, f in enumerate(found)], start, track_rows)
        for i, f in enumerate(found):
            tally.add(float(i), f)
        for clip_start in clip_starts:
            shown = {track_rows[int(p)] for i in range(len(found)) if clip_start <= i <= clip_start + 2
                     for p, masked in zip(found[i].track_ids, found[i].masked) if p >= 0 and not masked}
            results.add_clip(session, video, policy, clip_start, clip_start + 2, f"/clips/{name}.mp4", "no_mask",
                             shown)
        results.finish_tracks(session, video, policy, tally, track_rows, start)
        if status == "done":
            results.finish_video(session, video, policy)


@pytest.fixture
def filled(db_url: str) -> str:
    engine = database.create_db_engine(db_url)
    database.ensure_schema(engine)
    # camera a: day 1 07:00, 4 frames, people 0 and 1 masked, 2, 3 and 4 not; a clip at 1-3 s shows 2, 3 and 4
    add_video(engine, "a1.mp4", "a", START, [(2, 0), (1, 1), (0, 3), (2, 0)], [1.0],
              people=[[0, 1], [0, 2], [2, 3, 4], [0, 1]])
    # 07:59:58 to 08:00:01 crosses the hour: person 0 (masked) is first seen in hour 7, 1 and 2 (unmasked) in hour 8
    add_video(engine, "a2.mp4", "a", START + timedelta(minutes=59, seconds=58), [(1, 0), (1, 0), (0, 2), (0, 1)],
              [2.0], people=[[0], [0], [1, 2], [1]])
    # camera b: day 2, three masked people and one unmasked
    add_video(engine, "b1.mp4", "b", START + timedelta(days=1), [(3, 1), (0, 0)], [], people=[[0, 1, 2, 3], []])
    # an unfinished video never counts
    add_video(engine, "c1.mp4", "c", START, [(0, 9)], [0.0], status="running", people=[list(range(9))])
    engine.dispose()
    return db_url


def report(db_url: str, grouping: tuple[str, ...], filters: ReportFilter = ReportFilter()) -> pd.DataFrame:
    engine = database.create_db_engine(db_url)
    try:
        return compliance_report(frame_table(engine, filters), clip_table(engine, filters), grouping,
                                 track_table(engine, filters))
    finally:
        engine.dispose()


def test_totals(filled: str) -> None:
    row = report(filled, ()).iloc[0]
    assert (row.frames, row.faces, row.masked, row.unmasked, row.peak_unmasked, row.clips) == (10, 18, 10, 8, 3, 2)
    assert row.compliance == pytest.approx(10 / 18)
    assert row.footage_hours == pytest.approx(10 / 3600)
    assert (row.people, row.people_masked, row.people_unmasked, row.people_unknown) == (12, 6, 6, 0)
    assert row.people_compliance == pytest.approx(0.5) and row.untracked_hours == 0


def test_by_camera_and_hour(filled: str) -> None:
    by_camera = report(filled, ("camera",)).set_index("camera")
    assert by_camera.loc["a", ["frames", "faces", "masked", "unmasked", "clips"]].tolist() == [8, 14, 7, 7, 2]
    assert by_camera.loc["b", ["frames", "faces", "masked", "unmasked", "clips"]].tolist() == [2, 4, 3, 1, 0]
    assert "c" not in by_camera.index
    by_hour = report(filled, ("camera", "hour"))
    hours = {(r.camera, r.hour.hour, r.hour.day): (r.frames, r.unmasked, r.clips) for r in by_hour.itertuples()}
    # a2's frames at 07:59:58 and :59 fall in hour 7, those at 08:00:00 and :01 in hour 8; its clip starts 08:00:00
    assert hours == {("a", 7, 23): (6, 4, 1), ("a", 8, 23): (2, 3, 1), ("b", 7, 24): (2, 1, 0)}
    people = {(r.camera, r.hour.hour, r.hour.day): (r.people, r.people_masked, r.people_unmasked)
              for r in by_hour.itertuples()}
    assert people == {("a", 7, 23): (6, 3, 3), ("a", 8, 23): (2, 0, 2), ("b", 7, 24): (4, 3, 1)}


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
    assert out.splitlines()[0] == ("day,footage_hours,frames,people,people_masked,people_unmasked,people_unknown,"
                                   "people_compliance,faces,masked,unmasked,compliance,peak_unmasked,clips,"
                                   "untracked_hours")
    assert [line.split(",")[3:7] for line in out.splitlines()[1:]] == [["8", "3", "5", "0"], ["4", "3", "1", "0"]]
    code, out, _ = run("report", "--db", filled, "--by", "camera", "--format", "json")
    assert [(r["camera"], r["faces"]) for r in __import__("json").loads(out)] == [("a", 14), ("b", 4)]
    code, out, err = run("report", "--db", filled, "--camera", "nowhere", "--format", "json")
    assert code == 0 and out.strip() == "[]" and "no analysed footage matches (cameras nowhere)" in err
    code, out, err = run("report", "--db", filled, "--since", "2030-01-01", "--format", "csv")
    assert code == 0 and len(out.splitlines()) == 1 and "no analysed footage matches (recorded 2030-01-01 00:00:00+00:00 to ..." in err
    code, _, err = run("report", "--db", filled, "--since", "24/11/2026")
    assert code == 2 and "%Y-%m-%d" in err


def test_html_report_is_self_contained_with_header_figures_and_charts(filled: str, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    code, _, err = run("report", "--db", filled, "--by", "camera", "--format", "html", "-o", str(target))
    assert code == 0, err
    page = target.read_text()
    assert page.count("src='data:image/png;base64,") == 3  # compliance over time, cameras, camera x hour
    assert "Worst violation moments" in page and "footage no longer available" in page  # the files are fictional
    assert "http" not in page.lower().replace("http-equiv", "")
    # the header: period, cameras, files and footage, models and thresholds, when and by what
    assert "2026-11-23 07:00:00 to 2026-11-24 07:00:01 (UTC, recorded time)" in page
    assert "<dt>Cameras</dt><dd>a, b</dd>" in page and "3 files, 10 s of footage" in page
    assert "detector det at confidence 0.45, classifier cls labelling P(mask) ≥ 0.75 as masked, 5 frames" in page
    assert re.search(r"Made</dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by maskscan \d", page)
    assert "modification times" not in page  # every time here came from a file name
    # headline figures in words and readable column names
    assert "<b>55.6 %</b><span>compliance" in page and "<b>18</b><span>face sightings" in page
    assert "<b>8</b><span>unmasked sightings" in page and "<b>2</b><span>violation clips" in page
    assert "<th>Face sightings</th>" in page and "<th>faces</th>" not in page
    # people lead: 12 people, 6 of them masked; the six without a mask are listed, with the clips that show them
    figures = re.findall(r"<b>([^<]+)</b><span>([^<]+)</span>", page)
    assert figures[:3] == [("50.0 %", "compliance (masked people)"), ("12", "people"), ("6", "people without a mask")]
    people = page.split("<h2>People without a mask</h2>")[1].split("</table>")[0]
    assert people.count("<tr><td>") == 6
    assert people.count("a1.mp4</td>") == 3 and people.count("file:///clips/a1.mp4") == 3  # 2, 3 and 4 in a1's clip
    assert people.count("b1.mp4</td><td>0.0–0.0</td><td>1</td><td>–</td>") == 1  # no clip shows b1's person


def test_a_report_warns_when_times_are_file_modification_times(db_url: str) -> None:
    engine = database.create_db_engine(db_url)
    database.ensure_schema(engine)
    add_video(engine, "m.mp4", "a", START, [(1, 1)], [], source="mtime")
    from maskscan.storage.reports import report_header

    header = report_header(engine, ReportFilter())
    engine.dispose()
    assert header["files_timed_by_mtime"] == 1
    from maskscan.cli.report_html import _header

    assert "modification times" in "".join(_header(header, "all footage"))


def test_month_grouping(filled: str) -> None:
    table = report(filled, ("month",))
    assert [(str(r.month.date()), r.faces) for r in table.itertuples()] == [("2026-11-01", 18)]


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
    people_query = next(i for i, q in enumerate(queries) if "FROM tracks" in q)
    people = {(row[0], str(row[1])): tuple(row[2:5]) for row in answers[people_query]}
    assert people == {("a", "2026-11-23"): (3, 5, 0), ("b", "2026-11-24"): (3, 1, 0)}
    assert all(answers)


def test_html_worst_moments_one_per_stretch_with_stored_labels_and_clip_links(db_url: str, tmp_path: Path) -> None:
    from maskscan.pipeline.media import MediaFile
    from tests.factories import scripted_frames, write_video
    from tests.pipeline.test_runner import make_processor

    (tmp_path / "cam").mkdir()
    path = write_video(tmp_path / "cam" / "clip.mp4", scripted_frames(30), fps=10)  # one red stretch, 1.0-1.9 s
    make_processor(db_url, sample_fps=5, clips_dir=tmp_path / "out" / "clips").process(MediaFile(path, "video"))
    engine = database.create_db_engine(db_url)
    with engine.begin() as connection:  # the classifier said 0.55 for the green face: stored as no_mask
        connection.execute(text("UPDATE detections SET mask_prob = 0.55, label = 'no_mask' WHERE label = 'mask' "
                                "AND frame_id = (SELECT min(frame_id) FROM detections WHERE label = 'no_mask')"))
        connection.execute(text("UPDATE frames SET unmasked = faces, masked = 0 WHERE id = "
                                "(SELECT min(frame_id) FROM detections WHERE mask_prob = 0.55)"))
    engine.dispose()
    target = tmp_path / "out" / "report.html"
    code, _, err = run("report", "--db", db_url, "--format", "html", "-o", str(target), "--thumbnails", "4",
                       "--blur-faces")
    assert code == 0, err
    page = target.read_text()
    assert page.count("src='data:image/jpeg;base64,") == 1  # five red frames, one stretch, one moment
    assert "Faces detected at confidence ≥ 0.01 were blurred, in regions 1.8× their boxes" in page
    assert "2 unmasked of 2 faces, camera cam" in page and re.search(r"\d\d:\d\d:\d\d UTC, clip.mp4", page)
    assert re.search(r"<a href='clips/clip-[0-9a-f]{10}-[0-9a-f]{8}/clip_\d{8}ms.mp4'>clip</a>", page)
    # the green face drawn red, as stored, not green as its probability 0.55 >= 0.5 would say
    import base64
    import io

    from PIL import Image

    jpeg = re.search(r"src='data:image/jpeg;base64,([^']+)'", page).group(1)
    thumbnail = np.asarray(Image.open(io.BytesIO(base64.b64decode(jpeg))).convert("RGB")).astype(int)
    label = thumbnail[11:19, 22:60].reshape(-1, 3)  # the label above the green square (the frame is 160 px wide)
    red, green = (label[:, 0] > 150) & (label[:, 1] < 90), (label[:, 1] > 150) & (label[:, 0] < 90)
    assert red.mean() > 0.4 and green.mean() < 0.05, (red.mean(), green.mean())


def test_html_thumbnails_are_anonymised_with_the_process_code(db_url: str, tmp_path: Path) -> None:
    import base64
    import io

    from PIL import Image

    from maskscan.pipeline.anonymize import SOLID_GREY
    from maskscan.pipeline.media import MediaFile
    from tests.factories import scripted_frames, write_video
    from tests.pipeline.test_runner import make_processor

    path = write_video(tmp_path / "clip.mp4", scripted_frames(30), fps=10)
    make_processor(db_url, sample_fps=5, clips_dir=None).process(MediaFile(path, "video"))
    target = tmp_path / "report.html"
    code, _, err = run("report", "--db", db_url, "--format", "html", "-o", str(target), "--anonymize", "solid")
    assert code == 0, err
    page = target.read_text()
    assert "Faces detected at confidence ≥ 0.01 were covered, in regions 1.8× their boxes" in page
    jpeg = re.search(r"src='data:image/jpeg;base64,([^']+)'", page).group(1)
    thumbnail = np.asarray(Image.open(io.BytesIO(base64.b64decode(jpeg))).convert("RGB")).astype(int)
    assert np.abs(thumbnail[56, 116] - SOLID_GREY).max() < 12  # the red face's centre is covered
    assert np.abs(thumbnail[5, 80] - 20).max() < 12  # the dark background far from the faces is not


def test_footage_from_before_tracking_keeps_null_tracks_and_is_reported_as_untracked(db_url: str) -> None:
    engine = database.create_db_engine(db_url)
    database.upgrade(engine, "0005")
    with engine.begin() as connection:  # one done video of 0005's time: frames and detections, no tracks
        connection.execute(text(
            "INSERT INTO videos (path, sha256, size_bytes, frames_analysed, status, detector, classifier, camera, "
            "recorded_at, duration_s, sample_fps) VALUES ('/footage/old/o.mp4', 'aa', 1, 2, 'done', 'det', 'cls', "
            "'old', :start, 3600.0, 5.0)"), {"start": START})
        video_id = connection.execute(text("SELECT id FROM videos")).scalar_one()
        connection.execute(text("INSERT INTO frames (video_id, frame_index, timestamp_s, faces, masked, unmasked, "
                                "recorded_at) VALUES (:video, 0, 0.0, 1, 0, 1, :start), (:video, 5, 1.0, 0, 0, 0, :later)"),
                           {"video": video_id, "start": START, "later": START + timedelta(seconds=1)})
        connection.execute(text("INSERT INTO detections (frame_id, x1, y1, x2, y2, face_score, mask_prob, label) "
                                "SELECT min(id), 0, 0, 10, 10, 0.9, 0.1, 'no_mask' FROM frames"))
    database.upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT track_id FROM detections")).scalar_one() is None
        assert connection.execute(text("SELECT tracker FROM videos")).scalar_one() is None
    engine.dispose()
    add_video(database.create_db_engine(db_url), "n.mp4", "new", START, [(1, 1)], [], people=[[0, 1]])
    by_camera = report(db_url, ("camera",)).set_index("camera")
    old, new = by_camera.loc["old"], by_camera.loc["new"]
    assert (old.faces, old.unmasked, old.untracked_hours) == (1, 1, pytest.approx(1.0))
    assert pd.isna(old.people) and pd.isna(old.people_unmasked) and pd.isna(old.people_compliance)
    assert (new.people, new.people_masked, new.untracked_hours) == (2, 1, 0)
    total = report(db_url, ()).iloc[0]  # tracked footage counts its people; the old hour is flagged untracked
    assert (total.people, total.untracked_hours) == (2, pytest.approx(1.0))
    code, out, _ = run("report", "--db", db_url, "--by", "camera", "--format", "json")
    assert [(r["camera"], r["people"]) for r in __import__("json").loads(out)] == [("new", 2), ("old", None)]
