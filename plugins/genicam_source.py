"""Two GenICam cameras (GigE Vision or USB3 Vision, through Aravis) as one source of frame pairs.

The cameras are opened by serial, device id or address, configured (pixel
format, region, exposure, gain, frame rate, trigger, packets, buffers), and
each is read by a grab thread of its own (`plugins.genicam_camera`); frames
become pairs in `plugins.genicam_pairing`.

Why it is built this way:

* With `trigger=software` the source fires both cameras once per shot, when a
  read asks for a pair and the previous shot is done (paired, or given up once
  one camera's frame has waited past the window for its partner, or after
  `timeout`). Every frame knows the shot it answers, so a pair is always two
  views of one part; a shot that comes back from one camera only is counted as
  unpaired. `free` and `LineN` cannot know the shot: their frames are paired
  by receive time within `pair_window_ms`, and the hardware trigger must fire
  both cameras from the same line for that to mean the same part.
* `read(timeout)` only ever waits on a condition: triggers go out on the grab
  threads, so a camera that stops answering in the middle of a register write
  cannot hold a read past its timeout.
* A camera that owes a frame for longer than `timeout`, or whose connection
  fails, is entered in `counters.lost` by name, with its serial and why, as soon
  as a read or its own thread notices; while one is lost no shot is fired, so
  the other camera's frames do not pile up as unpaired. When its thread has
  found it again, the entry goes, `reconnects` counts one and shots go on.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from inspector.acquisition import FramePair, Source, SourceError
from plugins.genicam_camera import CameraSettings, CameraWorker, open_configured
from plugins.genicam_devices import list_devices
from plugins.genicam_pairing import GRACE_S, Frame, Pairer

CLOSE_S = 1.5  # how long close() waits for the grab threads; one inside a dead camera's call is left behind


def trigger_kind(text: str) -> str:
    """free, software or a line name (Line0, Line1, …), or SourceError."""
    t = text.strip()
    if t.lower() in ("free", "software"):
        return t.lower()
    if t.startswith("Line") and t[4:].isdigit():
        return t
    raise SourceError(f"source genicam: option trigger={text!r} is not free, software or LineN (Line0, Line1, …)")


class GenICamSource(Source):
    """Camera 1 and camera 2 through Aravis; frames paired by software trigger or by time."""

    name = "genicam"
    raw = True

    @dataclass
    class Options:
        cam1: str = field(default="", metadata={"help": "camera 1: serial, device id or IP address"})
        cam2: str = field(default="", metadata={"help": "camera 2: serial, device id or IP address"})
        pixel_format: str = field(default="", metadata={"engineer": True,
            "help": "Mono8, RGB8 or Bayer{RG,BG,GR,GB}8, demosaiced to RGB (empty: the camera's own)"})
        exposure_us: Optional[float] = field(default=None, metadata={"engineer": True,
            "help": "exposure in µs (empty: the camera's own)"})
        gain_db: Optional[float] = field(default=None, metadata={"engineer": True,
            "help": "gain in dB (empty: the camera's own)"})
        frame_rate: Optional[float] = field(default=None, metadata={"engineer": True,
            "help": "frames per second in free-run (empty: the camera's own)"})
        trigger: str = field(default="software", metadata={
            "help": "software (the source fires both cameras per shot), free (free-run), or LineN (hardware)"})
        pair_window_ms: float = field(default=20.0, metadata={"engineer": True,
            "help": "two frames pair only if received within this many ms of each other"})
        buffers: int = field(default=8, metadata={"engineer": True, "help": "buffers in each camera's pool"})
        packet_size: int = field(default=0, metadata={"engineer": True,
            "help": "GigE packet size in bytes (0: the camera's own)"})
        resend: bool = field(default=True, metadata={"engineer": True,
            "help": "ask a GigE camera to resend lost packets"})
        timeout: float = field(default=1.0, metadata={"engineer": True,
            "help": "seconds a camera may owe a frame before it is called lost and reconnected"})
        width: int = field(default=0, metadata={"engineer": True,
            "help": "region width in px from the left (0: the camera's own)"})
        height: int = field(default=0, metadata={"engineer": True,
            "help": "region height in px from the top (0: the camera's own)"})
        cavity_id: int = field(default=0, metadata={"engineer": True,
            "help": "cavity id written into every frame pair"})

    @classmethod
    def devices(cls) -> list[dict]:
        """The cameras Aravis finds now, as plain dicts: id, vendor, model, serial, address, protocol, and a
        label for a person; the operator view's form puts `id` into cam1 or cam2."""
        return [{**d, "label": f"{d['vendor']} {d['model']} ({d['serial'] or d['id']}, {d['address']})"}
                for d in list_devices()]

    def __init__(self, **options: Any):
        super().__init__(**options)
        o = self.options
        for key in ("cam1", "cam2"):
            if not str(getattr(o, key)).strip():
                raise SourceError(f"source genicam: option {key} is required (a serial, device id or IP address; "
                                  f"`inspector cameras` lists them)")
        self.trigger = trigger_kind(o.trigger)
        for key, value in (("pair_window_ms", o.pair_window_ms), ("timeout", o.timeout)):
            if not math.isfinite(value) or value <= 0:
                raise SourceError(f"source genicam: option {key}={value!r} must be a number > 0")
        for key, value, low in (("buffers", o.buffers, 1), ("packet_size", o.packet_size, 0),
                                ("width", o.width, 0), ("height", o.height, 0)):
            if value < low:
                raise SourceError(f"source genicam: option {key}={value} must be ≥ {low}")
        self.workers: tuple[CameraWorker, ...] = ()
        self.stalled_threads: list[threading.Thread] = []
        self._cond = threading.Condition(threading.Lock())
        self._pairer = Pairer(o.pair_window_ms / 1000.0, by_shot=self.trigger == "software")
        self._shot = -1
        self._shot_started: Optional[float] = None  # monotonic time of the shot in flight; None: none
        self._answered = [-1, -1]
        self._unpaired_before = 0
        self._first_answer: Optional[float] = None  # monotonic time the first frame of the shot in flight came

    def settings(self, spec: str) -> CameraSettings:
        o = self.options
        return CameraSettings(spec=spec.strip(), pixel_format=o.pixel_format.strip(), exposure_us=o.exposure_us,
                              gain_db=o.gain_db, frame_rate=o.frame_rate, trigger=self.trigger, buffers=o.buffers,
                              packet_size=o.packet_size, resend=o.resend, width=o.width, height=o.height,
                              timeout=o.timeout)

    # -- Source ------------------------------------------------------------------------------------
    def _open(self) -> None:
        o = self.options
        devices = list_devices()
        opened = []
        try:
            for index, spec in enumerate((o.cam1, o.cam2)):
                opened.append(open_configured(index, self.settings(spec), devices))
            if opened[0][0]["id"] == opened[1][0]["id"]:
                raise SourceError(f"source genicam: cam1 and cam2 are the same camera ({opened[0][0]['id']})")
        except BaseException:
            for _device, camera, _stream, _format in opened:
                try:
                    camera.stop_acquisition()
                except Exception:
                    pass
            raise
        self._pairer = Pairer(o.pair_window_ms / 1000.0, by_shot=self.trigger == "software")
        self._shot, self._shot_started = -1, None
        self._answered = [-1, -1]  # per camera, the newest shot it sent a frame for
        self._unpaired_before = self.counters.unpaired  # a source opened again counts on
        self.counters.lost.clear()
        self.workers = tuple(CameraWorker(k, self.settings(spec), device, camera, stream, fmt, self)
                             for k, (spec, (device, camera, stream, fmt)) in enumerate(zip((o.cam1, o.cam2), opened)))
        for worker in self.workers:
            worker.start()

    def _read(self, timeout: float) -> Optional[FramePair]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                self._watch(now)
                if self.trigger == "software":
                    self._fire(now)
                pair = self._pairer.pop_pair(time.time())
                self.counters.unpaired = self._unpaired_before + self._pairer.unpaired
                if pair is not None:
                    if self.trigger == "software":
                        self._shot_started = None  # this shot is done: the next read fires the next
                    return self._frame_pair(*pair)
                if self.trigger == "software" and self._shot_over(now):
                    continue  # fire the next shot at once
                left = deadline - now
                if left <= 0 or not self.is_open:
                    return None
                self._cond.wait(min(left, 0.05))  # wakes for the pairing window and the silence checks

    def _close(self) -> None:
        for worker in self.workers:
            worker.stop()
        with self._cond:
            self._cond.notify_all()
        deadline = time.monotonic() + CLOSE_S
        for worker in self.workers:
            worker.thread.join(max(0.0, deadline - time.monotonic()))
        # A thread still alive is inside a call to a camera that does not answer; it is a daemon and
        # lets go of the camera when the call returns.
        self.stalled_threads = [w.thread for w in self.workers if w.thread.is_alive()]

    # -- under the lock ----------------------------------------------------------------------------
    def _watch(self, now: float) -> None:
        """Enter a camera that owes a frame for too long in `lost` now, before its thread notices."""
        for worker in self.workers:
            silent = worker.silent_for(now)
            if silent > self.options.timeout and worker.name not in self.counters.lost:
                self.counters.lost[worker.name] = f"{worker.serial}: no frame for {silent:.1f} s"

    def _shot_over(self, now: float) -> bool:
        """Whether the shot in flight is over without a pair: both cameras answered it and the pairer had no
        pair, one answered and the other is later than the window allows, or it took longer than `timeout`.
        Its frames are then dropped as unpaired. (A camera that missed one trigger is not lost: the next
        shot goes out at once, and only a camera silent for `timeout` is.)"""
        if self._shot_started is None:
            return False
        partner_late = self._first_answer is not None and now - self._first_answer > self._pairer.window_s + GRACE_S
        if min(self._answered) < self._shot and now - self._shot_started <= self.options.timeout and not partner_late:
            return False
        self._shot_started = None
        self._pairer.drop_shots_before(self._shot + 1)
        self.counters.unpaired = self._unpaired_before + self._pairer.unpaired
        return True

    def _fire(self, now: float) -> None:
        """Fire the next shot if none is in flight and every camera answers."""
        if self._shot_started is not None or self.counters.lost:
            return
        self._shot += 1
        self._shot_started = now
        self._first_answer = None
        for worker in self.workers:
            worker.trigger(self._shot)

    def _frame_pair(self, f1: Frame, f2: Frame) -> FramePair:
        return FramePair(
            image1=f1.image,
            image2=f2.image,
            camera_ids=tuple(w.serial for w in self.workers),
            cavity_id=self.options.cavity_id,
            frame_ids=(f1.frame_id, f2.frame_id),
            timestamps=(f1.timestamp, f2.timestamp),
            meta={"shot": f1.shot, "camera_times": (f1.camera_time, f2.camera_time)},
        )

    # -- what the grab threads report (on their threads) ----------------------------------------
    def frame(self, worker: CameraWorker, frame: Frame, usable: bool) -> None:
        with self._cond:
            # It answers: a slow camera that was called lost by a read's watch is back.
            self.counters.lost.pop(worker.name, None)
            if usable:
                self._pairer.add(frame)
            else:
                self.counters.incomplete += 1
            self._answered[worker.index] = max(self._answered[worker.index], frame.shot)
            if frame.shot == self._shot and self._first_answer is None:
                self._first_answer = time.monotonic()
            self._cond.notify_all()

    def lost(self, worker: CameraWorker, why: str) -> None:
        with self._cond:
            self.counters.lost[worker.name] = why
            self._cond.notify_all()

    def found(self, worker: CameraWorker) -> None:
        with self._cond:
            self.counters.lost.pop(worker.name, None)
            self.counters.reconnects += 1
            self._pairer.forget_ids(worker.index)
            self._cond.notify_all()

    def camera_stats(self) -> list[dict]:
        """Per camera: serial, frames, incomplete, timeouts, reconnects (plain data, for views and logs)."""
        return [w.stats() for w in self.workers]
