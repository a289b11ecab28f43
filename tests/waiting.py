"""Waiting in tests by events, not by the machine's speed.

A test that asserts "returned within 1.5 s" fails on a loaded machine; what it means is
"returned, rather than hung". These helpers wait for the event itself, with a bound so generous
that only a hang reaches it.
"""

import threading
import time

HANG_S = 60.0  # long enough that only a hang, never a slow machine, reaches it


def returns_within(fn, seconds=HANG_S):
    """fn() run on a thread: its result (its exception is raised here), or a failure if it has not
    returned after `seconds`."""
    out, done = [], threading.Event()

    def call():
        try:
            out.append((True, fn()))
        except BaseException as exc:
            out.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=call, daemon=True, name="test-returns-within").start()
    assert done.wait(seconds), f"did not return within {seconds:g} s: hung"
    ok, value = out[0]
    if not ok:
        raise value
    return value


def wait_for(check, seconds=HANG_S, step=0.02):
    """Whether check() comes true. The bound only catches a hang: it is generous because a loaded
    machine is slow, and a check that comes true ends the wait at once."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()
