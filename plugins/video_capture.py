"""What one OpenCV capture is and what reading it gives: the input as the user named it (a file, a device
index or a stream URL), how a capture of it is opened, and the records a reading hands on (a frame in RGB,
or the end of a replayed file)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional, Union

import cv2
import numpy as np


@dataclass
class Input:
    slot: int  # 1 or 2
    spec: str  # as the user gave it
    kind: str  # "file", "device" or "stream"
    target: Union[str, int]

    @property
    def camera(self) -> str:
        """The camera's name as the run reports it (the key of `SourceCounters.lost`)."""
        return f"camera {self.slot}"

    @property
    def what(self) -> str:
        kind = {"file": "video file", "device": "video device", "stream": "stream"}[self.kind]
        return f"{kind} {self.target}"

    @property
    def label(self) -> str:
        return f"{self.camera}: {self.what}"


def classify(spec: str, slot: int) -> Input:
    text = spec.strip()
    if text.isascii() and text.isdigit():
        return Input(slot, spec, "device", int(text))
    if "://" in text:  # rtsp://, http://: a network camera, read by FFmpeg, reconnected like a device
        return Input(slot, spec, "stream", text)
    return Input(slot, spec, "file", text)


@dataclass
class Frame:
    index: int
    image: Optional[np.ndarray]  # RGB, C-contiguous, owned; None when `problem` says why
    timestamp: float
    problem: Optional[str] = None


@dataclass
class End:
    count: int  # frames the file held (index of the first read that found nothing)
    declared: int  # CAP_PROP_FRAME_COUNT, 0 when unknown
    reason: Optional[str] = None  # set when the worker stopped for another reason than the end


def to_rgb(frame: Any) -> tuple[Optional[np.ndarray], Optional[str]]:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        return None, f"is not a 3-channel uint8 image (shape {shape}, {dtype})"
    return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)), None


def open_capture(inp: Input, open_timeout: float, read_timeout: float) -> Any:
    """An opened capture for `inp`, or None."""
    if inp.kind == "file" and not os.path.isfile(inp.target):
        return None  # FFmpeg would only log a warning; this is cheaper and quieter
    try:
        if inp.kind == "device":
            # The FFmpeg timeouts would make V4L refuse the open ("unsupported parameters"),
            # so a device gets them, and a one-frame buffer, only where its backend takes them.
            cap = cv2.VideoCapture(inp.target)
            if cap.isOpened():
                for prop, value in ((cv2.CAP_PROP_BUFFERSIZE, 1),
                                    (cv2.CAP_PROP_READ_TIMEOUT_MSEC, _ms(read_timeout))):
                    try:
                        cap.set(prop, value)
                    except cv2.error:
                        pass
        else:
            cap = cv2.VideoCapture(inp.target, cv2.CAP_FFMPEG, [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, _ms(open_timeout),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC, _ms(read_timeout),
            ])
    except cv2.error:
        return None
    if not cap.isOpened():
        cap.release()
        return None
    return cap


def _ms(seconds: float) -> int:
    return max(1, int(round(seconds * 1000.0)))
