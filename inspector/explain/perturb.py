"""Scoring many perturbed copies of a batch of pairs: the work Score-CAM, RISE and the metrics share.

A perturbed copy replaces one view of a pair (the other stays as it is) or both.
When the model offers encode/fuse, the view that is not replaced is encoded once
for all its copies and only the replaced view's branch runs per copy; with
fuse_parts/fuse_from_parts its share of the fusion is computed once as well.
Copies are built and scored `chunk` at a time, so memory does not grow with
their number.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
from torch import nn

Make = Callable[[slice], torch.Tensor]  # rows[sl] → the replaced images (n, 3, H, W) for those rows
MakePair = Callable[[slice], tuple[torch.Tensor, torch.Tensor]]


class PairScorer:
    """The target class's score for perturbed copies of pairs x1, x2 (B, 3, H, W).

    output: "logit" (the target logit) or "prob" (its softmax probability). feats: both
    views' unperturbed stage features, when the caller already has them.
    """

    def __init__(
        self,
        model: nn.Module,
        x1: torch.Tensor,
        x2: torch.Tensor,
        target: torch.Tensor,
        *,
        feats: Optional[tuple[Sequence[torch.Tensor], Sequence[torch.Tensor]]] = None,
        chunk: int = 64,
    ):
        self.model, self.x, self.target, self.chunk = model, (x1, x2), target, max(1, int(chunk))
        self.split = hasattr(model, "encode") and hasattr(model, "fuse")
        self.parts = self.split and hasattr(model, "fuse_parts") and hasattr(model, "fuse_from_parts")
        self._feats = feats
        self._fused_parts: dict[int, list[torch.Tensor]] = {}

    def _features(self, view: int) -> Sequence[torch.Tensor]:
        if self._feats is None:
            with torch.no_grad():
                self._feats = (self.model.encode(0, self.x[0]), self.model.encode(1, self.x[1]))
        return self._feats[view]

    def _kept_share(self, view: int) -> list[torch.Tensor]:
        if view not in self._fused_parts:
            with torch.no_grad():
                self._fused_parts[view] = self.model.fuse_parts(view, self._features(view))
        return self._fused_parts[view]

    def _pick(self, logits: torch.Tensor, rows: torch.Tensor, output: str) -> torch.Tensor:
        t = self.target[rows].view(-1, 1)
        if output == "prob":
            return torch.softmax(logits.float(), dim=1).gather(1, t)[:, 0]
        return logits.float().gather(1, t)[:, 0]

    @torch.no_grad()
    def one_view(self, view: int, rows: torch.Tensor, make: Make, output: str = "logit") -> torch.Tensor:
        """Scores (n,) for copies that replace `view` of pair rows[i] with make(slice)[i]."""
        out = torch.empty(len(rows), dtype=torch.float32, device=rows.device)
        other = 1 - view
        for start in range(0, len(rows), self.chunk):
            sl = slice(start, min(start + self.chunk, len(rows)))
            r = rows[sl]
            images = make(sl)
            if self.parts:
                mine = self.model.fuse_parts(view, self.model.encode(view, images))
                theirs = [t[r] for t in self._kept_share(other)]
                logits = self.model.fuse_from_parts(*((mine, theirs) if view == 0 else (theirs, mine)))
            elif self.split:
                mine = self.model.encode(view, images)
                theirs = [f[r] for f in self._features(other)]
                logits = self.model.fuse(*((mine, theirs) if view == 0 else (theirs, mine)))
            else:
                kept = self.x[other][r]
                logits = self.model(*((images, kept) if view == 0 else (kept, images)))
            out[sl] = self._pick(logits, r, output)
        return out

    @torch.no_grad()
    def both(self, rows: torch.Tensor, make: MakePair, output: str = "logit") -> torch.Tensor:
        """Scores (n,) for copies that replace both views of pair rows[i] with make(slice)'s i-th images."""
        out = torch.empty(len(rows), dtype=torch.float32, device=rows.device)
        for start in range(0, len(rows), self.chunk):
            sl = slice(start, min(start + self.chunk, len(rows)))
            a, b = make(sl)
            out[sl] = self._pick(self.model(a, b), rows[sl], output)
        return out
