"""Block-wise fusion of the four stage maps into one, in the spirit of SISE's fusion module
(Sattarzadeh et al., phase 4).

SISE visualises the last layer of every block (before each downsampling) and
cascades the maps from the deepest block to the shallowest: the deeper, more
class-discriminative map is binarised with an adaptive (Otsu) threshold and
gates the shallower, finer map, which is then added. Here the cascade runs over
the explainer's four stage maps at input size, each first scaled to [0, 1] by
its maximum:

    F_4 = L̂_4;   F_j = norm(F_{j+1} + L̂_j ⊙ [F_{j+1} > otsu(F_{j+1})]),  j = 3, 2, 1

and F_1 is the fused map. SISE's own stage maps come from its attribution-mask
scoring (phases 1–3); this keeps whichever explainer made the stage maps and
takes only the fusion, so it serves as a prior for the masks of any of them.
"""

from __future__ import annotations

import torch

OTSU_BINS = 256


def _unit(maps: torch.Tensor) -> torch.Tensor:
    """(B, H, W) scaled by each map's maximum; an all-zero map stays zero."""
    top = maps.flatten(1).amax(dim=1).view(-1, 1, 1)
    return torch.where(top > 0, maps / torch.where(top > 0, top, torch.ones_like(top)), torch.zeros_like(maps))


def otsu_bins(maps: torch.Tensor, bins: int = OTSU_BINS) -> tuple[torch.Tensor, torch.Tensor]:
    """For maps (B, H, W) in [0, 1]: each position's histogram bin (B, H, W) and Otsu's threshold bin (B,):
    positions in bins above it are foreground."""
    B = maps.shape[0]
    idx = (maps.clamp(0, 1) * bins).long().clamp_(max=bins - 1).flatten(1)
    hist = torch.zeros((B, bins), dtype=torch.float64, device=maps.device)
    hist.scatter_add_(1, idx, torch.ones_like(idx, dtype=torch.float64))
    prob = hist / hist.sum(dim=1, keepdim=True)
    omega = prob.cumsum(dim=1)
    mu = (prob * torch.arange(bins, dtype=torch.float64, device=maps.device)).cumsum(dim=1)
    between = (mu[:, -1:] * omega - mu) ** 2 / (omega * (1 - omega))
    # Splits with an empty side have no between-class variance, not an undefined one.
    between = torch.nan_to_num(between, nan=0.0, posinf=0.0, neginf=0.0)
    return idx.view_as(maps), between.argmax(dim=1)


def block_fusion(stage_maps: torch.Tensor) -> torch.Tensor:
    """(B, S, H, W) stage maps, shallowest first → (B, H, W) fused map in [0, 1]."""
    fused = _unit(stage_maps[:, -1].float())
    for j in range(stage_maps.shape[1] - 2, -1, -1):
        bins, threshold = otsu_bins(fused)
        gate = bins > threshold.view(-1, 1, 1)
        fused = _unit(fused + _unit(stage_maps[:, j].float()) * gate)
    return fused
