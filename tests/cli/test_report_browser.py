"""The HTML report in a real browser (headless Chromium): it loads, every image decodes, and
nothing is wider than a phone's or a laptop's screen."""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from maskscan.cli.main import cli
from maskscan.pipeline.media import MediaFile
from tests.factories import scripted_frames, write_video
from tests.pipeline.test_runner import make_processor

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

HARNESS = """<!doctype html><html><body style="margin:0">
<iframe id="page" src="{report}" style="border:0;width:{width}px;height:900px"></iframe>
<script>
document.getElementById("page").addEventListener("load", () => {{
  const page = document.getElementById("page").contentDocument;
  const images = [...page.images];
  document.body.setAttribute("data-result", JSON.stringify({{
    title: page.title,
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    widest: Math.max(page.documentElement.scrollWidth, page.body.scrollWidth),
  }}));
}});
</script></body></html>"""


def render(report: Path, width: int) -> dict:
    harness = report.with_name(f"harness-{width}.html")
    harness.write_text(HARNESS.format(report=report.name, width=width))
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                          f"--window-size={width + 40},1000", "--virtual-time-budget=10000", "--dump-dom",
                          harness.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'data-result="([^"]*)"', dom.stdout)
    assert found, f"the page did not load: {dom.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package `chromium`; .ci/run installs it)")
def test_the_html_report_renders_on_a_phone_and_a_laptop(db_url: str, tmp_path: Path) -> None:
    for camera, frames in (("platform-1", 40), ("platform-2-with-a-long-camera-name", 30)):
        (tmp_path / camera).mkdir()
        path = write_video(tmp_path / camera / "cam_20261124_073015.mp4", scripted_frames(frames), fps=10)
        processor = make_processor(db_url, sample_fps=5, clips_dir=tmp_path / "clips", time_pattern="%Y%m%d_%H%M%S")
        assert processor.process(MediaFile(path, "video")).status == "done"
    report = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", "--db", db_url, "--by", "camera", "--by", "hour", "--format", "html",
                                      "-o", str(report)])
    assert result.exit_code == 0, result.output
    for width in (390, 1280):
        page = render(report, width)
        assert page["title"] == "Mask compliance report"
        assert page["images"] >= 5 and page["broken"] == [], page  # 3 charts and 2 thumbnails
        assert page["widest"] <= width, f"the page is {page['widest']} px wide in a {width} px window"
