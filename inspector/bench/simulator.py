"""`inspector bench` section "simulator": pairs per second of the simulated line on one core,
whole and in its parts (rendering, IPM)."""

from __future__ import annotations

import time
from typing import Callable

import cv2

from inspector.bench.table import Row


class one_cv2_thread:
    """Pin OpenCV to one thread for a measurement ("on one core"), restoring it afterwards."""

    def __enter__(self):
        self.before = cv2.getNumThreads()
        cv2.setNumThreads(1)

    def __exit__(self, *exc):
        cv2.setNumThreads(self.before)


def _rate(fn: Callable[[int], object], n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - t0)


def bench_simulator(device=None, n: int = 120, seed: int = 0) -> list[Row]:
    """Pairs per second of the simulated line on one core: drawing, rendering both cameras, IPM.

    `device` is unused: the line is drawn with NumPy and OpenCV."""
    from inspector.synth.line import SimulatedLine

    line = SimulatedLine()
    scenes = [line.draw(i, seed, hidden_share=0.25) for i in range(n)]
    raws = [line.render_raw(s) for s in scenes[:20]]
    with one_cv2_thread():
        line.render(scenes[0])  # warm-up
        full = _rate(lambda i: line.render(line.draw(i, seed, hidden_share=0.25), i), n)
        render = _rate(lambda i: line.render_raw(scenes[i]), n)
        ipm = _rate(lambda i: line.rig.warp_pair(*raws[i % len(raws)]), 20 * 50)
    w, h = line.config.image_size
    g = line.rig.grid
    return [
        Row("simulator", "simulated pairs (draw + render 2 cameras + IPM)", full, "pairs/s",
            f"{w}×{h} raw, {g.width}×{g.height} views, one core; target ≥ 50"),
        Row("simulator", "rendering only (2 cameras)", render, "pairs/s"),
        Row("simulator", "IPM only (2 warps)", ipm, "pairs/s"),
    ]
