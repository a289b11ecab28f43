"""Two OpenCV video captures as one source: files replayed in lockstep, or cameras watched live.

The source checks its options, starts a worker thread per camera (`plugins.video_workers`, which says
why every capture has a thread of its own) and pairs what the workers deliver. What a capture is and
how it is opened is in `plugins.video_capture`.

Why it is built this way:

* A file that does not exist or cannot be opened fails at `open()`: files do not
  come back by waiting. A camera that is not there yet is waited for when
  reconnect is on, because cameras get plugged in and powered up late; not in
  `open()`, though, for longer than a read may take: the run starts, reports the
  camera lost and can be stopped, while the camera is waited for.
* In replay, files of unequal length end at the shorter one, and the message says
  how many frames of the longer one could not be paired, rather than pairing them
  with nothing.
"""

from __future__ import annotations

import collections
import math
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from inspector.acquisition import EndOfSource, FrameError, FramePair, Source, SourceError, sleep_until
from plugins.video_capture import End, Frame, Input, classify, open_capture
from plugins.video_workers import Camera, CaptureWorkers, Worker

_MODES = ("auto", "replay", "live")


class VideoSource(CaptureWorkers, Source):
    """Camera 1 and camera 2 from `cv2.VideoCapture`: video files, device indices or streams."""

    name = "video"
    raw = True

    @dataclass
    class Options:
        cam1: str = field(default="", metadata={"help": "camera 1: a video file, or a device index such as 0"})
        cam2: str = field(default="", metadata={"help": "camera 2: a video file, or a device index such as 1"})
        mode: str = field(default="auto", metadata={"engineer": True,
            "help": "replay (every frame of both files, in step), live (newest frame of each camera, "
                    "older ones dropped) or auto (replay for two files, live otherwise)"})
        rate: float = field(default=0.0, metadata={
            "help": "pairs per second in replay, and frames per second of a file read live "
                    "(0: replay as fast as read; live files at their own frame rate)"})
        open_timeout: float = field(default=5.0, metadata={"engineer": True,
            "help": "seconds an input may take to open"})
        read_timeout: float = field(default=2.0, metadata={"engineer": True,
            "help": "seconds a frame may take; a live camera silent for longer is reconnected"})
        reconnect: bool = field(default=True, metadata={"engineer": True,
            "help": "reopen a live input that fails or ends, with backoff (a live file then loops)"})
        backoff: float = field(default=0.5, metadata={"engineer": True,
            "help": "seconds before the first reconnect attempt"})
        backoff_max: float = field(default=5.0, metadata={"engineer": True,
            "help": "longest wait between reconnect attempts (the wait doubles up to this)"})
        cavity_id: int = field(default=0, metadata={"engineer": True,
            "help": "cavity id written into every frame pair"})
        raw: bool = field(default=True, metadata={"engineer": True,
            "help": "true: raw camera images (need the rig); false: views already on the cavity plane"})

    def __init__(self, **options: Any):
        super().__init__(**options)
        o = self.options
        self.raw = bool(o.raw)
        for key in ("cam1", "cam2"):
            if not str(getattr(o, key)).strip():
                raise SourceError(f"source video: option {key} is required (a video file path, or a device index such as 0)")
        if o.mode not in _MODES:
            raise SourceError(f"source video: option mode={o.mode!r} is not one of {', '.join(_MODES)}")
        for key, low, inclusive in (("rate", 0.0, True), ("open_timeout", 0.0, False), ("read_timeout", 0.0, False),
                                    ("backoff", 0.0, False), ("backoff_max", 0.0, False)):
            value = getattr(o, key)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < low or (value == low and not inclusive):
                bound = f">= {low:g}" if inclusive else f"> {low:g}"
                raise SourceError(f"source video: option {key}={value!r} must be a number {bound}")
        if o.backoff_max < o.backoff:
            raise SourceError(f"source video: option backoff_max={o.backoff_max:g} is shorter than backoff={o.backoff:g}")
        self._inputs = (classify(o.cam1, 1), classify(o.cam2, 2))
        files = [inp.kind == "file" for inp in self._inputs]
        if o.mode == "replay" and not all(files):
            inp = self._inputs[files.index(False)]
            raise SourceError(f"source video: mode=replay reads video files to their end, but {inp.label} "
                              f"is not a file (use mode=live)")
        self.live = o.mode == "live" or (o.mode == "auto" and not all(files))
        # What the pipeline and tests can watch; all but `stalled_threads` change under the lock.
        self.failed_reads = 0  # reads that brought no frame where one was due, and hung reads
        self.connect_attempts = 0  # every capture creation, the first ones included
        self.stalls = 0  # workers abandoned inside a cv2 call
        self.backoff_waits: collections.deque = collections.deque(maxlen=64)  # (camera "1"/"2", seconds)
        self.stalled_threads: list[threading.Thread] = []  # daemon threads left inside cv2 at close
        self._cams: tuple[Camera, ...] = ()
        self._stop = threading.Event()
        self._cond = threading.Condition(threading.Lock())
        self._supervisor: Optional[threading.Thread] = None
        self._abandoned: list[Worker] = []
        self._end: Optional[str] = None
        self._due: Optional[float] = None

    # -- Source ----------------------------------------------------------------------------
    def _open(self) -> None:
        o = self.options
        for inp in self._inputs:
            if inp.kind == "file":
                if not os.path.exists(inp.target):
                    raise SourceError(f"{inp.label} does not exist")
                if not os.path.isfile(inp.target):
                    raise SourceError(f"{inp.label} is not a file")
        self._stop = threading.Event()
        self._cond = threading.Condition(threading.Lock())
        self._cams = tuple(Camera(inp) for inp in self._inputs)
        self._abandoned = []
        self._end = None
        self._due = None
        with self._cond:
            for cam in self._cams:
                self._start_worker(cam, Worker(cam, 0, o.backoff, wait_first=False))
            if self.live:
                self._supervisor = threading.Thread(target=self._supervise, name="video-source-supervisor", daemon=True)
                self._supervisor.start()
        try:
            started = time.monotonic()
            deadline = started + o.open_timeout + 1.0
            for cam in self._cams:
                waits_for_it = self.live and o.reconnect and cam.inp.kind != "file"
                # A camera that is waited for holds up the start no longer than a read may take: the run
                # (and its Stop) must not sit in open() while the camera is lost.
                limit = min(deadline, started + o.read_timeout) if waits_for_it else deadline
                if not cam.first_attempt.wait(max(0.0, limit - time.monotonic())):
                    if waits_for_it:
                        continue
                    raise SourceError(f"{cam.inp.label} did not open within {o.open_timeout:g} s")
                if cam.first_error is not None and not waits_for_it:
                    raise SourceError(cam.first_error)
        except BaseException:
            self._shutdown()
            raise

    def _read(self, timeout: float) -> Optional[FramePair]:
        return self._read_live(timeout) if self.live else self._read_replay(timeout)

    def _close(self) -> None:
        self._shutdown()

    # -- the capture; tests replace this to simulate hangs and damaged frames ---------------
    def _create_capture(self, inp: Input) -> Any:
        """An opened capture for `inp`, or None."""
        return open_capture(inp, self.options.open_timeout, self.options.read_timeout)

    # -- reading ----------------------------------------------------------------------------
    def _read_live(self, timeout: float) -> Optional[FramePair]:
        deadline = time.monotonic() + timeout
        c1, c2 = self._cams
        with self._cond:
            while not (c1.fresh and c2.fresh):
                for cam in self._cams:
                    if cam.gone is not None and not cam.fresh:
                        raise EndOfSource(cam.gone)
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(left)
            f1, f2 = c1.newest, c2.newest
            c1.fresh = c2.fresh = False
        return self._pair(f1, f2)

    def _read_replay(self, timeout: float) -> Optional[FramePair]:
        if self._end is not None:
            raise EndOfSource(self._end)
        start = time.monotonic()
        deadline = start + timeout
        if self._due is not None and self._due > start:
            if self._due > deadline:
                sleep_until(deadline, self._stop.is_set)
                return None
            sleep_until(self._due, self._stop.is_set)
        c1, c2 = self._cams
        with self._cond:
            while not (c1.queue and c2.queue):
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(left)
            h1, h2 = c1.queue[0], c2.queue[0]
            if isinstance(h1, End) or isinstance(h2, End):
                self._end = self._end_message(h1, h2)
                self._stop.set()  # the workers have nothing left to do; close() still joins them
                self._cond.notify_all()
                raise EndOfSource(self._end)
            c1.queue.popleft()
            c2.queue.popleft()
            self._cond.notify_all()
        if self.options.rate > 0:
            now = time.monotonic()
            period = 1.0 / self.options.rate
            self._due = now + period if self._due is None else max(self._due + period, now)
        return self._pair(h1, h2)

    def _end_message(self, h1: Union[Frame, End], h2: Union[Frame, End]) -> str:
        c1, c2 = self._cams
        for head in (h1, h2):
            if isinstance(head, End) and head.reason:
                return head.reason
        if isinstance(h1, End) and isinstance(h2, End):
            return f"{c1.inp.label} and {c2.inp.label} both ended after {h1.count} frames"
        short, long_ = (c1, c2) if isinstance(h1, End) else (c2, c1)
        end = h1 if isinstance(h1, End) else h2
        n = end.count
        note = f" (its header said {end.declared})" if end.declared and end.declared != n else ""
        left = long_.frame_count - n
        if left >= len(long_.queue) and left > 0:
            rest = f"the last {left} frames of camera {long_.inp.slot} (frames {n} to {long_.frame_count - 1})"
        else:
            rest = f"at least {len(long_.queue)} more frames of camera {long_.inp.slot}"
        return (f"camera {short.inp.slot} ended at frame {n}{note}, before camera {long_.inp.slot}: "
                f"{rest} cannot be paired and were not used ({short.inp.label}; {long_.inp.label})")

    def _pair(self, f1: Frame, f2: Frame) -> FramePair:
        ids = (f1.index, f2.index)
        problems = [f"camera {slot} ({inp.spec}) frame {f.index} {f.problem}"
                    for slot, inp, f in ((1, self._inputs[0], f1), (2, self._inputs[1], f2)) if f.problem]
        if problems:
            raise FrameError(f"{'; '.join(problems)}; pair {ids} skipped", cavity_id=self.options.cavity_id, frame_ids=ids)
        return FramePair(
            image1=f1.image,
            image2=f2.image,
            camera_ids=("1", "2"),
            cavity_id=self.options.cavity_id,
            frame_ids=ids,
            timestamps=(f1.timestamp, f2.timestamp),
            meta={"inputs": (self.options.cam1, self.options.cam2)},
        )
