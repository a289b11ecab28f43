"""The operator view's widgets and where they sit: the source and run column on the left (it scrolls
rather than grow the window), on the right the run's state, one tile per cavity, the counters, and in
splitters the cameras with their heatmaps over the curves and the NOK gallery.

Every widget the rest of the application drives is an attribute of the view (`chooser`, `run_panel`,
`curves`, `explainer`, `tiles`, `run_state`, `counters`, `splitter`, `bottom_splitter`, …), so the
engineer mode and the settings can hide or remember them.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from ui.camera_view import CameraView
from ui.cavity_tiles import CavityTiles
from ui.curves_plot import CurvesPlot
from ui.elided_label import ElidedLabel
from ui.error_strip import ErrorStrip
from ui.nok_gallery import NokGallery
from ui.overlay_controls import OverlayControls
from ui.run_counters import RunCounters, StageLatency
from ui.run_errors import RunErrorState
from ui.run_panel import RunPanel
from ui.run_state import RunStateIndicator
from ui.run_summary import RunSummary
from ui.source_form import SourceChooser

SIDE_WIDTH = 300


def build_operator_layout(view) -> None:
    ctx = view.context
    outer = QtWidgets.QHBoxLayout(view)
    outer.setContentsMargins(6, 6, 6, 6)

    # The side column scrolls rather than grow: a source with more options, or the summary shown
    # after Stop, once made the window taller by itview.
    side = QtWidgets.QWidget()
    side.setFixedWidth(SIDE_WIDTH)
    left = QtWidgets.QVBoxLayout(side)
    left.setContentsMargins(0, 0, 4, 0)
    view.chooser = SourceChooser(ctx.registry)
    left.addWidget(view.chooser)

    view.run_panel = RunPanel(ctx, view.log_folder)
    view.chooser.changed.connect(view.run_panel.source_changed)
    p = view.run_panel
    view.curves, view.explainer, view.keep_all = p.curves, p.explainer, p.keep_all
    view.record, view.log_path = p.record, p.log_path
    view.start_button, view.stop_button = p.start_button, p.stop_button
    view.start_button.clicked.connect(view._start_clicked)
    view.stop_button.clicked.connect(lambda: view.stop())
    left.addWidget(view.run_panel)
    view.latency = StageLatency()
    left.addWidget(view.latency)

    view.summary = RunSummary()
    view.summary.review_requested.connect(view.review_requested)
    view.review_button = view.summary.review_button
    left.addWidget(view.summary)
    left.addStretch(1)
    view.side_scroll = QtWidgets.QScrollArea()
    view.side_scroll.setWidget(side)
    view.side_scroll.setWidgetResizable(True)
    view.side_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    view.side_scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.side_scroll.setFixedWidth(SIDE_WIDTH + view.side_scroll.verticalScrollBar().sizeHint().width() + 2)
    outer.addWidget(view.side_scroll)

    main = QtWidgets.QVBoxLayout()
    main.setSpacing(4)
    view.error_strip = ErrorStrip()
    main.addWidget(view.error_strip)
    view.errors = RunErrorState(view.error_strip)
    view.run_state = RunStateIndicator()
    main.addWidget(view.run_state)
    top = QtWidgets.QHBoxLayout()
    view.tiles = CavityTiles()
    view.tiles.selection_changed.connect(view._selection_changed)
    top.addWidget(view.tiles, 1)
    view.back_button = QtWidgets.QPushButton("Back to live")
    view.back_button.setToolTip("Leave the gallery cavity and follow the line again")
    view.back_button.clicked.connect(view.back_to_live)
    view.back_button.hide()
    top.addWidget(view.back_button)
    main.addLayout(top)
    view.counters = RunCounters(ctx.class_set)
    main.addWidget(view.counters)

    view.shown_label = ElidedLabel("")
    view.shown_label.setStyleSheet("font-weight: bold;")
    main.addWidget(view.shown_label)
    mm = ctx.rig.grid.mm_per_px if ctx.rig is not None else None
    sub = f"IPM view, {mm:g} mm/px" if mm else "view on the cavity plane"
    cam_box = QtWidgets.QWidget()
    cam_col = QtWidgets.QVBoxLayout(cam_box)
    cam_col.setContentsMargins(0, 0, 0, 0)
    cams = QtWidgets.QHBoxLayout()
    view.cameras = [CameraView(0, sub), CameraView(1, sub)]
    for cam in view.cameras:
        cam.setMinimumSize(120, 110)
        cams.addWidget(cam)
    cam_col.addLayout(cams, 1)
    view.overlay = OverlayControls()
    view.overlay.stage_changed.connect(view._set_stage)
    view.overlay.opacity_changed.connect(view._set_opacity)
    view.overlay.colormap_changed.connect(view._set_colormap)
    cam_col.addWidget(view.overlay)

    view.bottom_splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
    view.curves_plot = CurvesPlot()
    view.bottom_splitter.addWidget(view.curves_plot)
    gbox = QtWidgets.QGroupBox("Last NOK cavities (click to inspect)")
    glay = QtWidgets.QVBoxLayout(gbox)
    glay.setContentsMargins(4, 4, 4, 4)
    view.gallery = NokGallery()
    view.gallery.picked.connect(view.pin)
    glay.addWidget(view.gallery)
    view.bottom_splitter.addWidget(gbox)
    view.bottom_splitter.setChildrenCollapsible(False)
    view.bottom_splitter.setStretchFactor(0, 3)
    view.bottom_splitter.setStretchFactor(1, 2)
    view.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
    view.splitter.addWidget(cam_box)
    view.splitter.addWidget(view.bottom_splitter)
    view.splitter.setChildrenCollapsible(False)
    view.splitter.setStretchFactor(0, 1)
    view.splitter.setStretchFactor(1, 1)
    main.addWidget(view.splitter, 1)
    outer.addLayout(main, 1)
    view.run_panel.source_changed(view.chooser.name)
