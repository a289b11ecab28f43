"""Explanations of the MVFN's decisions: Tilgner et al.'s Grad-CAM masks, curves and camera influence.

Other explainers (HiResCAM, Grad-CAM++, XGrad-CAM, LayerCAM, Score-CAM, RISE, a fused
prior) start by registry name with `start_explainer`; how faithful their maps are is
`inspector.evaluation`'s business.
"""

from inspector.explain.engine import (
    DEFAULT_P,
    EQUAL_BAND,
    Explainer,
    Explanation,
    explain_batch,
    explain_pair,
    influence_of,
)
from inspector.explain.explainers import explainer_names, start_explainer
from inspector.explain.masks import occlusion_mask

__all__ = [
    "DEFAULT_P",
    "EQUAL_BAND",
    "Explainer",
    "Explanation",
    "explain_batch",
    "explain_pair",
    "explainer_names",
    "influence_of",
    "occlusion_mask",
    "start_explainer",
]
