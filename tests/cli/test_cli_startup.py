"""The command line answers at once: no model framework is imported before a command needs it."""

import json
import subprocess
import sys
from pathlib import Path

from tests.cli.test_workers import REPO
from tests.factories import scripted_frames, write_video

HEAVY = ("torch", "torchvision", "ultralytics", "openvino", "pandas", "matplotlib", "av", "cv2")


def test_importing_the_cli_imports_no_model_framework() -> None:
    script = f"import sys, maskscan.cli.main; print([m for m in {HEAVY!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


RUN_AND_REPORT_IMPORTS = """
import json, sys
from maskscan.cli.main import cli
try:
    cli.main(sys.argv[1:], standalone_mode=False)
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "torch": "torch" in sys.modules, "ultralytics": "ultralytics" in sys.modules}))
"""


def test_a_run_whose_files_are_all_done_never_loads_the_models(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.mp4", scripted_frames(10), fps=10)
    args = ["process", str(clip), "--db", f"sqlite:///{tmp_path / 'r.db'}", "--no-clips", "--quiet", "--json"]
    first = subprocess.run([sys.executable, "-m", "maskscan.cli", *args], cwd=REPO, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["totals"]["done"] == 1 and json.loads(first.stdout)["device"] == "cpu"
    again = subprocess.run([sys.executable, "-c", RUN_AND_REPORT_IMPORTS, *args], cwd=REPO, capture_output=True,
                           text=True)
    summary, imports = again.stdout.strip().rsplit("\n", 1)
    assert json.loads(summary)["totals"]["skipped"] == 1 and json.loads(summary)["device"] is None
    assert json.loads(imports) == {"code": 0, "torch": False, "ultralytics": False}, again.stderr
