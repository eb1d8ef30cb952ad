import json
from pathlib import Path

from click.testing import CliRunner

from maskscan.classifiers.shipped import SMALL_FACE_IMGSZ, mask_threshold_for
from maskscan.cli.main import cli
from tests.classifiers.training.test_detector_training import make_scenes
from tests.conftest import shared_path


def test_classifier_threshold_is_chosen_and_reported_held_out() -> None:
    scenes = shared_path("mask-scenes")
    result = CliRunner().invoke(cli, ["evaluate", "classifier", str(scenes), "--choose-threshold", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["threshold"] == mask_threshold_for("resnet50")  # the shipped operating point by default
    cross_validation = report["cross_validation"]
    assert len(cross_validation["thresholds"]) == 5
    assert cross_validation["held_out"]["n"] == report["n"] == 417

    text = CliRunner().invoke(cli, ["evaluate", "classifier", str(scenes), "--choose-threshold", "--folds", "2"])
    assert "2-fold cross-validation" in text.output and "the rule on all 417 faces picks" in text.output


def test_too_few_photos_for_the_folds_is_one_line(tmp_path: Path) -> None:
    scenes = make_scenes(tmp_path / "voc", 3)
    result = CliRunner().invoke(cli, ["evaluate", "detector", str(scenes), "--split", "all", "--choose-threshold",
                                      "--folds", "5"])
    assert result.exit_code == 2
    assert "too few photos for 5 folds" in result.output
    assert "Traceback" not in result.output


def test_evaluate_takes_the_device_option_like_every_command(tmp_path: Path) -> None:
    scenes = make_scenes(tmp_path / "voc", 3)
    for command in ("detector", "classifier"):
        result = CliRunner().invoke(cli, ["evaluate", command, str(scenes), "--device", "tpu"])
        assert result.exit_code == 2 and "unsupported device 'tpu'" in result.output, result.output


def test_centerface_cannot_grade_itself_as_the_teacher(tmp_path: Path) -> None:
    scenes = make_scenes(tmp_path / "voc", 3)
    result = CliRunner().invoke(cli, ["evaluate", "detector", str(scenes), "--centerface", "--ignore-unlabelled"])
    assert result.exit_code == 2 and "cannot grade itself" in result.output, result.output


def test_faces_nobody_boxed_are_ignored_with_a_teacher(tmp_path: Path) -> None:
    """A real crowd photo whose annotation boxes no face: every face the detector finds is a false
    alarm on the plain labels, and none is once CenterFace marks the faces nobody boxed."""
    photo = shared_path("mask-scenes", "images", "maksssksksss0.jpg")
    voc = tmp_path / "voc"
    (voc / "annotations").mkdir(parents=True)
    (voc / "images").mkdir()
    (voc / "images" / photo.name).write_bytes(photo.read_bytes())
    (voc / "annotations" / "maksssksksss0.xml").write_text(
        "<annotation><filename>maksssksksss0.jpg</filename><size><width>512</width><height>366</height></size>"
        "</annotation>")

    def metrics(*extra: str) -> dict:
        result = CliRunner().invoke(cli, ["evaluate", "detector", str(voc), "--split", "all", "--json", *extra])
        assert result.exit_code == 0, result.output
        (only_model,) = json.loads(result.output)["sets"]["voc"].values()
        return only_model

    plain, ignoring = metrics(), metrics("--ignore-unlabelled")
    assert plain["detections"] > 0 and plain["true_positives"] == 0 and plain["unlabelled_faces"] == 0
    assert ignoring["unlabelled_faces"] > 0
    assert ignoring["detections"] < plain["detections"]


def test_crowd_faces_of_unknown_mask_state_can_be_graded_as_unmasked(tmp_path: Path) -> None:
    from tests.classifiers.datasets.test_crop_sets import crowd_folder

    crowd = crowd_folder(tmp_path / "crowd")
    graded = CliRunner().invoke(cli, ["evaluate", "classifier", str(crowd), "--split", "all", "--json",
                                      "--unlabelled-as-no-mask", "--unlabelled-min-width", "5"])
    assert graded.exit_code == 0, graded.output
    report = json.loads(graded.output)
    assert report["n"] == 3 and report["false_mask"] + report["true_no_mask"] == 2  # two unmasked, one masked


def test_the_small_face_pass_finds_more_faces_of_a_crowd_photo(tmp_path: Path) -> None:
    """A WIDER FACE protest photo (validation split) with 52 faces of 10 px or more, 46 of them under 20 px."""
    name = "2_Demonstration_Demonstration_Or_Protest_2_746"
    crowd = shared_path("wider-crowds")
    voc = tmp_path / "voc"
    (voc / "annotations").mkdir(parents=True)
    (voc / "images").mkdir()
    (voc / "images" / f"{name}.jpg").write_bytes((crowd / "images" / f"{name}.jpg").read_bytes())
    (voc / "annotations" / f"{name}.xml").write_bytes((crowd / "annotations" / f"{name}.xml").read_bytes())

    def metrics(*extra: str) -> tuple[str, dict]:
        result = CliRunner().invoke(cli, ["evaluate", "detector", str(voc), "--split", "all", "--json", *extra])
        assert result.exit_code == 0, result.output
        ((model, measured),) = json.loads(result.output)["sets"]["voc"].items()
        return model, measured

    (plain_name, plain), (name_with_pass, with_pass) = metrics(), metrics("--small-faces")
    assert name_with_pass == f"{plain_name}+small-faces@{SMALL_FACE_IMGSZ}"
    assert with_pass["true_positives"] > plain["true_positives"]
    assert with_pass["recall_by_width"]["<16"]["recall"] > plain["recall_by_width"]["<16"]["recall"]
    assert with_pass["recall_by_width"]["32-64"]["found"] == plain["recall_by_width"]["32-64"]["found"]

    result = CliRunner().invoke(cli, ["evaluate", "detector", str(voc), "--small-faces", "--imgsz",
                                      str(SMALL_FACE_IMGSZ)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"--small-faces runs a second pass at {SMALL_FACE_IMGSZ} px" in result.output
