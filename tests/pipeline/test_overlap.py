"""Storage and clip encoding beside inference: order kept, errors handed back, memory bounded."""

import threading
import time
from pathlib import Path

import pytest

from maskscan.pipeline.overlap import OrderedWorker


def test_items_are_handled_in_order_on_another_thread() -> None:
    seen, threads = [], set()

    def handle(i: int) -> None:
        seen.append(i)
        threads.add(threading.current_thread().name)

    with OrderedWorker(handle, max_pending=2) as worker:
        for i in range(50):
            worker.submit(i)
    assert seen == list(range(50)) and threads == {"maskscan-results"}


def test_a_slow_consumer_holds_the_producer_back_by_the_bound() -> None:
    handled: list[int] = []
    ahead = []

    def handle(i: int) -> None:
        time.sleep(0.02)
        handled.append(i)

    with OrderedWorker(handle, max_pending=2) as worker:
        for i in range(20):
            worker.submit(i)
            ahead.append(i + 1 - len(handled))
    assert max(ahead) <= 2 + 1 + 1  # queued, the one in hand, and a race on the counter
    assert handled == list(range(20))


def test_the_first_error_reaches_the_producer_and_later_items_are_dropped() -> None:
    handled = []

    def handle(i: int) -> None:
        if i == 3:
            raise OSError("disk full")
        handled.append(i)

    with pytest.raises(OSError, match="disk full"):
        with OrderedWorker(handle, max_pending=1) as worker:
            for i in range(100):
                worker.submit(i)
    assert handled == [0, 1, 2]


def test_an_interrupt_lets_the_item_in_hand_finish_and_drops_the_rest() -> None:
    started, handled = threading.Event(), []

    def handle(i: int) -> None:
        started.set()
        time.sleep(0.05)
        handled.append(i)

    with pytest.raises(KeyboardInterrupt):
        with OrderedWorker(handle, max_pending=5) as worker:
            for i in range(5):
                worker.submit(i)
            started.wait()
            raise KeyboardInterrupt
    assert handled == [0]


def test_slow_storage_does_not_stall_inference_beyond_the_queue_bound(db_url: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Inference of the next batches runs while a batch is being stored, up to the bound."""
    from maskscan.pipeline.media import MediaFile
    from maskscan.storage import results
    from tests.factories import scripted_frames, write_video
    from tests.pipeline.test_runner import make_processor

    events: list[tuple[str, int]] = []
    store = results.add_frames

    def slow_store(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        time.sleep(0.15)
        stored = store(*args, **kwargs)
        events.append(("stored", len(events)))
        return stored

    monkeypatch.setattr(results, "add_frames", slow_store)
    path = write_video(tmp_path / "clip.mp4", scripted_frames(40), fps=10)
    processor = make_processor(db_url, sample_fps=0, batch_size=4, clips_dir=None, pending_batches=2)
    infer = processor.pipeline.__call__

    def counted(images):  # noqa: ANN001, ANN202
        events.append(("infer", len(events)))
        return infer(images)

    processor.pipeline = type("Counted", (), {"__call__": staticmethod(counted), "detector_name": "d",
                                              "classifier_name": "c", "face_confidence": None,
                                              "mask_threshold": 0.5})()
    outcome = processor.process(MediaFile(path, "video"))
    assert (outcome.status, outcome.frames, outcome.faces) == ("done", 40, 53)
    kinds = [kind for kind, _ in events]
    assert kinds.count("infer") == kinds.count("stored") == 10
    # while the first batch was being stored, inference went on to the next ones...
    assert kinds.index("stored") >= 3
    # ...but never further ahead than the two queued batches and the one being stored (+1: the
    # batch inferred while the queue was full, waiting to be handed over)
    inferred = stored = 0
    for kind in kinds:
        inferred += kind == "infer"
        stored += kind == "stored"
        assert inferred - stored <= 2 + 1 + 1
