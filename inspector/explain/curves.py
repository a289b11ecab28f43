"""Masked-input curves a1, a2, a3 (Tilgner et al., steps 3–5) for a batch of pairs.

a1(p) on (I1⊙M1(1−p), I2⊙M2(p)), a2(p) on (I1⊙M1(p), I2), a3(p) on (I1, I2⊙M2(p)):
the target class's softmax probability. A mask is fixed by how many positions
it occludes, so each pair's curve points are the distinct (k1, k2) occlusion
counts it needs, evaluated once each: (0, 0) is the prediction itself, a1's
ends are a2(1) and a3(1), and a map with few positions above threshold needs
few evaluations. When the model offers encode/fuse, each view's branch runs
once per distinct mask: a point that masks one view takes the other view's
unmasked features, and a1 takes view 1's masks from a2 and view 2's from a3,
so its points cost a fusion pass alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from inspector.explain.fills import DEFAULT_FILL, check_fill, impute_road, mean_fill, noise_field
from inspector.explain.masks import occluded_count


@dataclass
class CurveWork:
    """What the curves cost: distinct masked pairs evaluated, and branch/fusion passes run."""

    evaluations: int = 0
    encodes: int = 0  # single-view branch passes
    fusions: int = 0  # fusion passes (or whole-model passes without encode/fuse)


def curve_counts(p: np.ndarray, n1: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Occlusion counts (B, 3, P, 2): for each pair, curve and grid point, (k1, k2)."""
    p = np.asarray(p, np.float64)
    k1p = occluded_count(p[None, :], n1[:, None])
    k1q = occluded_count(1.0 - p[None, :], n1[:, None])
    k2p = occluded_count(p[None, :], n2[:, None])
    zeros = np.zeros_like(k1p)
    a1 = np.stack([k1q, k2p], -1)
    a2 = np.stack([k1p, zeros], -1)
    a3 = np.stack([zeros, k2p], -1)
    return np.stack([a1, a2, a3], axis=1)


class MaskedInputs:
    """One view's images of a batch of pairs, ready to be masked many times.

    With a model that offers `normalise` and `encode_normalised`, the images are
    normalised once and a masked copy is one `where` with the normalised fill,
    instead of a multiply and a normalisation per copy: the same numbers, less
    memory traffic over hundreds of copies. `fill` (see `fills`): "zero" is
    Tilgner et al.'s I ⊙ M; "mean" puts the model's normalisation mean where the
    mask is 0 (normalised: 0); "road" imputes the masked pixels from their
    neighbours in raw pixels, then normalises.
    """

    def __init__(self, model, view: int, x: torch.Tensor, ranks: torch.Tensor, prenormalise: bool = True,
                 fill: str = DEFAULT_FILL):
        self.model, self.view, self.ranks, self.fill_name = model, view, ranks, check_fill(fill)
        self.prenormalised = prenormalise and hasattr(model, "normalise") and hasattr(model, "encode_normalised")
        raw_fill = torch.zeros((1, x.shape[1], 1, 1), dtype=x.dtype, device=x.device)
        if fill == "mean":
            raw_fill = mean_fill(model, x.shape[1], device=x.device, dtype=x.dtype)
        self.noise = noise_field(x.shape[1:], view, device=x.device, dtype=x.dtype) if fill == "road" else None
        self.raw = x
        if self.prenormalised and fill != "road":
            self.x = model.normalise(x)
            self.fill = model.normalise(raw_fill)
        else:
            self.x, self.fill = x, raw_fill

    def masked(self, rows: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        keep = (self.ranks[rows] >= k.view(-1, 1, 1)).unsqueeze(1)
        if self.noise is not None:
            images = impute_road(self.raw[rows], keep, self.noise)
            return self.model.normalise(images) if self.prenormalised else images
        if self.prenormalised or self.fill_name != "zero":
            return torch.where(keep, self.x[rows], self.fill)
        return self.x[rows] * keep.to(self.x.dtype)

    def encode(self, rows: torch.Tensor, k: torch.Tensor) -> list[torch.Tensor]:
        images = self.masked(rows, k)
        if self.prenormalised:
            return self.model.encode_normalised(self.view, images)
        return self.model.encode(self.view, images)


def feature_table(
    inputs: MaskedInputs, unmasked: Sequence[torch.Tensor], needed: Sequence[tuple[int, int]], chunk: int
) -> tuple[list[torch.Tensor], dict[tuple[int, int], int]]:
    """One view's stage features for every distinct (pair, occlusion count) the curves need.

    Row b holds pair b unmasked (count 0); the masked rows follow, each encoded once. a1 masks
    view 1 as a2 does at 1 − p and view 2 as a3 does at p, so its points need no branch pass of
    their own: only the fusion.
    """
    B = unmasked[0].shape[0]
    rows = {(b, 0): b for b in range(B)}
    encoded: list[list[torch.Tensor]] = []
    for sl in _chunks(len(needed), chunk):
        part = needed[sl]
        idx = torch.tensor([b for b, _ in part], device=unmasked[0].device)
        k = torch.tensor([k for _, k in part], device=unmasked[0].device)
        encoded.append(inputs.encode(idx, k))
        for key in part:
            rows[key] = len(rows)
    stages = [torch.cat([u] + [e[j] for e in encoded]) if encoded else u for j, u in enumerate(unmasked)]
    return stages, rows


def _chunks(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(i + size, n))


@torch.inference_mode()
def masked_curves(
    model: nn.Module,
    x1: torch.Tensor,
    x2: torch.Tensor,
    ranks: Sequence[torch.Tensor],
    counts: np.ndarray,
    target: torch.Tensor,
    base_probs: torch.Tensor,
    feats: Optional[tuple] = None,
    chunk: int = 64,
    fill: str = DEFAULT_FILL,
) -> tuple[np.ndarray, np.ndarray, CurveWork]:
    """Curves (B, 3, P) for pairs x1, x2 (B, 3, H, W), the stage-4 map ranks per view (B, H, W) and
    the counts of `curve_counts`; and the class predicted at every point (B, 3, P). `base_probs`
    (B, C) are the unmasked prediction; `feats` the unmasked stage features per view when the
    model has encode/fuse; `fill` what the occluded pixels become (`fills`; "zero" is the paper's)."""
    B = x1.shape[0]
    base = base_probs.cpu().numpy()
    keys = list(dict.fromkeys((b, int(k1), int(k2)) for b in range(B) for k1, k2 in counts[b].reshape(-1, 2)))
    # (0, 0) masks nothing: it is the prediction itself.
    jobs = {k: (float(base[k[0], int(target[k[0]])]), int(base[k[0]].argmax())) for k in keys if k[1:] == (0, 0)}
    todo = [k for k in keys if k not in jobs]
    work = CurveWork(evaluations=len(todo))
    r1, r2 = ranks
    tables = None
    use_parts = False
    inputs = (
        MaskedInputs(model, 0, x1, r1, prenormalise=feats is not None, fill=fill),
        MaskedInputs(model, 1, x2, r2, prenormalise=feats is not None, fill=fill),
    )
    if feats is not None:
        needed1 = sorted({(b, k1) for b, k1, _ in todo if k1 > 0})
        needed2 = sorted({(b, k2) for b, _, k2 in todo if k2 > 0})
        tables = (feature_table(inputs[0], feats[0], needed1, chunk), feature_table(inputs[1], feats[1], needed2, chunk))
        work.encodes = len(needed1) + len(needed2)
        use_parts = hasattr(model, "fuse_parts") and hasattr(model, "fuse_from_parts")
        if use_parts:
            # Each distinct row's share of the fusion, once, instead of once per curve point.
            tables = tuple((model.fuse_parts(v, t), rows) for v, (t, rows) in enumerate(tables))
    for sl in _chunks(len(todo), chunk):
        part = todo[sl]
        idx = torch.tensor([k[0] for k in part], device=x1.device)
        if tables is None:
            k1 = torch.tensor([k[1] for k in part], device=x1.device)
            k2 = torch.tensor([k[2] for k in part], device=x1.device)
            logits = model(inputs[0].masked(idx, k1), inputs[1].masked(idx, k2))
            work.encodes += 2 * len(part)
        else:
            (t1, rows1), (t2, rows2) = tables
            i1 = torch.tensor([rows1[(b, k1)] for b, k1, _ in part], device=x1.device)
            i2 = torch.tensor([rows2[(b, k2)] for b, _, k2 in part], device=x1.device)
            fuse = model.fuse_from_parts if use_parts else model.fuse
            logits = fuse([t[i1] for t in t1], [t[i2] for t in t2])
        work.fusions += len(part)
        probs = torch.softmax(logits.float(), dim=1)
        chosen = probs.gather(1, target[idx].view(-1, 1))[:, 0].cpu().numpy()
        predicted = probs.argmax(dim=1).cpu().numpy()
        for key, value, pred in zip(part, chosen, predicted):
            jobs[key] = (float(value), int(pred))
    curves = np.empty(counts.shape[:3], np.float64)
    preds = np.empty(counts.shape[:3], np.int64)
    for b in range(B):
        for c in range(3):
            for i, (k1, k2) in enumerate(counts[b, c]):
                curves[b, c, i], preds[b, c, i] = jobs[(b, int(k1), int(k2))]
    return curves, preds, work
