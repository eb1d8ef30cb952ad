import subprocess
import sys

import pytest

from maskscan.classifiers.openvino_runtime import openvino_available

MODELS_GO_IN_THE_ORDER_THEY_CAME = """
import gc, os, signal, time
from maskscan.classifiers.face_detector import YoloFaceDetector
from maskscan.classifiers.shipped import DETECTOR_IMGSZ, SHIPPED_DETECTOR

first = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, 0.45, backend="openvino")
second = YoloFaceDetector(SHIPPED_DETECTOR, DETECTOR_IMGSZ, 0.45, backend="openvino")
del first
gc.collect()
del second  # OpenVINO puts back the stack it found when `second` came: `first`'s, freed
gc.collect()
signal.signal(signal.SIGTERM, lambda *_: print("handled", flush=True))
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(0.1)
"""


@pytest.mark.skipif(not openvino_available(), reason="openvino is not installed")
def test_a_signal_after_openvino_models_went_out_of_order_is_still_handled() -> None:
    result = subprocess.run([sys.executable, "-c", MODELS_GO_IN_THE_ORDER_THEY_CAME], capture_output=True, text=True,
                            timeout=600)
    assert (result.returncode, result.stdout) == (0, "handled\n"), result.stderr[-3000:]
