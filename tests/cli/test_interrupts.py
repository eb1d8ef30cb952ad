"""Signals sent to a fresh interpreter, so that nothing an earlier test left in this process
(handlers, signal stacks) takes part."""

import subprocess
import sys

PRELUDE = """
import os, signal, time
from maskscan.cli import interrupts

def wait_for_the_interrupt():
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.001)
    print("no interrupt")
"""

A_SIGNAL_INSIDE_A_FINALIZER = PRELUDE + """
class SignalsItselfWhenFinalized:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100_000):  # the Python handler runs here, inside the finalizer
            pass

interrupts.install(interrupts.interrupt)
try:
    SignalsItselfWhenFinalized()  # raised inside __del__, the interrupt would be printed and dropped
    wait_for_the_interrupt()
except KeyboardInterrupt:
    print("interrupted")
"""

A_SECOND_SIGNAL = PRELUDE + """
interrupts.install(interrupts.interrupt_once)
try:
    os.kill(os.getpid(), signal.SIGTERM)
    wait_for_the_interrupt()
except KeyboardInterrupt:
    print("interrupted", signal.getsignal(signal.SIGINT) is signal.SIG_IGN, signal.getsignal(signal.SIGTERM) is signal.SIG_IGN)
"""


def run(script: str) -> str:
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_signal_inside_a_finalizer_interrupts_right_after_it() -> None:
    assert run(A_SIGNAL_INSIDE_A_FINALIZER) == "interrupted\n"


def test_interrupt_once_ignores_later_signals() -> None:
    assert run(A_SECOND_SIGNAL) == "interrupted True True\n"
