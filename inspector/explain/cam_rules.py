"""The gradient family: how one layer's activations A and gradients G = ∂y^c/∂A become a map,
and the explainers that differ only in that.

Each rule takes A and G of shape (B, K, h, w) and returns a non-negative (B, h, w)
map at layer resolution. They all run inside `grad_cams`' single forward and
single backward pass for both views and all four stages; only this weighting
differs. y^c is the target logit throughout (pre-softmax), as for Grad-CAM. Each
explainer's docstring gives its equation and its paper.

The ε are pytorch-grad-cam's (1e-6 for Grad-CAM++, 1e-7 for XGrad-CAM).
"""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch.nn import functional as F

from inspector.explain.base import Explainer
from inspector.explain.gradcam import cam_from, grad_cams

GRADCAMPP_EPS = 1e-6
XGRADCAM_EPS = 1e-7


def hirescam(activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    return F.relu((grad * activation).sum(dim=1))


def gradcampp(activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    g2 = grad.pow(2)
    g3 = g2 * grad
    total = activation.sum(dim=(2, 3), keepdim=True)
    alpha = g2 / (2 * g2 + total * g3 + GRADCAMPP_EPS)
    alpha = torch.where(grad != 0, alpha, torch.zeros_like(alpha))
    weights = (F.relu(grad) * alpha).sum(dim=(2, 3), keepdim=True)
    return F.relu((weights * activation).sum(dim=1))


def xgradcam(activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    total = activation.sum(dim=(2, 3), keepdim=True)
    weights = (grad * activation / (total + XGRADCAM_EPS)).sum(dim=(2, 3), keepdim=True)
    return F.relu((weights * activation).sum(dim=1))


def layercam(activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    return F.relu((F.relu(grad) * activation).sum(dim=1))


class GradientCAM(Explainer):
    """The gradient family: the maps of one forward and one backward pass (`grad_cams`), weighed
    by `rule(A, G)` → (B, h, w); a subclass names its rule and is a new gradient CAM.

    Example, a rule of one's own (each channel weighed by its largest gradient):
        >>> from torch.nn import functional as F
        >>> from inspector import load_model
        >>> from inspector.explain import GradientCAM
        >>> class MaxGradCAM(GradientCAM):
        ...     name = "maxgradcam"
        ...     rule = staticmethod(lambda a, g: F.relu((g.amax(dim=(2, 3), keepdim=True) * a).sum(dim=1)))
        >>> e = MaxGradCAM(load_model()).explain(view1, view2)
    """

    @staticmethod
    @abstractmethod
    def rule(activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """One layer's map (B, h, w) from its activations and gradients (B, K, h, w)."""

    def _maps(self, x1, x2, target):
        return grad_cams(self.model, x1, x2, target, rule=self.rule)


class GradCAM(GradientCAM):
    """Grad-CAM (registry name `gradcam`), the prior of Tilgner et al.'s masks:

        w_k = mean_{h,w} ∂y^c/∂A_k,   L = ReLU(Σ_k w_k A_k)

    "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization",
    R. R. Selvaraju et al., ICCV 2017.

    Example:
        >>> from inspector import load_model
        >>> from inspector.explain import GradCAM
        >>> e = GradCAM(load_model()).explain(view1, view2)  # H×W×3 uint8 RGB views
        >>> e.cams.shape, e.m, e.influence  # ((2, 4, H, W), m, "camera 1", "camera 2" or "equal")
    """

    name = "gradcam"
    rule = staticmethod(cam_from)


class HiResCAM(GradientCAM):
    """HiResCAM (registry name `hirescam`), the gradients multiplied in element-wise, not averaged:

        L = ReLU(Σ_k ∂y^c/∂A_k ⊙ A_k)

    Equal to Grad-CAM up to a factor where the gradient is spatially constant (a layer
    straight before global pooling); the MVFN's stage outputs feed convolutions, so they differ.

    "Use HiResCAM instead of Grad-CAM for faithful explanations of convolutional neural
    networks", R. L. Draelos and L. Carin, 2020.

    Example:
        >>> from inspector import load_model
        >>> from inspector.explain import GradCAM, HiResCAM
        >>> model = load_model()
        >>> hires, grad = HiResCAM(model).explain(view1, view2), GradCAM(model).explain(view1, view2)
        >>> hires.cams[:, 3] - grad.cams[:, 3]  # stage 4 of both views: the MVFN's maps differ
    """

    name = "hirescam"
    rule = staticmethod(hirescam)


class GradCAMPlusPlus(GradientCAM):
    """Grad-CAM++ (registry name `gradcampp`) in pytorch-grad-cam's closed form. With the score
    exp(y^c) and a piecewise-linear network the second and third derivatives are powers of G:

        α = G² / (2G² + Σ_{h,w}A · G³ + ε),  α = 0 where G = 0
        w_k = Σ_{h,w} ReLU(G_k) · α_k,        L = ReLU(Σ_k w_k A_k)

    The exp(y^c) factor that the paper's ReLU(∂exp(y^c)/∂A) carries is left out, as
    pytorch-grad-cam does: a positive per-pair scale that changes no ranking. (torchcam
    0.5.0 sums A·G³ over positions instead of ΣA · G³, and its in-place division acts on
    a copy, so its α stays G²: not this method.)

    "Grad-CAM++: Generalized Gradient-based Visual Explanations for Deep Convolutional
    Networks", A. Chattopadhay et al., WACV 2018.

    Example:
        >>> from inspector import load_model
        >>> from inspector.explain import GradCAMPlusPlus
        >>> explainer = GradCAMPlusPlus(load_model(), prior="fused")  # masks from all four stages
        >>> [e.influence for e in explainer.explain_batch(views1, views2)]  # N×H×W×3 each
    """

    name = "gradcampp"
    rule = staticmethod(gradcampp)


class XGradCAM(GradientCAM):
    """XGrad-CAM (registry name `xgradcam`), each channel's gradient weighed by its share of the activation:

        w_k = Σ_{h,w} G_k ⊙ A_k / (Σ_{h,w} A_k + ε),   L = ReLU(Σ_k w_k A_k)

    "Axiom-based Grad-CAM: Towards Accurate Visualization and Explanation of CNNs",
    R. Fu et al., BMVC 2020.

    Example:
        >>> from inspector import load_model
        >>> from inspector.explain import XGradCAM
        >>> e = XGradCAM(load_model(), device="auto").explain(view1, view2, target="skewed")
        >>> e.target_name, e.probs, e.curves  # a1, a2, a3 of the class asked about
    """

    name = "xgradcam"
    rule = staticmethod(xgradcam)


class LayerCAM(GradientCAM):
    """LayerCAM (registry name `layercam`), the positive gradients multiplied in element-wise:

        L = ReLU(Σ_k ReLU(G_k) ⊙ A_k)

    "LayerCAM: Exploring Hierarchical Class Activation Maps for Localization",
    P.-T. Jiang et al., IEEE TIP 2021.

    Example:
        >>> from inspector import load_model
        >>> from inspector.explain import LayerCAM
        >>> e = LayerCAM(load_model()).explain(view1, view2)
        >>> e.stage_maps[0]  # view 1's four maps at layer resolution, the finest first
    """

    name = "layercam"
    rule = staticmethod(layercam)
