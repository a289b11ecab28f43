"""Ctrl-C and SIGTERM for long-running commands: a stop that is asked for, not an exception raised
wherever the program happens to be (inside HDF5, an exception can leave the library hung).

Imports nothing heavy: the simulator and the record writer both use it.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Callable


@contextmanager
def stop_on_signals(stop: Callable[[str], None]):
    """SIGINT and SIGTERM ask `stop` to end the run; a second Ctrl-C interrupts at once.

    Only the main thread may set handlers; elsewhere (tests, the GUI's worker) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen = []

    def on_signal(signum, frame):
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        if seen and signum == signal.SIGINT:
            raise KeyboardInterrupt
        seen.append(signum)
        stop(f"{name} received")

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def ctrl_c_after():
    """Hold a Ctrl-C that arrives inside HDF5 until the block is done, then raise it.

    A KeyboardInterrupt raised in the middle of an HDF5 call can leave the library
    hung; raised between records it only stops the loop, and closing still works.
    Signal handlers can only be set from the main thread; elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught and previous is signal.default_int_handler:
            raise KeyboardInterrupt
        if caught and callable(previous):
            previous(signal.SIGINT, None)
