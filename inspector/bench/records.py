"""`inspector bench` section "records": append rate with a reader following, bytes per record,
and the compression and fsync choices measured side by side."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

from inspector.bench.table import Row

FOLLOWER = textwrap.dedent(
    """
    import sys, time
    try:
        import hdf5plugin  # only for the plugin filters being compared
    except ImportError:
        pass
    import h5py
    path, n = sys.argv[1], int(sys.argv[2])
    while True:
        try:
            f = h5py.File(path, "r", swmr=True)
            break
        except OSError:
            time.sleep(0.01)
    seen = 0
    deadline = time.monotonic() + 300
    while seen < n and time.monotonic() < deadline:
        f["committed"].refresh()
        now = int(f["committed"][0])
        if now > seen:
            for key in ("view1", "cam_stage1", "probs"):
                f[key].refresh()
                f[key][now - 1]
            seen = now
        else:
            time.sleep(0.002)
    print(seen)
    """
)


def simulated_inspections(n_distinct: int = 8):
    """A layout and `n_distinct` real inspections of the simulated line (content decides what
    compression achieves; the audit section writes its logs from them too)."""
    import inspector
    from inspector.explain import GradCAM
    from inspector.records import Inspection, Layout
    from inspector.synth import generate

    model = inspector.load_model(device="cpu")
    samples = generate(n_distinct, seed=5, hidden_share=0.3)
    ex = GradCAM(model).explain_batch(np.stack([s.view1 for s in samples]), np.stack([s.view2 for s in samples]))
    layout = Layout(
        classes=model.classes,
        view_shape=samples[0].view1.shape,
        stage_shapes=tuple(m.shape for m in ex[0].stage_maps[0]),
        p=tuple(float(v) for v in ex[0].p),
    )
    recs = [
        Inspection.from_explanation(s.view1, s.view2, e, timestamp=time.time(), cavity_id=i, source="simulator",
                                    simulated=True)
        for i, (s, e) in enumerate(zip(samples, ex))
    ]
    return layout, recs


def _run(layout, recs, folder: Path, name: str, n: int, **options) -> tuple[float, float]:
    from inspector.records import RecordWriter

    path = folder / f"{name}.h5"
    with RecordWriter(path, layout, **options) as w:
        w.append(recs[0])
        follower = subprocess.Popen([sys.executable, "-c", FOLLOWER, str(path), str(n)], stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)  # let the follower open the file first
        t0 = time.perf_counter()
        for i in range(1, n):
            w.append(recs[i % len(recs)])
        rate = (n - 1) / (time.perf_counter() - t0)
    follower.wait(timeout=300)
    return rate, path.stat().st_size / n


def bench_records(device=None, n: int = 300) -> list[Row]:
    """Append rate and bytes per record for each compression and fsync choice.

    `device` is unused: the inspections are made once on the CPU; what is measured is the writer."""
    layout, recs = simulated_inspections()
    variants = [
        ("gzip-4 (chosen)", {"compression": "gzip"}),
        ("gzip-1", {"compression": {"compression": "gzip", "compression_opts": 1}}),
        ("lzf", {"compression": "lzf"}),
        ("none", {"compression": None}),
        ("gzip-4 + fsync per record", {"compression": "gzip", "fsync": True}),
    ]
    try:
        import hdf5plugin

        variants += [
            ("Blosc-LZ4+shuffle (plugin)", {"compression": dict(hdf5plugin.Blosc(cname="lz4", shuffle=hdf5plugin.Blosc.SHUFFLE))}),
            ("Zstd-3 (plugin)", {"compression": dict(hdf5plugin.Zstd(clevel=3))}),
        ]
    except ImportError:
        pass
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, options) in enumerate(variants):
            rate, size = _run(layout, recs, Path(tmp), f"v{i}", n, **options)
            rows.append(Row("records", f"append, reader following: {name}", rate, "rec/s",
                            f"{size / 1024:.1f} KiB/record" + ("; target ≥ 50" if i == 0 else "")))
    return rows
