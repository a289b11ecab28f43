"""The operator workstation: choose a source, run the line, watch each cavity's verdict and why.

The pipeline runs on a worker thread (`LiveRun`); this view only draws. It draws at
most `MAX_FPS` times a second whatever the line's pace, from the newest result,
and reads the counters from `Pipeline.stats()` on a timer. That timer also turns
the banner red while a camera is lost, so a camera that does not answer shows
within `STATS_EVERY_MS` of the source saying so, not as a quiet grey line.
Stopping asks the pipeline to stop and polls the worker until it is done, so the
event loop never waits on the batch in flight.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from PySide6 import QtCore, QtWidgets

from inspector.errors import InspectorError
from inspector.pipeline import Pipeline, PipelineConfig
from inspector.runner import open_source
from ui.app_context import AppContext
from ui.camera_view import CameraView
from ui.curves_plot import CurvesPlot
from ui.display_frame import DisplayFrame
from ui.error_strip import ErrorStrip
from ui.live_run import LiveRun
from ui.nok_gallery import NokGallery
from ui.overlay_controls import OverlayControls
from ui.refcount_guard import guard as guard_refcounts
from ui.run_counters import RunCounters, StageLatency
from ui.run_errors import RunErrorState
from ui.run_panel import RunPanel
from ui.run_summary import RunSummary
from ui.source_form import SourceChooser
from ui.verdict_banner import VerdictBanner

MAX_FPS = 10.0  # a person reads no faster; more only takes the GIL from the inspection
STATS_EVERY_MS = 250
FINISH_POLL_MS = 100


class OperatorView(QtWidgets.QWidget):
    status_message = QtCore.Signal(str)
    run_finished = QtCore.Signal(object)  # the final RunStats
    log_written = QtCore.Signal(str)
    review_requested = QtCore.Signal(str)

    def __init__(self, context: AppContext, *, log_folder: Optional[str | Path] = None,
                 pipeline_options: Optional[dict] = None, parent=None):
        """pipeline_options: further `PipelineConfig` fields for every run (batch, source_error_limit, …)."""
        super().__init__(parent)
        guard_refcounts()  # a live view redraws for hours: see ui/refcount_guard.py
        self.context = context
        self.pipeline_options = dict(pipeline_options or {})
        self.log_folder = Path(log_folder) if log_folder else Path.home() / "inspector-logs"
        self.live: Optional[LiveRun] = None
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
        self._lost: dict = {}  # cameras lost now, as the banner shows them
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

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        ctx = self.context
        outer = QtWidgets.QHBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)

        side = QtWidgets.QWidget()
        side.setFixedWidth(310)
        left = QtWidgets.QVBoxLayout(side)
        left.setContentsMargins(0, 0, 0, 0)
        self.chooser = SourceChooser(ctx.registry)
        left.addWidget(self.chooser)

        self.run_panel = RunPanel(ctx, self.log_folder)
        self.chooser.changed.connect(self.run_panel.source_changed)
        p = self.run_panel
        self.curves, self.explainer, self.keep_all = p.curves, p.explainer, p.keep_all
        self.record, self.log_path = p.record, p.log_path
        self.start_button, self.stop_button = p.start_button, p.stop_button
        self.start_button.clicked.connect(self._start_clicked)
        self.stop_button.clicked.connect(lambda: self.stop())
        left.addWidget(self.run_panel)
        self.latency = StageLatency()
        left.addWidget(self.latency)

        self.summary = RunSummary()
        self.summary.review_requested.connect(self.review_requested)
        self.review_button = self.summary.review_button
        left.addWidget(self.summary)
        left.addStretch(1)
        outer.addWidget(side)

        main = QtWidgets.QVBoxLayout()
        main.setSpacing(6)
        self.error_strip = ErrorStrip()
        main.addWidget(self.error_strip)
        self.errors = RunErrorState(self.error_strip)
        top = QtWidgets.QHBoxLayout()
        self.banner = VerdictBanner()
        top.addWidget(self.banner, 1)
        self.back_button = QtWidgets.QPushButton("Back to live")
        self.back_button.setToolTip("Leave the gallery cavity and follow the line again")
        self.back_button.setMinimumHeight(60)
        self.back_button.clicked.connect(self.back_to_live)
        self.back_button.hide()
        top.addWidget(self.back_button)
        main.addLayout(top)
        self.counters = RunCounters(ctx.class_set)
        main.addWidget(self.counters)

        mm = ctx.rig.grid.mm_per_px if ctx.rig is not None else None
        sub = f"IPM view, {mm:g} mm/px" if mm else "view on the cavity plane"
        cams = QtWidgets.QHBoxLayout()
        self.cameras = [CameraView(0, sub), CameraView(1, sub)]
        for cam in self.cameras:
            cam.setMinimumSize(240, 240)
            cams.addWidget(cam)
        main.addLayout(cams, 5)
        self.overlay = OverlayControls()
        self.overlay.stage_changed.connect(self._set_stage)
        self.overlay.opacity_changed.connect(self._set_opacity)
        self.overlay.colormap_changed.connect(self._set_colormap)
        main.addWidget(self.overlay)

        bottom = QtWidgets.QHBoxLayout()
        self.curves_plot = CurvesPlot()
        bottom.addWidget(self.curves_plot, 1)
        gbox = QtWidgets.QGroupBox("Last NOK cavities (click to inspect)")
        glay = QtWidgets.QVBoxLayout(gbox)
        glay.setContentsMargins(4, 4, 4, 4)
        self.gallery = NokGallery()
        self.gallery.picked.connect(self.pin)
        glay.addWidget(self.gallery)
        bottom.addWidget(gbox, 1)
        main.addLayout(bottom, 4)
        outer.addLayout(main, 1)
        self.run_panel.source_changed(self.chooser.name)

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
        except (InspectorError, OSError) as exc:
            self.error_strip.show_error(f"cannot start source {name}: {exc}")
            return False
        self.live = self._feed = live
        self._policy = policy
        live.waiting.connect(self._on_waiting, QtCore.Qt.ConnectionType.QueuedConnection)
        self.errors.reset()
        self.gallery.clear_frames()
        for cam in self.cameras:  # the last run's cavity must not pass for this run's
            cam.clear_frame()
        self.curves_plot.clear_curves()
        self.shown = None
        self._drawn_this_run = 0
        self._lost = {}
        self.back_to_live()
        self.banner.show_idle(f"starting {source.describe()} …")
        self.run_panel.set_running(True)
        self.chooser.set_editable(False)
        live.start()
        self._stats_timer.start()
        self._finish_timer.start()
        self.status_message.emit(
            f"running {source.describe()}" + (f", recording to {out}" if out else ", not recording"))
        return True

    def stop(self, reason: str = "stopped by the operator") -> None:
        if self.live is None:
            return
        self.live.stop(reason)
        self.stop_button.setEnabled(False)
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
        self._lost = dict(stats.lost)
        if stats.lost:
            self.banner.show_lost(stats.lost, f"stopped: {stats.stopped or 'done'}")
        elif self._drawn_this_run == 0:
            self.banner.show_idle(f"stopped: {stats.stopped or 'done'}")
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
        if live.done:
            self._finish()

    def _show_lost(self, lost: dict) -> None:
        if lost:
            self.banner.show_lost(lost)
        elif self._lost:  # back: the banner waits for the next verdict rather than keep a stale one
            self.banner.show_idle(f"{', '.join(sorted(self._lost))} back: waiting for the next cavity")
        self._lost = dict(lost)

    # -- drawing --------------------------------------------------------------------------------
    def _on_waiting(self) -> None:
        if self._draw_timer.isActive():
            return
        wait = max(0.0, 1.0 / MAX_FPS - (time.monotonic() - self._last_draw))
        self._draw_timer.start(int(1000 * wait))

    def _draw_latest(self) -> None:
        feed = self._feed
        if feed is None:
            return
        latest, noks = feed.take()
        if feed.display_error:
            self.error_strip.show_error(feed.display_error)
        if noks:
            self.gallery.add_frames(noks)
        if latest is not None and self._pinned is None:
            self.show_frame(latest)
            self.draw_count += 1
            self._drawn_this_run += 1
        self._last_draw = time.monotonic()

    def show_frame(self, frame: DisplayFrame, source: str = "live") -> None:
        self.shown = frame
        for v, cam in enumerate(self.cameras):
            cam.show_frame(frame.view1 if v == 0 else frame.view2, frame.heat[v])
        self.banner.show_frame(frame, source=source)
        if self._lost and source == "live":  # a pair read before the loss must not hide it
            self.banner.show_lost(self._lost)
        self.curves_plot.show_frame(frame, f"curves: {self._policy}")

    def pin(self, frame: DisplayFrame) -> None:
        """Show a gallery cavity in full and hold it until 'Back to live'."""
        self._pinned = frame
        self.show_frame(frame, source="from the gallery")
        self.back_button.show()

    def back_to_live(self) -> None:
        self._pinned = None
        self.back_button.hide()
        self.gallery.clearSelection()


def _default_p():
    from inspector.explain import DEFAULT_P

    return tuple(float(v) for v in DEFAULT_P)
