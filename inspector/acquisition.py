"""What a source of camera images promises the pipeline: the frame pair and the source interface.

A source owns its cameras (or files, or simulator) and hands out one `FramePair`
per cavity. `read(timeout)` returns within about `timeout` seconds: a pair, or
`None` when nothing arrived in time. A pair that cannot be used (one image
missing, a file that cannot be decoded) is raised as `FrameError` after the
source has moved past it, so the caller counts it and reads on. `EndOfSource`
says nothing more will come (a folder read through, a video file at its end).

Sources register under the entry-point group `inspector.sources`; the entry
point names a `Source` subclass, which takes its options as keyword arguments
of the types its `Options` dataclass declares.
"""

from __future__ import annotations

import dataclasses
import time
import typing
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from inspector.errors import InspectorError


class SourceError(InspectorError):
    """A source that cannot be opened or configured (no such folder, camera, or option)."""


class FrameError(InspectorError):
    """One frame pair that cannot be used; the source has skipped it and can be read on."""

    def __init__(self, message: str, *, cavity_id: int = -1, frame_ids: tuple[int, int] = (-1, -1)):
        super().__init__(message)
        self.cavity_id = cavity_id
        self.frame_ids = frame_ids


class EndOfSource(InspectorError):
    """The source has nothing more to give."""


@dataclass
class FramePair:
    """One cavity seen by both cameras, as the source delivered it."""

    image1: np.ndarray  # camera 1: H×W×3 uint8 RGB (or float in [0, 1]); raw or on the plane
    image2: np.ndarray
    camera_ids: tuple[str, str] = ("1", "2")
    cavity_id: int = 0
    frame_ids: tuple[int, int] = (0, 0)
    timestamps: tuple[float, float] = (0.0, 0.0)  # seconds since the epoch, per camera
    truth: Optional[str] = None  # the class, where the source knows it (the simulator does)
    meta: dict = field(default_factory=dict)  # anything else the source wants to hand on


@dataclass
class SourceCounters:
    """What a source counts; every source keeps these, some add their own."""

    delivered: int = 0  # pairs returned by read()
    timeouts: int = 0  # read() calls that returned None
    failed: int = 0  # frames that could not be read or used (raised as FrameError)
    dropped: int = 0  # frames the source itself discarded (a live camera's older frames)
    reconnects: int = 0
    incomplete: int = 0  # frames a camera delivered damaged (lost packets, underruns): never inspected
    unpaired: int = 0  # frames whose partner did not arrive within the pairing window: never paired
    # Cameras that do not answer now, by name ("camera 1"), with why; empty while all answer. A
    # source's own threads set and clear entries; readers take a copy (`lost_cameras()`).
    lost: dict = field(default_factory=dict)

    def lost_cameras(self) -> dict:
        return dict(self.lost)


class Source:
    """Base of every source: a context manager around open/read/close.

    Subclasses set `name`, `raw` (True: camera images that need the rig's IPM;
    False: views already on the cavity plane), `simulated` (True: the pairs are
    rendered, not seen by cameras; records say so), an `Options` dataclass, and
    implement `_open`, `_read` and `_close`.
    """

    name = "source"
    raw = True
    simulated = False

    @dataclass
    class Options:
        pass

    def __init__(self, **options: Any):
        self.options = parse_options(type(self).Options, options, self.name)
        self.counters = SourceCounters()
        self.is_open = False

    @classmethod
    def devices(cls) -> list[dict[str, str]]:
        """The cameras this source can open here, one plain row each: `id` is what its `cam1`/`cam2`
        options take, `label` one line for a person; empty for a source that opens no devices. The
        operator view's source form offers them (`inspector cameras` lists GenICam ones)."""
        return []

    # -- the interface the pipeline uses ------------------------------------------------------
    def open(self) -> "Source":
        if not self.is_open:
            self._open()
            self.is_open = True
        return self

    def read(self, timeout: float = 1.0) -> Optional[FramePair]:
        """The next pair, or None if none arrived within `timeout` seconds."""
        if not self.is_open:
            raise SourceError(f"source {self.name}: read before open")
        try:
            pair = self._read(max(0.0, float(timeout)))
        except FrameError:
            self.counters.failed += 1
            raise
        if pair is None:
            self.counters.timeouts += 1
        else:
            self.counters.delivered += 1
        return pair

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            self._close()

    def describe(self) -> str:
        """One line for logs and provenance: the source and its options."""
        opts = ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(self.options).items())
        return f"{self.name}({opts})"

    def __enter__(self) -> "Source":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- for subclasses -----------------------------------------------------------------------
    def _open(self) -> None:
        pass

    def _read(self, timeout: float) -> Optional[FramePair]:
        raise NotImplementedError

    def _close(self) -> None:
        pass


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(value: Any, kind: Any, name: str, source: str) -> Any:
    """A command-line string (or a Python value) as the option's declared type."""
    if not isinstance(value, str):
        return value
    args = [a for a in typing.get_args(kind) if a is not type(None)]  # Optional[int] → int
    kind = args[0] if args else kind
    if not isinstance(kind, type):
        kind = str
    if value == "" and args:
        return None
    try:
        if kind is bool:
            if value.lower() in _TRUE:
                return True
            if value.lower() in _FALSE:
                return False
            raise ValueError
        return kind(value)
    except ValueError:
        raise SourceError(f"source {source}: option {name}={value!r} is not a valid {kind.__name__}") from None


def parse_options(options_type: type, given: dict, source: str) -> Any:
    """`given` (strings from the command line, or values) checked against the `Options` dataclass."""
    fields = {f.name: f for f in dataclasses.fields(options_type)}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        valid = ", ".join(fields) or "none"
        raise SourceError(f"source {source}: unknown option {', '.join(unknown)} (options: {valid})")
    hints = typing.get_type_hints(options_type)  # resolves the strings of `from __future__ import annotations`
    values = {k: _convert(v, hints[k], k, source) for k, v in given.items()}
    try:
        return options_type(**values)
    except (TypeError, ValueError) as exc:
        raise SourceError(f"source {source}: {exc}") from None


def option_help(source_type: type) -> list[tuple[str, str, str]]:
    """(name, default, help) of each option a source class takes, for `inspector plugins`."""
    rows = []
    for f in dataclasses.fields(source_type.Options):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else ""
        )
        rows.append((f.name, str(default), f.metadata.get("help", "")))
    return rows


def engineer_options(source_type: type) -> set[str]:
    """The options a source marks `"engineer": True` in its field metadata: developer-facing ones
    (seeds, timeouts, buffers) that the operator's form hides outside engineer mode. The source
    declares this, beside each option, so no view keeps its own list of names."""
    return {f.name for f in dataclasses.fields(source_type.Options) if f.metadata.get("engineer", False)}


def parse_key_values(pairs: list[str]) -> dict[str, str]:
    """["rate=5", "seed=1"] → {"rate": "5", "seed": "1"} for `--source-opt`."""
    out = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SourceError(f"--source-opt {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


def sleep_until(deadline: float, stop_check=None, step: float = 0.05) -> None:
    """Sleep until `time.monotonic()` reaches `deadline`, waking every `step` to ask `stop_check`."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or (stop_check is not None and stop_check()):
            return
        time.sleep(min(left, step))
