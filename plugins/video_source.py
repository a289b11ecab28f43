"""Two OpenCV video captures as one source: files replayed in lockstep, or cameras watched live.

Why it is built this way:

* Every capture is read by a worker thread of its own, in both modes. OpenCV's
  `VideoCapture.read()` can block for good after a camera goes away (opencv #4468,
  #22677), and the pipeline relies on `read(timeout)` coming back within about
  `timeout`; only a consumer that waits on a condition with a deadline, never on
  cv2 itself, can promise that.
* A worker is the only thread that ever touches its capture (open, read,
  release). Releasing a capture while another thread is inside `read()` is not
  safe in OpenCV, so `close()` asks workers to stop and they release what they own.
* No lock is held across a cv2 call: a worker hung in `read()` while holding the
  lock would freeze the consumer, the supervisor and `close()` along with it.
* A Python thread cannot be killed. In live mode a supervisor thread notices a
  worker that has been inside open/read for longer than its timeout, marks it
  abandoned and starts a new worker with a new capture. The old one is a daemon, so
  it cannot keep the process alive; should its call ever return, it releases its
  capture and exits without publishing anything. FFmpeg's own open/read timeouts
  are passed as well, but V4L has none and can even report success after an
  unplug (opencv #14044), so the watchdog is what makes the promise hold.
* Replay must lose nothing: frame k of camera 1 belongs with frame k of camera 2.
  Each worker feeds a short bounded queue and waits while the consumer is behind;
  the queue also lets both files decode in parallel, ahead of the consumer.
  Live must not lag: each worker keeps only the newest frame, and a frame
  overwritten before it was read is counted as dropped, because inspecting a stale
  frame is worse than skipping one.
* A live input that fails (open fails, read fails, read hangs, a file ends) is a
  camera that went away: release it, wait backoff, 2×backoff, … up to backoff_max,
  and create a new capture. Re-creating is the one recovery that works on every
  backend. A file read live therefore loops, one reconnect per pass (paced at
  `rate`, or at the file's own frame rate, as a camera would be), which is also how
  the reconnect path is exercised without hardware.
* A file that does not exist or cannot be opened fails at `open()`: files do not
  come back by waiting. A camera that is not there yet is waited for when
  reconnect is on, because cameras get plugged in and powered up late.
* In replay a failed read is only called a bad frame (FrameError) when a later
  frame of the same file decodes; a run of failed reads is the end of the file.
  CAP_PROP_FRAME_COUNT is often an estimate (duration × fps), so trusting it would
  report errors for frames that never existed. Files of unequal length end at the
  shorter one, and the message says how many frames of the longer one could not be
  paired, rather than pairing them with nothing.
"""

from __future__ import annotations

import collections
import math
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import cv2
import numpy as np

from inspector.acquisition import EndOfSource, FrameError, FramePair, Source, SourceError, sleep_until

_QUEUE = 3  # replay frames decoded ahead per camera: enough to overlap decoding with the consumer
_FAILED_IN_A_ROW = 5  # failed reads in a row that mean a replayed file is over, not damaged
_MODES = ("auto", "replay", "live")


@dataclass
class _Input:
    slot: int  # 1 or 2
    spec: str  # as the user gave it
    kind: str  # "file", "device" or "stream"
    target: Union[str, int]

    @property
    def label(self) -> str:
        what = {"file": "video file", "device": "video device", "stream": "stream"}[self.kind]
        return f"camera {self.slot}: {what} {self.target}"


def _classify(spec: str, slot: int) -> _Input:
    text = spec.strip()
    if text.isascii() and text.isdigit():
        return _Input(slot, spec, "device", int(text))
    if "://" in text:  # rtsp://, http://: a network camera, read by FFmpeg, reconnected like a device
        return _Input(slot, spec, "stream", text)
    return _Input(slot, spec, "file", text)


@dataclass
class _Frame:
    index: int
    image: Optional[np.ndarray]  # RGB, C-contiguous, owned; None when `problem` says why
    timestamp: float
    problem: Optional[str] = None


@dataclass
class _End:
    count: int  # frames the file held (index of the first read that found nothing)
    declared: int  # CAP_PROP_FRAME_COUNT, 0 when unknown
    reason: Optional[str] = None  # set when the worker stopped for another reason than the end


class _Worker:
    """One thread reading one capture; replaced, never revived, when it hangs."""

    def __init__(self, cam: "_Camera", generation: int, delay: float, wait_first: bool):
        self.cam = cam
        self.generation = generation
        self.delay = delay  # the next backoff wait
        self.wait_first = wait_first  # back off before the first connection attempt
        self.abandoned = False
        self.busy: Optional[tuple[float, float]] = None  # (since, limit) while inside a cv2 call
        self.thread: Optional[threading.Thread] = None


class _Camera:
    def __init__(self, inp: _Input):
        self.inp = inp
        self.worker: Optional[_Worker] = None
        self.first_attempt = threading.Event()
        self.first_error: Optional[str] = None
        self.connected_before = False
        self.next_index = 0  # live: frames published so far, across reconnects
        self.newest: Optional[_Frame] = None  # live
        self.fresh = False  # live: `newest` has not been read yet
        self.gone: Optional[str] = None  # live: why this camera will deliver nothing more
        self.queue: collections.deque = collections.deque()  # replay: _Frame ... _End
        self.frame_count = 0  # replay: CAP_PROP_FRAME_COUNT, 0 when unknown


def _to_rgb(frame: Any) -> tuple[Optional[np.ndarray], Optional[str]]:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        return None, f"is not a 3-channel uint8 image (shape {shape}, {dtype})"
    return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)), None


class VideoSource(Source):
    """Camera 1 and camera 2 from `cv2.VideoCapture`: video files, device indices or streams."""

    name = "video"
    raw = True

    @dataclass
    class Options:
        cam1: str = field(default="", metadata={"help": "camera 1: a video file, or a device index such as 0"})
        cam2: str = field(default="", metadata={"help": "camera 2: a video file, or a device index such as 1"})
        mode: str = field(default="auto", metadata={
            "help": "replay (every frame of both files, in step), live (newest frame of each camera, "
                    "older ones dropped) or auto (replay for two files, live otherwise)"})
        rate: float = field(default=0.0, metadata={
            "help": "pairs per second in replay, and frames per second of a file read live "
                    "(0: replay as fast as read; live files at their own frame rate)"})
        open_timeout: float = field(default=5.0, metadata={"help": "seconds an input may take to open"})
        read_timeout: float = field(default=2.0, metadata={
            "help": "seconds a frame may take; a live camera silent for longer is reconnected"})
        reconnect: bool = field(default=True, metadata={
            "help": "reopen a live input that fails or ends, with backoff (a live file then loops)"})
        backoff: float = field(default=0.5, metadata={"help": "seconds before the first reconnect attempt"})
        backoff_max: float = field(default=5.0, metadata={
            "help": "longest wait between reconnect attempts (the wait doubles up to this)"})
        cavity_id: int = field(default=0, metadata={"help": "cavity id written into every frame pair"})
        raw: bool = field(default=True, metadata={
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
        self._inputs = (_classify(o.cam1, 1), _classify(o.cam2, 2))
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
        self._cams: tuple[_Camera, ...] = ()
        self._stop = threading.Event()
        self._cond = threading.Condition(threading.Lock())
        self._supervisor: Optional[threading.Thread] = None
        self._abandoned: list[_Worker] = []
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
        self._cams = tuple(_Camera(inp) for inp in self._inputs)
        self._abandoned = []
        self._end = None
        self._due = None
        with self._cond:
            for cam in self._cams:
                self._start_worker(cam, _Worker(cam, 0, o.backoff, wait_first=False))
            if self.live:
                self._supervisor = threading.Thread(target=self._supervise, name="video-source-supervisor", daemon=True)
                self._supervisor.start()
        try:
            deadline = time.monotonic() + o.open_timeout + 1.0
            for cam in self._cams:
                waits_for_it = self.live and o.reconnect and cam.inp.kind != "file"
                if not cam.first_attempt.wait(max(0.0, deadline - time.monotonic())):
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
    def _create_capture(self, inp: _Input) -> Any:
        """An opened capture for `inp`, or None."""
        o = self.options
        if inp.kind == "file" and not os.path.isfile(inp.target):
            return None  # FFmpeg would only log a warning; this is cheaper and quieter
        try:
            if inp.kind == "device":
                # The FFmpeg timeouts would make V4L refuse the open ("unsupported parameters"),
                # so a device gets them, and a one-frame buffer, only where its backend takes them.
                cap = cv2.VideoCapture(inp.target)
                if cap.isOpened():
                    for prop, value in ((cv2.CAP_PROP_BUFFERSIZE, 1),
                                        (cv2.CAP_PROP_READ_TIMEOUT_MSEC, _ms(o.read_timeout))):
                        try:
                            cap.set(prop, value)
                        except cv2.error:
                            pass
            else:
                cap = cv2.VideoCapture(inp.target, cv2.CAP_FFMPEG, [
                    cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, _ms(o.open_timeout),
                    cv2.CAP_PROP_READ_TIMEOUT_MSEC, _ms(o.read_timeout),
                ])
        except cv2.error:
            return None
        if not cap.isOpened():
            cap.release()
            return None
        return cap

    # -- workers ----------------------------------------------------------------------------
    def _start_worker(self, cam: _Camera, worker: _Worker) -> None:
        """Called with the lock held, so that close() never sees a worker that is not started."""
        run = self._run_live if self.live else self._run_replay
        worker.thread = threading.Thread(target=run, args=(cam, worker), daemon=True,
                                         name=f"video-source-cam{cam.inp.slot}-worker{worker.generation}")
        cam.worker = worker
        worker.thread.start()

    def _finished(self, worker: _Worker) -> bool:
        return self._stop.is_set() or worker.abandoned

    def _connect(self, cam: _Camera, worker: _Worker) -> Any:
        with self._cond:
            self.connect_attempts += 1
        worker.busy = (time.monotonic(), self.options.open_timeout)
        try:
            cap = self._create_capture(cam.inp)
        finally:
            worker.busy = None
        if cap is not None and self._finished(worker):
            cap.release()
            return None
        return cap

    def _timed_read(self, worker: _Worker, cap: Any) -> tuple[bool, Any]:
        worker.busy = (time.monotonic(), self.options.read_timeout)
        try:
            return cap.read()
        finally:
            worker.busy = None

    def _open_failed(self, cam: _Camera) -> str:
        if cam.inp.kind == "file":
            return f"{cam.inp.label} cannot be opened (not a video that OpenCV's FFmpeg backend can read)"
        return f"{cam.inp.label} cannot be opened"

    def _run_replay(self, cam: _Camera, worker: _Worker) -> None:
        cap = None
        end: Optional[_End] = None
        try:
            cap = self._connect(cam, worker)
            if cap is None:
                cam.first_error = self._open_failed(cam)
                cam.first_attempt.set()
                return
            declared = int(max(0.0, cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0))
            cam.frame_count = declared
            cam.first_attempt.set()
            index, failed = 0, []  # failed: indices of reads in a row that brought nothing
            while not self._stop.is_set():
                ok, frame = self._timed_read(worker, cap)
                stamp = time.time()
                if ok and frame is not None:
                    for i in failed:  # something decoded after them: they were damaged, not the end
                        with self._cond:
                            self.failed_reads += 1
                        if not self._put(cam, _Frame(i, None, stamp, "could not be decoded")):
                            return
                    failed = []
                    image, problem = _to_rgb(frame)
                    if not self._put(cam, _Frame(index, image, stamp, problem)):
                        return
                else:
                    failed.append(index)
                    if len(failed) >= _FAILED_IN_A_ROW:
                        end = _End(failed[0], declared)
                        break
                index += 1
        except Exception as exc:  # a bug or a cv2 surprise: say so where the consumer will see it
            end = _End(-1, 0, f"{cam.inp.label}: reading stopped: {type(exc).__name__}: {exc}")
            cam.first_error = cam.first_error or end.reason
            cam.first_attempt.set()
        finally:
            if cap is not None:
                cap.release()
            if end is not None:
                self._put(cam, end)

    def _put(self, cam: _Camera, item: Union[_Frame, _End]) -> bool:
        with self._cond:
            while len(cam.queue) >= _QUEUE and not self._stop.is_set():
                self._cond.wait(0.2)
            if self._stop.is_set():
                return False
            cam.queue.append(item)
            self._cond.notify_all()
            return True

    def _run_live(self, cam: _Camera, worker: _Worker) -> None:
        o = self.options
        inp = cam.inp
        cap = None
        try:
            period = 0.0
            due = 0.0
            declared = 0
            got = 0  # frames since this capture was opened
            while not self._finished(worker):
                if cap is None:
                    if worker.wait_first:
                        delay = worker.delay
                        worker.delay = min(2.0 * delay, o.backoff_max)
                        with self._cond:
                            self.backoff_waits.append((str(inp.slot), delay))
                        if self._stop.wait(delay):
                            break
                    worker.wait_first = True  # every later attempt follows a failure
                    cap = self._connect(cam, worker)
                    if self._finished(worker):
                        break
                    if cap is None:
                        if not cam.first_attempt.is_set():
                            cam.first_error = self._open_failed(cam)
                            cam.first_attempt.set()
                            if inp.kind == "file":
                                return  # open() reports it; a file does not appear by waiting
                        if not o.reconnect:
                            self._give_up(cam, worker, f"{inp.label} cannot be opened and reconnect is off")
                            return
                        continue
                    with self._cond:
                        if worker.abandoned:
                            break
                        if cam.connected_before:
                            self.counters.reconnects += 1
                        cam.connected_before = True
                    cam.first_attempt.set()
                    got = 0
                    period = 0.0
                    if inp.kind == "file":
                        declared = int(max(0.0, cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0))
                        fps = o.rate or float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
                        period = 1.0 / fps if 0.0 < fps <= 1000.0 else 1.0 / 30.0
                    due = time.monotonic()
                ok, frame = self._timed_read(worker, cap)
                stamp = time.time()
                if self._finished(worker):
                    break
                if not ok or frame is None:
                    # A file that ends is a camera that went away; only a read short of the
                    # declared length counts as failed.
                    at_end = inp.kind == "file" and (declared <= 0 or got >= declared)
                    cap.release()
                    cap = None
                    with self._cond:
                        if not at_end:
                            self.failed_reads += 1
                    if not o.reconnect:
                        what = "ended" if at_end else "stopped delivering frames"
                        self._give_up(cam, worker, f"{inp.label} {what} and reconnect is off")
                        return
                    continue
                got += 1
                worker.delay = o.backoff  # frames flow again: the next failure starts the backoff afresh
                image, problem = _to_rgb(frame)
                with self._cond:
                    if worker.abandoned:
                        break
                    if cam.fresh:
                        self.counters.dropped += 1
                    cam.newest = _Frame(cam.next_index, image, stamp, problem)
                    cam.next_index += 1
                    cam.fresh = True
                    self._cond.notify_all()
                if period:
                    now = time.monotonic()
                    due = max(due + period, now - period)  # a late frame does not start a burst
                    if due > now and self._stop.wait(due - now):
                        break
        except Exception as exc:
            self._give_up(cam, worker, f"{inp.label}: reading stopped: {type(exc).__name__}: {exc}")
        finally:
            if cap is not None:
                cap.release()
            cam.first_attempt.set()

    def _give_up(self, cam: _Camera, worker: _Worker, why: str) -> None:
        with self._cond:
            if not worker.abandoned:
                cam.gone = why
                if not cam.first_attempt.is_set():
                    cam.first_error = why
                self._cond.notify_all()
        cam.first_attempt.set()

    def _supervise(self) -> None:
        step = min(0.05, self.options.read_timeout / 4)
        while not self._stop.wait(step):
            now = time.monotonic()
            for cam in self._cams:
                worker = cam.worker
                busy = worker.busy if worker is not None else None
                if busy is None or now - busy[0] <= busy[1]:
                    continue
                with self._cond:
                    if self._stop.is_set() or cam.worker is not worker or worker.busy is None:
                        continue
                    worker.abandoned = True
                    self._abandoned.append(worker)
                    self.stalls += 1
                    self.failed_reads += 1
                    if self.options.reconnect:
                        self._start_worker(cam, _Worker(cam, worker.generation + 1, worker.delay, wait_first=True))
                    else:
                        cam.gone = f"{cam.inp.label} hung for more than {busy[1]:g} s and reconnect is off"
                        if not cam.first_attempt.is_set():
                            cam.first_error = cam.gone
                        self._cond.notify_all()
                        cam.first_attempt.set()

    def _shutdown(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
            threads = [cam.worker.thread for cam in self._cams if cam.worker is not None and cam.worker.thread]
            abandoned = [w.thread for w in self._abandoned if w.thread is not None]
        if self._supervisor is not None:
            threads.append(self._supervisor)
        deadline = time.monotonic() + self.options.read_timeout + 0.5
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        # Those still alive are inside a cv2 call that did not return; they are daemons and
        # release their capture if it ever does.
        self.stalled_threads = [t for t in threads + abandoned if t.is_alive()]
        self._supervisor = None

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
            if isinstance(h1, _End) or isinstance(h2, _End):
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

    def _end_message(self, h1: Union[_Frame, _End], h2: Union[_Frame, _End]) -> str:
        c1, c2 = self._cams
        for head in (h1, h2):
            if isinstance(head, _End) and head.reason:
                return head.reason
        if isinstance(h1, _End) and isinstance(h2, _End):
            return f"{c1.inp.label} and {c2.inp.label} both ended after {h1.count} frames"
        short, long_ = (c1, c2) if isinstance(h1, _End) else (c2, c1)
        end = h1 if isinstance(h1, _End) else h2
        n = end.count
        note = f" (its header said {end.declared})" if end.declared and end.declared != n else ""
        left = long_.frame_count - n
        if left >= len(long_.queue) and left > 0:
            rest = f"the last {left} frames of camera {long_.inp.slot} (frames {n} to {long_.frame_count - 1})"
        else:
            rest = f"at least {len(long_.queue)} more frames of camera {long_.inp.slot}"
        return (f"camera {short.inp.slot} ended at frame {n}{note}, before camera {long_.inp.slot}: "
                f"{rest} cannot be paired and were not used ({short.inp.label}; {long_.inp.label})")

    def _pair(self, f1: _Frame, f2: _Frame) -> FramePair:
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


def _ms(seconds: float) -> int:
    return max(1, int(round(seconds * 1000.0)))
