"""What the occluded pixels of a masked view become: the fill of the masked-input curves.

- `zero` (the default, Tilgner et al.'s method): I ⊙ M, black in raw [0, 1] pixels.
- `mean`: the per-channel mean of the training data, the model's normalisation
  mean μ: I ⊙ M + μ (1 − M). After normalisation that is 0, the input a
  network sees most often.
- `road`: noisy linear imputation after Rong et al., "A Consistent and Efficient
  Evaluation Strategy for Attribution Methods" (ICML 2022): each removed pixel is
  the weighted mean of its 8 neighbours (weight 1/6 on the sides, 1/12 on the
  corners, renormalised at the border), known pixels fixed. That is the linear
  system x_i = Σ_j w_ij x_j / Σ_j w_ij over the removed i, solved here batched in
  torch coarse to fine: the removed region is first filled from a half-size copy
  (solved the same way, down to 8 px), then `SWEEPS` Jacobi sweeps of the 3×3
  neighbour average over the removed pixels converge it (the coarse start is
  what makes a few sweeps enough for large holes). Then Gaussian noise of
  standard deviation `NOISE` is added to the removed pixels, and all is clipped
  to [0, 1]. The noise is one fixed field per view (seeded), so a pair's curves
  do not depend on what else is in its batch.

ROAD's point is that a constant fill leaves the removed region's shape in the
image, which the network can read as evidence; the imputation takes the
information away without drawing the tell-tale hole.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from inspector.errors import InspectorError
from inspector.fill_names import DEFAULT_FILL, FILLS, check_fill

__all__ = ["DEFAULT_FILL", "FILLS", "check_fill", "impute_linear", "impute_road", "mean_fill", "noise_field"]

SWEEPS = 24
NOISE = 0.01  # ROAD's default noise level, in raw [0, 1] pixels
NOISE_SEED = 4242
_COARSEST = 8

# Rong et al.'s neighbour weights: sides 1/6, corners 1/12 (they sum to 1 inside the image).
_WEIGHTS = torch.tensor([[1 / 12, 1 / 6, 1 / 12], [1 / 6, 0.0, 1 / 6], [1 / 12, 1 / 6, 1 / 12]], dtype=torch.float64)


def _neighbour_mean(x: torch.Tensor, kernel: torch.Tensor, norm: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    return F.conv2d(F.pad(x, (1, 1, 1, 1)), kernel.expand(c, 1, 3, 3), groups=c) / norm


def impute_linear(x: torch.Tensor, keep: torch.Tensor, sweeps: int = SWEEPS) -> torch.Tensor:
    """x (B, C, H, W) with the pixels where keep (B, 1, H, W) is False replaced by the solution of the
    neighbour-average system (no noise); kept pixels are returned unchanged."""
    keep = keep.to(torch.bool)
    if bool(keep.all()):
        return x
    B, C, H, W = x.shape
    kernel = _WEIGHTS.to(device=x.device, dtype=x.dtype).view(1, 1, 3, 3)
    # Σ of the weights that fall inside the image, per position: the border renormalisation.
    norm = _neighbour_mean(torch.ones((1, 1, H, W), dtype=x.dtype, device=x.device), kernel, 1.0)
    known = keep.to(x.dtype)
    if min(H, W) > _COARSEST:
        # The half-size problem: a pixel is known there if any of its four is, with their mean.
        weight = F.avg_pool2d(known, 2, ceil_mode=True)
        coarse = F.avg_pool2d(x * known, 2, ceil_mode=True) / weight.clamp_min(1e-12)
        solved = impute_linear(coarse, weight > 0, sweeps)
        start = F.interpolate(solved, size=(H, W), mode="bilinear", align_corners=False)
    else:
        # The coarsest level starts from the mean of what is known (or mid-grey with nothing known).
        total = known.sum(dim=(2, 3), keepdim=True)
        start = ((x * known).sum(dim=(2, 3), keepdim=True) / total.clamp_min(1.0)).where(total > 0, 0.5)
        start = start.expand(B, C, H, W)
        sweeps = max(sweeps, 4 * H * W)  # tiny, so converge it fully: Jacobi needs O(side²) sweeps
    y = torch.where(keep, x, start)
    for _ in range(sweeps):
        y = torch.where(keep, x, _neighbour_mean(y, kernel, norm))
    return y


def noise_field(shape, view: int, *, device, dtype) -> torch.Tensor:
    """(C, H, W) standard normal, the same for every pair of a view: seeded by the view and the size."""
    g = torch.Generator().manual_seed(NOISE_SEED + 1000 * view + shape[-1] * 7 + shape[-2])
    return torch.randn(tuple(shape), generator=g, dtype=torch.float32).to(device=device, dtype=dtype)


def impute_road(x: torch.Tensor, keep: torch.Tensor, noise: torch.Tensor, sigma: float = NOISE) -> torch.Tensor:
    """ROAD's noisy linear imputation of x (B, C, H, W) in raw [0, 1] where keep (B, 1, H, W) is False;
    `noise` (C, H, W) standard normal."""
    keep = keep.to(torch.bool)
    filled = impute_linear(x, keep) + sigma * noise
    return torch.where(keep, x, filled.clamp(0.0, 1.0))


def mean_fill(model, channels: int, *, device, dtype) -> torch.Tensor:
    """(1, C, 1, 1): the model's normalisation mean in raw pixels (the `mean` fill)."""
    mean = getattr(model, "mean", None)
    if not isinstance(mean, torch.Tensor):
        config = getattr(model, "config", None)
        mean = getattr(config, "mean", None)
    if mean is None:
        raise InspectorError("fill 'mean' needs a model that names its normalisation mean (model.mean)")
    mean = torch.as_tensor(mean, dtype=dtype, device=device).reshape(1, -1, 1, 1)
    if mean.shape[1] != channels:
        raise InspectorError(f"the model's mean has {mean.shape[1]} channels, the images {channels}")
    return mean
