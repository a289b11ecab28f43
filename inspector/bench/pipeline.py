"""`inspector bench` sections "pipeline" and "soak": throughput beside the bare model in one run,
and the soak test (tests/test_soak.py runs it too); both drive the same pipeline.

The simulator source renders its pairs once (`prerender`) and the pipeline runs
with `keep_all`, so the figure is what the inspection itself sustains, not how
fast this machine can also render a line, and no pair is dropped.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from inspector.bench.table import Row, rss_mb
from inspector.classes import ClassSet


def hook_count(model: torch.nn.Module) -> int:
    """Every forward, pre-forward and backward hook on the model's modules, and the global ones."""
    from torch.nn.modules import module as _module

    n = sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) + len(m._backward_pre_hooks)
        for m in model.modules()
    )
    return n + len(_module._global_forward_hooks) + len(_module._global_backward_hooks)


def _pipeline(model, rig, out: Optional[Path], n: int, device, prerender: int = 48, on_result=None, curves="nok"):
    from inspector.explain import GradCAM
    from inspector.pipeline import Pipeline, PipelineConfig
    from inspector.plugins import PluginRegistry

    source = PluginRegistry.discover().start(
        "sources", "simulator", rate=0, cavities=4, prerender=prerender, hidden_share=0.25, seed=11
    )
    pipe = Pipeline(
        source, model, rig=rig, out=out, explainer=GradCAM(model, device=device),
        config=PipelineConfig(curves=curves, keep_all=True, max_records=n), on_result=on_result,
    )
    return pipe, pipe.run()


def _views(n: int, seed: int = 11):
    from inspector.synth import generate

    samples = generate(n, seed=seed, hidden_share=0.25)
    return np.stack([s.view1 for s in samples]), np.stack([s.view2 for s in samples])


def bench_pipeline(device=None, n: int = 400, batch: int = 8) -> list[Row]:
    """Pairs per second: bare model, explainer alone, and the whole pipeline, one after the other."""
    import inspector
    from calibration import load_default_rig
    from inspector.explain import GradCAM
    from inspector.devices import resolve_device

    device = resolve_device(device or "auto")
    model = inspector.load_model(device=device)
    rig = load_default_rig()
    v1, v2 = _views(48)
    ok = ClassSet.of_model(model).ok_index

    # Bare model: prediction only, batched as the pipeline batches, under inference_mode.
    x1 = torch.from_numpy(v1).permute(0, 3, 1, 2).float().div(255).to(device)
    x2 = torch.from_numpy(v2).permute(0, 3, 1, 2).float().div(255).to(device)
    # Best of three: the bare model's run is short, so one stray process would decide it.
    with torch.inference_mode():
        model(x1[:batch], x2[:batch])
        reps = max(1, n // len(v1))
        rates = []
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(reps):
                for s in range(0, len(v1), batch):
                    model(x1[s:s + batch], x2[s:s + batch]).argmax(1).cpu()
            rates.append(reps * len(v1) / (time.perf_counter() - t0))
        bare = max(rates)

    # The explainer alone, as the pipeline calls it: eight maps for all, curves for NOK.
    ex = GradCAM(model, device=device)
    nok = lambda probs: probs.argmax(1) != ok  # noqa: E731
    ex.explain_batch(v1[:batch], v2[:batch], curves=nok, batch=batch)
    t0 = time.perf_counter()
    done = 0
    while done < n // 2:
        for s in range(0, len(v1), batch):
            ex.explain_batch(v1[s:s + batch], v2[s:s + batch], curves=nok, batch=batch)
            done += min(batch, len(v1) - s)
    explained = done / (time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as tmp:
        _, stats = _pipeline(model, rig, Path(tmp) / "bench.h5", n, device)
    piped = stats.inspected / stats.elapsed_s
    lat = stats.latency_ms
    return [
        Row("pipeline", "bare model (prediction only)", bare, "pairs/s", f"batches of {batch}, {device.type}"),
        Row("pipeline", "explainer: prediction + 8 maps + curves for NOK", explained, "pairs/s",
            "no IPM, no log"),
        Row("pipeline", "pipeline: source + IPM + explainer + log, keep-all", piped, "pairs/s",
            f"{stats.inspected} pairs, written {stats.written}; target ≥ 15"),
        Row("pipeline", "time the pipeline adds over the explainer", 100 * (explained / piped - 1), "%",
            "threads, IPM, records (gzip) sharing the cores"),
        Row("pipeline", "pipeline time over the bare model", piped and bare / piped, "×",
            "Grad-CAM, curves and all"),
        Row("pipeline", "latency model / explain / write per pair",
            lat["model"], "ms", f"{lat['explain']:.1f} ms curves, {lat['write']:.1f} ms write, "
            f"{lat['ipm']:.1f} ms IPM"),
    ]


def soak(n: int = 2000, warmup: int = 300, device=None, every: int = 50) -> dict:
    """Run `n` inspections into a log and watch resident memory, hooks and threads."""
    import inspector
    from calibration import load_default_rig
    from inspector.devices import resolve_device

    device = resolve_device(device or "auto")
    model = inspector.load_model(device=device)
    rig = load_default_rig()
    threads_before = {t.ident for t in threading.enumerate()}
    hooks_before = hook_count(model)
    samples: list[tuple[int, float]] = []

    def on_result(result) -> None:
        i = len(samples_seen)
        samples_seen.append(1)
        if i % every == 0:
            samples.append((i, rss_mb()))

    samples_seen: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        pipe, stats = _pipeline(model, rig, Path(tmp) / "soak.h5", n, device, prerender=64, on_result=on_result)
        size_mb = (Path(tmp) / "soak.h5").stat().st_size / 2**20
    after = [rss for i, rss in samples if i >= warmup]
    base = after[0] if after else float("nan")
    leaked_threads = [t.name for t in threading.enumerate() if t.ident not in threads_before]
    return {
        "inspected": stats.inspected,
        "written": stats.written,
        "rss_at_warmup_mb": base,
        "rss_growth_mb": (max(after) - base) if after else float("nan"),
        "rss_end_mb": samples[-1][1] if samples else float("nan"),
        "hooks_added": hook_count(model) - hooks_before,
        "explainer_hooks": hook_count(pipe.explainer.model),
        "threads_left": leaked_threads,
        "throughput": stats.inspected / stats.elapsed_s,
        "log_mb": size_mb,
        "rss_samples": samples,
    }


def bench_soak(device=None, n: int = 2000) -> list[Row]:
    r = soak(n, device=device)
    return [
        Row("soak", "inspections written", r["written"], "records", f"of {r['inspected']} inspected"),
        Row("soak", "resident memory growth after warm-up", r["rss_growth_mb"], "MB",
            f"from {r['rss_at_warmup_mb']:.0f} MB at 300 inspections; target ≤ 50"),
        Row("soak", "hooks left on the model and its inference copy", r["hooks_added"] + r["explainer_hooks"],
            "hooks", "target 0"),
        Row("soak", "threads left after the run", len(r["threads_left"]), "threads",
            ", ".join(r["threads_left"]) or "target 0"),
        Row("soak", "throughput over the soak", r["throughput"], "pairs/s", f"log {r['log_mb']:.0f} MB"),
    ]
