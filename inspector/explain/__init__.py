"""Explanations of the MVFN's decisions: Tilgner et al.'s Grad-CAM masks, curves and camera influence.

`Explainer` is the base every explainer shares (hooks, batching, masks, curves,
m); `GradCAM` is Tilgner et al.'s, and HiResCAM, Grad-CAM++, XGrad-CAM, LayerCAM,
Score-CAM, RISE and a fused prior also start by registry name with
`start_explainer`. How faithful their maps are is `inspector.evaluation`'s business.
"""

from inspector.explain.base import Explainer
from inspector.explain.cam_rules import GradCAM, GradCAMPlusPlus, GradientCAM, HiResCAM, LayerCAM, XGradCAM
from inspector.explain.engine import DEFAULT_P, EQUAL_BAND, Explanation, influence_of
from inspector.explain.explainers import explain_batch, explain_pair, explainer_names, start_explainer
from inspector.explain.masks import occlusion_mask
from inspector.explain.rise import RISE
from inspector.explain.scorecam import ScoreCAM

__all__ = [
    "DEFAULT_P",
    "EQUAL_BAND",
    "Explainer",
    "Explanation",
    "GradCAM",
    "GradCAMPlusPlus",
    "GradientCAM",
    "HiResCAM",
    "LayerCAM",
    "RISE",
    "ScoreCAM",
    "XGradCAM",
    "explain_batch",
    "explain_pair",
    "explainer_names",
    "influence_of",
    "occlusion_mask",
    "start_explainer",
]
