"""Lost and found: a camera that stops answering is reported by the status line, the stats and the
summary while the run goes on, and its return is counted, into the same log."""

import threading
from dataclasses import dataclass

import numpy as np
import pytest

import inspector
from cli_support import run
from inspector.acquisition import EndOfSource, FramePair, Source
from inspector.explain import GradCAM
from inspector.lost_cameras import LostCameras
from inspector.pipeline import Pipeline, PipelineConfig
from inspector.records import RecordReader
from inspector.run_stats import RunStats
from inspector.runner import format_summary
from waiting import HANG_S

WHY = "gige 10.0.0.2 does not answer"


class Blinking(Source):
    """Views on the plane; after `before` pairs camera 2 is lost until the test says it is back, then
    `after` more pairs come and the source ends."""

    name = "blinking"
    raw = False

    @dataclass
    class Options:
        pass

    def __init__(self, before=3, after=3):
        super().__init__()
        self.before, self.after = before, after
        self.back = threading.Event()  # set by the test once it has seen the loss
        self.rng = np.random.default_rng(0)
        self.sent = 0

    def _read(self, timeout):
        if self.sent == self.before and not self.back.is_set():
            self.counters.lost["camera 2"] = WHY
            self.back.wait(timeout)  # a read still returns within its timeout while lost
            return None
        if self.sent == self.before and "camera 2" in self.counters.lost:
            self.counters.reconnects += 1  # counted before it is found, as a reader may look in between
            del self.counters.lost["camera 2"]
        if self.sent >= self.before + self.after:
            raise EndOfSource("script done")
        self.sent += 1
        view = self.rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
        return FramePair(view, view.copy(), cavity_id=1, frame_ids=(self.sent, self.sent))


@pytest.fixture(scope="module")
def model():
    return inspector.load_model(device="cpu")


def test_a_camera_lost_and_back_is_reported_and_the_run_goes_on_into_the_same_log(tmp_path, model):
    out = tmp_path / "run.h5"
    source = Blinking(before=3, after=4)
    pipe = Pipeline(source, model, out=out, explainer=GradCAM(model, device="cpu"),
                    config=PipelineConfig(keep_all=True))
    final = []
    runner = threading.Thread(target=lambda: final.append(pipe.run()), daemon=True)
    runner.start()

    # The source stays lost until told otherwise, so this only ends early if the run does.
    lost = pipe.stats()
    while not lost.lost and runner.is_alive():
        runner.join(0.02)
        lost = pipe.stats()
    assert lost.lost, "the run ended without reporting the loss"
    assert lost.lost == {"camera 2": WHY} and lost.reconnects == 0
    assert lost.status_line().startswith(f"LOST camera 2 ({WHY})  ")
    assert lost.lost_s["camera 2"] >= 0.0
    source.back.set()
    runner.join(HANG_S)
    assert not runner.is_alive()

    stats = final[0]
    assert stats.lost == {} and stats.reconnects == 1
    assert not stats.status_line().startswith("LOST")
    assert stats.inspected == 7 and stats.written == 7  # the pairs before the loss and after it
    assert stats.log_files == (str(out),)
    with RecordReader(out) as log:
        assert len(log) == 7 and log.closed_cleanly
    lines = format_summary(stats, source, out)
    assert any(line.startswith("camera 2 was lost for ") and line.endswith(" s in all, and came back") for line in lines)
    assert "reconnects 1" in lines[2]


def test_lost_cameras_add_up_every_spell():
    lost = LostCameras()
    lost.update({"camera 1": "gone"}, now=10.0)
    lost.update({}, now=12.5)
    assert lost.seconds(now=20.0) == {"camera 1": 2.5}
    lost.update({"camera 1": "gone again", "camera 2": "gone"}, now=30.0)
    assert lost.seconds(now=31.0) == {"camera 1": 3.5, "camera 2": 1.0}


def test_the_summary_names_cameras_lost_at_the_end_and_what_the_cameras_spoilt():
    source = Blinking()
    source.counters.reconnects = 2
    stats = RunStats(stopped="3 s elapsed", lost={"camera 1": "video device 97 cannot be opened"},
                     lost_s={"camera 1": 3.04, "camera 2": 1.2}, incomplete=4, unpaired=1, reconnects=2)
    lines = format_summary(stats, source)
    assert "camera 1 LOST at the end: video device 97 cannot be opened (lost 3.0 s in all)" in lines
    assert "camera 2 was lost for 1.2 s in all, and came back" in lines
    assert ("camera frames not inspected: 4 incomplete (damaged on the way), 1 unpaired (their partner never came)"
            in lines)
    assert stats.status_line().startswith("LOST camera 1 (video device 97 cannot be opened)  ")
    quiet = format_summary(RunStats(), source)
    assert not [line for line in quiet if "lost" in line.lower() or "not inspected" in line]


def test_the_command_names_a_video_camera_that_does_not_exist():
    r = run("run", "--source", "video", "--source-opt", "cam1=97", "--source-opt", "cam2=98", "--seconds", "3",
            "--status-every", "0.5")
    assert "Traceback" not in r.stderr
    assert r.returncode == 1, r.stderr  # nothing inspected
    assert "camera 1 LOST at the end: video device 97 cannot be opened" in r.stdout
    assert "camera 2 LOST at the end: video device 98 cannot be opened" in r.stdout
    assert "LOST camera 1 (video device 97 cannot be opened); camera 2 (video device 98 cannot be opened)" in r.stderr
