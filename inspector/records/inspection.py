"""One inspection as a plain value: what the writer stores and the reader gives back."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inspector.records.schema import TIMING_NAMES


@dataclass
class Inspection:
    """The two views, the decision, its explanation and where it came from."""

    view1: np.ndarray  # H×W×3 uint8 (all zeros when the retention policy dropped the images)
    view2: np.ndarray
    probs: np.ndarray  # (C,)
    predicted: int
    target: int
    stage_maps: list[list[np.ndarray]]  # [view][stage] Grad-CAM at stage resolution
    curves: np.ndarray  # (3, P); NaN when not computed
    m: float  # NaN when the curves were not computed
    influence: str  # "camera 1", "camera 2", "equal" or "none"
    timestamp: float  # seconds since the epoch (UTC)
    cavity_id: int = 0
    source: str = ""
    frame_ids: tuple[int, int] = (0, 0)
    timings: dict[str, float] = field(default_factory=dict)  # seconds, keys from TIMING_NAMES
    status: str = "ok"
    simulated: bool = False
    has_images: bool = True
    fill: str = "zero"  # what the occluded pixels of the curves became (the log's, `Layout.fill`)

    @classmethod
    def from_explanation(cls, view1, view2, e, *, timestamp: float, **provenance) -> "Inspection":
        """Wrap an `Explanation` of the pair (view1, view2) with its provenance."""
        return cls(
            view1=np.asarray(view1),
            view2=np.asarray(view2),
            probs=np.asarray(e.probs, np.float32),
            predicted=int(e.predicted),
            target=int(e.target),
            stage_maps=[[np.asarray(m) for m in view] for view in e.stage_maps],
            curves=np.asarray(e.curves, np.float32),
            m=float(e.m),
            influence=e.influence,
            fill=getattr(e, "fill", "zero"),
            timestamp=float(timestamp),
            **provenance,
        )

    def timing_vector(self) -> np.ndarray:
        return np.array([self.timings.get(k, np.nan) for k in TIMING_NAMES], np.float32)
