"""What the engine takes and gives: views as a batch, the `Explanation` of a pair, and m's reading.

The engine itself is `base.Explainer`, which every explainer subclasses. The
explainers import this module, so it imports none of them (`explain_pair` and
`explain_batch`, which need Grad-CAM, are in `explainers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np
import torch

from inspector.errors import InspectorError
from inspector.explain.influence_interval import EQUAL_BAND, m_interval

DEFAULT_P = np.round(np.linspace(0.0, 1.0, 11), 10)
VIEW_NAMES = ("camera 1", "camera 2")
PRIORS = ("stage4", "fused")  # which map the occlusion masks are drawn from


@dataclass
class Explanation:
    """Everything the method says about one pair; arrays are numpy, on the CPU."""

    probs: np.ndarray  # (C,) softmax of the unmasked pair
    target: int  # class index the maps and curves explain
    classes: tuple[str, ...]
    cams: np.ndarray  # (2, 4, H, W) float32, unnormalised, at input size
    p: np.ndarray  # (P,)
    curves: np.ndarray  # (3, P): a1, a2, a3
    m: float
    influence: str  # "camera 1", "camera 2" or "equal"
    occludable: np.ndarray  # (2,) positions above threshold in each view's stage-4 map (N)
    curve_predictions: np.ndarray = None  # (3, P) class predicted at every curve point
    stage_maps: list[list[np.ndarray]] = field(default_factory=list)  # [view][stage] at layer resolution
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)  # seconds, per stage of the work
    explainer: str = ""  # the registry name of what made it ("" when not known, e.g. read from a log)
    prior: Optional[np.ndarray] = None  # (2, H, W) the masks' map when it is not stage 4's (prior="fused")
    fill: str = "zero"  # what the occluded pixels became in the curves (`fills.FILLS`; "zero" is the paper's)

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probs))

    @property
    def target_name(self) -> str:
        return self.classes[self.target]

    @property
    def prior_maps(self) -> np.ndarray:
        """(2, H, W): per view, the map the occlusion masks (and the faithfulness metrics) rank by."""
        return self.prior if self.prior is not None else self.cams[:, 3]

    def to_dict(self) -> dict:
        """Scalars and curves as plain data (for JSON); maps are left out."""
        made_by = {"explainer": self.explainer} if self.explainer else {}
        return {
            **made_by,
            "classes": list(self.classes),
            "probs": {c: float(v) for c, v in zip(self.classes, self.probs)},
            "predicted": self.classes[self.predicted],
            "target": self.target_name,
            "p": [float(v) for v in self.p],
            "curves": {name: [float(v) for v in row] for name, row in zip(("a1", "a2", "a3"), self.curves)},
            "m": float(self.m),
            "influence": self.influence,
            **self.interval_dict(),
            "fill": self.fill,
            "occludable": [int(v) for v in self.occludable],
            "notes": list(self.notes),
        }

    def interval_dict(self) -> dict:
        """m's bootstrap-over-p interval and whether it is unsure (`influence_interval`)."""
        r = m_interval(self.curves)
        low, high = float(r.low), float(r.high)
        return {"m_interval": None if not np.isfinite(low) else [low, high], "unsure": bool(r.unsure)}


def influence_of(m: float) -> str:
    """Tilgner et al.: |m| < 0.02 equal; m < 0 camera 1 had more influence; m > 0 camera 2."""
    if abs(m) < EQUAL_BAND:
        return "equal"
    return "camera 1" if m < 0 else "camera 2"


ViewsLike = Union[np.ndarray, torch.Tensor]


def views_as_batch(views: ViewsLike, name: str, size: Optional[tuple[int, int]]) -> torch.Tensor:
    """(N, H, W, 3) or (H, W, 3) uint8 RGB or float in [0, 1] → float32 (N, 3, H, W) on the CPU."""
    a = views.detach().cpu().numpy() if isinstance(views, torch.Tensor) else np.asarray(views)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3:
        raise InspectorError(f"{name}: expected H×W×3 RGB images, got shape {a.shape}")
    if a.dtype == np.uint8:
        t = torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float().div_(255.0)
    elif a.dtype in (np.float32, np.float64):
        if not np.all(np.isfinite(a)):
            raise InspectorError(f"{name}: contains NaN or infinite values")
        if a.size and (a.min() < 0.0 or a.max() > 1.0):
            raise InspectorError(f"{name}: float images must lie in [0, 1], got [{a.min():.3g}, {a.max():.3g}]")
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(0, 3, 1, 2)
    else:
        raise InspectorError(f"{name}: pixels must be uint8 or float in [0, 1], got {a.dtype}")
    if size is not None and tuple(t.shape[2:]) != tuple(size):
        raise InspectorError(
            f"{name}: images are {t.shape[3]}×{t.shape[2]} but the model takes {size[1]}×{size[0]}"
        )
    return t.contiguous()
