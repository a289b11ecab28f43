"""The headless demo: the live pipeline on the simulated line for a short while, one line per cavity.

It runs exactly what `inspector run --source simulator` runs (the simulator on
its own thread, IPM, batched classification with eight Grad-CAM maps, curves
for every cavity so each line can say which camera the decision rests on, and
optionally the log), and prints what it saw against the simulator's truth.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional


def run_headless_demo(
    n: int = 12,
    *,
    seed: int = 0,
    hidden_share: float = 0.25,
    rate: float = 4.0,
    device=None,
    out: Optional[Path] = None,
    emit: Callable[[str], None] = print,
) -> int:
    """Inspect `n` simulated cavities (two per shot, `rate` shots per second) through the pipeline
    and emit one line per cavity; returns how many verdicts match the simulator's truth."""
    from calibration import load_default_rig
    from inspector.explain import GradCAM
    from inspector.devices import resolve_device
    from inspector.model.checkpoint import load_model
    from inspector.pipeline import Pipeline, PipelineConfig
    from inspector.plugins import PluginRegistry
    from inspector.signals import stop_on_signals

    device = resolve_device(device or "auto")
    model = load_model(device=device)
    rig = load_default_rig()
    source = PluginRegistry.discover().start(
        "sources", "simulator", rate=rate, cavities=2, hidden_share=hidden_share, seed=seed, count=n
    )
    right = [0]

    def on_result(r) -> None:
        rec = r.inspection
        verdict = model.classes[rec.predicted]
        ok = verdict == r.truth
        right[0] += ok
        m = "   n/a" if math.isnan(rec.m) else f"{rec.m:+6.3f}"
        emit(
            f"{rec.frame_ids[0] + 1:>6}  {rec.cavity_id:>3}  {r.truth:<8} {r.meta.get('hidden') or '-':<17} "
            f"{verdict:<8} {100 * float(rec.probs.max()):>5.1f}%  {m}  {rec.influence:<9} "
            f"{1e3 * r.latency_s:>5.0f} ms{'' if ok else '  ✗ wrong'}"
        )

    pipeline = Pipeline(
        source, model, rig=rig, out=out, explainer=GradCAM(model, device=device),
        config=PipelineConfig(curves="all", batch=4), on_result=on_result,
    )
    emit(
        f"simulated line: 2 cameras, tilt 30°, {source.options.cavities} cavities per shot at "
        f"{rate:g} shots/s; views {rig.grid.width}×{rig.grid.height} px at {rig.grid.mm_per_px:g} mm/px, "
        f"rig {rig.sha256[:12]}, model {model.sha256[:12]} on {device.type}"
    )
    emit(f"{'pair':>6}  {'cav':>3}  {'truth':<8} {'hidden':<17} {'verdict':<8} {'prob':>6}  {'m':>6}  "
         f"{'rests on':<9} {'latency':>8}")
    with stop_on_signals(pipeline.stop):
        stats = pipeline.run()
    emit(
        f"{right[0]} of {stats.inspected} cavities classified as the simulator made them; "
        f"{stats.throughput:.1f} pairs/s (the line's pace), dropped {stats.dropped + stats.source_dropped}, "
        f"bad frames {stats.bad_frames}"
    )
    emit(f"log: {', '.join(stats.log_files)} ({stats.written} records)" if stats.log_files
         else "not logged (inspector demo --out demo.h5 keeps the records)")
    return right[0]
