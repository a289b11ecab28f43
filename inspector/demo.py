"""The headless demo: the simulated line, cavity by cavity, one line of text each."""

from __future__ import annotations

import time
from typing import Callable

from inspector.synth.line import SimulatedLine
from inspector.synth.scene import insert_gap


def describe_hidden(sample) -> str:
    for i, cam in enumerate(sample.scene.cameras):
        if cam.hide:
            return f"camera {i + 1} under {cam.hide}"
    return "-"


def run_headless_demo(
    n: int = 12, *, seed: int = 0, hidden_share: float = 0.25, emit: Callable[[str], None] = print
) -> int:
    """Inspect `n` simulated cavities and emit one line per cavity; returns how many were shown."""
    line = SimulatedLine()
    emit(
        f"simulated line: 2 cameras, tilt {line.config.tilt_deg:g}°, views "
        f"{line.rig.grid.width}×{line.rig.grid.height} px at {line.rig.grid.mm_per_px:g} mm/px, "
        f"rig {line.rig.sha256[:12]}"
    )
    emit(f"{'cavity':>6}  {'truth':<8} {'evidence':<9} {'gap':>9}  {'hidden':<22} {'render+IPM':>10}")
    shown = 0
    for i in range(n):
        t0 = time.perf_counter()
        sample = line.render(line.draw(i, seed, hidden_share=hidden_share), i)
        ms = (time.perf_counter() - t0) * 1e3
        gap = insert_gap(sample.scene.insert, line.design)
        gap_text = "no insert" if sample.scene.insert is None else f"{gap:.2f} mm"
        emit(
            f"{i + 1:>6}  {sample.label:<8} {sample.evidence:<9} {gap_text:>9}  "
            f"{describe_hidden(sample):<22} {ms:>7.1f} ms"
        )
        shown += 1
    return shown
