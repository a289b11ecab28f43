"""Grad-CAM at every stage of both views from one forward and one backward pass.

α_k = mean_{w,h} ∂y^c/∂A^k with y^c the target logit; L = ReLU(Σ_k α_k A^k),
resized to H×W bilinearly (align_corners=False). Gradients come from one
`torch.autograd.grad` call over all eight activations, which leaves the
parameters' `.grad` untouched.

A branch shared by both views runs its modules twice per forward. Hooks here
keep every call's output, and the engine tells which view is running (it calls
`encode(view, x)` itself when the model offers it), so each view gets its own
map — where captum and torchcam keep the last call and pytorch-grad-cam the first.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from inspector.errors import InspectorError


class ActivationRecorder:
    """Forward hooks on the cam layers that keep each call's output with the view it belongs to.

    A context manager: hooks are removed on exit, also when the forward raises.
    """

    def __init__(self, layers: Sequence[Sequence[nn.Module]]):
        self.layers = [list(v) for v in layers]
        self.view: Optional[int] = None  # set while the engine encodes one view
        self.calls: dict[int, list[tuple[Optional[int], torch.Tensor]]] = {}
        self._handles = []

    def __enter__(self) -> "ActivationRecorder":
        unique = {id(m): m for v in self.layers for m in v}
        for key, module in unique.items():
            self.calls[key] = []
            self._handles.append(module.register_forward_hook(self._hook(key)))
        return self

    def _hook(self, key: int):
        def hook(module, inputs, output):
            if not isinstance(output, torch.Tensor):
                raise InspectorError(f"cam layer {type(module).__name__} returns {type(output).__name__}, not a tensor")
            self.calls[key].append((self.view, output))

        return hook

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def clear(self) -> None:
        for v in self.calls.values():
            v.clear()

    def activations(self) -> list[list[torch.Tensor]]:
        """Per view, per stage, the recorded activation (B, K, h, w)."""
        out: list[list[torch.Tensor]] = [[], []]
        for view, modules in enumerate(self.layers):
            for module in modules:
                calls = self.calls[id(module)]
                tagged = [t for v, t in calls if v == view]
                if len(tagged) == 1:
                    out[view].append(tagged[0])
                    continue
                # The model ran as a whole: a module serving both views ran once per view, in view order.
                serves = [v for v, mods in enumerate(self.layers) if any(m is module for m in mods)]
                if len(calls) != len(serves) or any(v is not None for v, _ in calls):
                    raise InspectorError(
                        f"cam layer {type(module).__name__} ran {len(calls)} time(s) in one forward pass for "
                        f"{len(serves)} view(s): cannot tell which output belongs to view {view + 1}"
                    )
                out[view].append(calls[serves.index(view)][1])
        return out


def forward_recorded(model: nn.Module, recorder: ActivationRecorder, x1: torch.Tensor, x2: torch.Tensor):
    """Logits and, when the model offers them, both views' stage features (encode/fuse)."""
    if hasattr(model, "encode") and hasattr(model, "fuse"):
        recorder.view = 0
        f1 = model.encode(0, x1)
        recorder.view = 1
        f2 = model.encode(1, x2)
        recorder.view = None
        return model.fuse(f1, f2), (f1, f2)
    return model(x1, x2), None


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
