"""A guard against a PySide6 build that loses references to None, True and False.

PySide6-Essentials 6.12.0 (abi3 wheel, cp310 tag) returns None from void methods,
and a bool a Python slot returns, without the reference the caller gives back:
every `QPainter.drawLine`, `setPen`, `setText`… costs None one reference. On
Python ≥ 3.12 these singletons are immortal and nothing happens; on 3.10 and 3.11
None's count (about 30,000 in this application) falls by some 2,700 a second
while the operator view redraws, and the interpreter aborts with
"none_dealloc: deallocating None" within a minute, or at exit after the tests.

`guard()` checks whether the running PySide6 has the defect and, only then, gives
the three singletons the practically infinite count Python 3.12 gives them. It is
idempotent and costs one probe of a hundred calls.
"""

from __future__ import annotations

import ctypes
import sys

IMMORTAL = 1 << 60  # decades of loss at any plausible rate, far from the ssize_t limit


def _loses_none_references() -> bool:
    from PySide6 import QtCore

    probe = QtCore.QObject()
    before = sys.getrefcount(None)
    for _ in range(100):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before - 50


def guard() -> bool:
    """Protect None, True and False if this PySide6 loses references to them; True if it does."""
    if sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount"):
        return False  # immortal singletons; or a debug build, whose object header differs
    if sys.getrefcount(None) > IMMORTAL // 2:
        return True  # done already in this process
    if not _loses_none_references():
        return False
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every object in a release build of CPython ≤ 3.11.
        ctypes.c_ssize_t.from_address(id(singleton)).value += IMMORTAL
    return True
