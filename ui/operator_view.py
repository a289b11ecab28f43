"""The operator workstation: choose a source, run the line, watch each cavity's verdict and why.

The pipeline runs on a worker thread (`LiveRun`); this view only draws. It draws at
most `MAX_FPS` times a second whatever the line's pace: each cavity's tile from
that cavity's newest result, the details below (cameras, curves) from one frame,
the selected cavity's or the newest. It reads the counters from `Pipeline.stats()`
on a timer. That timer also sets the run's state (running, waiting, lost: see
ui/run_state.py), so a camera that does not answer shows red within
`STATS_EVERY_MS` of the source saying so, not as a quiet grey line.
Stopping asks the pipeline to stop and polls the worker until it is done, so the
event loop never waits on the batch in flight.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Optional

from PySide6 import QtCore, QtWidgets

from inspector.errors import InspectorError
from inspector.pipeline import Pipeline, PipelineConfig
from inspector.runner import open_source
from ui.app_context import AppContext
from ui.display_frame import DisplayFrame
from ui.line_server import LineServerRun, LineServerSetting
from ui.live_run import LiveRun
from ui.operator_layout import build_operator_layout
from ui.refcount_guard import guard as guard_refcounts
from ui.run_state import TRIGGER_WAIT_S

MAX_FPS = 10.0  # a person reads no faster; more only takes the GIL from the inspection
STATS_EVERY_MS = 250
FINISH_POLL_MS = 100
TILE_SHARE = 0.22  # of the window's height for the tiles: caps of 1/12 of the screen in full screen at 1080 p
TILE_MIN_HEIGHT = 96


class OperatorView(QtWidgets.QWidget):
    status_message = QtCore.Signal(str)
    run_finished = QtCore.Signal(object)  # the final RunStats
    log_written = QtCore.Signal(str)
    review_requested = QtCore.Signal(str)
    recording_changed = QtCore.Signal(str)  # "recording to <log>", "not recording", "" when no run

    def __init__(self, context: AppContext, *, log_folder: Optional[str | Path] = None,
                 pipeline_options: Optional[dict] = None, parent=None):
        """pipeline_options: further `PipelineConfig` fields for every run (batch, source_error_limit, …)."""
        super().__init__(parent)
        guard_refcounts()  # a live view redraws for hours: see ui/refcount_guard.py
        self.context = context
        self.pipeline_options = dict(pipeline_options or {})
        self.log_folder = Path(log_folder) if log_folder else Path.home() / "inspector-logs"
        self.live: Optional[LiveRun] = None
        self.line_server = LineServerSetting()  # where runs publish their verdicts (engineer mode)
        self._line: Optional[LineServerRun] = None
        self._feed: Optional[LiveRun] = None  # the run whose results are drawn, also after it ended
        self._explainers: dict = {}  # by name: each is prepared once (a BN-folded copy of the model)
        self._pinned: Optional[DisplayFrame] = None
        self._last_draw = 0.0
        self.draw_count = 0  # live frames drawn (the event-loop benchmark reports the rate)
        self._drawn_this_run = 0
        self._policy = "nok"
        self.shown: Optional[DisplayFrame] = None
        self.last_stats = None
        self.last_log: Optional[str] = None
        self.summary_lines: list[str] = []
        self._lost: dict = {}  # cameras lost now, as the state strip shows them
        self._by_cavity: dict = {}  # cavity id → its newest frame drawn
        self._last_result = 0.0
        self._build()

        self._draw_timer = QtCore.QTimer(self)
        self._draw_timer.setSingleShot(True)
        self._draw_timer.timeout.connect(self._draw_latest)
        self._stats_timer = QtCore.QTimer(self)
        self._stats_timer.setInterval(STATS_EVERY_MS)
        self._stats_timer.timeout.connect(self._poll_stats)
        self._finish_timer = QtCore.QTimer(self)
        self._finish_timer.setInterval(FINISH_POLL_MS)
        self._finish_timer.timeout.connect(self._poll_finished)

    def _build(self) -> None:
        build_operator_layout(self)

    def resizeEvent(self, event) -> None:
        # The tiles take a share of the window's height, and their type follows them (ui/cavity_tiles.py).
        # The window's, not this view's: a tab page is laid out at passing sizes (1096 px tall on the first
        # show at 768), and tiles sized from that once made the window grow by itself.
        super().resizeEvent(event)
        height = max(TILE_MIN_HEIGHT, int(TILE_SHARE * self.window().height()))
        if self.tiles.row_height() != height:
            self.tiles.set_row_height(height)

    # Slots return None: PySide6 6.12 drops a reference to a bool a Python slot returns, and
    # enough of those deallocate True or False and abort the interpreter.
    def _start_clicked(self) -> None:
        self.start()

    def _set_stage(self, stage: int) -> None:
        for cam in self.cameras:
            cam.set_stage(stage)

    def _set_opacity(self, opacity: float) -> None:
        for cam in self.cameras:
            cam.set_opacity(opacity)

    def _set_colormap(self, name: str) -> None:
        for cam in self.cameras:
            cam.set_colormap(name)

    def set_engineer_mode(self, on: bool) -> None:
        """Operator mode (off) hides the source's developer options, the explainer and the curve mode
        (ui/modes.py); what they are set to still applies."""
        from ui.modes import show_engineer_widgets

        show_engineer_widgets(self, on)

    # -- running --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.live is not None

    def start(self) -> bool:
        """Open the chosen source and run the pipeline; False (and the error strip) when it cannot."""
        if self.live is not None:
            return False
        ctx = self.context
        self.error_strip.clear()
        self.summary.hide()
        name = self.chooser.name
        if not name or not self.chooser.is_enabled(name):
            self.error_strip.show_error(f"source {name or '(none)'} is unavailable: {self.chooser.broken.get(name, '')}")
            return False
        policy = self.curves.currentText()
        try:
            # The line server's address is checked before the source opens: a port in use starts nothing.
            line = LineServerRun(self.line_server) if self.line_server.on else None
            source = open_source(ctx.registry, name, self.chooser.options())
            out = self.run_panel.log_target()
            explainer = self._explainers.get(self.explainer.name)
            if explainer is None:
                explainer = self._explainers[self.explainer.name] = ctx.new_explainer(self.explainer.name)
            config = PipelineConfig(**{"curves": policy, "keep_all": self.keep_all.isChecked(), **self.pipeline_options})
            p = _default_p()

            def factory(on_result):
                return Pipeline(source, ctx.model, rig=ctx.rig, out=out, explainer=explainer,
                                config=config, on_result=on_result)

            live = LiveRun(factory, ctx.class_set, p, parent=self)
            if line is not None:
                line.serve(live.pipeline)
        except (InspectorError, OSError) as exc:
            self.error_strip.show_error(f"cannot start source {name}: {exc}")
            return False
        self.live = self._feed = live
        self._line = line
        self._policy = policy
        live.waiting.connect(self._on_waiting, QtCore.Qt.ConnectionType.QueuedConnection)
        self.errors.reset()
        self.gallery.clear_frames()
        for cam in self.cameras:  # the last run's cavity must not pass for this run's
            cam.clear_frame()
        self.curves_plot.clear_curves()
        self.shown = None
        self.shown_label.set_full_text("")
        self._by_cavity = {}
        self._drawn_this_run = 0
        self._last_result = time.monotonic()
        self._lost = {}
        self.back_to_live()
        self.tiles.clear()
        self.run_state.set_state("starting", f"opening {source.describe()} …")
        self.run_state.set_recording(out)
        self.recording_changed.emit(f"recording to {out}" if out else "not recording")
        self.run_panel.set_running(True)
        self.chooser.set_editable(False)
        # The model, the views and everything loaded so far live for the session: out of the collector's
        # reach they no longer make each full collection a pause of ~150 ms on the GUI thread.
        gc.freeze()
        live.start()
        self._stats_timer.start()
        self._finish_timer.start()
        self.status_message.emit(f"running {source.describe()}")
        return True

    def stop(self, reason: str = "stopped by the operator") -> None:
        if self.live is None:
            return
        self.live.stop(reason)
        self.stop_button.setEnabled(False)
        if self.run_state.state != "lost":
            self.run_state.set_state("stopping", "finishing the batch in flight …")
        self.status_message.emit("stopping: finishing the batch in flight …")

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop and wait for the worker (closing the window: the log must be closed valid)."""
        if self.live is None:
            return
        self.live.stop("window closed")
        self.live.join(timeout)
        self._finish()

    def _poll_finished(self) -> None:
        if self.live is not None and self.live.done:
            self._finish()

    def _finish(self) -> None:
        live = self.live
        if live is None:
            return
        live.join(0.5)
        self.live = None
        self._stats_timer.stop()
        self._finish_timer.stop()
        self._draw_latest()
        stats = live.final if live.final is not None else live.pipeline.stats()
        undelivered = self._line.close(stats) if self._line is not None else []
        self._line = None
        self.last_stats = stats
        self.counters.show_stats(stats)
        self.latency.show_stats(stats)
        name = live.pipeline.source.name
        if live.error:
            self.errors.hold(f"source {name} failed: {live.error}")
        elif stats.stopped.startswith(("source failed", "writing", "error")):
            self.errors.hold(stats.stopped)
        elif stats.lost:
            self.errors.hold(f"still lost when the run stopped: {stats.lost_text()}")
        elif undelivered:
            self.errors.hold("OPC UA: " + "; ".join(undelivered))
        self._lost = dict(stats.lost)
        stopped = f"stopped: {stats.stopped or 'done'}"
        if stats.lost:
            self.run_state.show_lost(stats.lost, stopped)
            self.tiles.show_lost(", ".join(sorted(stats.lost)))
        else:
            self.run_state.set_state("stopped", stopped)
            if self._drawn_this_run == 0:
                self.tiles.show_idle(stopped)
        self.run_state.set_recording(None)
        self.recording_changed.emit("")
        self.summary.show_run(stats, live.pipeline.source)
        self.summary_lines = self.summary.lines
        self.last_log = self.summary.log
        if self.last_log:
            self.run_panel.propose_new_log(self.last_log)
        self.run_panel.set_running(False)
        self.chooser.set_editable(True)
        self.status_message.emit(self.summary_lines[0] if self.summary_lines else "stopped")
        if self.last_log:
            self.log_written.emit(self.last_log)
        self.run_finished.emit(stats)

    def _poll_stats(self) -> None:
        live = self.live
        if live is None:
            return
        s = live.pipeline.stats()
        self.counters.show_stats(s)
        self.latency.show_stats(s)
        self.errors.update(s, live)
        self._show_lost(s.lost)
        if not s.lost and self.run_state.state != "stopping":
            self._show_running(live)
        if live.done:
            self._finish()

    def _show_running(self, live: LiveRun) -> None:
        what = live.pipeline.source.describe()
        idle = time.monotonic() - self._last_result
        if self._drawn_this_run == 0:
            self.run_state.set_state("waiting", f"{what}: waiting for the first cavity")
        elif idle > TRIGGER_WAIT_S:
            self.run_state.set_state("waiting", f"{what}: no cavity for {idle:.0f} s, waiting for the trigger")
        else:
            n = len(self.tiles.tiles)
            self.run_state.set_state("running", f"{what} · {n} cavit{'y' if n == 1 else 'ies'} per shot")

    def _show_lost(self, lost: dict) -> None:
        if lost:
            self.run_state.show_lost(lost)
            self.tiles.show_lost(", ".join(sorted(lost)))
        elif self._lost:  # back: the tiles wait for their next verdict rather than keep a stale one
            self.tiles.show_idle(f"{', '.join(sorted(self._lost))} back: waiting for the next cavity")
            self.run_state.set_state("waiting", f"{', '.join(sorted(self._lost))} back")
        self._lost = dict(lost)

    # -- drawing --------------------------------------------------------------------------------
    def _on_waiting(self) -> None:
        if self._draw_timer.isActive():
            return
        wait = max(0.0, 1.0 / MAX_FPS - (time.monotonic() - self._last_draw))
        self._draw_timer.start(int(1000 * wait))

    def _draw_latest(self) -> None:
        """Only the tiles whose cavity got a result change; the details below redraw when the cavity
        they follow (the selected one, else the newest) got one."""
        feed = self._feed
        if feed is None:
            return
        taken = feed.take()
        if feed.display_error:
            self.error_strip.show_error(feed.display_error)
        if taken.noks:
            self.gallery.add_frames(taken.noks)
        for cavity in sorted(taken.by_cavity):
            frame = taken.by_cavity[cavity]
            missed = taken.nok_counts.get(cavity, 0) - (0 if frame.is_ok else 1)
            self.tiles.show_frame(frame, noks=max(0, missed))
            self._by_cavity[cavity] = frame
        if taken.by_cavity and self._lost:  # a pair read before the loss must not hide it
            self.tiles.show_lost(", ".join(sorted(self._lost)))
        if taken.latest is not None:
            self._last_result = time.monotonic()
            self._drawn_this_run += 1
            if self.run_state.state in ("starting", "waiting") and self.live is not None and not self._lost:
                self._show_running(self.live)
            follow = self.tiles.selected
            detail = taken.latest if follow is None else taken.by_cavity.get(follow)
            if detail is not None and self._pinned is None:
                self._show_details(detail, "selected" if follow is not None else "newest")
                self.draw_count += 1
        self._last_draw = time.monotonic()

    def show_frame(self, frame: DisplayFrame, source: str = "live") -> None:
        """A live result: its cavity's tile, and the details below (cameras, curves, engineer's line)."""
        if source == "live":
            self.tiles.show_frame(frame)
            self._by_cavity[frame.cavity_id] = frame
        self._show_details(frame, source)

    def _show_details(self, frame: DisplayFrame, how: str) -> None:
        """Cameras, heatmaps, curves and the engineer's line, all from this one frame, labelled with its
        cavity (they once showed another cavity than the banner in the first seconds of a run)."""
        self.shown = frame
        for v, cam in enumerate(self.cameras):
            cam.show_frame(frame.view1 if v == 0 else frame.view2, frame.heat[v])
        verdict = "OK" if frame.is_ok else "NOK"
        self.shown_label.set_full_text(
            f"Below: cavity {frame.cavity_id} ({how}) · {verdict} {frame.predicted_name} "
            f"{100 * frame.probability:.1f} % · frame {frame.frame_ids[0]}"
            + (f" · truth {frame.truth}" if frame.truth else ""))
        self.curves_plot.show_frame(frame, f"curves: {self._policy}")
        self.tiles.show_engineer_line(frame, self._policy)

    def _selection_changed(self, cavity) -> None:
        frame = self._by_cavity.get(cavity) if cavity is not None else self.shown
        if frame is not None and self._pinned is None:
            self._show_details(frame, "selected" if cavity is not None else "newest")

    def acknowledge_all(self) -> int:
        """Every NOK waiting has been seen (key A, bound by the main window)."""
        return self.tiles.acknowledge_all()

    def pin(self, frame: DisplayFrame) -> None:
        """Show a gallery cavity in full and hold it until 'Back to live'."""
        self._pinned = frame
        self._show_details(frame, "from the gallery")
        self.back_button.show()

    def back_to_live(self) -> None:
        self._pinned = None
        self.back_button.hide()
        self.gallery.clearSelection()


def _default_p():
    from inspector.explain import DEFAULT_P

    return tuple(float(v) for v in DEFAULT_P)
