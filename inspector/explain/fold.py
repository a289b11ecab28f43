"""Inference copies of a model with batch norm folded into the convolution before it.

Exact up to float rounding: conv(x)·γ/σ + (β − μγ/σ) is one convolution. Only
Conv2d → BatchNorm2d pairs that follow each other inside an nn.Sequential are
folded, so any model stays correct; one that is not built that way is just not
made faster.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def _fold_pair(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    fused = copy.deepcopy(conv)
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    fused.weight = nn.Parameter(conv.weight.detach() * scale.view(-1, 1, 1, 1), requires_grad=False)
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    fused.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias.detach(), requires_grad=False)
    return fused


def fold_batchnorm(model: nn.Module) -> tuple[nn.Module, int]:
    """A deep copy of `model` in eval mode with Conv2d → BatchNorm2d pairs folded (and ReLUs that
    follow a convolution in place); and how many pairs were folded."""
    folded = copy.deepcopy(model).eval()
    count = 0
    for module in folded.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = module._modules[a], module._modules[b]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                module._modules[a] = _fold_pair(conv, bn)
                module._modules[b] = nn.Identity()
                count += 1
    for module in folded.modules():
        if not isinstance(module, nn.Sequential):
            continue
        # A ReLU right after a convolution may overwrite the conv's output (its backward does not
        # need it), saving a pass over memory; Grad-CAM still reads the block's output. Elsewhere
        # (after a sigmoid, on an input) in place would be wrong, so it is left alone.
        prev = None
        for child in module:
            if isinstance(child, nn.ReLU) and isinstance(prev, nn.Conv2d):
                child.inplace = True
            if not isinstance(child, nn.Identity):
                prev = child
    for p in folded.parameters():
        p.requires_grad_(False)
    return folded, count
