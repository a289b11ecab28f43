"""`inspector bench` section "explain": our engine against a naive baseline and against the floor.

All figures come from the same run on the same pairs. The naive baseline is
what one would write with captum: LayerGradCam once per view and stage (eight
forward and backward passes) and one forward pass per masked pair at batch
size 1. The floor is the arithmetic the method cannot avoid (one forward, one
backward to the activations, and the distinct masked evaluations, counted with
torch's FLOP counter) divided by the rate this device reaches on a large
matrix product, measured here and now.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from inspector.bench.table import Row
from inspector.explain import GradCAM
from inspector.explain.engine import DEFAULT_P
from inspector.explain.gradcam import grad_cams
from inspector.explain.masks import occlusion_mask


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_time(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """The rate of a large float32 matrix product on `device` (what the floor divides by)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    t = _median_time(lambda: a @ b, device, repeats)
    return 2 * n**3 / t / 1e9


def _flops(fn: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def method_flops(model, x1: torch.Tensor, x2: torch.Tensor, n_p: int) -> dict[str, float]:
    """FLOPs the method needs for one pair.

    "total" (the floor the targets use): Grad-CAM (one forward, one backward to the activations,
    counted) plus one model forward per distinct masked pair of the curves (P−1 + P−1 + P−2;
    the other points are known). "total_reuse" (stricter): the same crediting what the engine
    reuses: each view's branch once per distinct mask (P−1 each; a1's masks are a2's and a3's)
    and one fusion pass per distinct masked pair.
    """
    with torch.inference_mode():
        forward = _flops(lambda: model(x1, x2))
        enc1 = _flops(lambda: model.encode(0, x1))
        enc2 = _flops(lambda: model.encode(1, x2))
        f1, f2 = model.encode(0, x1), model.encode(1, x2)
        fuse = _flops(lambda: model.fuse(f1, f2))
    gradcam = _flops(lambda: grad_cams(model, x1, x2))
    points = 2 * (n_p - 1) + max(n_p - 2, 0)
    reuse = (n_p - 1) * (enc1 + enc2) + points * fuse
    return {"forward": forward, "gradcam": gradcam, "points": points,
            "total": gradcam + points * forward, "total_reuse": gradcam + reuse}


def naive_explain(model, x1: torch.Tensor, x2: torch.Tensor, grid: np.ndarray) -> np.ndarray:
    """Tilgner et al.'s method the straightforward way with captum; returns the curves (3, P)."""
    from captum.attr import LayerAttribution, LayerGradCam

    with torch.no_grad():
        target = int(model(x1, x2).argmax())
    maps = []
    for view in (0, 1):
        for layer in model.cam_layers()[view]:
            attr = LayerGradCam(model, layer).attribute((x1, x2), target=target, relu_attributions=True)
            maps.append(LayerAttribution.interpolate(attr, tuple(x1.shape[2:]), interpolate_mode="bilinear"))
    heat1, heat2 = maps[3][0, 0].detach().cpu().numpy(), maps[7][0, 0].detach().cpu().numpy()
    curves = np.zeros((3, len(grid)))

    def mask(heat, p):
        return torch.from_numpy(occlusion_mask(heat, p)).to(x1.device, torch.float32)[None, None]

    with torch.no_grad():
        for i, p in enumerate(grid):
            pairs = [(x1 * mask(heat1, 1 - p), x2 * mask(heat2, p)), (x1 * mask(heat1, p), x2), (x1, x2 * mask(heat2, p))]
            for c, (a, b) in enumerate(pairs):
                curves[c, i] = float(torch.softmax(model(a, b), 1)[0, target])
    return curves


def bench_explain(device=None, n_pairs: int = 16, repeats: int = 5) -> list[Row]:
    from importlib.util import find_spec

    from inspector.errors import InspectorError
    from inspector.devices import resolve_device
    from inspector.model.checkpoint import load_model
    from inspector.synth import generate

    if find_spec("captum") is None:
        raise InspectorError("the explain benchmark compares against captum: pip install -e '.[bench]'")

    dev = resolve_device(device)
    model = load_model(device=dev)
    samples = generate(n_pairs, seed=99, hidden_share=0.3)
    to_t = lambda v: torch.from_numpy(v).permute(2, 0, 1)[None].float().div(255).to(dev)
    pairs = [(to_t(s.view1), to_t(s.view2)) for s in samples]
    explainer = GradCAM(model, device=dev)
    grid = DEFAULT_P

    # warm-up (allocator, kernels), then median per pair over the pairs
    explainer.explain(samples[0].view1, samples[0].view2)
    naive_explain(model, *pairs[0], grid)

    def per_pair(fn) -> float:
        return statistics.median(_median_time(lambda i=i: fn(i), dev, repeats) for i in range(len(samples)))

    with torch.inference_mode():
        t_predict = per_pair(lambda i: model(*pairs[i]))
    t_maps = per_pair(lambda i: grad_cams(explainer.model, *pairs[i]))
    t_whole = per_pair(lambda i: explainer.explain(samples[i].view1, samples[i].view2))
    t_curves = max(t_whole - t_maps, 0.0)
    v1 = np.stack([s.view1 for s in samples])
    v2 = np.stack([s.view2 for s in samples])
    t_batched = _median_time(lambda: explainer.explain_batch(v1, v2, batch=len(samples)), dev, repeats) / len(samples)
    naive_whole = statistics.median(
        _median_time(lambda i=i: naive_explain(model, *pairs[i], grid), dev, 1) for i in range(min(4, len(samples)))
    )
    t0 = time.perf_counter()
    for i in range(min(4, len(samples))):
        from captum.attr import LayerGradCam

        target = int(model(*pairs[i]).argmax())
        for view in (0, 1):
            for layer in model.cam_layers()[view]:
                LayerGradCam(model, layer).attribute(pairs[i], target=target, relu_attributions=True)
    _sync(dev)
    naive_maps = (time.perf_counter() - t0) / min(4, len(samples))

    flops = method_flops(explainer.model, *pairs[0], len(grid))
    gflops = matmul_gflops(dev)
    floor = flops["total"] / (gflops * 1e9)
    floor_reuse = flops["total_reuse"] / (gflops * 1e9)
    fe = flops["total"] / flops["forward"]
    where = f"{dev.type}" + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else f", {torch.get_num_threads()} threads")
    ms = 1e3
    return [
        Row("explain", "prediction (one forward)", t_predict * ms, "ms/pair", where),
        Row("explain", "eight Grad-CAM maps (1 forward + 1 backward)", t_maps * ms, "ms/pair"),
        Row("explain", "curves a1, a2, a3 (11 points each)", t_curves * ms, "ms/pair"),
        Row("explain", "whole explanation, one pair at a time", t_whole * ms, "ms/pair"),
        Row("explain", f"whole explanation, {len(samples)} pairs per call", t_batched * ms, "ms/pair"),
        Row("explain", "naive: captum LayerGradCam × 8", naive_maps * ms, "ms/pair"),
        Row("explain", "naive: whole (captum maps + 33 forwards, batch 1)", naive_whole * ms, "ms/pair"),
        Row("explain", "speed-up over naive, one pair at a time", naive_whole / t_whole, "×", "target ≥ 3"),
        Row("explain", f"speed-up over naive, {len(samples)} pairs per call", naive_whole / t_batched, "×"),
        Row("explain", "matrix-product rate of this device", gflops, "GFLOP/s", "2048² float32"),
        Row("explain", "method FLOPs (Grad-CAM + one forward per curve point)", flops["total"] / 1e9, "GFLOP",
            f"{fe:.1f} forward-equivalents ({flops['points']} curve points)"),
        Row("explain", "floor (FLOPs / rate)", floor * ms, "ms/pair"),
        Row("explain", "measured / floor, one pair at a time", t_whole / floor, "×", "target ≤ 2.5"),
        Row("explain", f"measured / floor, {len(samples)} pairs per call", t_batched / floor, "×", "target ≤ 2.5"),
        Row("explain", "stricter floor: branch reuse credited", floor_reuse * ms, "ms/pair",
            f"{flops['total_reuse'] / 1e9:.2f} GFLOP"),
        Row("explain", f"measured / stricter floor, {len(samples)} pairs per call", t_batched / floor_reuse, "×"),
    ]
