"""Real `maskscan process` processes sharing one database."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.factories import scripted_frames, write_video

REPO = Path(__file__).resolve().parents[2]


def maskscan(*args: str) -> list[str]:
    return [sys.executable, "-m", "maskscan.cli", *args]


def count(db_url: str, sql: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    except Exception:  # noqa: BLE001 - the schema may not exist yet
        return 0
    finally:
        engine.dispose()


def test_two_workers_split_a_folder_and_process_each_file_once(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "cam1"
    folder.mkdir()
    for i in range(6):
        write_video(folder / f"clip{i}.mp4", scripted_frames(12 + i), fps=10)
    command = maskscan("process", str(folder), "--db", db_url, "--no-clips", "--sample-fps", "0", "--quiet")
    subprocess.run(maskscan("db", "upgrade", "--db", db_url), cwd=REPO, check=True, capture_output=True)
    workers = [subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [w.communicate(timeout=600)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], errors
    assert count(db_url, "SELECT count(*) FROM videos WHERE status = 'done'") == 6
    assert count(db_url, "SELECT count(*) FROM videos WHERE attempts = 1") == 6
    assert count(db_url, "SELECT count(*) FROM frames") == sum(12 + i for i in range(6))
    assert count(db_url, "SELECT count(*) FROM (SELECT video_id, frame_index FROM frames "
                         "GROUP BY video_id, frame_index HAVING count(*) > 1) AS doubles") == 0


@pytest.mark.parametrize("signals", [
    (signal.SIGTERM,),
    # a double Ctrl-C (robustness probe item 12): the second signal must not interrupt the roll-back
    (signal.SIGINT, 0.001, signal.SIGINT),
    (signal.SIGINT, 0.03, signal.SIGINT),
], ids=["sigterm", "double-ctrl-c-1ms", "double-ctrl-c-30ms"])
def test_a_signal_rolls_the_current_file_back(db_url: str, tmp_path: Path, signals: tuple) -> None:
    path = write_video(tmp_path / "long.mp4", scripted_frames(400), fps=10)
    worker = subprocess.Popen(maskscan("process", str(path), "--db", db_url, "--no-clips", "--sample-fps", "0",
                                       "--batch-size", "2"), cwd=REPO, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while count(db_url, "SELECT count(*) FROM frames") < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    for step in signals:  # a signal, or seconds to wait before the next one
        if isinstance(step, signal.Signals):
            worker.send_signal(step)
        else:
            time.sleep(step)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 130, err
    assert err.count("interrupted") == 1 and "Traceback" not in err
    assert count(db_url, "SELECT count(*) FROM frames") == 0
    assert count(db_url, "SELECT count(*) FROM videos WHERE status = 'pending' AND worker IS NULL") == 1


def test_ctrl_c_with_two_decoders_rolls_both_files_in_flight_back(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "cam"
    folder.mkdir()
    for i in range(3):
        write_video(folder / f"long{i}.mp4", scripted_frames(300 + i), fps=10)
    worker = subprocess.Popen(maskscan("process", str(folder), "--db", db_url, "--no-clips", "--sample-fps", "0",
                                       "--batch-size", "2", "--decoders", "2"), cwd=REPO, stderr=subprocess.PIPE,
                              text=True)
    deadline = time.monotonic() + 120
    while count(db_url, "SELECT count(DISTINCT video_id) FROM frames") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.send_signal(signal.SIGINT)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 130, err
    assert "the files in progress are pending again" in err and "Traceback" not in err
    assert count(db_url, "SELECT count(*) FROM frames") == 0
    assert count(db_url, "SELECT count(*) FROM videos WHERE status = 'pending' AND worker IS NULL") == 2


def test_a_worker_killed_mid_file_is_redone_and_every_frame_stored_once(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "cam2"
    folder.mkdir()
    for i in range(4):
        write_video(folder / f"clip{i}.mp4", scripted_frames(60 + i), fps=10)  # distinct files
    subprocess.run(maskscan("db", "upgrade", "--db", db_url), cwd=REPO, check=True, capture_output=True)
    command = maskscan("process", str(folder), "--db", db_url, "--no-clips", "--sample-fps", "0", "--batch-size", "2",
                       "--claim-timeout", "5", "--quiet")
    victim, survivor = (subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) for _ in range(2))
    victims_frames = ("SELECT count(*) FROM frames JOIN videos ON videos.id = frames.video_id "
                      f"WHERE videos.worker LIKE '%:{victim.pid}:%' AND videos.status = 'running'")
    deadline = time.monotonic() + 120
    while count(db_url, victims_frames) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    killed_video = count(db_url, f"SELECT id FROM videos WHERE worker LIKE '%:{victim.pid}:%'")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert killed_video, "the victim never stored a frame"
    _, err = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, err

    time.sleep(5)  # the dead worker's claim expires; the next nightly run picks its file up
    resumed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert count(db_url, "SELECT count(*) FROM videos WHERE status = 'done'") == 4
    assert count(db_url, "SELECT count(*) FROM frames") == sum(60 + i for i in range(4))
    assert count(db_url, "SELECT count(*) FROM (SELECT video_id, frame_index FROM frames "
                         "GROUP BY video_id, frame_index HAVING count(*) > 1) AS doubles") == 0
    assert count(db_url, f"SELECT attempts FROM videos WHERE id = {killed_video}") >= 2
