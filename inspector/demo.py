"""The headless demo: the simulated line, cavity by cavity, one line of text each.

Each cavity is rendered by both cameras, mapped onto the plane, classified by
the shipped model and explained (which camera the decision rests on).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from inspector.synth.line import SimulatedLine
from inspector.synth.scene import insert_gap


def describe_hidden(sample) -> str:
    for i, cam in enumerate(sample.scene.cameras):
        if cam.hide:
            return f"cam {i + 1} {cam.hide}"
    return "-"


def run_headless_demo(
    n: int = 12, *, seed: int = 0, hidden_share: float = 0.25, device=None, emit: Callable[[str], None] = print
) -> int:
    """Inspect `n` simulated cavities and emit one line per cavity; returns how many were right."""
    from inspector.explain import Explainer
    from inspector.model.checkpoint import load_model

    line = SimulatedLine()
    model = load_model(device=device)
    explainer = Explainer(model)
    emit(
        f"simulated line: 2 cameras, tilt {line.config.tilt_deg:g}°, views {line.rig.grid.width}×"
        f"{line.rig.grid.height} px at {line.rig.grid.mm_per_px:g} mm/px, rig {line.rig.sha256[:12]}, "
        f"model {model.sha256[:12]} on {explainer.device.type}"
    )
    emit(
        f"{'cavity':>6}  {'truth':<8} {'gap':>9}  {'hidden':<13} {'verdict':<8} {'prob':>6}  "
        f"{'m':>6}  {'rests on':<9} {'time':>7}"
    )
    right = 0
    for i in range(n):
        t0 = time.perf_counter()
        sample = line.render(line.draw(i, seed, hidden_share=hidden_share), i)
        e = explainer.explain(sample.view1, sample.view2)
        ms = (time.perf_counter() - t0) * 1e3
        gap = insert_gap(sample.scene.insert, line.design)
        gap_text = "no insert" if sample.scene.insert is None else f"{gap:.2f} mm"
        verdict = e.classes[e.predicted]
        right += verdict == sample.label
        mark = "" if verdict == sample.label else "  ✗ wrong"
        emit(
            f"{i + 1:>6}  {sample.label:<8} {gap_text:>9}  {describe_hidden(sample):<13} {verdict:<8} "
            f"{100 * float(np.max(e.probs)):>5.1f}%  {e.m:>+6.3f}  {e.influence:<9} {ms:>5.0f} ms{mark}"
        )
    emit(f"{right} of {n} cavities classified as the simulator made them")
    return right
