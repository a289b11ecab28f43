"""Score-CAM per view and stage: each channel's activation, as a mask on its own view, weighs itself.

For view i and stage j with activations A_k (B, K, h, w): each channel is min-max
normalised at layer resolution, (A_k − min A_k) / (max A_k − min A_k + 1e-8),
upsampled bilinearly (align_corners=False) to the input size and multiplied into
view i's raw image, every channel; the other view stays unmasked. The weights are
torchcam's (0.5.0): w = softmax_k(y^c(masked_k) − y^c(pair)) over the K channels,
y^c the target logit; the map is ReLU(Σ_k w_k A_k) with the raw activations.
pytorch-grad-cam's weights are the same softmax of logits (the shift cancels) but
it upsamples with align_corners=True before normalising.

One pass with the activations recorded (no gradients), then K masked copies per
view, stage and pair, scored in batches; the unmasked view's features are reused.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F

from inspector.errors import InspectorError
from inspector.explain.base import ActivationRecorder, Explainer, forward_recorded
from inspector.explain.perturb import PairScorer

NORMALISE_EPS = 1e-8


def normalised_channels(activation: torch.Tensor) -> torch.Tensor:
    """(B, K, h, w) → each channel min-max scaled to [0, 1] (an all-constant channel → 0)."""
    flat = activation.flatten(2)
    low = flat.amin(dim=2)[..., None, None]
    high = flat.amax(dim=2)[..., None, None]
    return (activation - low) / (high - low + NORMALISE_EPS)


def score_cam(scorer: PairScorer, view: int, activation: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """One view's and stage's Score-CAM (B, h, w); base: the unmasked target logits (B,)."""
    x = scorer.x[view]
    B, K = activation.shape[:2]
    masks = normalised_channels(activation.float()).flatten(0, 1)[:, None]  # (B·K, 1, h, w)
    rows = torch.arange(B, device=x.device).repeat_interleave(K)

    def make(sl: slice) -> torch.Tensor:
        up = F.interpolate(masks[sl], size=x.shape[2:], mode="bilinear", align_corners=False)
        return x[rows[sl]] * up.to(x.dtype)

    scores = scorer.one_view(view, rows, make, output="logit").view(B, K)
    weights = torch.softmax(scores - base.view(-1, 1), dim=1)
    return F.relu((weights[..., None, None] * activation.float()).sum(dim=1))


def score_cams(
    model: nn.Module, x1: torch.Tensor, x2: torch.Tensor, target: Optional[torch.Tensor] = None, *, chunk: int = 64
) -> tuple[torch.Tensor, torch.Tensor, list[list[torch.Tensor]], Optional[tuple]]:
    """As `grad_cams`: logits (B, C), target (B,), stage maps [view][stage] → (B, h, w) at layer
    resolution, and the stage features when the model has encode/fuse."""
    layers = model.cam_layers()
    if len(layers) != 2:
        raise InspectorError(f"cam_layers() must give two lists (one per view), got {len(layers)}")
    with torch.no_grad():
        with ActivationRecorder(layers) as rec:
            logits, feats = forward_recorded(model, rec, x1, x2)
            acts = rec.activations()
        if target is None:
            target = logits.argmax(dim=1)
        scorer = PairScorer(model, x1, x2, target, feats=feats, chunk=chunk)
        base = logits.float().gather(1, target.view(-1, 1))[:, 0]
        maps = [[score_cam(scorer, v, a, base) for a in acts[v]] for v in (0, 1)]
    return logits, target, maps, feats


class ScoreCAM(Explainer):
    """Score-CAM per view and stage (registry name `scorecam`): each channel's activation, as a mask
    on its own view, weighs itself by the target logit it leaves; no gradients.

        w = softmax_k(y^c(I_i ⊙ up(norm(A_k))) − y^c(I)),   L = ReLU(Σ_k w_k A_k)

    with norm the min-max scaling of a channel and up the bilinear resize to the input (the
    other view unmasked). `chunk` masked copies go through the model at once.

    "Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural Networks",
    H. Wang et al., CVPR Workshops 2020.

    Example:
        >>> from inspector import load_model
        >>> from inspector.explain import ScoreCAM
        >>> e = ScoreCAM(load_model(), chunk=128).explain(view1, view2)
        >>> e.timings["maps_s"]  # a masked copy per channel, stage and view: the slowest maps here
    """

    name = "scorecam"

    def _maps(self, x1, x2, target):
        return score_cams(self.model, x1, x2, target, chunk=self.chunk)
