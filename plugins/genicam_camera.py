"""One GenICam camera: its settings, how an opened camera is configured, and the grab thread that owns it.

Why it is built this way:

* Every Aravis call on a camera is made by its grab thread once acquisition
  runs, software triggers included. A camera that stops answering makes each
  register access block for the GigE Vision timeout times its retries (2.5 s
  with Aravis's defaults); on the grab thread that costs the camera itself,
  never `read(timeout)` or `close()` of the source.
* Incomplete buffers (missing packets, timeouts, size mismatches) are counted
  and put back in the pool, never handed on: a frame with a black band where
  packets were lost would be inspected as a defect.
* A camera that is silent for longer than `timeout` while it owes a frame
  (free-run always does, software trigger after a trigger, hardware trigger
  never: no part, no frame), or whose register access fails, is lost: the
  thread drops it and looks for it again with exponential back-off, 0.1 s
  doubling up to 2 s, by its serial, and re-opens and re-configures it when it
  answers. Re-opening is the one recovery that works whatever the camera lost
  (its power, its IP configuration, its acquisition state).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Optional

from inspector.acquisition import SourceError
from plugins.genicam_devices import Aravis, find_device, list_devices, match, open_camera, pixel_formats, trigger_sources
from plugins.genicam_pairing import Frame
from plugins.genicam_pixels import SUPPORTED, to_rgb

BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 2.0
POP_US = 10_000  # how long one pop waits: a trigger asked for waits at most this long to go out


@dataclass
class CameraSettings:
    """What the source asks of a camera; None or 0 leaves the camera's own setting."""

    spec: str  # serial, device id or address
    pixel_format: str = ""
    exposure_us: Optional[float] = None
    gain_db: Optional[float] = None
    frame_rate: Optional[float] = None
    trigger: str = "software"  # free, software, or a line such as Line0
    buffers: int = 8
    packet_size: int = 0
    resend: bool = True
    width: int = 0
    height: int = 0
    timeout: float = 1.0


def _set(what: str, label: str, call, *args) -> None:
    try:
        call(*args)
    except SourceError:
        raise
    except Exception as exc:  # GLib.GError from the camera
        raise SourceError(f"{label}: cannot set {what}: {exc}") from None


def configure(camera, s: CameraSettings, label: str):
    """Configure an opened camera as `s` asks, start acquisition, and return its stream; SourceError
    (one line, with what the camera offers) for what it cannot do."""
    formats = pixel_formats(camera)
    if s.pixel_format:
        if s.pixel_format not in formats:
            raise SourceError(f"{label} has no pixel format {s.pixel_format}; it has: {', '.join(formats)}")
        _set("the pixel format", label, camera.set_pixel_format_from_string, s.pixel_format)
    current = camera.get_pixel_format_as_string()
    if current not in SUPPORTED:
        usable = [f for f in formats if f in SUPPORTED] or ["none"]
        raise SourceError(f"{label} delivers {current}, which the source cannot convert; "
                          f"choose pixel_format from: {', '.join(usable)}")
    if s.width or s.height:
        region = camera.get_region()
        width, height = s.width or region.width, s.height or region.height
        _set(f"the region {width}×{height}", label, camera.set_region, 0, 0, width, height)
        got = camera.get_region()
        if (got.width, got.height) != (width, height):
            raise SourceError(f"{label}: asked for a {width}×{height} region, the camera set {got.width}×{got.height}")
    for name, value, available, setter, auto_available, set_auto in (
        ("exposure_us", s.exposure_us, camera.is_exposure_time_available, camera.set_exposure_time,
         camera.is_exposure_auto_available, camera.set_exposure_time_auto),
        ("gain_db", s.gain_db, camera.is_gain_available, camera.set_gain,
         camera.is_gain_auto_available, camera.set_gain_auto),
        ("frame_rate", s.frame_rate, camera.is_frame_rate_available, camera.set_frame_rate, None, None),
    ):
        if value is None:
            continue
        if not available():
            what = {"exposure_us": "exposure", "gain_db": "gain", "frame_rate": "frame rate"}[name]
            raise SourceError(f"{label} has no {what} setting; leave {name} empty")
        if auto_available is not None and auto_available():
            # A value given is meant to hold: the camera's own control would overwrite it.
            _set(f"{name} auto off", label, set_auto, Aravis.Auto.OFF)
        _set(f"{name}={value:g}", label, setter, value)
    if s.trigger == "free":
        _set("free-run (trigger off)", label, camera.clear_triggers)
    else:
        wanted = "Software" if s.trigger == "software" else s.trigger
        sources = trigger_sources(camera)
        if wanted not in sources:
            raise SourceError(f"{label} has no trigger source {wanted}; TriggerSource values: {', '.join(sources) or 'none'}")
        _set(f"trigger {wanted}", label, camera.set_trigger, wanted)
    if camera.is_gv_device() and s.packet_size:
        _set(f"packet size {s.packet_size}", label, camera.gv_set_packet_size, s.packet_size)
    try:
        stream = camera.create_stream(None, None)
        if camera.is_gv_device():
            stream.set_property("packet-resend", Aravis.GvStreamPacketResend.ALWAYS if s.resend
                                else Aravis.GvStreamPacketResend.NEVER)
        payload = camera.get_payload()
        for _ in range(s.buffers):
            stream.push_buffer(Aravis.Buffer.new_allocate(payload))
        camera.start_acquisition()
    except Exception as exc:
        raise SourceError(f"{label}: cannot start acquisition: {exc}") from None
    return stream


class CameraWorker:
    """The grab thread of one camera: triggers it, pops its buffers, converts the complete ones, and
    re-opens the camera when it is lost. It reports to `sink` (the source), which holds the lock:
    `sink.frame(worker, frame, usable)`, `sink.lost(worker, why)`, `sink.found(worker)`."""

    def __init__(self, index: int, settings: CameraSettings, device: dict, camera, stream, pixel_format: str, sink):
        self.index = index  # 0 or 1
        self.name = f"camera {index + 1}"
        self.settings = settings
        self.device = device  # the dict `list_devices` gave when it was found
        self.sink = sink
        self._camera, self._stream = camera, stream
        self._format = pixel_format
        self._heard = time.monotonic()  # when the camera last answered
        self._stop = threading.Event()
        self._wanted = -1  # the newest shot asked for
        self._issued: list[tuple[int, float]] = []  # (shot, host time the trigger went out), newest last
        self.owed_since: Optional[float] = time.monotonic() if settings.trigger == "free" else None
        # Counted by this camera, read by anyone.
        self.frames = 0
        self.incomplete = 0
        self.timeouts = 0  # times it owed a frame for longer than `timeout`
        self.reconnects = 0
        self.thread = threading.Thread(target=self._run, name=f"genicam-{self.name.replace(' ', '')}", daemon=True)

    @property
    def serial(self) -> str:
        return self.device.get("serial") or self.device.get("id") or self.settings.spec

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def trigger(self, shot: int) -> None:
        """Ask for one frame for `shot` (software trigger); returns at once."""
        self._wanted = shot
        if self.owed_since is None:
            self.owed_since = time.monotonic()

    def silent_for(self, now: float) -> float:
        """Seconds this camera has owed a frame (0 while it owes none)."""
        since = self.owed_since
        return now - since if since is not None else 0.0

    def stats(self) -> dict:
        return {"camera": self.name, "serial": self.serial, "frames": self.frames, "incomplete": self.incomplete,
                "timeouts": self.timeouts, "reconnects": self.reconnects}

    # -- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        delay = BACKOFF_FIRST_S
        issued_shot = -1
        while not self._stop.is_set():
            if self._camera is None:
                if self._stop.wait(delay):
                    break
                delay = min(delay * 2, BACKOFF_MAX_S)
                if self._reopen():
                    delay = BACKOFF_FIRST_S
                    issued_shot = self._wanted  # a shot asked for before the loss was given up on
                continue
            try:
                if self._wanted > issued_shot:
                    issued_shot = self._wanted
                    self._issued = (self._issued + [(issued_shot, time.time())])[-8:]
                    self._camera.software_trigger()
                buffer = self._stream.timeout_pop_buffer(POP_US)
            except Exception as exc:  # GLib.GError: the camera does not answer its registers
                self._drop(f"{self.serial}: connection lost ({exc})")
                continue
            if buffer is not None:
                self._take(buffer)
                self._stream.push_buffer(buffer)
            now = time.monotonic()
            silent = self.silent_for(now)
            if silent > self.settings.timeout and not self._stop.is_set():
                self.timeouts += 1
                self._drop(f"{self.serial}: no frame for {silent:.1f} s")
            elif self.settings.trigger.startswith("Line") and now - self._heard > self.settings.timeout:
                # Under a hardware trigger silence is normal (no part, no frame): ask the camera
                # something instead; a camera that is gone makes this raise.
                self._heard = now
                try:
                    self._camera.get_pixel_format_as_string()
                except Exception as exc:
                    self._drop(f"{self.serial}: connection lost ({exc})")
        self._close(stop_acquisition=self._camera is not None)

    def _take(self, buffer) -> None:
        received = buffer.get_system_timestamp() / 1e9 or time.time()
        shot = -1
        for s, t in self._issued:  # the newest trigger sent before the frame arrived
            if t <= received:
                shot = s
        frame_id = int(buffer.get_frame_id())
        self._heard = time.monotonic()
        if self.settings.trigger == "free":
            self.owed_since = time.monotonic()
        elif shot >= self._wanted:
            self.owed_since = None
        ok = buffer.get_status() == Aravis.BufferStatus.SUCCESS
        image = None
        if ok:
            try:
                image = to_rgb(buffer.get_data(), buffer.get_image_width(), buffer.get_image_height(), self._format)
            except ValueError:
                ok = False
        if ok:
            self.frames += 1
        else:
            self.incomplete += 1
        frame = Frame(self.index, image, frame_id, received, shot, buffer.get_timestamp() / 1e9)
        self.sink.frame(self, frame, ok)

    def _drop(self, why: str) -> None:
        """The camera is lost: say so, and let go of it without asking it anything more."""
        self.sink.lost(self, why)
        self._close(stop_acquisition=False)
        self.owed_since = None

    def _close(self, stop_acquisition: bool) -> None:
        camera, self._camera, self._stream = self._camera, None, None
        if camera is not None and stop_acquisition:
            try:
                camera.stop_acquisition()
            except Exception:
                pass  # it went away while stopping: nothing more to release

    def _reopen(self) -> bool:
        """Find the camera again by its serial (or what named it) and open it as before; whether it worked."""
        try:
            devices = list_devices()
            device = match(devices, self.device.get("serial") or self.settings.spec) or match(devices, self.settings.spec)
            if device is None or self._stop.is_set():
                return False
            camera = open_camera(device["id"])
            stream = configure(camera, self.settings, f"{self.name} ({self.serial})")
        except Exception:  # SourceError, or GLib.GError from a camera still starting up: try again later
            return False
        self.device = device
        self._camera, self._stream = camera, stream
        self._format = camera.get_pixel_format_as_string()
        self.owed_since = time.monotonic() if self.settings.trigger == "free" else None
        self.reconnects += 1
        self.sink.found(self)
        return True


def open_configured(index: int, s: CameraSettings, devices: list[dict]):
    """(device, camera, stream, pixel format) for camera `index` as `s` names it, or SourceError."""
    label = f"camera {index + 1}"
    device = find_device(s.spec, devices)
    camera = open_camera(device["id"])
    stream = configure(camera, s, f"{label} ({device['serial'] or device['id']})")
    return device, camera, stream, camera.get_pixel_format_as_string()
