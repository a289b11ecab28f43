"""The inspection log's schema: one resizable dataset per field along a shared record axis.

Sizes that depend on the model and the rig (classes, view size, stage map sizes,
the p grid) are fixed per file and written as attributes when the file is made;
a change of model, rig or fill starts a new file. Grad-CAM maps are stored at their
stage's own resolution in float16 (the full-size map is their bilinear resize,
done on read): float16 keeps 11 significant bits, a relative error below 1e-3,
far under what a heatmap shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inspector.classes import ClassSet, default_ok_class

SCHEMA_VERSION = 1
FORMAT = "inspector-inspection-log"

INFLUENCE_CODES = ("camera 1", "camera 2", "equal", "none")  # "none": curves not computed
STATUS_CODES = ("ok", "no-curves", "bad-frame")
# The pipeline's stages: the names a record's timings are stored under and the keys of a live run's
# latency, so one stage has one name from the run to the log. "acquire" is a pair's wait between the
# source's delivery and the model; "write" is never stored (a record cannot hold its own write time).
TIMING_NAMES = ("acquire", "ipm", "model", "explain", "write")
SOURCE_BYTES = 32

# Small scalar fields share large uncompressed chunks (SWMR reallocates compressed chunks at
# every flush and never reuses the space); images and maps take one record per chunk.
SCALAR_CHUNK = 4096


@dataclass(frozen=True)
class Layout:
    """What fixes every per-record shape of one log file."""

    classes: tuple[str, ...]
    view_shape: tuple[int, int, int]  # H, W, 3
    stage_shapes: tuple[tuple[int, int], ...]  # (h, w) of each of the four stages
    p: tuple[float, ...]
    ok_class: str = ""  # empty: the default rule (`classes.default_ok_class`), as in logs made before it was stored
    # What the occluded pixels of every record's curves became (`explain.fills`): fixed per file like the
    # model, so a change starts a new file; logs made before it was stored used the paper's zero fill.
    fill: str = "zero"

    @property
    def class_set(self) -> ClassSet:
        return ClassSet.of(self.classes, self.ok_class or None)

    def fields(self) -> dict[str, tuple[tuple[int, ...], np.dtype, bool]]:
        """name → (per-record shape, dtype, one-record chunks with compression)."""
        C, P = len(self.classes), len(self.p)
        out = {
            "view1": (self.view_shape, np.dtype(np.uint8), True),
            "view2": (self.view_shape, np.dtype(np.uint8), True),
        }
        for j, (h, w) in enumerate(self.stage_shapes):
            out[f"cam_stage{j + 1}"] = ((2, h, w), np.dtype(np.float16), True)
        out.update(
            {
                "probs": ((C,), np.dtype(np.float32), False),
                "predicted": ((), np.dtype(np.uint8), False),
                "target": ((), np.dtype(np.uint8), False),
                "curves": ((3, P), np.dtype(np.float32), False),
                "m": ((), np.dtype(np.float32), False),
                "influence": ((), np.dtype(np.uint8), False),
                "timestamp": ((), np.dtype(np.float64), False),
                "cavity_id": ((), np.dtype(np.int32), False),
                "source": ((), np.dtype(f"S{SOURCE_BYTES}"), False),
                "frame_ids": ((2,), np.dtype(np.int64), False),
                "timings": ((len(TIMING_NAMES),), np.dtype(np.float32), False),
                "status": ((), np.dtype(np.uint8), False),
                "simulated": ((), np.dtype(np.bool_), False),
                "has_images": ((), np.dtype(np.bool_), False),
            }
        )
        return out

    def to_attrs(self) -> dict:
        return {
            "classes": np.array(self.classes, dtype="S"),
            "view_shape": np.array(self.view_shape, np.int64),
            "stage_shapes": np.array(self.stage_shapes, np.int64),
            "p": np.array(self.p, np.float64),
            "ok_class": self.class_set.ok,
            "fill": self.fill,
        }

    @classmethod
    def from_attrs(cls, attrs) -> "Layout":
        return cls(
            classes=tuple(c.decode() if isinstance(c, bytes) else str(c) for c in attrs["classes"]),
            view_shape=tuple(int(v) for v in attrs["view_shape"]),
            stage_shapes=tuple((int(h), int(w)) for h, w in attrs["stage_shapes"]),
            p=tuple(float(v) for v in attrs["p"]),
            ok_class=_text(attrs["ok_class"]) if "ok_class" in attrs else "",
            fill=_text(attrs["fill"]) if "fill" in attrs else "zero",
        )


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
