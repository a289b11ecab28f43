"""How responsive the GUI stays while the line runs flat out: event-loop latency under load.

The real window is built offscreen and the operator view runs the simulator as fast
as it goes (`rate=0`, pre-rendered pairs, four cavities per shot, not recording).
A probe timer asks to fire every 10 ms; how much later than that each firing
comes is the time the event loop could not react: a click or a repaint waits as
long. `python -m ui.bench` prints the result as JSON (`inspector bench` runs it
as a subprocess).
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

    app = ensure_application()
    window = build_window(device=device, context=context)
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
    print(json.dumps(bench_event_loop(args.seconds, device=args.device), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
