"""The history of the cameras a run lost: since when each is lost, and how long it was lost in all.

A source only says which cameras do not answer now (`SourceCounters.lost`); the summary wants to
say how long a camera was away even after it came back, so the pipeline feeds each snapshot here.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Optional

log = logging.getLogger("inspector.pipeline")


class LostCameras:
    def __init__(self):
        self._lock = threading.Lock()
        self._since: dict[str, float] = {}  # lost now: since when (monotonic)
        self._before: dict[str, float] = {}  # seconds of the spells that ended, per camera

    def update(self, lost: dict, now: Optional[float] = None) -> None:
        """The source's cameras lost now (name → why)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for name, why in lost.items():
                if name not in self._since:
                    self._since[name] = now
                    self._before.setdefault(name, 0.0)
                    log.warning("%s lost: %s", name, why)
            for name in [n for n in self._since if n not in lost]:
                spell = now - self._since.pop(name)
                self._before[name] += spell
                log.warning("%s back after %.1f s", name, spell)

    def seconds(self, now: Optional[float] = None) -> dict:
        """Each camera ever lost in this run → seconds lost in all, the spell still going included."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return {name: s + (now - self._since[name] if name in self._since else 0.0)
                    for name, s in self._before.items()}
