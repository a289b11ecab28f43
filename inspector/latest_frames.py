"""The bounded slot between acquisition and the model, which keeps the newest pairs: a slow model
never builds a backlog and always works on the newest cavities."""

from __future__ import annotations

import collections
import threading
from typing import Optional


class LatestFrames:
    """A bounded slot that keeps the newest items: putting one into a full slot pushes out the
    oldest (counted), or, with `block`, waits for room."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self.dropped = 0
        self.closed = False

    def put(self, item, *, block: bool = False, stop: Optional[threading.Event] = None) -> None:
        with self._cond:
            while block and len(self._items) >= self.capacity and not self.closed:
                if stop is not None and stop.is_set():
                    self.dropped += 1
                    return
                self._cond.wait(0.1)
            if self.closed:  # arrived after the run stopped taking pairs
                self.dropped += 1
                return
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()

    def take(self, most: int, timeout: float) -> list:
        """Up to `most` items, oldest first, waiting up to `timeout` for the first."""
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout)
            n = min(most, len(self._items))
            out = [self._items.popleft() for _ in range(n)]
            self._cond.notify_all()
            return out

    def close(self) -> int:
        """No more items; returns how many were still waiting (now discarded)."""
        with self._cond:
            self.closed = True
            left = len(self._items)
            self._items.clear()
            self._cond.notify_all()
            return left

    def __len__(self) -> int:
        return len(self._items)
