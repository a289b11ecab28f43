"""Benchmarks behind `inspector bench`: each section measures its own figures in the same run.

Nothing here asserts a speed; the numbers are printed for a person to compare
with the targets in the README.
"""

from __future__ import annotations

import time
from typing import Callable

import cv2

from inspector.bench.table import Row, format_table

__all__ = ["SECTIONS", "format_table"]  # what `inspector bench` uses


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


def bench_simulator(n: int = 120, seed: int = 0) -> list[Row]:
    """Pairs per second of the simulated line on one core: drawing, rendering both cameras, IPM."""
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


def _explain(device=None) -> list[Row]:
    from importlib.util import find_spec

    from inspector.errors import InspectorError
    from inspector.explain.bench import bench_explain

    if find_spec("captum") is None:
        raise InspectorError("the explain benchmark compares against captum: pip install -e '.[bench]'")
    return bench_explain(device)


def _records(device=None) -> list[Row]:
    from inspector.records.bench import bench_records

    return bench_records()


def _pipeline(device=None) -> list[Row]:
    from inspector.pipeline_bench import bench_pipeline

    return bench_pipeline(device)


def _soak(device=None) -> list[Row]:
    from inspector.pipeline_bench import bench_soak

    return bench_soak(device)


def _audit(device=None) -> list[Row]:
    from inspector.audit.bench import bench_audit

    return bench_audit(device)


def _gui(device=None) -> list[Row]:
    """The operator view's event-loop latency, measured by `python -m ui.bench` in a process of its own:
    inspector never imports Qt."""
    import json
    import os
    import subprocess
    import sys

    from inspector.errors import InspectorError

    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    r = subprocess.run([sys.executable, "-m", "ui.bench", "--seconds", "20", "--device", str(device or "auto")],
                       capture_output=True, text=True, env=env, timeout=600)
    if r.returncode != 0:
        raise InspectorError(f"the GUI benchmark failed: {r.stderr.strip().splitlines()[-1:] or r.returncode}")
    d = json.loads(r.stdout[r.stdout.index("{"):])
    note = f"operator view, simulator at full speed, {d['throughput_pairs_s']:.1f} pairs/s, 10 ms probe"
    return [
        Row("gui", "event-loop latency, worst", d["latency_worst_ms"], "ms", note + "; target < 100"),
        Row("gui", "event-loop latency, 99th percentile", d["latency_p99_ms"], "ms", "target < 100"),
        Row("gui", "event-loop latency, median", d["latency_median_ms"], "ms"),
        Row("gui", "views redrawn", d["redraws_per_s"], "per s", "capped at 10"),
        Row("gui", "review view opens a log", d["review_open_s"], "s",
            f"{d['review_records']:,} records; README: a tenth of a second"),
        Row("gui", "review view sorts by m and filters by class", d["review_sort_filter_s"], "s",
            f"{d['review_records']:,} records"),
    ]


SECTIONS = {
    "simulator": lambda device=None: bench_simulator(),
    "explain": _explain,
    "records": _records,
    "pipeline": _pipeline,
    "soak": _soak,
    "audit": _audit,
    "gui": _gui,
}
