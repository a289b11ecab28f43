"""What every explainer shares, as torchcam's `_CAM` is for its CAMs: the hooks, the prepared model,
the batching, and the masks, curves, m and influence that follow the maps.

A subclass makes the stage maps (`_maps`) and nothing else, so the pipeline, the
audit and the GUI use any explainer unchanged. Any model that takes two views,
returns logits and names its cam layers works; encode/fuse, where offered, is
used to reuse an unmasked view's features.

A branch shared by both views runs its modules twice per forward. The hooks here
keep every call's output, and the engine tells which view is running (it calls
`encode(view, x)` itself when the model offers it), so each view gets its own
map — where captum and torchcam keep the last call and pytorch-grad-cam the first.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from inspector.devices import resolve_device
from inspector.errors import InspectorError
from inspector.explain.curves import curve_counts, masked_curves
from inspector.explain.engine import (
    DEFAULT_P,
    PRIORS,
    VIEW_NAMES,
    Explanation,
    ViewsLike,
    influence_of,
    views_as_batch,
)
from inspector.explain.fills import DEFAULT_FILL, check_fill
from inspector.explain.fold import fold_batchnorm
from inspector.explain.fusion import block_fusion
from inspector.explain.masks import occlusion_ranks
from inspector.heatmaps import resize_maps


class ActivationRecorder:
    """Forward hooks on the cam layers that keep each call's output with the view it belongs to.

    A context manager: hooks are removed on exit, also when the forward raises.
    """

    def __init__(self, layers: Sequence[Sequence[nn.Module]]):
        self.layers = [list(v) for v in layers]
        self.view: Optional[int] = None  # set while the engine encodes one view
        self.calls: dict[int, list[tuple[Optional[int], torch.Tensor]]] = {}
        self._handles = []

    def __enter__(self) -> "ActivationRecorder":
        unique = {id(m): m for v in self.layers for m in v}
        for key, module in unique.items():
            self.calls[key] = []
            self._handles.append(module.register_forward_hook(self._hook(key)))
        return self

    def _hook(self, key: int):
        def hook(module, inputs, output):
            if not isinstance(output, torch.Tensor):
                raise InspectorError(f"cam layer {type(module).__name__} returns {type(output).__name__}, not a tensor")
            self.calls[key].append((self.view, output))

        return hook

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def clear(self) -> None:
        for v in self.calls.values():
            v.clear()

    def activations(self) -> list[list[torch.Tensor]]:
        """Per view, per stage, the recorded activation (B, K, h, w)."""
        out: list[list[torch.Tensor]] = [[], []]
        for view, modules in enumerate(self.layers):
            for module in modules:
                calls = self.calls[id(module)]
                tagged = [t for v, t in calls if v == view]
                if len(tagged) == 1:
                    out[view].append(tagged[0])
                    continue
                # The model ran as a whole: a module serving both views ran once per view, in view order.
                serves = [v for v, mods in enumerate(self.layers) if any(m is module for m in mods)]
                if len(calls) != len(serves) or any(v is not None for v, _ in calls):
                    raise InspectorError(
                        f"cam layer {type(module).__name__} ran {len(calls)} time(s) in one forward pass for "
                        f"{len(serves)} view(s): cannot tell which output belongs to view {view + 1}"
                    )
                out[view].append(calls[serves.index(view)][1])
        return out


def forward_recorded(model: nn.Module, recorder: ActivationRecorder, x1: torch.Tensor, x2: torch.Tensor):
    """Logits and, when the model offers them, both views' stage features (encode/fuse)."""
    if hasattr(model, "encode") and hasattr(model, "fuse"):
        recorder.view = 0
        f1 = model.encode(0, x1)
        recorder.view = 1
        f2 = model.encode(1, x2)
        recorder.view = None
        return model.fuse(f1, f2), (f1, f2)
    return model(x1, x2), None


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


class Explainer(ABC):
    """A model prepared for explanation, whatever makes the maps: use one for many pairs.

    Tilgner et al.'s method on the stage maps a subclass makes (`_maps`), from
    "Study on the Influence of Multiple Image Inputs of a Multi-View Fusion Neural
    Network Based on Grad-CAM and Masked Image Inputs", S. Tilgner, D. Wagner,
    K. Kalischewski, J.-C. Schmitz and A. Kummert (University of Wuppertal). Per
    view i, the masks M_i(p) occlude the first ⌊p·N_i + 0.5⌋ of the N_i positions
    of its prior map above max/4, and over the grid p:

        a1(p) = P(c | I₁⊙M₁(1−p), I₂⊙M₂(p)),  a2(p) = P(c | I₁⊙M₁(p), I₂),  a3(p) = P(c | I₁, I₂⊙M₂(p))
        m = (1/P) Σ_p (a2(p) − a3(p)):  |m| < 0.02 equal, m < 0 camera 1, m > 0 camera 2

    fold_bn: explain an inference copy with batch norm folded into the convolutions
    (exact up to rounding, and faster); with False the model itself is used, put in
    eval mode for each call and restored after. channels_last: NHWC memory layout
    (default: on the CPU, where oneDNN's convolutions run it about 1.5× faster).
    chunk: how many masked copies go through the model at once. prior: "stage4"
    (Tilgner et al.: the masks come from each view's stage-4 map) or "fused" (from
    `fusion.block_fusion` of its four stage maps, after "Explaining Convolutional
    Neural Networks through Attribution-Based Input Sampling and Block-Wise Feature
    Aggregation", S. Sattarzadeh et al., AAAI 2021). fill: what the occluded pixels
    become in the curves (`fills`): "zero" (Tilgner et al., the default), "mean"
    (the model's normalisation mean) or "road" (Rong et al.'s noisy linear imputation).

    The base makes no maps of its own: a subclass sets `name` (its registry name)
    and implements `_maps`.

    Example:
        >>> from inspector import load_model
        >>> from inspector.explain import Explainer, GradCAM
        >>> explainer = GradCAM(load_model())
        >>> isinstance(explainer, Explainer)
        True
        >>> e = explainer.explain(view1, view2)
        >>> e.curves, e.m, e.influence
    """

    name = ""  # the registry name; "" is what Explanation.explainer says when it is not known

    def __init__(
        self,
        model: nn.Module,
        *,
        device=None,
        fold_bn: bool = True,
        channels_last: Optional[bool] = None,
        chunk: int = 64,
        prior: str = "stage4",
        fill: str = DEFAULT_FILL,
    ):
        self.fill = check_fill(fill)
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
        batch returning one bool per pair (e.g. only pairs not predicted the OK class): which pairs
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
                sub_feats, self.chunk, self.fill,
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
                    fill=self.fill,
                )
            )
        return result

    @abstractmethod
    def _maps(self, x1: torch.Tensor, x2: torch.Tensor, target: Optional[torch.Tensor]):
        """Logits (B, C), target (B,), stage maps [view][stage] → (B, h, w), and the stage features
        when the model has encode/fuse (see `grad_cams`): the one thing that makes an explainer a method."""

    def _reuses(self, feats) -> bool:
        return feats is not None and all(len(f) for f in feats)
