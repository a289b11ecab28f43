"""Grad-CAM at every stage of both views from one forward and one backward pass.

α_k = mean_{w,h} ∂y^c/∂A^k with y^c the target logit; L = ReLU(Σ_k α_k A^k),
resized to H×W bilinearly (align_corners=False). Gradients come from one
`torch.autograd.grad` call over all eight activations, which leaves the
parameters' `.grad` untouched. The hooks that record a map per view, also
for a branch both views share, are the base's (`base.ActivationRecorder`); the
explainers that use this pass are `cam_rules.GradCAM` and its family.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import nn
from torch.nn import functional as F

from inspector.errors import InspectorError
from inspector.explain.base import ActivationRecorder, forward_recorded


def cam_from(activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Grad-CAM at layer resolution (B, h, w): ReLU(Σ_k mean_{w,h}(∂y/∂A_k) · A_k)."""
    alpha = grad.mean(dim=(2, 3), keepdim=True)
    return F.relu((alpha * activation).sum(dim=1))


CamRule = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def grad_cams(
    model: nn.Module,
    x1: torch.Tensor,
    x2: torch.Tensor,
    target: Optional[torch.Tensor] = None,
    rule: CamRule = cam_from,
) -> tuple[torch.Tensor, torch.Tensor, list[list[Optional[torch.Tensor]]], Optional[tuple]]:
    """Logits (B, C), target (B,), stage maps at layer resolution [view][stage] → (B, h, w) or None
    for a view without cam layers, and the detached stage features when the model has encode/fuse.

    rule(activation, gradient) → (B, h, w) weighs each layer's activations by its gradients
    (Grad-CAM by default; `cam_rules` has the rest of the gradient family)."""
    layers = model.cam_layers()
    if len(layers) != 2:
        raise InspectorError(f"cam_layers() must give two lists (one per view), got {len(layers)}")
    with torch.enable_grad(), ActivationRecorder(layers) as rec:
        # Inputs that require grad keep the graph even when every parameter is frozen.
        x1 = x1.detach().requires_grad_(True)
        x2 = x2.detach().requires_grad_(True)
        logits, feats = forward_recorded(model, rec, x1, x2)
        if target is None:
            target = logits.detach().argmax(dim=1)
        acts = rec.activations()
        flat = [a for view in acts for a in view]
        if flat:
            score = logits.gather(1, target.view(-1, 1)).sum()  # samples do not interact: one backward
            grads = torch.autograd.grad(score, flat, allow_unused=True)
        else:
            grads = []
    maps: list[list[Optional[torch.Tensor]]] = [[], []]
    i = 0
    for view in (0, 1):
        for a in acts[view]:
            g = grads[i]
            i += 1
            maps[view].append(torch.zeros_like(a[:, 0]) if g is None else rule(a.detach(), g))
    if feats is not None:
        feats = tuple([f.detach() for f in fs] for fs in feats)
    return logits.detach(), target, maps, feats
