"""A lasting alternate signal stack for threads that compile OpenVINO models.

OpenVINO's CPU plugin gives the compiling thread an alternate signal stack of its own for as long
as the compiled model lives, and when the model goes it puts back the stack it found, if its own
is still current. Models that go in another order than they came leave a freed stack in place:
the next signal (Ctrl-C, SIGTERM) is delivered onto unmapped memory and the process dies of
SIGSEGV instead of rolling its file back. Re-installing one stack of maskscan's own after every
compilation keeps the plugin's stacks from ever being current when a model goes.
"""

from __future__ import annotations

import ctypes
import sys
import threading

_AT_MINSIGSTKSZ = 51  # getauxval key: the kernel's minimum signal frame (large with AMX state)
_SPARE_BYTES = 64 * 1024
_per_thread = threading.local()


class _StackT(ctypes.Structure):
    _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int), ("ss_size", ctypes.c_size_t)]


def keep_own_signal_stack() -> None:
    """Makes the calling thread's alternate signal stack maskscan's own (made once per thread and
    kept for the thread's life). Linux only; elsewhere nothing to do."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    stack = getattr(_per_thread, "stack", None)
    if stack is None:
        libc.getauxval.restype = ctypes.c_ulong
        size = int(libc.getauxval(ctypes.c_ulong(_AT_MINSIGSTKSZ))) + _SPARE_BYTES
        memory = ctypes.create_string_buffer(size)
        stack = _StackT(ctypes.cast(memory, ctypes.c_void_p), 0, size)
        _per_thread.memory, _per_thread.stack = memory, stack
    if libc.sigaltstack(ctypes.byref(stack), None) != 0:
        raise OSError(ctypes.get_errno(), "sigaltstack failed")
