"""How responsive the GUI stays while the line runs flat out: event-loop latency under load.

The real window is built offscreen and the operator view runs the simulator as fast
as it goes (`rate=0`, pre-rendered pairs, four cavities per shot, not recording).
A probe timer asks to fire every 10 ms; how much later than that each firing
comes is the time the event loop could not react: a click or a repaint waits as
long. `python -m ui.bench` prints the result as JSON (`inspector bench` runs it
as a subprocess), with how long the review view takes to open a 100,000-record
log and to sort and filter it (the table reads only the scalar fields).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Optional

import numpy as np

PROBE_MS = 10
WARMUP_S = 30.0  # at most, for the model's first batch and the simulator's pre-rendering


def bench_event_loop(seconds: float = 20.0, *, device: str = "auto", context=None) -> dict:
    """Run the operator view on the simulator at full speed for `seconds` and probe the event loop.

    Returns worst and 99th-percentile lateness of a 10 ms timer (ms), the pairs/s reached, and
    how often the views were redrawn.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore

    from ui.app import build_window, ensure_application
    from ui.settings import Settings

    app = ensure_application()
    window = build_window(device=device, context=context, settings=Settings.scratch())  # never the user's
    window.show()
    op = window.operator
    op.chooser.choose("simulator")
    for name, value in (("rate", 0), ("prerender", 32), ("cavities", 4)):
        op.chooser.set_option(name, value)
    op.record.setChecked(False)
    op.curves.setCurrentText("nok")
    if not op.start():
        raise RuntimeError(f"the simulator did not start: {op.error_strip.message}")
    try:
        deadline = time.monotonic() + WARMUP_S
        while op.draw_count == 0 and op.running and time.monotonic() < deadline:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.005)
        if op.draw_count == 0:
            raise RuntimeError(f"no inspection arrived within {WARMUP_S:.0f} s: {op.error_strip.message}")
        before = op.live.pipeline.stats()
        drawn = op.draw_count
        late = _probe(app, seconds)
        after = op.live.pipeline.stats()
        drawn = op.draw_count - drawn
    finally:
        op.stop("benchmark done")
        end = time.monotonic() + 30.0
        while op.running and time.monotonic() < end:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)
        op.shutdown()
        window.close()
    span = after.elapsed_s - before.elapsed_s
    late_ms = np.asarray(late) * 1e3
    return {
        "seconds": round(span, 2),
        "probe_interval_ms": PROBE_MS,
        "probes": int(late_ms.size),
        "latency_worst_ms": round(float(late_ms.max()), 2) if late_ms.size else None,
        "latency_p99_ms": round(float(np.percentile(late_ms, 99)), 2) if late_ms.size else None,
        "latency_median_ms": round(float(np.median(late_ms)), 2) if late_ms.size else None,
        "throughput_pairs_s": round((after.inspected - before.inspected) / span, 2) if span > 0 else 0.0,
        "inspected": after.inspected - before.inspected,
        "dropped": (after.dropped + after.source_dropped) - (before.dropped + before.source_dropped),
        "redraws_per_s": round(drawn / span, 2) if span > 0 else 0.0,
        "device": str(op.context.device),
        "torch_threads": _torch_threads(),
    }


def bench_review_open(n: int = 100_000, *, device: str = "cpu", context=None) -> dict:
    """Seconds for the review view to open a log of `n` records of the line's shape, and to sort it
    by m and filter it by class. The log is one written record grown to `n` with random scalar
    fields; image chunks stay unwritten, which costs the table nothing since it never reads them."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile
    from pathlib import Path

    import h5py

    from inspector.records import Inspection, Layout, RecordWriter
    from ui.app import ensure_application
    from ui.app_context import load_context
    from ui.review_view import ReviewView

    ensure_application()
    context = context or load_context(device)
    classes = context.class_set.names
    stages = ((64, 64), (32, 32), (16, 16), (8, 8))
    layout = Layout(classes=classes, ok_class=context.class_set.ok, view_shape=(128, 128, 3), stage_shapes=stages,
                    p=tuple(float(v) for v in np.round(np.linspace(0, 1, 11), 10)))
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.h5"
        view = np.zeros((128, 128, 3), np.uint8)
        with RecordWriter(path, layout) as w:
            w.append(Inspection(view1=view, view2=view, probs=np.full(len(classes), 1 / len(classes), np.float32),
                                predicted=0, target=0, stage_maps=[[np.zeros(s, np.float32) for s in stages]] * 2,
                                curves=np.zeros((3, 11), np.float32), m=0.0, influence="equal", timestamp=1.79e9))
        with h5py.File(path, "r+") as f:
            for name in layout.fields():
                f[name].resize(n, axis=0)
            f["predicted"][:] = rng.integers(0, len(classes), n)
            f["m"][:] = rng.uniform(-0.5, 0.5, n).astype(np.float32)
            f["timestamp"][:] = 1.79e9 + np.arange(n) * 0.1
            f["probs"][:] = rng.dirichlet(np.ones(len(classes)), n).astype(np.float32)
            f["committed"][0] = n
        review = ReviewView(context)
        try:
            t0 = time.perf_counter()
            if not review.open_log(path) or review.model.rowCount() != n:
                raise RuntimeError(f"the review view did not open the {n}-record log")
            opened = time.perf_counter() - t0
            t0 = time.perf_counter()
            review.sort_by("m")
            review.filters.combos["class"].setCurrentText(classes[1])
            sorted_filtered = time.perf_counter() - t0
        finally:
            review.shutdown()
            review.close()
    return {"review_records": n, "review_open_s": round(opened, 3), "review_sort_filter_s": round(sorted_filtered, 3)}


def _probe(app, seconds: float) -> list[float]:
    """Lateness (s) of each firing of a timer asked to fire every PROBE_MS, over `seconds`."""
    from PySide6 import QtCore

    late: list[float] = []
    last: list[Optional[float]] = [None]
    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.setInterval(PROBE_MS)

    def fired() -> None:
        now = time.perf_counter()
        if last[0] is not None:
            late.append(max(0.0, now - last[0] - PROBE_MS / 1e3))
        last[0] = now

    timer.timeout.connect(fired)
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    timer.start()
    loop.exec()
    timer.stop()
    return late


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to measure (default 20)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    args = parser.parse_args(argv)
    result = bench_event_loop(args.seconds, device=args.device)
    result.update(bench_review_open(device=args.device))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
