"""The gradient family: how one layer's activations A and gradients G = ∂y^c/∂A become a map.

Each rule takes A and G of shape (B, K, h, w) and returns a non-negative (B, h, w)
map at layer resolution. They all run inside `grad_cams`' single forward and
single backward pass for both views and all four stages; only this weighting
differs. y^c is the target logit throughout (pre-softmax), as for Grad-CAM.

- Grad-CAM: ReLU(Σ_k mean_{h,w}(G_k) · A_k).
- HiResCAM: ReLU(Σ_k G_k ⊙ A_k), element-wise. Equal to Grad-CAM up to a factor
  where the gradient is spatially constant (a layer straight before global
  pooling); the MVFN's stage outputs feed convolutions, so they differ.
- Grad-CAM++ in pytorch-grad-cam's closed form: with the score exp(y^c) and a
  piecewise-linear network, the second and third derivatives are powers of G, so
  α = G² / (2G² + Σ_{h,w}A · G³ + ε), α = 0 where G = 0, w_k = Σ_{h,w} ReLU(G_k)·α_k,
  map ReLU(Σ_k w_k A_k). The exp(y^c) factor that the paper's ReLU(∂exp(y^c)/∂A)
  carries is left out, as pytorch-grad-cam does: a positive per-pair scale that
  changes no ranking. (torchcam 0.5.0 sums A·G³ over positions instead of ΣA · G³,
  and its in-place division acts on a copy, so its α stays G²: not this method.)
- XGrad-CAM: w_k = Σ_{h,w} G_k ⊙ A_k / (Σ_{h,w} A_k + ε), map ReLU(Σ_k w_k A_k).
- LayerCAM: ReLU(Σ_k ReLU(G_k) ⊙ A_k), element-wise.

The ε are pytorch-grad-cam's (1e-6 for Grad-CAM++, 1e-7 for XGrad-CAM).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from inspector.explain.gradcam import CamRule, cam_from

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


RULES: dict[str, CamRule] = {
    "gradcam": cam_from,
    "hirescam": hirescam,
    "gradcampp": gradcampp,
    "xgradcam": xgradcam,
    "layercam": layercam,
}
