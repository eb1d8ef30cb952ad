"""SIGINT and SIGTERM as one clean interrupt: at once during start-up, as KeyboardInterrupt after.

Kept free of heavy imports: the entry point installs these handlers before torch loads.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

EXIT_INTERRUPTED = 130
INTERRUPTED_LINE = "maskscan: error: interrupted\n"
_REDELIVERY_DELAY_S = 0.01


def exit_interrupted() -> None:
    """Ends the process with status 130 (its line already written), skipping the interpreter's shutdown.

    Not sys.exit: once a KeyboardInterrupt has been raised, CPython can still end the process by
    SIGINT after a clean SystemExit (exit status -2 instead of 130, about one run in two here).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def exit_during_start_up(_signum: int, _frame: FrameType | None) -> None:
    """Before a command runs there is nothing to roll back, and no exception that could be lost."""
    os.write(sys.stderr.fileno(), INTERRUPTED_LINE.encode())
    os._exit(EXIT_INTERRUPTED)


def _exceptions_dropped_in(frame: FrameType | None) -> bool:
    """Whether an exception raised in `frame` would be printed and dropped, not propagated.

    That happens inside finalizers and weakref callbacks, e.g. importlib's module-lock callback,
    which runs often while torch imports.
    """
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or (code.co_name == "cb" and code.co_filename.startswith("<frozen importlib")):
            return True
        frame = frame.f_back
    return False


def _deferred(signum: int, frame: FrameType | None) -> bool:
    if not _exceptions_dropped_in(frame):
        return False
    threading.Timer(_REDELIVERY_DELAY_S, os.kill, (os.getpid(), signum)).start()
    return True


def interrupt(signum: int, frame: FrameType | None) -> None:
    """Raises KeyboardInterrupt where it propagates; inside a finalizer, sends the signal again shortly."""
    if not _deferred(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")


def interrupt_once(signum: int, frame: FrameType | None) -> None:
    """As `interrupt`, and later signals are ignored so that a roll-back can finish."""
    if not _deferred(signum, frame):
        install(signal.SIG_IGN)
        raise KeyboardInterrupt(f"signal {signum}")


def install(handler: signal.Handlers | object) -> None:
    """The same handler for SIGINT and SIGTERM: SIGTERM (a scheduler stopping a job) is a Ctrl-C."""
    signal.signal(signal.SIGINT, handler)  # type: ignore[arg-type]
    signal.signal(signal.SIGTERM, handler)  # type: ignore[arg-type]
