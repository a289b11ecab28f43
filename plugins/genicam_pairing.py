"""Pairing the frames of two cameras: by shot where the source triggers them, by timestamp always.

Plain data and no Aravis, so the rules can be tested on their own:

* Two frames make a pair when their host receive times lie within the pairing
  window of each other and, under software trigger, they answer the same shot.
  A frame that is not paired is counted as unpaired and dropped, never paired
  with a frame of another shot: one inspection from two different parts is
  worse than none.
* Under software trigger each camera counts its triggers in its frame ids (the
  GigE Vision block id goes up by one per frame it sends). A frame whose id is
  behind the number of shots since that camera's last frame is a straggler of an
  earlier shot that arrived after the next trigger went out; receive time alone
  would hand it to the wrong shot, its id does not. GigE Vision 1 block ids are
  16 bits and skip 0, so the count wraps at 65535.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

# How long past the window a lone frame waits: a partner received inside the window may still be on
# its way from the camera's grab thread to the pairer.
GRACE_S = 0.2


@dataclass
class Frame:
    """One image from one camera, as its grab thread hands it on."""

    camera: int  # 0 or 1
    image: np.ndarray
    frame_id: int
    timestamp: float  # host receive time, seconds since the epoch
    shot: int = -1  # the software trigger it answers; -1 without software trigger
    camera_time: float = 0.0  # the camera's own timestamp, seconds (its clock, not the host's)
    meta: dict = field(default_factory=dict)


def id_gap(new: int, old: int) -> int:
    """How many frames the camera sent from `old` to `new`, across a 16-bit wrap."""
    gap = new - old
    if 0 < new <= 0xFFFF and 0 < old <= 0xFFFF and gap < -0x7FFF:
        gap += 0xFFFF
    return gap


class Pairer:
    """Frames in, pairs out. Not thread-safe: the source calls it under its lock."""

    def __init__(self, window_s: float, by_shot: bool):
        self.window_s = window_s
        self.by_shot = by_shot
        self.queues = (collections.deque(), collections.deque())
        self.last: list[Optional[tuple[int, int]]] = [None, None]  # per camera: (shot, frame id) last seen
        self.unpaired = 0
        self.stale = 0  # of the unpaired: stragglers of an earlier shot, told by their frame id

    def add(self, frame: Frame) -> None:
        """Queue a complete frame for pairing. (Incomplete ones never come here: their frame ids and
        timestamps can be those of an earlier frame whose late packets Aravis took for a new one.)"""
        if self.by_shot and frame.shot >= 0:
            last = self.last[frame.camera]
            if last is not None and frame.shot > last[0]:
                gap = id_gap(frame.frame_id, last[1])
                if gap < frame.shot - last[0]:
                    if gap > 0:
                        self.last[frame.camera] = (last[0] + gap, frame.frame_id)
                    self.unpaired += 1
                    self.stale += 1
                    return
            self.last[frame.camera] = (frame.shot, frame.frame_id)
        self.queues[frame.camera].append(frame)

    def forget_ids(self, camera: int) -> None:
        """A camera was re-opened: its frame ids start afresh."""
        self.last[camera] = None

    def pop_pair(self, now: float) -> Optional[tuple[Frame, Frame]]:
        """The oldest pair ready now, after dropping (and counting) the frames that cannot be paired."""
        q1, q2 = self.queues
        while q1 and q2:
            a, b = q1[0], q2[0]
            same_shot = not self.by_shot or a.shot == b.shot
            if same_shot and abs(a.timestamp - b.timestamp) <= self.window_s:
                return q1.popleft(), q2.popleft()
            if self.by_shot and a.shot != b.shot:
                older = q1 if a.shot < b.shot else q2
            else:
                older = q1 if a.timestamp <= b.timestamp else q2
            older.popleft()
            self.unpaired += 1
        for q in self.queues:
            while q and now - q[0].timestamp > self.window_s + GRACE_S:
                q.popleft()
                self.unpaired += 1
        return None

    def drop_shots_before(self, shot: int) -> None:
        """Give up on every frame of a shot before `shot` (its partner did not come in time)."""
        for q in self.queues:
            while q and q[0].shot < shot:
                q.popleft()
                self.unpaired += 1

    def clear(self) -> None:
        for q in self.queues:
            self.unpaired += len(q)
            q.clear()
