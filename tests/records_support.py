"""Deterministic inspections for the record-store tests (also run inside writer subprocesses)."""

import numpy as np

from inspector.records import Inspection, Layout

LAYOUT = Layout(
    classes=("correct", "missing", "skewed"),
    view_shape=(32, 32, 3),
    stage_shapes=((16, 16), (8, 8), (4, 4), (2, 2)),
    p=tuple(float(v) for v in np.round(np.linspace(0, 1, 11), 10)),
)


def make_record(i: int) -> Inspection:
    rng = np.random.default_rng(i)
    probs = rng.dirichlet(np.ones(3)).astype(np.float32)
    curves = rng.uniform(0, 1, (3, 11)).astype(np.float32)
    m = float(np.mean(curves[1] - curves[2]))
    return Inspection(
        view1=rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
        view2=rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
        probs=probs,
        predicted=int(probs.argmax()),
        target=int(probs.argmax()),
        stage_maps=[[rng.uniform(0, 2, s).astype(np.float32) for s in LAYOUT.stage_shapes] for _ in range(2)],
        curves=curves,
        m=m,
        influence="equal" if abs(m) < 0.02 else ("camera 1" if m < 0 else "camera 2"),
        timestamp=1_790_000_000.0 + i,
        cavity_id=i % 8,
        source="simulator",
        frame_ids=(2 * i, 2 * i + 1),
        timings={"model": 0.004, "explain": 0.02},
        simulated=True,
    )


def assert_same(a: Inspection, b: Inspection) -> None:
    np.testing.assert_array_equal(a.view1, b.view1)
    np.testing.assert_array_equal(a.view2, b.view2)
    np.testing.assert_array_equal(a.probs, b.probs)
    np.testing.assert_array_equal(a.curves, b.curves)
    assert (a.predicted, a.target, a.influence, a.cavity_id, a.source, a.frame_ids, a.status, a.simulated) == (
        b.predicted, b.target, b.influence, b.cavity_id, b.source, tuple(b.frame_ids), b.status, b.simulated)
    assert np.float32(a.m) == np.float32(b.m) and a.timestamp == b.timestamp
    for va, vb in zip(a.stage_maps, b.stage_maps):
        for ma, mb in zip(va, vb):
            np.testing.assert_array_equal(ma.astype(np.float16).astype(np.float32), mb)
