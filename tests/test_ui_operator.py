"""The operator view on the offscreen platform: a live run of the simulator, its log, and failing sources."""

import dataclasses
import sys
import textwrap
import threading
import time

import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtWidgets  # noqa: E402

from inspector.plugins import PluginRegistry, make_entry_point  # noqa: E402
from inspector.records import RecordReader  # noqa: E402
from inspector.records.schema import TIMING_NAMES  # noqa: E402
from ui.app_context import load_context  # noqa: E402
from ui.operator_view import OperatorView  # noqa: E402

FLAKY_PLUGIN = textwrap.dedent(
    """
    import threading
    from dataclasses import dataclass, field

    import numpy as np

    from inspector.acquisition import FramePair, Source


    class Flaky(Source):
        '''Views already on the plane; the first `fail` reads raise (every read with fail=-1).'''

        name = "flaky"
        raw = False

        @dataclass
        class Options:
            fail: int = field(default=-1, metadata={"help": "reads that raise before pairs come (-1: all)"})

        def _open(self):
            self.reads = 0
            self.rng = np.random.default_rng(0)

        def _read(self, timeout):
            self.reads += 1
            if self.options.fail < 0 or self.reads <= self.options.fail:
                raise RuntimeError("sensor unplugged")
            view = self.rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
            return FramePair(view, view.copy(), cavity_id=1, frame_ids=(self.reads, self.reads))


    class Blinking(Flaky):
        '''Camera 2 lost from the start until `back` is set; then it answers, and pairs flow.'''

        name = "blinking"

        def _open(self):
            super()._open()
            self.back = threading.Event()

        def _read(self, timeout):
            if not self.back.is_set():
                self.counters.lost["camera 2"] = "gige 10.0.0.2 does not answer"
                self.back.wait(timeout)
                return None
            if "camera 2" in self.counters.lost:  # counted before it is found, as a reader may look in between
                self.counters.reconnects += 1
                del self.counters.lost["camera 2"]
            self.reads += 1
            view = self.rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
            return FramePair(view, view.copy(), cavity_id=1, frame_ids=(self.reads, self.reads))
    """
)


@pytest.fixture(scope="module")
def context():
    return load_context("cpu")


@pytest.fixture
def make_view(qtbot, tmp_path):
    views = []

    def make(ctx, **kwargs):
        view = OperatorView(ctx, log_folder=tmp_path / "logs", **kwargs)
        qtbot.addWidget(view)
        view.resize(1280, 760)
        view.show()
        views.append(view)
        return view

    yield make
    for view in views:
        view.shutdown()


def _wait_stopped(qtbot, view, timeout=30000):
    qtbot.waitUntil(lambda: not view.running, timeout=timeout)


def test_a_simulator_run_draws_counts_fills_the_gallery_and_records_a_valid_log(qtbot, make_view, context, tmp_path):
    view = make_view(context)
    view.chooser.choose("simulator")
    for name, value in (("rate", 10), ("cavities", 2), ("seed", 3), ("prerender", 8)):
        view.chooser.set_option(name, value)
    view.record.setChecked(True)
    log = tmp_path / "run.h5"
    view.log_path.setText(str(log))
    assert view.start()
    assert not view.start_button.isEnabled() and view.stop_button.isEnabled()

    qtbot.waitUntil(lambda: len(view.gallery.frames) >= 2 and int(view.counters.text("inspected")) >= 8,
                    timeout=45000)
    assert view.tiles.cavity_ids() == [1, 2]  # two cavities per shot: two tiles, in the shot's order
    assert all(t.state in ("OK", "NOK") and "%" in t.detail.full_text() for t in view.tiles.tiles.values())
    assert view.run_state.state == "running" and view.run_state.log == str(log)
    assert view.shown is not None and view.cameras[0].base.image is not None
    assert view.cameras[0].overlay.image.dtype.name == "uint8"
    assert view.counters.text("throughput").endswith("pairs/s")
    assert view.counters.text("yield").endswith("%")
    # The panel reads the latency under the log's stage names and still calls the slot's wait "wait".
    assert tuple(view.latency.values) == TIMING_NAMES
    assert all(view.latency.values[k].text().endswith(" ms") for k in ("acquire", "ipm", "model"))
    names = [label.text() for label in view.latency.findChildren(QtWidgets.QLabel)]
    assert "wait" in names and "acquire" not in names
    # The work happened on the pipeline's thread, never on the GUI's.
    gui = threading.get_ident()
    assert view.live.result_threads and gui not in view.live.result_threads

    # A gallery cavity (NOK, so it has curves under the default policy) shows in full until "back to live".
    item = view.gallery.item(0)
    rect = view.gallery.visualItemRect(item)
    qtbot.mouseClick(view.gallery.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    picked = view.gallery.frames[0]
    assert view.shown is picked and not picked.is_ok and view.back_button.isVisible()
    assert view.curves_plot.plotted() == 3 and "m = " in view.tiles.engineer.full_text()
    assert f"cavity {picked.cavity_id} (from the gallery)" in view.shown_label.full_text()
    view.back_to_live()
    assert not view.back_button.isVisible()

    view.stop()
    _wait_stopped(qtbot, view)
    assert view.start_button.isEnabled() and not view.stop_button.isEnabled()
    assert view.summary_lines[0] == "stopped: stopped by the operator"
    assert view.run_state.state == "stopped" and view.run_state.log is None
    assert view.last_log == str(log) and not view.error_strip.active
    with RecordReader(log) as reader:
        assert reader.closed_cleanly
        assert len(reader) == view.last_stats.written >= 8
        assert reader.attrs["model_sha256"] == context.model.sha256
        assert reader.attrs["rig_sha256"] == context.rig.sha256


def test_a_missing_folder_shows_the_error_and_start_is_enabled_again(qtbot, make_view, context, tmp_path):
    view = make_view(context)
    view.chooser.choose("folder")
    assert view.keep_all.isChecked()  # a finite folder waits for the model rather than dropping pairs
    missing = tmp_path / "no-such-folder"
    view.chooser.set_option("path", str(missing))
    view.start()
    qtbot.waitUntil(lambda: view.error_strip.active and view.start_button.isEnabled(), timeout=30000)
    assert "no-such-folder" in view.error_strip.message
    assert not view.running and view.chooser.combo.isEnabled()


def test_bad_options_are_refused_before_anything_runs(qtbot, make_view, context):
    view = make_view(context)
    view.chooser.choose("simulator")
    view.chooser.set_option("rate", "fast")
    assert not view.start()
    assert "rate" in view.error_strip.message and view.start_button.isEnabled()


@pytest.fixture
def flaky_context(context, tmp_path, monkeypatch):
    (tmp_path / "flaky_ui_plugin.py").write_text(FLAKY_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield dataclasses.replace(context, registry=PluginRegistry.discover({"sources": [
        make_entry_point("flaky", "flaky_ui_plugin:Flaky", "sources"),
        make_entry_point("blinking", "flaky_ui_plugin:Blinking", "sources"),
        make_entry_point("broken", "no_such_module_for_the_ui:Camera", "sources"),
    ]}))
    sys.modules.pop("flaky_ui_plugin", None)


def test_a_source_that_keeps_raising_ends_in_the_error_state(qtbot, make_view, flaky_context):
    view = make_view(flaky_context, pipeline_options={"source_error_limit": 3})
    view.chooser.choose("flaky")
    assert view.start()
    qtbot.waitUntil(lambda: view.error_strip.active, timeout=60000)  # bounds a hang only
    assert "sensor unplugged" in view.error_strip.message
    _wait_stopped(qtbot, view)
    assert view.start_button.isEnabled()
    assert "failed 3 times in a row" in view.error_strip.message and "sensor unplugged" in view.error_strip.message
    assert view.counters.text("errors") == "3"


def test_the_error_state_clears_when_the_source_recovers(qtbot, make_view, flaky_context):
    view = make_view(flaky_context)
    view.chooser.choose("flaky")
    view.chooser.set_option("fail", 3)  # backs off 0.1 + 0.2 + 0.4 s: the counters see the errors first
    assert view.start()
    qtbot.waitUntil(lambda: view.error_strip.active, timeout=60000)  # bounds a hang only
    assert "sensor unplugged" in view.error_strip.message
    qtbot.waitUntil(lambda: not view.error_strip.active and view.shown is not None, timeout=30000)
    assert view.running and int(view.counters.text("inspected")) > 0
    view.stop()
    _wait_stopped(qtbot, view)


def test_a_broken_plugin_is_listed_disabled_with_its_error(qtbot, make_view, flaky_context):
    view = make_view(flaky_context)
    assert not view.chooser.is_enabled("broken")
    assert "ModuleNotFoundError" in view.chooser.tooltip("broken")
    assert view.chooser.is_enabled("simulator") and view.chooser.is_enabled("flaky")
    assert view.chooser.name == "simulator"  # the default, not the broken one


def test_the_window_has_all_three_views_and_takes_more(qtbot, context, tmp_path):
    from PySide6 import QtWidgets

    from ui.app import build_window

    window = build_window(view="review", context=context, log_folder=str(tmp_path))
    qtbot.addWidget(window)
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Operator", "Review", "Audit"]
    assert window.tabs.currentWidget() is window.review
    assert window.show_view("audit") is window.audit
    assert (window.width(), window.height()) == (1280, 800)
    extra = QtWidgets.QLabel("extra")
    assert window.add_view("Extra", extra) == 3
    assert window.show_view("extra") is extra
    with pytest.raises(ValueError):
        window.show_view("nope")


def test_the_demo_starts_the_simulator_recording_into_a_temporary_folder(qtbot, context):
    from pathlib import Path

    from ui.app import build_window

    window = build_window(demo=True, context=context)
    qtbot.addWidget(window)
    op = window.operator
    try:
        assert op.running and op.record.isChecked()
        log = Path(op.log_path.text())
        assert window.note.full_text() == f"recording to {log}" and log.parent.name.startswith("inspector-demo-")
        qtbot.waitUntil(lambda: op.shown is not None, timeout=30000)
        assert op.shown.has_curves  # the demo computes curves for every cavity
    finally:
        op.shutdown()
    with RecordReader(log) as reader:
        assert reader.closed_cleanly and len(reader) >= 1
        n = len(reader)
    op.review_button.click()  # "Open log in Review"
    assert window.tabs.currentWidget() is window.review and window.review.model.rowCount() == n
    window.review.close_log()
    import shutil

    shutil.rmtree(log.parent)


def test_the_chosen_explainer_runs_and_a_broken_one_is_greyed(qtbot, make_view, context):
    """The explainer selector: the run uses the plugin picked, prepared once; a broken one cannot be picked."""
    calls = []

    class Counting:
        def __init__(self, model, device=None):
            from inspector.explain import GradCAM

            self.inner = GradCAM(model, device=device)

        def explain_batch(self, *args, **kwargs):
            calls.append(threading.get_ident())
            return self.inner.explain_batch(*args, **kwargs)

    sys.modules["counting_explainer_for_ui"] = type(sys)("counting_explainer_for_ui")
    sys.modules["counting_explainer_for_ui"].Counting = Counting
    try:
        ctx = dataclasses.replace(context, registry=PluginRegistry.discover({"explainers": [
            make_entry_point("counting", "counting_explainer_for_ui:Counting", "explainers"),
            make_entry_point("broken", "no_such_module_for_the_ui:Explainer", "explainers"),
        ]}))
        view = make_view(ctx)
        names = [view.explainer.itemText(i) for i in range(view.explainer.count())]
        assert "gradcam" in names and "counting" in names and view.explainer.name == "gradcam"
        broken = view.explainer.model().item(names.index("broken"))
        assert not broken.isEnabled() and "failed to import" in broken.toolTip()
        view.explainer.setCurrentText("counting")
        view.chooser.choose("simulator")
        for name, value in (("rate", 10), ("prerender", 4)):
            view.chooser.set_option(name, value)
        assert view.start()
        assert not view.explainer.isEnabled()  # a run keeps the explainer it started with
        qtbot.waitUntil(lambda: view.counters.text("inspected").isdigit() and int(view.counters.text("inspected")) >= 4,
                        timeout=45000)
        view.stop()
        _wait_stopped(qtbot, view)
        assert calls and threading.get_ident() not in calls
        assert list(view._explainers) == ["counting"] and view.explainer.isEnabled()
    finally:
        sys.modules.pop("counting_explainer_for_ui", None)


def test_a_video_camera_that_does_not_exist_shows_lost_in_red_within_2_s_and_stops_promptly(qtbot, make_view, context):
    # Once a grey "starting …" banner and "0 errors" for as long as the run went on.
    view = make_view(context)
    view.chooser.choose("video")
    view.chooser.set_option("cam1", "97")
    view.chooser.set_option("cam2", "98")
    started = time.monotonic()
    assert view.start()
    # The promise is to the operator, so it is timed: 2 s from Start, not from whenever start() returned.
    left_ms = max(1, int(2000 - 1000 * (time.monotonic() - started)))
    qtbot.waitUntil(lambda: view.run_state.state == "lost" and "camera 2" in view.run_state.text(), timeout=left_ms)
    assert view.run_state.text() == "LOST · camera 1, camera 2"
    assert "camera 1: video device 97 cannot be opened" in view.run_state.detail.full_text()
    assert view.tiles.placeholder.state == "lost"  # no cavity yet: the one tile there says LOST too
    assert "camera 1 lost: video device 97 cannot be opened" in view.error_strip.message
    assert "camera 2 lost: video device 98 cannot be opened" in view.error_strip.message
    assert view.running

    asked = time.monotonic()
    view.stop()
    qtbot.waitUntil(lambda: not view.running, timeout=2000)
    assert time.monotonic() - asked < 2.0
    # Still lost when it stopped: the view and the summary say so, not "0 errors" on grey.
    assert view.run_state.state == "lost" and "stopped: stopped by the operator" in view.run_state.detail.full_text()
    assert view.error_strip.message == ("still lost when the run stopped: camera 1 (video device 97 cannot be opened); "
                                        "camera 2 (video device 98 cannot be opened)")
    assert any(line.startswith("camera 1 LOST at the end: video device 97 cannot be opened")
               for line in view.summary_lines)
    assert view.start_button.isEnabled()


def test_a_camera_that_answers_again_clears_the_red_and_counts_the_reconnect(qtbot, make_view, flaky_context):
    view = make_view(flaky_context)
    view.chooser.choose("blinking")
    assert view.start()
    qtbot.waitUntil(lambda: view.run_state.state == "lost", timeout=60000)  # bounds a hang only
    assert view.run_state.text() == "LOST · camera 2"
    assert view.error_strip.message == "camera 2 lost: gige 10.0.0.2 does not answer"
    assert view.counters.text("reconnects") == "0" and view.counters.text("errors") == "0"
    view.live.pipeline.source.back.set()
    qtbot.waitUntil(lambda: 1 in view.tiles.tiles and view.tiles.tile(1).state in ("OK", "NOK")
                    and not view.error_strip.active, timeout=60000)
    qtbot.waitUntil(lambda: view.run_state.state == "running", timeout=5000)
    assert view.counters.text("reconnects") == "1"
    view.stop()
    _wait_stopped(qtbot, view)
    assert view.tiles.tile(1).state in ("OK", "NOK")  # found again before the stop: no red left behind
    assert view.run_state.state == "stopped"
    assert any(line.startswith("camera 2 was lost for ") for line in view.summary_lines)
