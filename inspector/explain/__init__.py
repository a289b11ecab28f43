"""Explanations of the MVFN's decisions: seed 000's Grad-CAM masks, curves and camera influence."""

from inspector.explain.engine import (
    DEFAULT_P,
    EQUAL_BAND,
    Explainer,
    Explanation,
    explain_batch,
    explain_pair,
    influence_of,
)
from inspector.explain.masks import occlusion_mask

__all__ = [
    "DEFAULT_P",
    "EQUAL_BAND",
    "Explainer",
    "Explanation",
    "explain_batch",
    "explain_pair",
    "influence_of",
    "occlusion_mask",
]
