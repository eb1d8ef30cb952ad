import os
import signal
import time
from collections.abc import Iterator

import pytest

from maskscan.cli import interrupts


@pytest.fixture
def restore_handlers() -> Iterator[None]:
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGINT, previous[0])
    signal.signal(signal.SIGTERM, previous[1])


class SignalsItselfWhenFinalized:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100_000):  # the Python handler runs here, inside the finalizer
            pass


def wait_for_the_interrupt(seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.001)


def test_a_signal_inside_a_finalizer_interrupts_right_after_it(restore_handlers: None) -> None:
    interrupts.install(interrupts.interrupt)
    with pytest.raises(KeyboardInterrupt):
        SignalsItselfWhenFinalized()  # raised inside __del__, the interrupt would be printed and dropped
        wait_for_the_interrupt()


def test_interrupt_once_ignores_later_signals(restore_handlers: None) -> None:
    interrupts.install(interrupts.interrupt_once)
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for_the_interrupt()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
