"""The genicam source on a line: runs through the pipeline into a log, on the command line and in the
operator view, with a camera killed and started again (Aravis's fake GigE cameras on loopback).
"""

import os
import subprocess
import sys
import threading
import time

import pytest

from waiting import HANG_S, returns_within, wait_for

from genicam_support import (
    ROOT,
    WINDOW_MS,
    assert_same_triggers,
    needs_cameras,
    source,
)

pytestmark = pytest.mark.usefixtures("no_threads_left_behind")


@needs_cameras
def test_a_pipeline_run_logs_fifty_records_each_from_one_trigger(two, tmp_path):
    import inspector
    from calibration import load_default_rig
    from inspector.pipeline import Pipeline, PipelineConfig
    from inspector.records import RecordReader

    rig = load_default_rig()
    # The region is the rig's calibrated camera size, so the raw images go through the real IPM.
    (w, h) = rig.camera("1").image_size
    out = tmp_path / "run.h5"
    src = source(width=w, height=h)
    pipe = Pipeline(src, inspector.load_model(device="cpu"), rig=rig, out=out,
                    config=PipelineConfig(curves="none", keep_all=True, max_records=50, batch=5))
    stats = returns_within(pipe.run)
    assert stats.inspected == stats.written == 50 and stats.bad_frames == 0
    with RecordReader(out) as log:
        assert len(log) == 50 and log.closed_cleanly
        assert log.attrs["source"].startswith("genicam(")
        records = [log.record(i) for i in range(50)]
    assert all(r.source == "genicam" and not r.simulated for r in records)
    assert_same_triggers([r.frame_ids for r in records])


@needs_cameras
def test_a_pipeline_run_goes_on_logging_after_a_camera_comes_back(two, tmp_path):
    import inspector
    from calibration import load_default_rig
    from inspector.pipeline import Pipeline, PipelineConfig
    from inspector.records import RecordReader

    _, cam2 = two
    rig = load_default_rig()
    (w, h) = rig.camera("1").image_size
    out = tmp_path / "run.h5"
    src = source(width=w, height=h, timeout=1.0)
    results = []
    pipe = Pipeline(src, inspector.load_model(device="cpu"), rig=rig, out=out, on_result=results.append,
                    config=PipelineConfig(curves="none", keep_all=True, max_records=30, batch=5))
    run = {}
    thread = threading.Thread(target=lambda: run.update(stats=pipe.run()), daemon=True)
    thread.start()
    assert wait_for(lambda: len(results) >= 10)
    cam2.kill()
    at_kill = len(results)
    assert wait_for(lambda: "camera 2" in src.counters.lost_cameras())
    cam2.start()
    thread.join(HANG_S)
    assert not thread.is_alive(), (len(results), src.counters, src.camera_stats())
    assert at_kill < 30 and run["stats"].written == 30 and src.counters.reconnects == 1
    with RecordReader(out) as log:
        assert len(log) == 30 and log.closed_cleanly


def install_entry_points(root):
    """The genicam entry points as an installed distribution would declare them (the shared editable
    install may predate them): a .dist-info with entry_points.txt on the child's path."""
    info = root / "genicam_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: genicam-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[inspector.sources]\ngenicam = plugins.genicam_source:GenICamSource\n\n"
        "[inspector.commands]\ncameras = plugins.genicam_commands:CAMERAS\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), ROOT])}


def inspector_cli(env, *args):
    main = "import sys; from inspector.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", main, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=HANG_S * 3)


@needs_cameras
def test_inspector_run_and_cameras_on_the_command_line(two, tmp_path):
    env = install_entry_points(tmp_path)
    r = inspector_cli(env, "cameras")
    assert r.returncode == 0, r.stderr
    assert "Aravis-Fake-CAM1" in r.stdout and "Aravis-Fake-CAM2" in r.stdout
    out = tmp_path / "run.h5"
    opts = ["cam1=CAM1", "cam2=127.0.0.2", "pixel_format=BayerRG8", "width=256", "height=192",
            f"pair_window_ms={WINDOW_MS:g}"]
    r = inspector_cli(env, "run", "--source", "genicam", *[a for o in opts for a in ("--source-opt", o)],
                      "--out", str(out), "--max", "10", "--curves", "none", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    from inspector.records import RecordReader

    with RecordReader(out) as log:
        assert len(log) == 10 and log.attrs["source"].startswith("genicam(cam1=CAM1, cam2=127.0.0.2")
    r = inspector_cli(env, "run", "--source", "genicam", "--source-opt", "cam1=CAM1", "--source-opt", "cam2=CAM7")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].endswith("found: Aravis-Fake-CAM1 (127.0.0.1), Aravis-Fake-CAM2 (127.0.0.2)")


@needs_cameras
def test_inspector_run_names_a_camera_lost_at_the_end(two, tmp_path):
    from inspector.records import RecordReader

    _, cam2 = two
    out = tmp_path / "run.h5"
    opts = ["cam1=CAM1", "cam2=CAM2", "pixel_format=BayerRG8", "width=256", "height=192",
            f"pair_window_ms={WINDOW_MS:g}", "timeout=0.5"]
    proc = subprocess.Popen([sys.executable, "-m", "inspector.cli", "run", "--source", "genicam",
                             *[a for o in opts for a in ("--source-opt", o)], "--out", str(out), "--curves", "none",
                             "--device", "cpu", "--seconds", "20", "--status-every", "0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        def logged():
            try:
                with RecordReader(out) as log:
                    return len(log) >= 5
            except Exception:  # not created yet, or between two commits
                return False

        assert wait_for(logged, seconds=60)
        cam2.kill()
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "LOST camera 2 (CAM2: " in stderr  # the status line, while it was lost
    assert any(line.startswith("camera 2 LOST at the end: CAM2: ") for line in stdout.splitlines()), stdout
    with RecordReader(out) as log:
        assert log.closed_cleanly and len(log) >= 5


@needs_cameras
def test_the_operator_view_names_a_killed_camera_within_2_s_goes_on_when_it_is_back_and_stops_promptly(
        qtbot, two, tmp_path):
    pytest.importorskip("pytestqt")
    from inspector.records import RecordReader
    from ui.app_context import load_context
    from ui.operator_view import OperatorView

    _, cam2 = two
    view = OperatorView(load_context("cpu"), log_folder=tmp_path / "logs")

    def inspected() -> int:
        text = view.counters.text("inspected")
        return int(text) if text.isdigit() else 0  # "—" before the first count

    qtbot.addWidget(view)
    view.show()
    view.chooser.choose("genicam")
    for name, value in (("cam1", "CAM1"), ("cam2", "CAM2"), ("pixel_format", "BayerRG8"), ("width", 256),
                        ("height", 192), ("pair_window_ms", f"{WINDOW_MS:g}"), ("timeout", 0.5)):
        view.chooser.set_option(name, value)
    view.record.setChecked(True)
    log = tmp_path / "line.h5"
    view.log_path.setText(str(log))
    try:
        assert view.start()
        qtbot.waitUntil(lambda: inspected() >= 5, timeout=60000)  # bounds a hang only

        cam2.kill()
        killed = time.monotonic()
        # The promise is to the operator: red, naming the camera, within 2 s of the camera going away.
        qtbot.waitUntil(lambda: view.run_state.state == "lost" and "camera 2" in view.run_state.text(),
                        timeout=2000)
        assert time.monotonic() - killed < 2.0
        assert "camera 2 lost: CAM2: " in view.error_strip.message and view.running

        before = inspected()
        cam2.start()
        qtbot.waitUntil(lambda: view.run_state.state != "lost", timeout=60000)
        qtbot.waitUntil(lambda: inspected() >= before + 5, timeout=60000)
        assert view.counters.text("reconnects") == "1"

        cam2.kill()  # lost again, and the operator stops during the outage
        qtbot.waitUntil(lambda: view.run_state.state == "lost", timeout=2000)
        asked = time.monotonic()
        view.stop()
        qtbot.waitUntil(lambda: not view.running, timeout=2000)
        assert time.monotonic() - asked < 2.0
    finally:
        view.shutdown()
    with RecordReader(log) as reader:  # one log across the outage, closed valid
        assert reader.closed_cleanly and len(reader) == view.last_stats.written >= before + 5
