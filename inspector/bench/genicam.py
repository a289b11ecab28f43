"""`inspector bench` section "genicam": two fake GigE Vision cameras free-running through the whole
pipeline, beside the simulator source at the same pace, in one run.

Aravis's fake camera (`arv-fake-gv-camera-0.8`, Debian's aravis-tools) speaks the real
protocol on loopback, one process per camera on 127.0.0.1 and 127.0.0.2 (`fake_cameras`).
Both runs take the same rig, model, explainer and log; the figures that differ are what
the cameras add: frames lost on the way (incomplete), frames without a partner (unpaired),
and the processor time per inspected pair, where the cameras' grab threads, the
protocol and the conversion to RGB show beside the simulator's prerendered pairs.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from inspector.bench.table import Row

SECONDS = 20.0
FPS = 25.0  # the fake camera's own free-run rate


def _run(source, model, rig, device, out: Path, seconds: float):
    from inspector.explain import GradCAM
    from inspector.pipeline import Pipeline, PipelineConfig

    pipe = Pipeline(source, model, rig=rig, out=out, explainer=GradCAM(model, device=device),
                    config=PipelineConfig(curves="nok", max_seconds=seconds))
    cpu0 = time.process_time()
    stats = pipe.run()
    return stats, time.process_time() - cpu0, source.counters


def bench_genicam(device=None, seconds: float = SECONDS) -> list[Row]:
    """Pairs per second, frames incomplete, unpaired and dropped, and processor time per pair: two fake
    cameras free-running through the pipeline, then the simulator at the same pace."""
    import inspector
    from calibration import load_default_rig
    from inspector.bench.fake_cameras import FakeCamera, LoopbackAddress, why_unavailable
    from inspector.devices import resolve_device
    from inspector.errors import InspectorError
    from inspector.plugins import PluginRegistry

    registry = PluginRegistry.discover()
    why = why_unavailable(registry)
    if why:
        raise InspectorError(f"the genicam benchmark needs Aravis's fake cameras: {why}")
    device = resolve_device(device or "auto")
    model = inspector.load_model(device=device)
    rig = load_default_rig()
    w, h = rig.cameras["1"].image_size
    with tempfile.TemporaryDirectory() as tmp, LoopbackAddress("127.0.0.2"):
        cams = [FakeCamera("127.0.0.1", "BENCH1", registry), FakeCamera("127.0.0.2", "BENCH2", registry)]
        try:
            for cam in cams:
                cam.start()
            source = registry.start("sources", "genicam", cam1="BENCH1", cam2="BENCH2", trigger="free",
                                    pixel_format="BayerRG8", width=w, height=h, frame_rate=FPS)
            cam_stats, cam_cpu, c = _run(source, model, rig, device, Path(tmp) / "cameras.h5", seconds)
        finally:
            for cam in cams:
                cam.stop()
        sim = registry.start("sources", "simulator", rate=FPS, cavities=1, prerender=48, seed=11)
        sim_stats, sim_cpu, _ = _run(sim, model, rig, device, Path(tmp) / "simulator.h5", seconds)
    n_cam, n_sim = max(cam_stats.inspected, 1), max(sim_stats.inspected, 1)
    note = f"2 fake GigE cameras, free-run {FPS:g} fps, BayerRG8 {w}×{h}, {seconds:g} s"
    return [
        Row("genicam", "pairs inspected, cameras", cam_stats.throughput, "pairs/s", note),
        Row("genicam", "pairs inspected, simulator at the same pace", sim_stats.throughput, "pairs/s"),
        Row("genicam", "frames incomplete (lost packets)", c.incomplete, "frames", "never inspected"),
        Row("genicam", "frames unpaired", c.unpaired, "frames", "no partner within the pairing window"),
        Row("genicam", "pairs dropped", cam_stats.dropped + cam_stats.source_dropped, "pairs",
            "the model busy (latest-frames slot) or the camera's own"),
        Row("genicam", "processor time per pair, cameras", 1e3 * cam_cpu / n_cam, "ms"),
        Row("genicam", "processor time per pair, simulator", 1e3 * sim_cpu / n_sim, "ms"),
        Row("genicam", "what acquisition adds per pair", 1e3 * (cam_cpu / n_cam - sim_cpu / n_sim), "ms",
            "processor time, cameras minus simulator"),
    ]
