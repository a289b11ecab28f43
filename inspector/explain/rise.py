"""RISE per view (Petsiuk et al. 2018): random masks on one view at a time, weighed by the class probability.

Masks as the paper draws them: an s×s grid of cells kept with probability p,
upsampled bilinearly to (s+1)·cell size and cropped at a random shift, so their
edges are smooth and fall anywhere. For view i, every mask M_n multiplies view i's
raw image (the other view stays as it is) and the map is
S_i = Σ_n P(c | masked pair) · M_n / (N · p), an input-level map: RISE has no
stages, so the same map stands at all four. The masks come from a seeded
generator on the CPU, drawn once per image size: the same seed gives the same
maps on any device and in any call order.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F

from inspector.explain.perturb import PairScorer


def rise_masks(n: int, size: tuple[int, int], *, cells: int = 8, keep: float = 0.5, seed: int = 0) -> torch.Tensor:
    """(n, H, W) float32 masks in [0, 1] on the CPU, the same for the same arguments."""
    H, W = size
    gen = torch.Generator().manual_seed(int(seed))
    grid = (torch.rand((n, 1, cells, cells), generator=gen) < keep).float()
    ch, cw = math.ceil(H / cells), math.ceil(W / cells)
    up = F.interpolate(grid, size=((cells + 1) * ch, (cells + 1) * cw), mode="bilinear", align_corners=False)
    dy = torch.randint(0, ch, (n,), generator=gen)
    dx = torch.randint(0, cw, (n,), generator=gen)
    return torch.stack([up[i, 0, dy[i]:dy[i] + H, dx[i]:dx[i] + W] for i in range(n)])


def rise_map(scorer: PairScorer, view: int, masks: torch.Tensor, keep: float) -> torch.Tensor:
    """View `view`'s RISE map (B, H, W) for every pair of the scorer; masks (N, H, W) on the device."""
    x = scorer.x[view]
    B, N = x.shape[0], masks.shape[0]
    rows = torch.arange(B, device=x.device).repeat_interleave(N)
    which = torch.arange(N, device=x.device).repeat(B)

    def make(sl: slice) -> torch.Tensor:
        return x[rows[sl]] * masks[which[sl]][:, None].to(x.dtype)

    probs = scorer.one_view(view, rows, make, output="prob").view(B, N)
    return (probs @ masks.flatten(1)).view(B, *masks.shape[1:]) / (N * keep)


def rise_maps(
    model: nn.Module,
    x1: torch.Tensor,
    x2: torch.Tensor,
    masks: torch.Tensor,
    target: Optional[torch.Tensor] = None,
    *,
    keep: float = 0.5,
    chunk: int = 64,
) -> tuple[torch.Tensor, torch.Tensor, list[list[torch.Tensor]], Optional[tuple]]:
    """As `grad_cams`: logits, target, maps [view][stage] (the view's one map, at input size, for each
    of the four stages) and the stage features when the model has encode/fuse."""
    with torch.no_grad():
        split = hasattr(model, "encode") and hasattr(model, "fuse")
        feats = (model.encode(0, x1), model.encode(1, x2)) if split else None
        logits = model.fuse(*feats) if split else model(x1, x2)
        if target is None:
            target = logits.argmax(dim=1)
        scorer = PairScorer(model, x1, x2, target, feats=feats, chunk=chunk)
        maps = []
        for v in (0, 1):
            m = rise_map(scorer, v, masks, keep)
            maps.append([m] * 4)
    return logits, target, maps, feats
