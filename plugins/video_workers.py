"""The threads that own the video source's captures: a worker per camera that opens, reads and releases
its capture (replay: every frame into a short queue; live: only the newest frame, reconnecting with
backoff), and in live mode a supervisor that replaces a worker hung inside OpenCV.

`CaptureWorkers` is a mixin of `plugins.video_source.VideoSource`, not a class of its own: it works on
the state the source keeps (options, counters, `live`, the lock, the stop event, the cameras) and opens
captures through the source's `_create_capture`, which tests replace.

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
* A live camera that cannot be opened, fails a read, or is silent inside a cv2
  call for longer than the read timeout is reported lost (`SourceCounters.lost`,
  by the worker or the supervisor) at once, and found again with its next frame,
  not with a capture that merely opens: V4L opens some cameras that deliver nothing.
  A live file's end is not a loss, only its reopening failing is.
* In replay a failed read is only called a bad frame (FrameError) when a later
  frame of the same file decodes; a run of failed reads is the end of the file.
  CAP_PROP_FRAME_COUNT is often an estimate (duration × fps), so trusting it would
  report errors for frames that never existed.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Optional, Union

import cv2

from plugins.video_capture import End, Frame, Input, to_rgb

_QUEUE = 3  # replay frames decoded ahead per camera: enough to overlap decoding with the consumer
_FAILED_IN_A_ROW = 5  # failed reads in a row that mean a replayed file is over, not damaged


class Worker:
    """One thread reading one capture; replaced, never revived, when it hangs."""

    def __init__(self, cam: "Camera", generation: int, delay: float, wait_first: bool):
        self.cam = cam
        self.generation = generation
        self.delay = delay  # the next backoff wait
        self.wait_first = wait_first  # back off before the first connection attempt
        self.abandoned = False
        self.busy: Optional[tuple[float, float]] = None  # (since, limit) while inside a cv2 call
        self.thread: Optional[threading.Thread] = None


class Camera:
    def __init__(self, inp: Input):
        self.inp = inp
        self.worker: Optional[Worker] = None
        self.first_attempt = threading.Event()
        self.first_error: Optional[str] = None
        self.connected_before = False
        self.next_index = 0  # live: frames published so far, across reconnects
        self.newest: Optional[Frame] = None  # live
        self.fresh = False  # live: `newest` has not been read yet
        self.gone: Optional[str] = None  # live: why this camera will deliver nothing more
        self.queue: collections.deque = collections.deque()  # replay: Frame ... End
        self.frame_count = 0  # replay: CAP_PROP_FRAME_COUNT, 0 when unknown


class CaptureWorkers:
    """The worker and supervisor threads of `VideoSource`, and its shutdown."""

    def _start_worker(self, cam: Camera, worker: Worker) -> None:
        """Called with the lock held, so that close() never sees a worker that is not started."""
        run = self._run_live if self.live else self._run_replay
        worker.thread = threading.Thread(target=run, args=(cam, worker), daemon=True,
                                         name=f"video-source-cam{cam.inp.slot}-worker{worker.generation}")
        cam.worker = worker
        worker.thread.start()

    def _finished(self, worker: Worker) -> bool:
        return self._stop.is_set() or worker.abandoned

    def _connect(self, cam: Camera, worker: Worker) -> Any:
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

    def _timed_read(self, worker: Worker, cap: Any) -> tuple[bool, Any]:
        worker.busy = (time.monotonic(), self.options.read_timeout)
        try:
            return cap.read()
        finally:
            worker.busy = None

    def _open_failed(self, cam: Camera) -> str:
        if cam.inp.kind == "file":
            return f"{cam.inp.label} cannot be opened (not a video that OpenCV's FFmpeg backend can read)"
        return f"{cam.inp.label} cannot be opened"

    def _run_replay(self, cam: Camera, worker: Worker) -> None:
        cap = None
        end: Optional[End] = None
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
                        if not self._put(cam, Frame(i, None, stamp, "could not be decoded")):
                            return
                    failed = []
                    image, problem = to_rgb(frame)
                    if not self._put(cam, Frame(index, image, stamp, problem)):
                        return
                else:
                    failed.append(index)
                    if len(failed) >= _FAILED_IN_A_ROW:
                        end = End(failed[0], declared)
                        break
                index += 1
        except Exception as exc:  # a bug or a cv2 surprise: say so where the consumer will see it
            end = End(-1, 0, f"{cam.inp.label}: reading stopped: {type(exc).__name__}: {exc}")
            cam.first_error = cam.first_error or end.reason
            cam.first_attempt.set()
        finally:
            if cap is not None:
                cap.release()
            if end is not None:
                self._put(cam, end)

    def _put(self, cam: Camera, item: Union[Frame, End]) -> bool:
        with self._cond:
            while len(cam.queue) >= _QUEUE and not self._stop.is_set():
                self._cond.wait(0.2)
            if self._stop.is_set():
                return False
            cam.queue.append(item)
            self._cond.notify_all()
            return True

    def _run_live(self, cam: Camera, worker: Worker) -> None:
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
                        self._lose(cam, worker, f"{inp.what} cannot be opened")
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
                    if not at_end:
                        self._lose(cam, worker, f"{inp.what} stopped delivering frames")
                    if not o.reconnect:
                        what = "ended" if at_end else "stopped delivering frames"
                        self._give_up(cam, worker, f"{inp.label} {what} and reconnect is off")
                        return
                    continue
                got += 1
                worker.delay = o.backoff  # frames flow again: the next failure starts the backoff afresh
                image, problem = to_rgb(frame)
                with self._cond:
                    if worker.abandoned:
                        break
                    if cam.fresh:
                        self.counters.dropped += 1
                    self.counters.lost.pop(inp.camera, None)  # a frame: it answers again
                    cam.newest = Frame(cam.next_index, image, stamp, problem)
                    cam.next_index += 1
                    cam.fresh = True
                    self._cond.notify_all()
                if period:
                    now = time.monotonic()
                    due = max(due + period, now - period)  # a late frame does not start a burst
                    if due > now and self._stop.wait(due - now):
                        break
        except Exception as exc:
            self._lose(cam, worker, f"{inp.what}: reading stopped: {type(exc).__name__}: {exc}")
            self._give_up(cam, worker, f"{inp.label}: reading stopped: {type(exc).__name__}: {exc}")
        finally:
            if cap is not None:
                cap.release()
            cam.first_attempt.set()

    def _lose(self, cam: Camera, worker: Worker, why: str) -> None:
        """Report the camera lost (`SourceCounters.lost`) until a frame of it comes again."""
        with self._cond:
            if not worker.abandoned and not self._stop.is_set():
                self.counters.lost[cam.inp.camera] = why

    def _give_up(self, cam: Camera, worker: Worker, why: str) -> None:
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
                if busy is None:
                    continue
                # Silent for the read timeout is lost, also inside an open allowed longer: the run
                # says so then, and the frame that may still come clears it.
                if now - busy[0] > min(busy[1], self.options.read_timeout) and cam.inp.camera not in self.counters.lost:
                    with self._cond:
                        if not self._stop.is_set() and cam.worker is worker and worker.busy is busy:
                            self.counters.lost[cam.inp.camera] = (f"{cam.inp.what} has not answered for "
                                                                  f"{min(busy[1], self.options.read_timeout):g} s")
                if now - busy[0] <= busy[1]:
                    continue
                with self._cond:
                    if self._stop.is_set() or cam.worker is not worker or worker.busy is None:
                        continue
                    worker.abandoned = True
                    self._abandoned.append(worker)
                    self.stalls += 1
                    self.failed_reads += 1
                    self.counters.lost[cam.inp.camera] = f"{cam.inp.what} hung for more than {busy[1]:g} s"
                    if self.options.reconnect:
                        self._start_worker(cam, Worker(cam, worker.generation + 1, worker.delay, wait_first=True))
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
