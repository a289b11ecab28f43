"""`inspector bench` section "gui": the operator view's event-loop latency and the review view's
opening, sorting and filtering, measured by `python -m ui.bench` in a process of its own."""

from __future__ import annotations

from inspector.bench.table import Row


def bench_gui(device=None) -> list[Row]:
    """The figures of `python -m ui.bench`, run as a subprocess: inspector never imports Qt."""
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
