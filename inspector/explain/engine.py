"""The explanation engine: Grad-CAM per view and stage, occlusion masks, curves, m and influence.

`Explainer(model)` prepares a model once (an inference copy with batch norm
folded, on the chosen device) and explains pairs one at a time or in batches;
`explain_pair` is the one-call form. Any model that takes two views and returns
logits, and names its cam layers, works; encode/fuse, where offered, is used to
reuse an unmasked view's features.

Other explainers (`inspector.explain.explainers`) are subclasses that change how
the maps are made (`_maps`) and keep everything after them; `prior="fused"` draws
the masks from a block-wise fusion of the four stage maps instead of stage 4's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from inspector.devices import resolve_device
from inspector.errors import InspectorError
from inspector.explain.curves import CurveWork, curve_counts, masked_curves
from inspector.explain.fold import fold_batchnorm
from inspector.explain.fusion import block_fusion
from inspector.explain.gradcam import cam_from, grad_cams
from inspector.explain.masks import occlusion_ranks
from inspector.heatmaps import resize_maps

EQUAL_BAND = 0.02  # |m| below this: both cameras contributed about equally (Tilgner et al.)
DEFAULT_P = np.round(np.linspace(0.0, 1.0, 11), 10)
VIEW_NAMES = ("camera 1", "camera 2")
PRIORS = ("stage4", "fused")  # which map the occlusion masks are drawn from


@dataclass
class Explanation:
    """Everything the method says about one pair; arrays are numpy, on the CPU."""

    probs: np.ndarray  # (C,) softmax of the unmasked pair
    target: int  # class index the maps and curves explain
    classes: tuple[str, ...]
    cams: np.ndarray  # (2, 4, H, W) float32, unnormalised, at input size
    p: np.ndarray  # (P,)
    curves: np.ndarray  # (3, P): a1, a2, a3
    m: float
    influence: str  # "camera 1", "camera 2" or "equal"
    occludable: np.ndarray  # (2,) positions above threshold in each view's stage-4 map (N)
    curve_predictions: np.ndarray = None  # (3, P) class predicted at every curve point
    stage_maps: list[list[np.ndarray]] = field(default_factory=list)  # [view][stage] at layer resolution
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)  # seconds, per stage of the work
    explainer: str = ""  # the registry name of what made it ("" when not known, e.g. read from a log)
    prior: Optional[np.ndarray] = None  # (2, H, W) the masks' map when it is not stage 4's (prior="fused")

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probs))

    @property
    def target_name(self) -> str:
        return self.classes[self.target]

    @property
    def prior_maps(self) -> np.ndarray:
        """(2, H, W): per view, the map the occlusion masks (and the faithfulness metrics) rank by."""
        return self.prior if self.prior is not None else self.cams[:, 3]

    def to_dict(self) -> dict:
        """Scalars and curves as plain data (for JSON); maps are left out."""
        made_by = {"explainer": self.explainer} if self.explainer else {}
        return {
            **made_by,
            "classes": list(self.classes),
            "probs": {c: float(v) for c, v in zip(self.classes, self.probs)},
            "predicted": self.classes[self.predicted],
            "target": self.target_name,
            "p": [float(v) for v in self.p],
            "curves": {name: [float(v) for v in row] for name, row in zip(("a1", "a2", "a3"), self.curves)},
            "m": float(self.m),
            "influence": self.influence,
            "occludable": [int(v) for v in self.occludable],
            "notes": list(self.notes),
        }


def influence_of(m: float) -> str:
    """Tilgner et al.: |m| < 0.02 equal; m < 0 camera 1 had more influence; m > 0 camera 2."""
    if abs(m) < EQUAL_BAND:
        return "equal"
    return "camera 1" if m < 0 else "camera 2"


ViewsLike = Union[np.ndarray, torch.Tensor]


def views_as_batch(views: ViewsLike, name: str, size: Optional[tuple[int, int]]) -> torch.Tensor:
    """(N, H, W, 3) or (H, W, 3) uint8 RGB or float in [0, 1] → float32 (N, 3, H, W) on the CPU."""
    a = views.detach().cpu().numpy() if isinstance(views, torch.Tensor) else np.asarray(views)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3:
        raise InspectorError(f"{name}: expected H×W×3 RGB images, got shape {a.shape}")
    if a.dtype == np.uint8:
        t = torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float().div_(255.0)
    elif a.dtype in (np.float32, np.float64):
        if not np.all(np.isfinite(a)):
            raise InspectorError(f"{name}: contains NaN or infinite values")
        if a.size and (a.min() < 0.0 or a.max() > 1.0):
            raise InspectorError(f"{name}: float images must lie in [0, 1], got [{a.min():.3g}, {a.max():.3g}]")
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(0, 3, 1, 2)
    else:
        raise InspectorError(f"{name}: pixels must be uint8 or float in [0, 1], got {a.dtype}")
    if size is not None and tuple(t.shape[2:]) != tuple(size):
        raise InspectorError(
            f"{name}: images are {t.shape[3]}×{t.shape[2]} but the model takes {size[1]}×{size[0]}"
        )
    return t.contiguous()


def _target_index(target, classes: Sequence[str], n: int) -> Optional[torch.Tensor]:
    if target is None:
        return None
    if isinstance(target, str):
        if target not in classes:
            raise InspectorError(f"class {target!r} is not one of the model's classes ({', '.join(classes)})")
        return torch.full((n,), classes.index(target), dtype=torch.long)
    t = torch.as_tensor(np.atleast_1d(np.asarray(target)), dtype=torch.long)
    if t.numel() == 1:
        t = t.expand(n).clone()
    if t.numel() != n or (t < 0).any() or (t >= len(classes)).any():
        raise InspectorError(f"target must be a class name or index in 0..{len(classes) - 1} per pair")
    return t


def _check_p(p) -> np.ndarray:
    grid = DEFAULT_P if p is None else np.asarray(p, np.float64).ravel()
    if grid.size == 0 or not np.all(np.isfinite(grid)) or grid.min() < 0 or grid.max() > 1:
        raise InspectorError("p must be a non-empty grid of proportions within [0, 1]")
    return grid


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Explainer:
    """A model prepared for explanation with Grad-CAM (registry name `gradcam`): use it for many pairs.

    fold_bn: explain an inference copy with batch norm folded into the convolutions
    (exact up to rounding, and faster); with False the model itself is used, put in
    eval mode for each call and restored after. channels_last: NHWC memory layout
    (default: on the CPU, where oneDNN's convolutions run it about 1.5× faster).
    prior: "stage4" (Tilgner et al.: the masks come from each view's stage-4 map) or "fused"
    (from `fusion.block_fusion` of its four stage maps).
    """

    name = "gradcam"
    rule = staticmethod(cam_from)  # the gradient family's weighting (see cam_rules)

    def __init__(
        self,
        model: nn.Module,
        *,
        device=None,
        fold_bn: bool = True,
        channels_last: Optional[bool] = None,
        chunk: int = 64,
        prior: str = "stage4",
    ):
        if prior not in PRIORS:
            raise InspectorError(f"prior must be one of {', '.join(PRIORS)}, got {prior!r}")
        self.prior = prior
        if not hasattr(model, "cam_layers"):
            raise InspectorError("the model offers no cam_layers(): it cannot be explained with Grad-CAM")
        self.source = model
        self.classes = tuple(getattr(model, "classes", ())) or tuple(str(i) for i in range(self._n_classes(model)))
        config = getattr(model, "config", None)
        self.size = tuple(config.input_size) if config is not None else None
        if device is None:
            param = next(model.parameters(), None)
            self.device = param.device if param is not None else torch.device("cpu")
        else:
            self.device = resolve_device(device)
        self.folded = 0
        if fold_bn:
            self.model, self.folded = fold_batchnorm(model)
            self.model.to(self.device)
        else:
            self.model = model
            if next(model.parameters(), torch.empty(0)).device != self.device:
                raise InspectorError(f"the model is not on {self.device}; move it there or pass fold_bn=True")
        if channels_last is None:
            channels_last = fold_bn and self.device.type == "cpu"
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.chunk = int(chunk)

    @property
    def label(self) -> str:
        """The registry name this explainer answers to (e.g. `gradcam-fused` for Grad-CAM with the fused prior)."""
        return self.name + ("-fused" if self.prior == "fused" else "")

    @staticmethod
    def _n_classes(model: nn.Module) -> int:
        head = [m for m in model.modules() if isinstance(m, nn.Linear)]
        return head[-1].out_features if head else 0

    # -- one pair or many -------------------------------------------------------------------
    def explain(self, view1: ViewsLike, view2: ViewsLike, *, target=None, p=None) -> Explanation:
        """Explain one pair of H×W×3 views."""
        for name, v in (("view 1", view1), ("view 2", view2)):
            if np.ndim(v) != 3:
                raise InspectorError(f"{name}: expected H×W×3 RGB image (one pair), got shape {np.shape(v)}")
        return self.explain_batch(view1, view2, targets=target, p=p)[0]

    def explain_batch(
        self, views1: ViewsLike, views2: ViewsLike, *, targets=None, p=None, batch: int = 16, curves=True
    ) -> list[Explanation]:
        """Explain N pairs (N×H×W×3), `batch` pairs at a time (each view's features for every
        distinct mask of a batch are held at once: about 10 MB per pair at 128×128).

        curves: True, False, one bool per pair, or a function of the (B, C) probabilities of a
        batch returning one bool per pair (e.g. only pairs not predicted `correct`): which pairs
        get the masked-input curves, the costly part. A pair without them has NaN curves and m,
        and influence "none"; its maps and probabilities are the same as with them.
        """
        x1_all = views_as_batch(views1, "view 1", self.size)
        x2_all = views_as_batch(views2, "view 2", self.size)
        if x1_all.shape != x2_all.shape:
            raise InspectorError(f"view 1 and view 2 differ in shape: {tuple(x1_all.shape)} vs {tuple(x2_all.shape)}")
        n = x1_all.shape[0]
        target_all = _target_index(targets, self.classes, n)
        grid = _check_p(p)
        if callable(curves):
            want = None
        else:
            want = np.broadcast_to(np.asarray(curves, bool), (n,)) if np.ndim(curves) == 0 else np.asarray(curves, bool)
            if want.shape != (n,):
                raise InspectorError(f"curves: one flag per pair expected ({n}), got {want.shape[0]}")
        out: list[Explanation] = []
        was_training = self.model.training
        self.model.eval()
        try:
            for start in range(0, n, batch):
                sl = slice(start, min(start + batch, n))
                out += self._explain_chunk(
                    x1_all[sl], x2_all[sl], None if target_all is None else target_all[sl], grid,
                    curves if want is None else want[sl],
                )
        finally:
            self.model.train(was_training)
        return out

    def _explain_chunk(self, x1, x2, target, grid, want) -> list[Explanation]:
        dev, fmt = self.device, self.memory_format
        t0 = time.perf_counter()
        x1 = x1.to(dev).contiguous(memory_format=fmt)
        x2 = x2.to(dev).contiguous(memory_format=fmt)
        if target is not None:
            target = target.to(dev)
        logits, target, stage_maps, feats = self._maps(x1, x2, target)
        H, W = x1.shape[2:]
        B = x1.shape[0]
        cams = torch.zeros((B, 2, 4, H, W), dtype=torch.float32, device=dev)
        for v in (0, 1):
            for j, m in enumerate(stage_maps[v][:4]):
                cams[:, v, j] = resize_maps(m.float(), (H, W))
        probs = torch.softmax(logits.float(), dim=1)
        prior = block_fusion(cams.flatten(0, 1)).view(B, 2, H, W) if self.prior == "fused" else None
        _sync(dev)
        t1 = time.perf_counter()
        ranks, ns = zip(*(occlusion_ranks(cams[:, v, 3] if prior is None else prior[:, v]) for v in (0, 1)))
        n1, n2 = (n.cpu().numpy() for n in ns)
        if callable(want):
            want = np.asarray(want(probs.cpu().numpy()), bool).reshape(B)
        curves = np.full((B, 3, len(grid)), np.nan, np.float32)
        curve_preds = np.full((B, 3, len(grid)), -1, np.int64)
        evaluations = encodes = 0
        rows = np.flatnonzero(want)
        if rows.size:
            # Only the pairs that want curves go through the masked passes; index everything by them.
            sel = torch.as_tensor(rows, device=dev) if rows.size < B else None
            pick = (lambda t: t) if sel is None else (lambda t: t.index_select(0, sel))
            sub_feats = None
            if self._reuses(feats):
                sub_feats = tuple([pick(f) for f in fs] for fs in feats)
            counts = curve_counts(grid, n1[rows], n2[rows])
            c, cp, work = masked_curves(
                self.model, pick(x1), pick(x2), tuple(pick(r) for r in ranks), counts, pick(target), pick(probs),
                sub_feats, self.chunk,
            )
            curves[rows], curve_preds[rows] = c, cp
            evaluations, encodes = work.evaluations, work.encodes
        _sync(dev)
        t2 = time.perf_counter()
        cams_np = cams.cpu().numpy()
        prior_np = None if prior is None else prior.cpu().numpy()
        probs_np = probs.cpu().numpy()
        target_np = target.cpu().numpy()
        maps_np = [[m.float().cpu().numpy() for m in view] for view in stage_maps]
        result = []
        for b in range(B):
            # m = (1/P) Σ_p (a2(p) − a3(p)) (Tilgner et al.): camera 1 masked minus camera 2 masked, so
            # m < 0 means masking camera 1 cost more confidence, i.e. camera 1 had more influence.
            m = float(np.mean(curves[b, 1] - curves[b, 2])) if want[b] else float("nan")
            notes = []
            for v, n in enumerate((n1[b], n2[b])):
                if n == 0:
                    notes.append(
                        f"{VIEW_NAMES[v]}: the {'stage-4' if prior is None else 'fused'} map is all zero, "
                        "so nothing was occluded and its curves stay at the prediction"
                    )
            result.append(
                Explanation(
                    probs=probs_np[b],
                    target=int(target_np[b]),
                    classes=self.classes,
                    cams=cams_np[b],
                    p=grid.copy(),
                    curves=curves[b],
                    m=m,
                    influence=influence_of(m) if want[b] else "none",
                    occludable=np.array([n1[b], n2[b]], np.int64),
                    curve_predictions=curve_preds[b],
                    stage_maps=[[view[j][b] for j in range(len(view))] for view in maps_np],
                    notes=tuple(notes),
                    timings={
                        "maps_s": (t1 - t0) / B,
                        "curves_s": (t2 - t1) / B,
                        "curve_evaluations": evaluations / B,
                        "branch_passes": encodes / B,
                    },
                    explainer=self.label,
                    prior=None if prior_np is None else prior_np[b],
                )
            )
        return result

    def _maps(self, x1: torch.Tensor, x2: torch.Tensor, target: Optional[torch.Tensor]):
        """Logits (B, C), target (B,), stage maps [view][stage] → (B, h, w), and the stage features
        when the model has encode/fuse (see `grad_cams`): what a subclass changes to be another method."""
        return grad_cams(self.model, x1, x2, target, rule=self.rule)

    def _reuses(self, feats) -> bool:
        return feats is not None and all(len(f) for f in feats)


def explain_pair(model: nn.Module, view1, view2, *, target=None, p=None, device=None) -> Explanation:
    """Explain one pair (H×W×3 uint8 RGB or float32 in [0, 1]) with Tilgner et al.'s method.

    target: class name or index (default: the predicted class); p: the grid of
    proportions (default 0, 0.1, …, 1).
    """
    return Explainer(model, device=device).explain(view1, view2, target=target, p=p)


def explain_batch(model: nn.Module, views1, views2, *, targets=None, p=None, device=None, batch: int = 16):
    """Explain N pairs (N×H×W×3); a list of `Explanation`."""
    return Explainer(model, device=device).explain_batch(views1, views2, targets=targets, p=p, batch=batch)
