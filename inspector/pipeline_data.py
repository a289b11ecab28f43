"""The pipeline's plain data: its configuration and error, a pair on its way to the model, and what it
hands to callbacks (an inspection, a skipped frame)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from inspector.acquisition import FramePair
from inspector.errors import InspectorError
from inspector.fill_names import DEFAULT_FILL, FILLS
from inspector.records import Inspection

CURVE_POLICIES = ("all", "nok", "none")


class PipelineError(InspectorError):
    """The pipeline cannot start or had to stop (bad configuration, a failing source or log)."""


@dataclass
class PipelineConfig:
    curves: str = "nok"  # which cavities get the masked-input curves: all, nok (not the OK class), none
    batch: int = 8  # most pairs the model takes at once
    slot: int = 0  # capacity of the latest-frames slot; 0: the batch size
    keep_all: bool = False  # wait for room in the slot instead of dropping (for folders and files)
    max_records: int = 0  # stop after this many inspections (0: no limit)
    max_seconds: float = 0.0  # stop after this long (0: no limit)
    read_timeout: float = 0.2  # seconds a source read may wait (bounds how fast a stop is seen)
    write_queue: int = 64  # inspected records waiting for the writer, at most
    source_error_limit: int = 20  # unexpected source errors in a row before the run gives up
    p: Optional[tuple[float, ...]] = None  # curve grid; None: the explainer's default
    fill: str = DEFAULT_FILL  # what the occluded pixels of the curves become (`explain.fills`); the paper's: zero

    def check(self) -> None:
        if self.curves not in CURVE_POLICIES:
            raise PipelineError(f"curves must be one of {', '.join(CURVE_POLICIES)}, got {self.curves!r}")
        for name in ("batch", "write_queue", "source_error_limit"):
            if getattr(self, name) < 1:
                raise PipelineError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        for name in ("slot", "max_records"):
            if getattr(self, name) < 0:
                raise PipelineError(f"{name} must be ≥ 0, got {getattr(self, name)}")
        if self.fill not in FILLS:
            raise PipelineError(f"fill must be one of {', '.join(FILLS)}, got {self.fill!r}")
        if self.max_seconds < 0 or self.read_timeout <= 0:
            raise PipelineError("max_seconds must be ≥ 0 and read_timeout > 0")


@dataclass
class Prepared:
    """A pair ready for the model: both views on the cavity plane, and where it came from."""

    view1: np.ndarray
    view2: np.ndarray
    frame: FramePair
    delivered: float  # time.monotonic() when the source handed it over
    ipm_s: float


@dataclass
class Result:
    """One inspection as the pipeline hands it to callbacks (the GUI, the demo)."""

    inspection: Inspection
    truth: Optional[str]  # the class, where the source knows it
    meta: dict
    latency_s: float  # from the source's delivery to the end of the explanation


@dataclass
class BadFrame:
    reason: str
    cavity_id: int
    frame_ids: tuple[int, int]
    time: float
