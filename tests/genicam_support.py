"""The genicam tests' tools: whether the fake cameras can run, waiting, and the source opened on them as
the tests do. The fixtures that start and stop the cameras are in conftest.py."""

import os
import threading
import time

import pytest

from inspector.bench import fake_cameras
from inspector.plugins import PluginRegistry
from waiting import HANG_S

REGISTRY = PluginRegistry.discover()
WHY_NOT = fake_cameras.why_unavailable(REGISTRY)
# The README's test command installs Aravis, its fake camera and PyGObject, so CI runs these for real;
# a machine without them fails here, unless it says it knows (INSPECTOR_ALLOW_NO_ARAVIS=1).
ALLOW_SKIP = os.environ.get("INSPECTOR_ALLOW_NO_ARAVIS") == "1"


def needs_cameras(test):
    if WHY_NOT and ALLOW_SKIP:
        return pytest.mark.skip(reason=WHY_NOT)(test)
    return test
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WINDOW_MS = 100.0  # the fake cameras' 25 fps tick, with room to spare (see the module docstring)


def genicam_threads():
    return [t for t in threading.enumerate() if t.name.startswith("genicam-")]


def source(**options):
    from plugins.genicam_source import GenICamSource

    base = dict(cam1="CAM1", cam2="CAM2", pixel_format="BayerRG8", width=256, height=192, pair_window_ms=WINDOW_MS)
    return GenICamSource(**{**base, **options})


def read_pairs(src, n, read_timeout=0.5):
    pairs = []
    deadline = time.monotonic() + HANG_S
    while len(pairs) < n and time.monotonic() < deadline:
        pair = src.read(read_timeout)
        if pair is not None:
            pairs.append(pair)
    assert len(pairs) == n, f"{len(pairs)} of {n} pairs; counters {src.counters}"
    return pairs


def assert_same_triggers(frame_ids):
    """Each camera counts the triggers it answered in its frame ids: from one pair to the next both
    cameras must have moved on by the same number of triggers, so each pair answers one shot."""
    from plugins.genicam_pairing import id_gap

    for (a1, a2), (b1, b2) in zip(frame_ids, frame_ids[1:]):
        gap = id_gap(b1, a1)
        assert gap >= 1 and id_gap(b2, a2) == gap, (a1, a2, b1, b2)
