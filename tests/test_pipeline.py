"""The live pipeline: records written by a run, drops, bad frames, failing sources and logs, clean stops."""

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

import inspector
from calibration import load_default_rig
from inspector.acquisition import EndOfSource, FrameError, FramePair, Source
from inspector.errors import ImageError
from inspector.explain import GradCAM, explain_pair
from inspector.pipeline import LatestFrames, Pipeline, PipelineConfig, PipelineError
from inspector.bench.pipeline import hook_count
from inspector.records import RecordReader
from inspector.records.schema import TIMING_NAMES
from inspector.source_images import check_image
from plugins.simulator_source import SimulatorSource
from waiting import HANG_S, returns_within


@pytest.fixture(scope="module")
def model():
    return inspector.load_model(device="cpu")


@pytest.fixture(scope="module")
def rig():
    return load_default_rig()


@pytest.fixture(scope="module")
def explainer(model):
    return GradCAM(model, device="cpu")


def _pipeline_threads():
    return [t for t in threading.enumerate() if t.name.startswith("inspector-")]


class Scripted(Source):
    """Hands out what a script says, one step per read: a pair, an exception, or None."""

    name = "scripted"
    raw = True

    @dataclass
    class Options:
        pass

    def __init__(self, steps, raw=True):
        super().__init__()
        self.steps = list(steps)
        self.raw = raw

    def _read(self, timeout):
        if not self.steps:
            raise EndOfSource("script done")
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step


def _raw_pair(line, i, seed=3):
    scene = line.draw(i, seed, hidden_share=0.0)
    raw1, raw2 = line.render_raw(scene)
    return FramePair(raw1, raw2, cavity_id=i + 1, frame_ids=(i, i), timestamps=(time.time(),) * 2, truth=scene.label)


def test_a_run_writes_every_inspection_with_provenance_and_the_engines_numbers(tmp_path, model, rig, explainer):
    out = tmp_path / "run.h5"
    source = SimulatorSource(rate=0, cavities=3, count=12, seed=4, hidden_share=0.3)
    results = []
    pipe = Pipeline(source, model, rig=rig, out=out, explainer=explainer,
                    config=PipelineConfig(curves="nok", keep_all=True, batch=5), on_result=results.append)
    stats = pipe.run()
    assert stats.inspected == stats.written == 12 and stats.dropped == 0 and stats.bad_frames == 0
    assert stats.stopped.startswith("source ended")
    assert sum(stats.per_class.values()) == 12
    assert [r.inspection.cavity_id for r in results] == [1, 2, 3] * 4
    # One name per stage from the run to the log: the latency keys are the records' timing names.
    assert tuple(stats.latency_ms) == TIMING_NAMES and not any(np.isnan(list(stats.latency_ms.values())))
    assert set(results[0].inspection.timings) == set(TIMING_NAMES) - {"write"}
    assert "ms: wait " in stats.status_line()
    with RecordReader(out) as log:
        assert len(log) == 12 and log.closed_cleanly
        attrs = log.attrs
        assert attrs["model_sha256"] == model.sha256 and attrs["rig_sha256"] == rig.sha256
        assert attrs["source"].startswith("simulator(") and attrs["curves"] == "nok" and attrs["explainer"] == "gradcam"
        for i in range(12):
            rec = log.record(i)
            truth = results[i].truth
            assert model.classes[rec.predicted] == truth  # the shipped model is right on these
            if truth == "correct":
                assert rec.status == "no-curves" and np.isnan(rec.m) and rec.influence == "none"
            else:
                assert rec.status == "ok" and np.all(np.isfinite(rec.curves))
            assert rec.simulated and rec.frame_ids == (i, i)
    # The logged numbers are the engine's for the same views.
    line = source.line or SimulatedLine()
    scene = line.draw(5, 4, hidden_share=0.3)
    v1, v2 = rig.warp_pair(*line.render_raw(scene))
    e = explain_pair(model, v1, v2, device="cpu")
    with RecordReader(out) as log:
        rec = log.record(5)
    np.testing.assert_array_equal(rec.view1, v1)
    np.testing.assert_allclose(rec.probs, e.probs, atol=1e-5)
    if rec.status == "ok":
        # The run explains 5 pairs per batch, explain_pair one: float sums in another order can flip a near-tie
        # in the stage-4 map's ranking and so one masked position (measured with the shipped model: 0.0036 at
        # one curve point, also between explain_batch with batch 5 and 1).
        np.testing.assert_allclose(rec.curves, e.curves, atol=1e-2)
    np.testing.assert_allclose(rec.stage_maps[1][3], e.stage_maps[1][3], rtol=2e-3, atol=1e-3 * e.stage_maps[1][3].max())
    assert not _pipeline_threads()
    assert hook_count(model) == 0 and hook_count(explainer.model) == 0


from inspector.synth.line import SimulatedLine  # noqa: E402


def test_latest_frames_keeps_the_newest_and_counts_what_it_drops():
    slot = LatestFrames(3)
    for i in range(7):
        slot.put(i)
    assert len(slot) == 3 and slot.dropped == 4
    assert slot.take(2, timeout=0) == [4, 5]
    assert slot.take(5, timeout=0) == [6]
    # An empty slot's take gives up with [] once its timeout passes: it returns rather than waiting
    # for an item. Whether it returned is an event; the bound only catches a hang, whatever the load.
    assert returns_within(lambda: slot.take(1, timeout=0.2)) == []
    # Blocking mode waits for room instead of dropping: the put returns only after a take made room.
    for i in range(3):
        slot.put(i, block=True)
    room, returned, order = threading.Event(), threading.Event(), []

    def put():
        slot.put(99, block=True)
        order.append(room.is_set())
        returned.set()

    threading.Thread(target=put, daemon=True).start()
    returned.wait(0.3)  # time enough for a put that does not block to return before there is room
    room.set()
    assert slot.take(1, timeout=0) == [0]
    assert returned.wait(HANG_S), "the blocked put did not return once there was room"
    assert order == [True] and slot.dropped == 4
    assert slot.close() == 3 and slot.take(1, timeout=0) == []


class SlowExplainer:
    """The real explainer, slowed down: the model is busy while the source keeps delivering."""

    def __init__(self, inner, delay):
        self.inner, self.delay = inner, delay

    def explain_batch(self, *args, **kwargs):
        time.sleep(self.delay)
        return self.inner.explain_batch(*args, **kwargs)


def test_pairs_arriving_while_the_model_is_busy_are_dropped_and_counted(model, rig, explainer):
    source = SimulatorSource(rate=40, cavities=2, prerender=6)
    pipe = Pipeline(source, model, rig=rig, explainer=SlowExplainer(explainer, 0.25),
                    config=PipelineConfig(curves="none", batch=2, max_seconds=2.0))
    seen = []
    orig = pipe._slot.put

    def put(item, **kw):
        orig(item, **kw)
        seen.append(len(pipe._slot))

    pipe._slot.put = put
    stats = pipe.run()
    assert stats.dropped > 0 and max(seen) <= 2  # bounded by the slot, never a backlog
    assert stats.acquired == stats.inspected + stats.dropped
    assert stats.inspected > 0 and stats.written == 0 and not stats.log_files


def test_bad_frames_are_counted_skipped_and_never_written(tmp_path, model, rig, explainer, line):
    good = [_raw_pair(line, i) for i in range(3)]
    nan = FramePair(good[0].image1.astype(np.float32) / 255, good[0].image2, cavity_id=7)
    nan.image1[5, 5, 0] = np.nan
    small = FramePair(good[0].image1[:100], good[0].image2, cavity_id=8)
    alone = FramePair(good[0].image1, None, cavity_id=9)
    grey = FramePair(good[1].image1[..., 0], good[1].image2, cavity_id=10)  # a grey camera is fine
    steps = [good[0], nan, FrameError("cam2.png: not a readable image", cavity_id=11, frame_ids=(4, 4)),
             small, RuntimeError("driver hiccup"), alone, None, grey, good[2]]
    bad = []
    out = tmp_path / "bad.h5"
    pipe = Pipeline(Scripted(steps), model, rig=rig, out=out, explainer=explainer,
                    config=PipelineConfig(keep_all=True), on_bad_frame=bad.append)
    stats = pipe.run()
    assert stats.inspected == stats.written == 3
    assert stats.bad_frames == 4 and stats.source_errors == 1
    reasons = [b.reason for b in bad]
    assert "NaN" in reasons[0] and "camera 1" in reasons[0]
    assert "not a readable image" in reasons[1] and bad[1].frame_ids == (4, 4)
    assert reasons[2] == "camera 1 image: 256×100 px, but the rig calibrated camera 1 at 256×192"
    assert "camera 2 image: missing" in reasons[3]
    assert [b.cavity_id for b in bad] == [7, 11, 8, 9]
    with RecordReader(out) as log:
        assert len(log) == 3 and log.closed_cleanly
        assert [log.record(i).cavity_id for i in range(3)] == [1, 10, 3]


@pytest.mark.parametrize("image, problem", [
    (None, "missing"),
    (np.zeros((4, 4, 2), np.uint8), "expected an H×W×3 image, got shape (4, 4, 2)"),
    (np.full((4, 4, 3), np.nan, np.float32), "contains NaN or infinite values"),
    (np.full((4, 4, 3), 2.0), "float pixels must lie in [0, 1], got [2, 2]"),
    (np.zeros((4, 4, 3), np.int16), "pixels must be uint8 or float in [0, 1], got int16"),
    (np.zeros((4, 6, 3), np.uint8), "6×4 px, but the model takes 8×8"),
])
def test_a_bad_image_is_refused_in_one_line_naming_it(image, problem):
    with pytest.raises(ImageError) as refused:
        check_image(image, "camera 2 image", (8, 8), "the model takes")
    assert str(refused.value) == f"camera 2 image: {problem}"


def test_a_grey_or_float_image_becomes_colour_uint8():
    grey = check_image(np.full((8, 8), 7, np.uint8), "grey", (8, 8), "the model takes")
    assert grey.shape == (8, 8, 3) and grey.dtype == np.uint8 and grey.max() == 7
    assert check_image(np.ones((3, 5, 3), np.float32), "float").max() == 255


def test_a_source_that_keeps_failing_ends_the_run_with_its_error(model, rig, explainer):
    steps = [RuntimeError("USB reset")] * 50
    pipe = Pipeline(Scripted(steps), model, rig=rig, explainer=explainer,
                    config=PipelineConfig(source_error_limit=3))
    stats = pipe.run()
    assert stats.source_errors == 3 and "failed 3 times in a row: RuntimeError: USB reset" in stats.stopped
    assert not _pipeline_threads()


def test_views_on_the_plane_need_no_rig_and_must_fit_the_model(model, explainer, line):
    s = line.render(line.draw(0, 1), 0)
    wrong = FramePair(s.view1[:64, :64], s.view2[:64, :64])
    pipe = Pipeline(Scripted([FramePair(s.view1, s.view2), wrong], raw=False), model, explainer=explainer)
    stats = pipe.run()
    assert stats.inspected == 1 and stats.bad_frames == 1
    assert pipe.bad_frames[0].reason == "camera 1 image: 64×64 px, but the model takes 128×128"
    with pytest.raises(PipelineError, match="raw camera images: a rig is needed"):
        Pipeline(Scripted([]), model, explainer=explainer)


def test_writing_failure_stops_the_run_and_keeps_the_written_records(tmp_path, model, rig, explainer, monkeypatch):
    from inspector.records import writer as writer_module

    real = writer_module.RecordWriter.append
    calls = []

    def append(self, rec):
        calls.append(1)
        if len(calls) > 3:
            raise OSError(28, "No space left on device")
        return real(self, rec)

    monkeypatch.setattr(writer_module.RecordWriter, "append", append)
    out = tmp_path / "full.h5"
    pipe = Pipeline(SimulatorSource(rate=0, prerender=4), model, rig=rig, out=out, explainer=explainer,
                    config=PipelineConfig(keep_all=True, curves="none", batch=2))
    stats = pipe.run()
    assert "No space left on device" in stats.stopped and stats.written == 3
    with RecordReader(out) as log:
        assert len(log) == 3 and log.closed_cleanly


def test_stop_from_another_thread_finishes_the_batch_and_closes_the_log(tmp_path, model, rig, explainer):
    out = tmp_path / "stopped.h5"
    first = threading.Event()
    pipe = Pipeline(SimulatorSource(rate=20, prerender=4), model, rig=rig, out=out, explainer=explainer,
                    on_result=lambda result: first.set())
    # Stop once something was inspected (an event, not a guess of how long that takes on this machine).
    threading.Thread(target=lambda: first.wait(HANG_S) and pipe.stop(), daemon=True).start()
    stats = pipe.run()
    assert stats.stopped == "stopped" and stats.inspected > 0
    assert stats.written == stats.inspected  # what was inspected is logged
    with RecordReader(out) as log:
        assert len(log) == stats.written and log.closed_cleanly
    assert not _pipeline_threads()


def test_limits_and_outputs(tmp_path, model, rig, explainer):
    pipe = Pipeline(SimulatorSource(rate=0, prerender=3), model, rig=rig, out=tmp_path, explainer=explainer,
                    rotate_records=4, config=PipelineConfig(max_records=10, keep_all=True, curves="none"))
    stats = pipe.run()
    assert stats.inspected == stats.written == 10 and stats.stopped == "10 inspections done"
    assert len(stats.log_files) == 3
    assert sum(len(RecordReader(f)) for f in stats.log_files) == 10
    # max_seconds ends a run that would otherwise go on for ever (returns_within only catches a hang).
    stats = returns_within(Pipeline(SimulatorSource(rate=2), model, rig=rig, explainer=explainer,
                                    config=PipelineConfig(max_seconds=1.0)).run)
    assert stats.stopped == "1 s elapsed"
    (tmp_path / "taken.h5").write_bytes(b"")
    with pytest.raises(PipelineError, match="taken.h5: already exists"):
        Pipeline(SimulatorSource(), model, rig=rig, out=tmp_path / "taken.h5", explainer=explainer)
    with pytest.raises(PipelineError, match="neither a .h5 file"):
        Pipeline(SimulatorSource(), model, rig=rig, out=tmp_path / "nope" / "x", explainer=explainer)
    with pytest.raises(PipelineError, match="curves must be one of"):
        Pipeline(SimulatorSource(), model, rig=rig, explainer=explainer, config=PipelineConfig(curves="some"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_command_stops_cleanly_on_a_signal(tmp_path, sig):
    out = tmp_path / "signal.h5"
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector.cli", "run", "--source", "simulator", "--source-opt", "rate=10",
         "--out", str(out), "--status-every", "0.3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Wait until records are being written, then signal.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if out.exists():
            try:
                with RecordReader(out) as log:
                    if len(log) >= 3:
                        break
            except Exception:
                pass
        time.sleep(0.2)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    name = "Ctrl-C" if sig == signal.SIGINT else "SIGTERM"
    assert f"stopped: {name} received" in stdout
    with RecordReader(out) as log:
        assert log.closed_cleanly and len(log) >= 3
        n = len(log)
    assert f"written {n} records" in stdout


def test_simulator_source_paces_drops_late_shots_and_ends():
    src = SimulatorSource(rate=20, cavities=2, count=40, prerender=2, seed=1)
    with src:
        first = src.read(1.0)
        assert first.cavity_id == 1 and first.truth in ("correct", "missing", "skewed")
        assert src.read(1.0).cavity_id == 2
        time.sleep(0.5)  # about ten shots fire while nobody reads
        late = src.read(1.0)
        assert src.counters.dropped >= 10 and late.cavity_id == 1
        while True:
            try:
                src.read(1.0)
            except EndOfSource:
                break
        assert src.counters.delivered + src.counters.dropped == 40
    # The next shot is 100 s away: a read keeps to its 0.2 s timeout and returns None rather than
    # waiting for the shot (one that waited would not return within the 60 s hang bound).
    slow = SimulatorSource(rate=0.01, cavities=1)
    with slow:
        slow.read(1.0)
        assert returns_within(lambda: slow.read(0.2)) is None
        assert slow.counters.timeouts == 1


def test_simulator_source_options_are_checked():
    from inspector.acquisition import SourceError

    for bad, match in [({"rate": "-1"}, "rate must be"), ({"cavities": "0"}, "cavities must be"),
                       ({"mix": "correct=1,broken=2"}, "'broken', not one of"), ({"mix": "1,2"}, "CLASS=WEIGHT"),
                       ({"mix": "0,0,0"}, "sum above 0"), ({"hidden_share": "2"}, "within"),
                       ({"rate": "fast"}, "rate='fast' is not a valid float"), ({"fps": "3"}, "unknown option fps")]:
        with pytest.raises(SourceError, match=match):
            SimulatorSource(**bad)
    src = SimulatorSource(mix="missing=1", rate=0, count=5)
    with src:
        assert {src.read(1).truth for _ in range(5)} == {"missing"}
