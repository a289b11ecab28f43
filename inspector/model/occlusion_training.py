"""Occlusion-consistent training: a recipe under which occlusion means absence.

Tilgner et al.'s influence test occludes the top share p of a view's stage-4
Grad-CAM region above τ = max/4 by setting raw pixels to zero and reads m from
how P(class) falls. That measures influence only for a network that treats an
occluded region as "this evidence is not there". A network never trained on
such inputs answers them arbitrarily (a zero-filled hole looks like `skewed`'s
dark gap; black holes in a saturated view lower P(missing)). So, as ROAR
retrains on inputs with the attributed pixels removed so that removal is in
distribution ("A Benchmark for Interpretability Methods in Deep Neural
Networks", Hooker, Erhan, Kindermans, Kim, 2019), training here shows the
network the very masks the method makes, with a target that says what is still
visible. ROAD ("A Consistent and Efficient Evaluation Strategy for Attribution
Methods", Rong, Leemann, Borisov, Kasneci, Kasneci, 2022) shows that a
constant-filled mask leaks class information through its shape; training on
the mask shape is what takes that leak away without changing the pinned fill.

For a share of each batch one view v of a pair is occluded: the mask is
M_{v,p} of the method (stage-4 Grad-CAM of the current model for the pair's
label, computed on the un-augmented views, refreshed every few epochs),
p ~ U{0.1, 0.2, …, 1}, moved through the same pose augmentation as the images
and applied after the camera augmentation as raw pixels set to 0. The target:

    t = onehot(y)                          if the other view also shows the evidence,
                                           or v is a view that does not show it
    t = (1 − p)·onehot(y) + p·u            if v is the only view that shows it

with u uniform over the classes. A label kept when the occlusion removes the
only evidence teaches the network to guess (this project's first attempt); a
soft target in proportion to what was removed teaches it to be unsure, so a
and hence m fall only when the occluded view carried the decision.

Which view shows the evidence comes from the dataset's `evidence` field
("both", "camera 1", "camera 2"). A plant's dataset may lack it; then it is
estimated from the current model at every refresh: view v is the only evidence
view when occluding its whole τ region (p = 1) leaves P(y) < 0.5 while
occluding the other view's leaves P(y) ≥ 0.5; when both occlusions drop P(y)
below 0.5 each view is needed and both count as only-evidence views. The
estimate inherits the model's blind spots (a class its parent still sees
through an occluded view keeps the hard label), so it is a fallback, not the
ground truth; README "Training for faithful influence" measures both. A pair
the model does not yet give its label confidently (P(y) < 0.5 unoccluded; a
new line's pairs early in a fine-tune) says nothing about its views and is not
occluded until a later refresh finds it known: guessing its evidence wrong
would soften the very targets the model has still to learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from inspector.explain.gradcam import grad_cams
from inspector.explain.masks import occluded_count, occlusion_ranks

# "evidence": the recipe; "kept": the same masks with the label kept (the ablation that teaches
# guessing); "none": training as before the recipe, bit for bit.
OCCLUSION_MODES = ("evidence", "kept", "none")
P_GRID = np.round(np.arange(1, 11) / 10.0, 10)  # the method's grid without p = 0, which occludes nothing
CONFIDENT = 0.5  # P(y) at or above this with a view occluded: the other view still shows y


@dataclass
class OcclusionState:
    """Per training pair: stage-4 maps at layer resolution (N, 2, h, w) for its label, whether each view
    is the only one that shows the evidence (N, 2), and whether that is known at all (N,)."""

    maps: torch.Tensor
    only: np.ndarray
    known: np.ndarray  # (N,) bool: pairs whose evidence is known; only these are occluded


def only_from_evidence(evidence: np.ndarray) -> np.ndarray:
    """(N, 2) bool from the dataset's evidence strings: view v is the only evidence view when the
    evidence is "camera v+1"."""
    ev = np.asarray(evidence).astype(str)
    return np.stack([ev == "camera 1", ev == "camera 2"], axis=1)


def only_from_confidence(p_masked: np.ndarray) -> np.ndarray:
    """(N, 2) bool from P(y) with view v's τ region fully occluded (N, 2): v is an only-evidence view when
    occluding it drops P(y) below CONFIDENT and occluding the other does not; when both drop it, both are."""
    # Both cases of the rule come to one test per view: occluding v drops P(y).
    return np.asarray(p_masked) < CONFIDENT


def soft_targets(labels: np.ndarray, n_classes: int, view: np.ndarray, p: np.ndarray, occluded: np.ndarray,
                 only: np.ndarray) -> np.ndarray:
    """(B, C) targets: onehot(y), or (1 − p)·onehot(y) + p/C where the occluded view v is the only one that
    shows the evidence (`only[i, v]`)."""
    t = np.eye(n_classes, dtype=np.float32)[labels]
    soft = occluded & only[np.arange(len(labels)), view]
    pp = np.where(soft, p, 0.0).astype(np.float32)[:, None]
    return (1.0 - pp) * t + pp / n_classes


def weighted_soft_ce(logits: torch.Tensor, targets: torch.Tensor, sample_w: torch.Tensor) -> torch.Tensor:
    """Σ_i w_i·H(t_i, softmax(z_i)) / Σ_i w_i: for one-hot rows the class-weighted cross-entropy training
    used before the recipe, so clean pairs weigh as they did."""
    per = -(targets * F.log_softmax(logits, dim=1)).sum(1)
    return (sample_w * per).sum() / sample_w.sum()


def _batches(n: int, batch: int):
    return [np.arange(i, min(i + batch, n)) for i in range(0, n, batch)]


def _as_input(views: np.ndarray, device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(views)).to(device).permute(0, 3, 1, 2).float().div_(255.0)


def full_masks(maps: torch.Tensor, size: tuple[int, int], p: np.ndarray) -> torch.Tensor:
    """(B, 1, H, W) masks M_p of the method from maps at layer resolution (B, h, w): bilinear to H×W as
    Grad-CAM resizes (align_corners=False), then the top floor(p·N + 0.5) of the N positions above
    max/4 set to 0."""
    up = F.interpolate(maps[:, None].float(), size=size, mode="bilinear", align_corners=False)[:, 0]
    ranks, n = occlusion_ranks(up)
    k = torch.from_numpy(occluded_count(p, n.cpu().numpy())).to(ranks.device)
    return (ranks >= k[:, None, None]).float()[:, None]


def compute_state(model: nn.Module, view1: np.ndarray, view2: np.ndarray, labels: np.ndarray,
                  evidence: Optional[np.ndarray], index: np.ndarray, device, batch: int = 128) -> OcclusionState:
    """For the pairs `index` (sorted) of the dataset: stage-4 Grad-CAM maps of both views for each pair's
    label (the model in eval mode, un-augmented views), and the only-evidence views: from `evidence`,
    else estimated (module docstring)."""
    was_training = model.training
    model.eval()
    maps, p_masked = [], []
    for pos in _batches(len(index), batch):
        idx = index[pos]
        x1, x2 = _as_input(view1[idx], device), _as_input(view2[idx], device)
        y = torch.from_numpy(labels[idx]).to(device)
        _, _, stage_maps, _ = grad_cams(model, x1, x2, y)
        m = torch.stack([stage_maps[0][3], stage_maps[1][3]], dim=1).cpu()
        maps.append(m)
        if evidence is None:
            ones = np.ones(len(idx))
            with torch.inference_mode():
                cols = [model(x1, x2).softmax(1).gather(1, y[:, None])[:, 0].cpu().numpy()]
                for v in (0, 1):
                    mask = full_masks(m[:, v], tuple(x1.shape[2:]), ones).to(device)
                    a, b = (x1 * mask, x2) if v == 0 else (x1, x2 * mask)
                    cols.append(model(a, b).softmax(1).gather(1, y[:, None])[:, 0].cpu().numpy())
            p_masked.append(np.stack(cols, axis=1))
    model.train(was_training)
    if evidence is not None:
        return OcclusionState(torch.cat(maps), only_from_evidence(evidence[index]), np.ones(len(index), bool))
    p = np.concatenate(p_masked)  # (N, 3): P(y) clean, with view 1 occluded, with view 2 occluded
    return OcclusionState(torch.cat(maps), only_from_confidence(p[:, 1:]), p[:, 0] >= CONFIDENT)


@dataclass
class OcclusionDraw:
    """What one batch's occlusion drew: which pairs (B,), which view (B,), which p (B,)."""

    occluded: np.ndarray
    view: np.ndarray
    p: np.ndarray


def draw(n: int, share: float, rng: np.random.Generator) -> OcclusionDraw:
    occluded = rng.uniform(size=n) < share
    view = rng.integers(0, 2, size=n)
    p = P_GRID[rng.integers(0, len(P_GRID), size=n)]
    return OcclusionDraw(occluded, view, p)


def view_masks(state: OcclusionState, idx: np.ndarray, d: OcclusionDraw, size: tuple[int, int]):
    """(B, 1, H, W) masks for view 1 and view 2 of the batch `idx` (positions into the state): the drawn
    view's M_p for the occluded pairs, all ones elsewhere."""
    B = len(idx)
    masks = [torch.ones(B, 1, *size), torch.ones(B, 1, *size)]
    for v in (0, 1):
        sel = np.flatnonzero(d.occluded & (d.view == v))
        if len(sel):
            masks[v][sel] = full_masks(state.maps[idx[sel], v], size, d.p[sel])
    return masks[0], masks[1]
