"""`inspector bench` section "audit": records per second on one and on two Dask workers, in one run,
from logs that `write_bench_logs` writes (the audit view's tests use them too).

Every worker gets one torch thread, so the ratio measures what a second worker
process adds (the issue's scaling target); one worker with both cores' threads
is shown beside it, as what a single process gets out of this machine.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from inspector.bench.table import Row


def write_bench_logs(folder: Path, logs: int = 4, per_log: int = 100) -> list[Path]:
    """Logs of real inspections of the simulated line (views kept, so they can be re-run)."""
    from inspector.records import RecordWriter
    from inspector.bench.records import simulated_inspections

    layout, recs = simulated_inspections(16)
    paths = []
    for k in range(logs):
        path = folder / f"bench_{k}.h5"
        with RecordWriter(path, layout, provenance={"model_sha256": "bench"}) as w:
            for i in range(per_log):
                w.append(recs[(i + k) % len(recs)])
        paths.append(path)
    return paths


def _measure(paths, workers: int, threads: int) -> tuple[float, float]:
    from distributed import Client, LocalCluster

    from inspector.audit import audit

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        t0 = time.perf_counter()
        result = audit([str(p) for p in paths], client=client, threads_per_worker=threads, chunk=50)
        rate = result.summary.records / (time.perf_counter() - t0)

        def rss(dask_worker=None):
            from inspector.bench.table import rss_mb

            return rss_mb()

        peak = max(client.run(rss).values())
    return rate, peak


def bench_audit(device=None) -> list[Row]:
    from inspector.audit.engine import _require_dask

    _require_dask()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_bench_logs(Path(tmp))
        n = 400
        one, mem1 = _measure(paths, 1, 1)
        two, mem2 = _measure(paths, 2, 1)
        both, _ = _measure(paths, 1, 2)
    return [
        Row("audit", "re-analysis, 1 worker × 1 thread", one, "rec/s", f"{n} records in 4 logs, model re-run"),
        Row("audit", "re-analysis, 2 workers × 1 thread", two, "rec/s"),
        Row("audit", "2 workers / 1 worker", two / one, "×", "target ≥ 1.6"),
        Row("audit", "re-analysis, 1 worker × 2 threads (for comparison)", both, "rec/s"),
        Row("audit", "resident memory per worker after the audit", max(mem1, mem2), "MB",
            "records stream in chunks of 32"),
    ]
