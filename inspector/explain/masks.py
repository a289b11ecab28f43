"""Occlusion masks from a heatmap (Tilgner et al., step 2 of the method).

Threshold τ = max(L̂)/4; the positions with L̂ > τ (strictly), sorted by value
descending (stable: ties keep row-major order); the first floor(p·N + 0.5) of
them are 0 in the mask, everything else 1. p = 1 occludes every position above
τ, never the whole image; an all-zero map has N = 0 and occludes nothing.
"""

from __future__ import annotations

import numpy as np
import torch

from inspector.errors import InspectorError

# p·N + 0.5 lands exactly on an integer for many grid points; binary fractions such as
# 0.3 = 0.2999… would round those down. The guard is far below any real step of p·N.
_ROUNDING_GUARD = 1e-9


def occluded_count(p: float | np.ndarray, n: int | np.ndarray) -> np.ndarray:
    """How many of the n above-threshold positions a proportion p occludes: floor(p·n + 0.5)."""
    return np.floor(np.asarray(p, np.float64) * np.asarray(n, np.float64) + 0.5 + _ROUNDING_GUARD).astype(np.int64)


def occlusion_order(heatmap: np.ndarray) -> tuple[np.ndarray, int]:
    """Flat positions sorted by value descending (stable), and N, how many lie strictly above max/4."""
    values = np.asarray(heatmap, np.float64).ravel()
    if not np.all(np.isfinite(values)):
        raise InspectorError("heatmap contains NaN or infinite values")
    tau = values.max() / 4.0 if values.size else 0.0
    order = np.argsort(-values, kind="stable")
    return order, int((values > tau).sum())


def occlusion_mask(heatmap: np.ndarray, p: float) -> np.ndarray:
    """H×W uint8 mask, 0 where occluded, for proportion p ∈ [0, 1] of the map's high-influence region."""
    heatmap = np.asarray(heatmap)
    if heatmap.ndim != 2:
        raise InspectorError(f"heatmap must be H×W, got shape {heatmap.shape}")
    if not 0.0 <= float(p) <= 1.0:
        raise InspectorError(f"p must be within [0, 1], got {p}")
    order, n = occlusion_order(heatmap)
    mask = np.ones(heatmap.size, np.uint8)
    mask[order[: int(occluded_count(p, n))]] = 0
    return mask.reshape(heatmap.shape)


def occlusion_ranks(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched: for maps (B, H, W), each position's rank in the stable descending order (B, H, W),
    and N per map (B,). A position is occluded at count k exactly when its rank is below k."""
    B, H, W = heatmaps.shape
    flat = heatmaps.reshape(B, -1).double()
    if not torch.isfinite(flat).all():
        raise InspectorError("heatmap contains NaN or infinite values")
    tau = flat.max(dim=1, keepdim=True).values / 4.0
    order = torch.sort(flat, dim=1, descending=True, stable=True).indices
    # int32 ranks: the curves gather them for every masked copy, and half the bytes is half the traffic.
    ranks = torch.empty(order.shape, dtype=torch.int32, device=flat.device)
    ranks.scatter_(1, order, torch.arange(flat.shape[1], dtype=torch.int32, device=flat.device).expand(B, -1))
    return ranks.reshape(B, H, W), (flat > tau).sum(dim=1)
