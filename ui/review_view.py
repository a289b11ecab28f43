"""The quality engineer's review: open a log (also while it is written), filter and sort its records
(most uncertain first, to label what teaches the model most), look at one in detail, label it
(`ui.review_labels`), re-run it with the current model (`ui.review_rerun`), export it (`ui.review_exports`).

The table reads scalar fields only; a record's images and maps are read when it
is selected. A growing log is followed by refreshing the reader once a second.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from PySide6 import QtCore, QtGui, QtWidgets

from inspector.errors import InspectorError
from inspector.records import LabelStore, RecordReader, RecordsError
from inspector.records.reader import STOPPED
from ui.app_context import AppContext
from ui.display_frame import make_frame
from ui.error_strip import ErrorStrip
from ui.explainer_chooser import ExplainerChooser
from ui.filter_bar import FilterBar
from ui.label_panel import CLASS_KEYS, SHORTCUTS, LabelPanel, label_text
from ui.record_detail import RecordDetail, provenance_card
from ui.refcount_guard import guard as guard_refcounts
from ui.record_table import COLUMNS, RecordFilter, RecordTableModel
from ui.record_table_view import RecordTableView
from ui.rerun import RerunJob, RerunOutcome
from ui.review_exports import RecordExports
from ui.review_labels import ReviewLabels
from ui.review_rerun import ReviewRerun

FOLLOW_EVERY_MS = 1000


class ReviewView(RecordExports, ReviewLabels, ReviewRerun, QtWidgets.QWidget):
    status_message = QtCore.Signal(str)
    record_shown = QtCore.Signal(int)
    rerun_finished = QtCore.Signal(list)

    def __init__(self, context: Optional[AppContext] = None, parent=None):
        super().__init__(parent)
        guard_refcounts()  # see ui/refcount_guard.py
        self.context = context
        self.reader: Optional[RecordReader] = None
        self.labels: Optional[LabelStore] = None
        self.current_record: Optional[int] = None
        self.job: Optional[RerunJob] = None
        self.last_rerun: list[RerunOutcome] = []
        self._explainers: dict = {}  # by name and fill, prepared once each
        self._build()
        self._follow_timer = QtCore.QTimer(self)
        self._follow_timer.setInterval(FOLLOW_EVERY_MS)
        self._follow_timer.timeout.connect(self._follow_tick)

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(6, 6, 6, 6)
        col.setSpacing(4)
        bar = QtWidgets.QHBoxLayout()
        open_button = QtWidgets.QPushButton("Open log…")
        open_button.setToolTip("Open an inspection log (.h5); one still being written is followed")
        open_button.clicked.connect(self.choose_log)
        bar.addWidget(open_button)
        self.uncertain_first = QtWidgets.QCheckBox("Most uncertain first")
        self.uncertain_first.setToolTip("Sort by the margin p(top 1) − p(top 2), smallest first, from the top: label "
                                        "the records the model is least sure of first (↓: the next); with the filters")
        self.uncertain_first.toggled.connect(self.sort_by_uncertainty)
        bar.addWidget(self.uncertain_first)
        self.info = QtWidgets.QLabel("No log open")
        self.info.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.info.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.info, 1)
        # Re-runs may use another explainer than the one that made the log, to compare its maps.
        self.explainer = ExplainerChooser(self.context.registry) if self.context is not None else None
        if self.explainer is not None:
            bar.addWidget(self.explainer)
        self.rerun_button = QtWidgets.QPushButton("Re-run selected")
        self.rerun_button.setToolTip("Explain the selected records again with the current model and compare")
        self.rerun_button.clicked.connect(self._rerun_clicked)
        self.export_button = QtWidgets.QPushButton("Export record…")
        self.export_button.setToolTip("The selected record as a PNG figure and JSON")
        self.export_button.clicked.connect(self.choose_record_export)
        self.csv_button = QtWidgets.QPushButton("Export table CSV…")
        self.csv_button.setToolTip("The filtered table (all its rows, in the shown order) as CSV")
        self.csv_button.clicked.connect(self.choose_csv_export)
        for b in (self.rerun_button, self.export_button, self.csv_button):
            b.setEnabled(False)
            bar.addWidget(b)
        col.addLayout(bar)
        self.error_strip = ErrorStrip()
        col.addWidget(self.error_strip)
        # Not an error: the log reads fine here, only other HDF5 tools refuse it until it is closed.
        self.writer_note = QtWidgets.QLabel()
        self.writer_note.setObjectName("writerNote")
        self.writer_note.setWordWrap(True)
        self.writer_note.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.writer_note.setStyleSheet("#writerNote { background: #fff3c4; color: #5d4200; border-radius: 3px; "
                                       "padding: 4px 10px; }")
        self.writer_note.hide()
        col.addWidget(self.writer_note)

        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        left = QtWidgets.QWidget()
        lcol = QtWidgets.QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 0, 0)
        self.filters = FilterBar()
        self.filters.changed.connect(self.set_filter)
        lcol.addWidget(self.filters)
        self.model = RecordTableModel(self)
        self.table = RecordTableView(self.model)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self._sort_changed)
        lcol.addWidget(self.table, 1)
        self.label_panel = LabelPanel()
        self.label_panel.labelled.connect(self._labelled)
        lcol.addWidget(self.label_panel)
        split.addWidget(left)
        self.detail = RecordDetail()
        split.addWidget(self.detail)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 5)
        split.setSizes([650, 630])
        col.addWidget(split, 1)
        for verdict, key in SHORTCUTS.items():
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._label_shortcut(verdict))
        for k in range(CLASS_KEYS):
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(str(k + 1)), self)
            shortcut.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._class_shortcut(k))

    # Slots return None: PySide6 6.12 drops a reference to a bool a Python slot returns.
    def _label_shortcut(self, verdict: str):
        def give() -> None:
            self.label_selected(verdict, self.label_panel.comment.text().strip())

        return give

    def _class_shortcut(self, index: int):
        def give() -> None:
            self.label_class(index)

        return give

    def _labelled(self, verdict: str, comment: str, true_class: str) -> None:
        self.label_selected(verdict, comment, true_class)

    def _follow_tick(self) -> None:
        self.follow()

    # -- opening and following ------------------------------------------------------------------
    def choose_log(self) -> None:
        start = str(Path(self.reader.path).parent) if self.reader else str(Path.home())
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open inspection log", start,
                                                        "Inspection logs (*.h5 *.hdf5);;All files (*)")
        if path:
            self.open_log(path)

    def open_log(self, path: str | os.PathLike) -> bool:
        """Open the log at `path`; False (and the error strip) when it cannot be read. A log that cannot
        be read leaves the one already open open and untouched, as an editor keeps its document when
        another file fails to open: the engineer loses neither the place nor the labels' context."""
        path = Path(path)
        try:
            reader = RecordReader(path)
        except (RecordsError, InspectorError, OSError) as exc:
            self._fail(f"cannot open {path}: {exc}")
            return False
        self.close_log()
        self.reader = reader
        self.labels = LabelStore(path)
        self.label_panel.set_classes(reader.layout.class_set)
        self.model.load(reader, self._read_labels())
        self.table.fit_classes(reader.layout.class_set.names)
        t = self.model.cols["timestamp"]
        self.filters.set_log(reader.layout.class_set, float(t.min()) if len(t) else None,
                             float(t.max()) if len(t) else None)
        self.model.set_filter(self.filters.current())
        card, title = provenance_card(self.context.model if self.context is not None else None, reader.attrs)
        self.detail.show_provenance(reader.attrs, str(path), len(reader), card, title)
        for b in (self.rerun_button, self.export_button, self.csv_button):
            b.setEnabled(True)
        if reader.writer_state == STOPPED:
            self._show_writer_stopped()
        elif not reader.closed_cleanly:
            self._follow_timer.start()
        self._update_info()
        if self.model.rowCount():
            self.select_row(0)
        else:
            self.detail.clear_record("The log holds no records yet")
        self.status_message.emit(f"opened {path} ({len(reader)} records)")
        return True

    def close_log(self) -> None:
        self._follow_timer.stop()
        if self.job is not None:
            self.job.cancel.set()
        if self.reader is not None:
            self.reader.close()
        self.reader = None
        self.labels = None
        self.current_record = None
        self.label_panel.set_classes(None)
        self.model.clear()
        self.error_strip.clear()
        self.writer_note.hide()
        self.detail.clear_record()
        for b in (self.rerun_button, self.export_button, self.csv_button):
            b.setEnabled(False)
        self.info.setText("No log open")

    def _show_writer_stopped(self) -> None:
        self._follow_timer.stop()
        self.writer_note.setText(
            f"The writer of this log stopped without closing it. Every record it committed is shown; other HDF5 "
            f"tools refuse the file until `inspector log close {self.reader.path}` closes it.")
        self.writer_note.show()

    def _fail(self, message: str) -> None:
        if self.reader is not None:
            message += f"; {self.reader.path.name} stays open"
        self.error_strip.show_error(message)
        self.status_message.emit(message)

    def _update_info(self) -> None:
        r = self.reader
        if r is None:
            return
        state = ("closed" if r.closed_cleanly else "writer stopped without closing" if not self.writer_note.isHidden()
                 else "being written: following")
        shown = self.model.rowCount()
        self.info.setText(f"{r.path.name} · {len(r)} records ({shown} shown) · {state}")
        self.info.setToolTip(str(r.path))

    def follow(self) -> int:
        """Refresh a growing log; returns how many records appeared."""
        r = self.reader
        if r is None:
            return 0
        try:
            r.refresh()
            added = self.model.extend(r)
            closed = r.closed_cleanly
            # Asked only when nothing came: a writer that appends is alive.
            stopped = not closed and not added and r.writer_state == STOPPED
        except (RecordsError, OSError, KeyError) as exc:
            self._follow_timer.stop()
            self.error_strip.show_error(f"following {r.path} failed: {exc}")
            return 0
        if added:
            t = self.model.cols["timestamp"]
            self.filters.extend_to(float(t.min()), float(t.max()))
            self._update_info()
            if self.current_record is None and self.model.rowCount():
                self.select_row(0)
        if closed:
            self._follow_timer.stop()
            self._update_info()
        if stopped:
            self._show_writer_stopped()
            self._update_info()
        return added

    @property
    def following(self) -> bool:
        return self._follow_timer.isActive()

    # -- table ----------------------------------------------------------------------------------
    def set_filter(self, f: RecordFilter) -> None:
        keep = self.current_record
        self.model.set_filter(f)
        self._update_info()
        row = self.model.row_of(keep) if keep is not None else None
        if row is None and self.model.rowCount():
            row = 0
        if row is not None:
            self.select_row(row)
        else:
            self.current_record = None
            self.detail.clear_record("No record passes the filters")

    def sort_by(self, column: str, descending: bool = False) -> None:
        self.table.sort_by(column, descending)

    def sort_by_uncertainty(self, on: bool = True) -> None:
        """Most uncertain first (ascending margin: Down then goes to the next most uncertain record), from
        the first row; off: back to record order."""
        self.sort_by("margin" if on else "#")
        if on and self.model.rowCount():
            self.select_row(0)

    def _sort_changed(self, column: int, order) -> None:
        # Mirrors the table's order (a header click may choose or leave the margin order) without re-sorting.
        self.uncertain_first.blockSignals(True)
        self.uncertain_first.setChecked(column == COLUMNS.index("margin") and order == QtCore.Qt.SortOrder.AscendingOrder)
        self.uncertain_first.blockSignals(False)

    def select_row(self, row: int) -> None:
        self.table.select_row(row)

    def select_record(self, record: int) -> bool:
        row = self.model.row_of(record)
        if row is None:
            return False
        self.select_row(row)
        return True

    def selected_records(self) -> list[int]:
        records = [self.model.record_at(r) for r in self.table.selected_rows()]
        if not records and self.current_record is not None:
            records = [self.current_record]
        return records

    def _current_changed(self, current: QtCore.QModelIndex, _previous=None) -> None:
        if current.isValid():
            self.show_record(self.model.record_at(current.row()))

    def show_record(self, record: int) -> None:
        r = self.reader
        if r is None:
            return
        try:
            rec = r.record(record)
        except RecordsError as exc:
            self.error_strip.show_error(str(exc))
            return
        self.current_record = record
        frame = make_frame(rec, r.layout.class_set, r.layout.p, record=record)
        verdict, true_class = self.model.label_of(record), self.model.true_class_of(record)
        self.detail.show_record(frame, stage_shapes=r.layout.stage_shapes, label=label_text(verdict, true_class))
        self.label_panel.show_label(verdict, self.model.comments.get(record, ""), true_class)
        self.record_shown.emit(record)

    def shutdown(self) -> None:
        if self.job is not None:
            self.job.cancel.set()
            self.job.join(10.0)
        self.close_log()
