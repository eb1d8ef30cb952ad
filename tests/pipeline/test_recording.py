from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from maskscan.pipeline.recording import camera_of, recording_of, time_from_metadata, time_from_name


def test_time_from_file_name_in_a_zone() -> None:
    moment = time_from_name("line4_cam2_20261124_073015.mp4", "%Y%m%d_%H%M%S", ZoneInfo("Europe/London"))
    assert moment == datetime(2026, 11, 24, 7, 30, 15, tzinfo=ZoneInfo("Europe/London"))
    assert time_from_name("no_time_here.mp4", "%Y%m%d_%H%M%S", timezone.utc) is None
    assert time_from_name("cam_20261399_999999.mp4", "%Y%m%d_%H%M%S", timezone.utc) is None  # not a date


def test_unsupported_directive_is_refused() -> None:
    with pytest.raises(ValueError, match="%b is not supported"):
        time_from_name("x", "%d%b%Y", timezone.utc)


def test_container_creation_time() -> None:
    assert time_from_metadata("2018-04-19T22:46:00.000000Z") == datetime(2018, 4, 19, 22, 46, tzinfo=timezone.utc)
    assert time_from_metadata("1970-01-01T00:00:00Z") is None  # recorders' placeholder
    assert time_from_metadata("garbage") is None and time_from_metadata(None) is None


def test_camera_from_folder_or_pattern(tmp_path: Path) -> None:
    path = tmp_path / "line4" / "platform-b" / "rec.mp4"
    assert camera_of(path, None) == "platform-b"
    assert camera_of(path, r"(?P<camera>line\d+)") == "line4"
    assert camera_of(path, r"line\d+/[^/]+") == "line4/platform-b"


def test_sources_in_order_of_preference(tmp_path: Path) -> None:
    path = tmp_path / "cam" / "20261124_073015.mp4"
    path.parent.mkdir()
    path.write_bytes(b"x")
    metadata = "2018-04-19T22:46:00Z"
    assert recording_of(path, metadata, None, "%Y%m%d_%H%M%S", timezone.utc).source == "filename"
    assert recording_of(path, metadata, None, None, timezone.utc).source == "metadata"
    fallback = recording_of(path, None, None, "%Y-%m-%d", timezone.utc)
    assert fallback.source == "mtime" and fallback.camera == "cam"
    assert abs(fallback.recorded_at.timestamp() - path.stat().st_mtime) < 1
