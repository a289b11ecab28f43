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

from inspector.errors import InspectorError
from inspector.explain.base import Explainer
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


class RISE(Explainer):
    """RISE per view (registry name `rise`): random masks on one view at a time, weighed by the
    class probability they leave; no gradients and no stages.

        S_i = Σ_n P(c | masked pair) · M_n / (N · p)

    over `masks` = N masks of a `cells`×`cells` grid, each cell kept with probability
    `keep` = p; `seed` fixes the masks (drawn once per image size, on the CPU, then kept on
    the device). The one input-level map stands at all four stages.

    "RISE: Randomized Input Sampling for Explanation of Black-box Models",
    V. Petsiuk, A. Das and K. Saenko, BMVC 2018.

    Example:
        >>> from inspector import load_model
        >>> from inspector.explain import RISE
        >>> e = RISE(load_model(), masks=512, cells=8, keep=0.5, seed=0).explain(view1, view2)
        >>> bool((e.cams[:, 0] == e.cams[:, 3]).all())  # one input-level map stands at every stage
        True
    """

    name = "rise"

    def __init__(
        self, model: nn.Module, *, masks: int = 512, cells: int = 8, keep: float = 0.5, seed: int = 0, **options
    ):
        if int(masks) < 1 or int(cells) < 1 or not 0.0 < float(keep) < 1.0:
            raise InspectorError(f"rise: need masks ≥ 1, cells ≥ 1 and 0 < keep < 1 (got {masks}, {cells}, {keep})")
        super().__init__(model, **options)
        self.n_masks, self.cells, self.keep, self.seed = int(masks), int(cells), float(keep), int(seed)
        self._masks: dict[tuple[int, int], torch.Tensor] = {}

    def masks(self, size: tuple[int, int]) -> torch.Tensor:
        size = (int(size[0]), int(size[1]))
        if size not in self._masks:
            drawn = rise_masks(self.n_masks, size, cells=self.cells, keep=self.keep, seed=self.seed)
            self._masks[size] = drawn.to(self.device)
        return self._masks[size]

    def _maps(self, x1, x2, target):
        return rise_maps(self.model, x1, x2, self.masks(x1.shape[2:]), target, keep=self.keep, chunk=self.chunk)
