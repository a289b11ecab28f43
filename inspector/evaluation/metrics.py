"""Faithfulness of explanations, measured on the model: how P(c) answers to what a map ranks first.

- **Drop % and increase %** (Sattarzadeh et al., SISE, after Grad-CAM++): keep only the top 15 % of
  the map's pixels and set the rest to black (0 in every channel of the raw image);
  Y = P(c | pair), O = P(c | masked pair). Average drop = mean_i max(0, Y_i − O_i)/Y_i · 100
  (lower is better); increase = share of pairs with O_i > Y_i · 100 (higher is better).
- **Deletion and insertion curves** (RISE): the map's pixels, most relevant first
  (stable order, ties row-major, as the occlusion masks), are set to black (deletion)
  or revealed on a black image (insertion) in S equal steps of the whole image; the
  curve is P(c) against the share of pixels, its area the trapezoid rule over [0, 1].
  Deletion: lower is better; insertion: higher.

Each is measured in three settings: camera 1 perturbed (camera 2 as it is), camera 2
perturbed, and both at once, each view by its own map ("coupled"). c is the
explanation's target class; the map is the one its occlusion masks use
(`Explanation.prior_maps`). All perturbed copies go through the model in batches.
The paper's own measures (curves a1–a3, m, influence) are the explanations' own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from inspector.errors import InspectorError
from inspector.explain.engine import views_as_batch
from inspector.explain.masks import occluded_count, occlusion_ranks
from inspector.explain.perturb import PairScorer
from inspector.devices import resolve_device

SETTINGS = ("camera 1", "camera 2", "both")
TOP_SHARE = 0.15  # Sattarzadeh et al. (SISE): drop and increase keep the top 15 % of the map
DEFAULT_STEPS = 16


@dataclass
class Faithfulness:
    """Per pair: P(c) unperturbed, with only the top share kept, and along deletion and insertion."""

    base: np.ndarray  # (N,)
    kept: np.ndarray  # (N, 3): settings camera 1, camera 2, both
    fractions: np.ndarray  # (S + 1,) share of pixels deleted / inserted
    deletion: np.ndarray  # (N, 3, S + 1)
    insertion: np.ndarray  # (N, 3, S + 1)
    share: float = TOP_SHARE

    def drop(self) -> np.ndarray:
        """Average drop % per setting (3,)."""
        base = self.base[:, None]
        return 100.0 * np.mean(np.maximum(0.0, base - self.kept) / np.maximum(base, 1e-12), axis=0)

    def increase(self) -> np.ndarray:
        """Increase in confidence % per setting (3,)."""
        return 100.0 * np.mean(self.kept > self.base[:, None], axis=0)

    def deletion_auc(self) -> np.ndarray:
        """(N, 3) area under each deletion curve."""
        return area(self.deletion, self.fractions)

    def insertion_auc(self) -> np.ndarray:
        return area(self.insertion, self.fractions)

    def summary(self) -> dict:
        """Means over the pairs, per setting, as plain data."""
        per = lambda a: {s: float(v) for s, v in zip(SETTINGS, a)}  # noqa: E731
        return {
            "n": int(len(self.base)),
            "top_share": self.share,
            "drop_pct": per(self.drop()),
            "increase_pct": per(self.increase()),
            "deletion_auc": per(self.deletion_auc().mean(axis=0)),
            "insertion_auc": per(self.insertion_auc().mean(axis=0)),
            "fractions": self.fractions.tolist(),
            "mean_deletion": {s: self.deletion[:, i].mean(0).tolist() for i, s in enumerate(SETTINGS)},
            "mean_insertion": {s: self.insertion[:, i].mean(0).tolist() for i, s in enumerate(SETTINGS)},
        }


def area(curves: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Trapezoid area over the last axis."""
    x = np.asarray(fractions, np.float64)
    y = np.asarray(curves, np.float64)
    return ((y[..., 1:] + y[..., :-1]) * np.diff(x) / 2).sum(axis=-1)


def step_counts(steps: int, pixels: int) -> np.ndarray:
    """Pixels perturbed at each of the S + 1 steps: floor(i/S · pixels + 0.5)."""
    return occluded_count(np.arange(steps + 1) / steps, pixels)


def measure(
    scorer: PairScorer,
    maps: torch.Tensor,
    *,
    share: float = TOP_SHARE,
    steps: int = DEFAULT_STEPS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For the scorer's pairs and maps (B, 2, H, W): P(c) unperturbed (B,), with the top share kept
    (B, 3), and along deletion and insertion (B, 3, S + 1)."""
    x1, x2 = scorer.x
    B, _, H, W = maps.shape
    dev = x1.device
    ranks = [occlusion_ranks(maps[:, v])[0] for v in (0, 1)]
    counts = step_counts(steps, H * W)
    # Per pair and setting: the top share kept, deletion steps 1..S, insertion steps 0..S−1; the
    # remaining ends (nothing deleted, everything inserted) are the unperturbed pair.
    keep = [True] + [False] * steps + [True] * steps
    k = [int(occluded_count(share, H * W))] + list(counts[1:]) + list(counts[:-1])
    J = len(keep)
    rows = torch.arange(B, device=dev).repeat_interleave(J)
    keep_t = torch.tensor(keep, device=dev).repeat(B)
    k_t = torch.tensor(k, device=dev).repeat(B)

    def masked(v: int, sl: slice) -> torch.Tensor:
        first = ranks[v][rows[sl]] < k_t[sl].view(-1, 1, 1)
        kept = torch.where(keep_t[sl].view(-1, 1, 1), first, ~first)
        x = scorer.x[v]
        return x[rows[sl]] * kept.unsqueeze(1).to(x.dtype)

    with torch.no_grad():
        base = torch.softmax(scorer.model(x1, x2).float(), dim=1).gather(1, scorer.target.view(-1, 1))[:, 0]
        scores = [
            scorer.one_view(0, rows, lambda sl: masked(0, sl), output="prob"),
            scorer.one_view(1, rows, lambda sl: masked(1, sl), output="prob"),
            scorer.both(rows, lambda sl: (masked(0, sl), masked(1, sl)), output="prob"),
        ]
    base_np = base.cpu().numpy().astype(np.float64)
    s = torch.stack(scores, dim=1).view(B, J, 3).permute(0, 2, 1).cpu().numpy().astype(np.float64)
    kept = s[:, :, 0]
    ends = np.broadcast_to(base_np[:, None, None], (B, 3, 1))
    deletion = np.concatenate([ends, s[:, :, 1:1 + steps]], axis=2)
    insertion = np.concatenate([s[:, :, 1 + steps:], ends], axis=2)
    return base_np, kept, deletion, insertion


def faithfulness(
    model: nn.Module,
    views1,
    views2,
    maps,
    targets,
    *,
    device=None,
    share: float = TOP_SHARE,
    steps: int = DEFAULT_STEPS,
    batch: int = 16,
    chunk: int = 64,
) -> Faithfulness:
    """Drop, increase, deletion and insertion for N pairs (N×H×W×3 uint8 or float in [0, 1]), their maps
    (N, 2, H, W) and target classes (N,), `batch` pairs at a time on `device` (default: the model's)."""
    if not 0.0 < share <= 1.0 or steps < 1:
        raise InspectorError(f"need 0 < share ≤ 1 and steps ≥ 1, got share {share}, steps {steps}")
    x1_all, x2_all = views_as_batch(views1, "view 1", None), views_as_batch(views2, "view 2", None)
    maps_all = torch.as_tensor(np.asarray(maps, np.float32))
    t_all = torch.as_tensor(np.asarray(targets, np.int64)).view(-1)
    n = x1_all.shape[0]
    if x2_all.shape != x1_all.shape or maps_all.shape != (n, 2, *x1_all.shape[2:]) or t_all.shape != (n,):
        raise InspectorError(
            f"faithfulness: views {tuple(x1_all.shape)} and {tuple(x2_all.shape)}, maps {tuple(maps_all.shape)} "
            f"and targets {tuple(t_all.shape)} do not describe the same pairs"
        )
    if device is None:
        param = next(model.parameters(), None)
        dev = param.device if param is not None else torch.device("cpu")
    else:
        dev = resolve_device(device)
    parts = []
    was_training = model.training
    model.eval()
    try:
        for start in range(0, n, batch):
            sl = slice(start, min(start + batch, n))
            x1, x2 = x1_all[sl].to(dev), x2_all[sl].to(dev)
            scorer = PairScorer(model, x1, x2, t_all[sl].to(dev), chunk=chunk)
            parts.append(measure(scorer, maps_all[sl].to(dev), share=share, steps=steps))
    finally:
        model.train(was_training)
    base, kept, deletion, insertion = (np.concatenate(a) for a in zip(*parts))
    return Faithfulness(base, kept, np.arange(steps + 1) / steps, deletion, insertion, share)


def explanation_faithfulness(explainer, views1, views2, explanations, **options) -> Faithfulness:
    """`faithfulness` of explanations an explainer made, on its prepared model and device, each
    explanation's target class and mask prior."""
    maps = np.stack([e.prior_maps for e in explanations])
    targets = np.array([e.target for e in explanations])
    return faithfulness(explainer.model, views1, views2, maps, targets, device=explainer.device, **options)
