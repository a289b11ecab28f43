"""One inspection in the form the views draw it, prepared away from the GUI thread.

The pipeline's model thread (or the review's reader) builds a `DisplayFrame` from
an `Inspection`: stage maps resized to the view size the way the engine resizes
them and normalised to uint8, contiguous arrays, and a thumbnail for the gallery.
The GUI thread then only hands finished arrays to pyqtgraph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

import numpy as np

from inspector.classes import ClassSet
from inspector.explain.influence_interval import influence_text, record_interval
from inspector.number_text import MINUS, fixed
from ui.heatmap_display import blend, colorize, normalised_u8


@dataclass
class DisplayFrame:
    view1: np.ndarray  # H×W×3 uint8, C-contiguous
    view2: np.ndarray
    heat: np.ndarray  # (2, 4, H, W) uint8, each map normalised to its own maximum
    probs: np.ndarray  # (C,)
    classes: tuple[str, ...]
    predicted: int
    target: int
    p: np.ndarray  # (P,)
    curves: np.ndarray  # (3, P), NaN when not computed
    m: float
    influence: str
    cavity_id: int = 0
    frame_ids: tuple[int, int] = (0, 0)
    timestamp: float = 0.0
    status: str = "ok"
    has_images: bool = True
    truth: Optional[str] = None
    latency_ms: float = math.nan
    record: Optional[int] = None  # index in a log, where the frame came from one
    ok_class: str = ""  # which of `classes` is OK; "" for the default rule
    thumbnail: Optional[np.ndarray] = field(default=None, repr=False)
    # m's 95% bootstrap-over-p interval (`inspector.explain.influence_interval`): NaN without curves.
    m_low: float = math.nan
    m_high: float = math.nan
    unsure: bool = False
    fill: str = "zero"  # what the occluded pixels of the curves became

    @property
    def class_set(self) -> ClassSet:
        return ClassSet.of(self.classes, self.ok_class or None)

    @property
    def colour(self) -> str:
        """The predicted class's colour: green for OK, each NOK class its own."""
        return self.class_set.colour(self.predicted_name)

    @property
    def predicted_name(self) -> str:
        return self.classes[self.predicted]

    @property
    def target_name(self) -> str:
        return self.classes[self.target]

    @property
    def probability(self) -> float:
        return float(self.probs[self.predicted])

    @property
    def is_ok(self) -> bool:
        return self.class_set.is_ok(self.predicted)

    @property
    def has_curves(self) -> bool:
        return bool(np.all(np.isfinite(self.curves))) and not math.isnan(self.m)


def make_frame(
    rec,
    classes: Union[ClassSet, Sequence[str]],
    p: Sequence[float],
    *,
    truth: Optional[str] = None,
    latency_s: Optional[float] = None,
    record: Optional[int] = None,
    thumbnail_lut: Optional[np.ndarray] = None,
) -> DisplayFrame:
    """An `Inspection` → `DisplayFrame`; with a lookup table also the gallery thumbnail. `classes`: the
    model's or log's ClassSet (a plain sequence takes the default OK rule)."""
    from inspector.heatmaps import full_size_maps

    class_set = classes if isinstance(classes, ClassSet) else ClassSet.of(classes)

    view1 = np.ascontiguousarray(rec.view1, np.uint8)
    view2 = np.ascontiguousarray(rec.view2, np.uint8)
    heat = normalised_u8(full_size_maps(rec.stage_maps, view1.shape[:2]))
    curves = np.asarray(rec.curves, np.float32)
    grid = np.asarray(p, np.float64)
    if grid.shape != curves.shape[1:]:  # an explainer plugin with its own grid: equally spaced, as the default
        grid = np.linspace(0.0, 1.0, curves.shape[1])
    low, high, unsure = record_interval(curves)
    frame = DisplayFrame(
        view1=view1,
        view2=view2,
        heat=heat,
        probs=np.asarray(rec.probs, np.float32),
        classes=class_set.names,
        ok_class=class_set.ok,
        predicted=int(rec.predicted),
        target=int(rec.target),
        p=grid,
        curves=curves,
        m=float(rec.m),
        influence=rec.influence,
        cavity_id=int(rec.cavity_id),
        frame_ids=tuple(int(v) for v in rec.frame_ids),
        timestamp=float(rec.timestamp),
        status=rec.status,
        has_images=bool(rec.has_images),
        truth=truth,
        latency_ms=math.nan if latency_s is None else 1e3 * float(latency_s),
        record=record,
        m_low=low,
        m_high=high,
        unsure=unsure,
        fill=getattr(rec, "fill", "zero"),
    )
    if thumbnail_lut is not None:
        frame.thumbnail = thumbnail(frame, thumbnail_lut)
    return frame


def thumbnail(frame: DisplayFrame, lut: np.ndarray, opacity: float = 0.4, border: int = 2) -> np.ndarray:
    """Both views side by side at half size with their stage-4 heatmap, framed in the predicted class's colour."""
    halves = []
    for v, view in enumerate((frame.view1, frame.view2)):
        small = view[::2, ::2]
        heat = colorize(frame.heat[v, 3, ::2, ::2], lut)
        halves.append(blend(small, heat, opacity))
    gap = np.full((halves[0].shape[0], 2, 3), 255, np.uint8)
    body = np.concatenate([halves[0], gap, halves[1]], axis=1)
    out = np.empty((body.shape[0] + 2 * border, body.shape[1] + 2 * border, 3), np.uint8)
    out[:] = np.frombuffer(bytes.fromhex(frame.colour.lstrip("#")), np.uint8)
    out[border:-border, border:-border] = body
    return np.ascontiguousarray(out)


def format_m(frame: DisplayFrame) -> str:
    """`m = −0.201 → camera 1`, with the interval beside an unsure verdict
    (`m = −0.034 → camera 1 (unsure: m ∈ [−0.061, +0.012])`), or a dash where the curves were not computed."""
    if not frame.has_curves:
        return "m —"
    verdict = influence_text(frame.influence, frame.m_low, frame.m_high)
    return f"m = {fixed(frame.m, 3, sign=True, minus=MINUS)} → {verdict}"
