"""`maskscan process` as users call it, with the shipped models."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from maskscan.classifiers.shipped import SHIPPED_DETECTOR, SMALL_FACE_IMGSZ, weights_id
from maskscan.cli.main import cli
from tests.conftest import shared_path
from tests.factories import CONTAINERS, scripted_frames, write_video


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def statuses(db_url: str) -> dict[str, tuple[str, str | None]]:
    engine = create_engine(db_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT path, status, error FROM videos")).all()
    engine.dispose()
    return {Path(path).name: (status, error) for path, status, error in rows}


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every container, an image, and the bad inputs users really have."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("footage")
    (folder / "cameras").mkdir()
    for suffix in CONTAINERS:
        write_video(folder / "cameras" / f"clip{suffix}", scripted_frames(8), fps=4)
    Image.fromarray(scripted_frames(1)[0]).save(folder / "cameras" / "still.jpg")
    (folder / "bad").mkdir()
    (folder / "bad" / "notes.mp4").write_text("meeting notes, not a video\n")
    (folder / "bad" / "empty.mov").write_bytes(b"")
    full = write_video(folder / "full.mp4", scripted_frames(40), fps=10)
    (folder / "bad" / "truncated.mp4").write_bytes(full.read_bytes()[:1500])
    full.unlink()
    (folder / "nothing").mkdir()
    (folder / "nothing" / "readme.txt").write_text("no media here")
    return folder


def test_every_listed_container_and_image_is_processed(footage: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    code, out, err = run("process", str(footage / "cameras"), "--db", db, "--clips-dir", str(tmp_path / "clips"),
                         "--json", "--sample-fps", "0")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["totals"]["done"] == len(CONTAINERS) + 1 and summary["totals"]["failed"] == 0
    assert sorted(f["frames"] for f in summary["files"]) == [1] + [8] * len(CONTAINERS)
    assert set(statuses(db).values()) == {("done", None)}


def test_bad_inputs_get_one_line_each_and_do_not_stop_the_batch(footage: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    code, out, err = run("process", str(footage / "bad"), str(footage / "nothing"), str(footage / "missing.mp4"),
                         str(footage / "cameras" / "clip.mp4"), "--db", db, "--no-clips", "--quiet")
    assert code == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 5, err
    for name, problem in [("notes.mp4", "not a readable video"), ("empty.mov", "empty file"),
                          ("truncated.mp4", ""), ("nothing", "no video or image files"),
                          ("missing.mp4", "no such file")]:
        assert any(name in line and problem in line and line.startswith("maskscan: error: ") for line in lines), name
    stored = statuses(db)
    assert {name: status for name, (status, _) in stored.items()} == {
        "clip.mp4": "done", "notes.mp4": "failed", "empty.mov": "failed", "truncated.mp4": "failed"}
    assert stored["empty.mov"] == ("failed", "empty file")


def test_rerun_skips_done_files_unless_forced(footage: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    clip = str(footage / "cameras" / "clip.mkv")
    assert run("process", clip, "--db", db, "--no-clips")[0] == 0
    code, out, _ = run("process", clip, "--db", db, "--no-clips", "--json")
    assert json.loads(out)["files"][0]["status"] == "skipped"
    code, out, _ = run("process", clip, "--db", db, "--no-clips", "--json", "--force")
    assert json.loads(out)["files"][0]["status"] == "done"
    engine = create_engine(db)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM videos")).scalar() == 1
        assert connection.execute(text("SELECT count(*) FROM frames")).scalar() == json.loads(out)["totals"]["frames"]
    engine.dispose()


def test_a_file_that_keeps_failing_is_given_up_after_max_attempts(footage: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    broken = str(footage / "bad" / "notes.mp4")
    for attempt in (1, 2):
        code, _, err = run("process", broken, "--db", db, "--max-attempts", "2", "--quiet")
        assert code == 1 and "not a readable video" in err
    code, _, err = run("process", broken, "--db", db, "--max-attempts", "2", "--quiet")
    assert code == 1
    assert err.strip() == ("maskscan: error: " + broken + ": gave up after 2 attempts (last error: not a readable "
                           "video (Invalid data found when processing input); --force to retry)")
    run("process", broken, "--db", db, "--max-attempts", "2", "--force", "--quiet")
    engine = create_engine(db)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT status, attempts FROM videos")).one() == ("failed", 3)
    engine.dispose()


@pytest.mark.parametrize("url,code,message", [
    ("nonsense://", 2, "unsupported database 'nonsense'"),
    ("postgresql://u:pw@host:port/x", 2, "bad database URL"),
    ("postgresql+psycopg://nobody@127.0.0.1:1/none", 1, "cannot reach database"),
])
def test_database_problems_are_one_line(footage: Path, url: str, code: int, message: str) -> None:
    exit_code, _, err = run("process", str(footage / "cameras" / "clip.mp4"), "--db", url)
    assert exit_code == code
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_usage_errors_exit_2(footage: Path) -> None:
    assert run("process")[0] == 2
    assert run("process", str(footage), "--sample-fps", "-1")[0] == 2
    code, _, err = run("process", str(footage / "cameras" / "clip.mp4"), "--detector-weights", "yolo11n.pt")
    assert code == 2 and "never downloads" in err


def test_the_small_face_pass_is_a_result_of_its_own(footage: Path, tmp_path: Path) -> None:
    """Another detector run finds other faces: its results must not be taken for the plain run's."""
    db = f"sqlite:///{tmp_path / 'r.db'}"
    still = str(footage / "cameras" / "still.jpg")
    assert run("process", still, "--db", db, "--no-clips")[0] == 0
    code, out, err = run("process", still, "--db", db, "--no-clips", "--json", "--small-faces")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["files"][0]["status"] == "done"
    plain = weights_id(SHIPPED_DETECTOR)
    assert summary["detector"] == f"{plain}+small-faces@{SMALL_FACE_IMGSZ}"
    code, out, _ = run("process", still, "--db", db, "--no-clips", "--json", "--imgsz", "640")
    assert json.loads(out)["files"][0]["status"] == "done"
    engine = create_engine(db)
    with engine.connect() as connection:
        detectors = connection.execute(text("SELECT detector FROM videos ORDER BY id")).scalars().all()
    engine.dispose()
    assert detectors == [plain, f"{plain}+small-faces@{SMALL_FACE_IMGSZ}", f"{plain}@640"]
    code, _, err = run("process", still, "--db", db, "--small-faces", "--imgsz", str(SMALL_FACE_IMGSZ))
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"--small-faces runs a second pass at {SMALL_FACE_IMGSZ} px, so it needs --imgsz below that" in err


def test_int8_without_ranges_is_one_line_and_touches_no_file(footage: Path, tmp_path: Path) -> None:
    import shutil

    weights = shutil.copy(SHIPPED_DETECTOR, tmp_path / "own-detector.pt")  # no int8 ranges beside it
    db = f"sqlite:///{tmp_path / 'int8.db'}"
    code, _, err = run("process", str(footage / "cameras" / "still.jpg"), "--db", db, "--detector-weights",
                       str(weights), "--precision", "int8")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "own-detector.int8.safetensors: no int8 ranges" in err
    assert statuses(db) == {"still.jpg": ("pending", None)}  # rolled back, not failed


def test_postgres_url_from_the_environment(footage: Path, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setenv("MASKSCAN_DB", db_url)
    code, out, err = run("process", str(footage / "cameras" / "clip.ts"), "--no-clips", "--json")
    assert code == 0, err
    assert statuses(db_url) == {"clip.ts": ("done", None)}


def test_shared_videos_give_plausible_counts(tmp_path: Path) -> None:
    videos = shared_path("videos")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    code, out, err = run("process", str(videos / "facenet-pytorch_examples_video.mp4"),
                         str(videos / "car-detection.mp4"), "--db", db, "--clips-dir", str(tmp_path / "clips"), "--json")
    assert code == 0, err
    files = {Path(f["path"]).name: f for f in json.loads(out)["files"]}
    crowd, car_park = files["facenet-pytorch_examples_video.mp4"], files["car-detection.mp4"]
    assert crowd["frames"] == 21 and crowd["faces"] >= 21  # several unmasked faces in most frames
    assert crowd["unmasked"] > crowd["masked"] and crowd["clips"]
    # no people in the car park (the detector trained on frames of its first 15 s as negatives;
    # the other 15 s were held back; see the detector's model card)
    assert car_park["frames"] == 151 and car_park["faces"] == 0 and car_park["clips"] == []
    import av

    with av.open(crowd["clips"][0]) as container:
        assert sum(1 for _ in container.decode(video=0)) > 0


def test_shipped_models_are_package_data() -> None:
    from maskscan.classifiers.shipped import shipped_classifier_path

    assert SHIPPED_DETECTOR.is_file() and shipped_classifier_path("resnet50").is_file()
