"""The audit view: choose logs, run `inspector.audit` off the GUI thread with progress and cancel,
show its figures (m per class, influence shares, mean curves) and export the report.

The audit runs on a plain thread (it may start a Dask cluster, which brings its
own threads and processes); progress and the result come back as Qt signals,
so the widgets are only ever touched on the GUI thread.

Cancel freezes the progress bar at once and ignores what the tasks in flight still
report. The ranges finished before are kept and shown, marked partial (how many of
the planned records they cover); Export stays off until an audit runs to its end,
so no report is ever written from part of the logs.
"""

from __future__ import annotations

import threading
from importlib.util import find_spec
from pathlib import Path
from typing import Optional

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from inspector.audit.tasks import UNSURE_NOTE
from inspector.number_text import MINUS, fixed
from ui import audit_plots
from ui.audit_plots import CURVE_PENS, INFLUENCE_COLOURS
from ui.error_strip import ErrorStrip

SCHEDULERS = (("This process", "none"), ("Local Dask cluster", "local"), ("Existing cluster…", "address"))


class AuditView(QtWidgets.QWidget):
    status_message = QtCore.Signal(str)
    _progress = QtCore.Signal(int, int)
    _finished = QtCore.Signal(object, str)  # result or None, error message

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result = None
        self.plot_items: dict = {}  # the figures drawn, by name (audit_plots.draw)
        self._cancelling = False
        self._thread: Optional[threading.Thread] = None
        self._cancel = threading.Event()
        self._progress.connect(self._on_progress)
        self._finished.connect(self._on_finished)

        # -- what to audit and how --------------------------------------------------------------
        self.logs = QtWidgets.QListWidget()
        self.logs.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.logs.setToolTip("Log files and folders to audit (every .h5 below a folder)")
        add_files = QtWidgets.QPushButton("Add logs…")
        add_files.clicked.connect(self._choose_files)
        add_folder = QtWidgets.QPushButton("Add folder…")
        add_folder.clicked.connect(self._choose_folder)
        remove = QtWidgets.QPushButton("Remove")
        remove.clicked.connect(lambda: [self.logs.takeItem(self.logs.row(i)) for i in self.logs.selectedItems()])
        self.mode = QtWidgets.QComboBox()
        self.mode.addItems(["Re-run the shipped model", "Read the stored results"])
        self.mode.setToolTip("Re-running finds where today's model disagrees with the logged decisions")
        self.scheduler = QtWidgets.QComboBox()
        for text, key in SCHEDULERS:
            self.scheduler.addItem(text, key)
        has_dask = find_spec("distributed") is not None
        for i in (1, 2):
            self.scheduler.model().item(i).setEnabled(has_dask)
            if not has_dask:
                self.scheduler.model().item(i).setToolTip("needs dask.distributed: pip install 'inspector[audit]'")
        self.scheduler.setCurrentIndex(1 if has_dask else 0)
        self.address = QtWidgets.QLineEdit()
        self.address.setPlaceholderText("tcp://host:8786")
        self.address.setEnabled(False)
        self.scheduler.currentIndexChanged.connect(
            lambda: self.address.setEnabled(self.scheduler.currentData() == "address"))
        self.workers = QtWidgets.QSpinBox()
        self.workers.setRange(1, 64)
        self.workers.setValue(2)
        self.workers.setSuffix(" workers")
        self.run_button = QtWidgets.QPushButton("Run audit")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QtWidgets.QPushButton("Export report…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._choose_export)
        self.progress = QtWidgets.QProgressBar()
        self.errors = ErrorStrip()
        self.logs.model().rowsInserted.connect(self._show_idle)
        self.logs.model().rowsRemoved.connect(self._show_idle)
        self._show_idle()

        form = QtWidgets.QFormLayout()
        form.addRow("Analysis", self.mode)
        form.addRow("Run on", self.scheduler)
        form.addRow("Scheduler", self.address)
        form.addRow("Local cluster", self.workers)
        buttons = QtWidgets.QHBoxLayout()
        for b in (add_files, add_folder, remove):
            buttons.addWidget(b)
        left = QtWidgets.QVBoxLayout()
        left.addWidget(QtWidgets.QLabel("<b>Logs</b>"))
        left.addWidget(self.logs, 1)
        left.addLayout(buttons)
        left.addLayout(form)
        run_row = QtWidgets.QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        left.addLayout(run_row)
        left.addWidget(self.progress)
        left.addWidget(self.export_button)
        side = QtWidgets.QWidget()
        side.setLayout(left)
        side.setMaximumWidth(340)

        # -- what it found ------------------------------------------------------------------------
        self.headline = QtWidgets.QLabel("Choose logs and run the audit.")
        self.headline.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, 9)
        self.table.setHorizontalHeaderLabels(
            ["class", "records", "share", "with curves", "mean m", "camera 1", "camera 2", "equal", "unsure"])
        self.table.horizontalHeaderItem(8).setToolTip(UNSURE_NOTE)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setFixedHeight(26 + 3 * 22)  # a row per class (set per audit); the plots get the rest
        # The curves' key sits above the plots: a legend box would cover curves that hug P = 1.
        self.key = QtWidgets.QLabel(
            "Curves: " + ", ".join(f"<span style='color:{colour}'><b>{name}</b> {mark}</span> {what}" for (name, colour, _), mark, what in zip(
                CURVE_PENS, ("——", "– –", "····"),
                ("camera 1 masked at 1 − p and camera 2 at p", "camera 1 masked at p", "camera 2 masked at p"))))
        self.key.setWordWrap(True)  # one line of it held the whole window at 1045 px or wider
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.disagreements = QtWidgets.QTableWidget(0, 5)
        self.disagreements.setHorizontalHeaderLabels(["log", "record", "stored", "re-computed", "P re-computed"])
        self.disagreements.verticalHeader().hide()
        self.disagreements.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.disagreements.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.disagreements.verticalHeader().setDefaultSectionSize(22)
        self.disagreements.setMaximumHeight(26 + 3 * 22)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(self.errors)
        right.addWidget(self.headline)
        right.addWidget(self.table)
        right.addWidget(self.key)
        # Many classes need more height than the window has: the plots scroll then, each stays readable.
        self.plots_scroll = QtWidgets.QScrollArea()
        self.plots_scroll.setWidgetResizable(True)
        self.plots_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.plots_scroll.setWidget(self.plots)
        right.addWidget(self.plots_scroll, 1)
        self.disagreements_label = QtWidgets.QLabel("Records where the re-computed prediction differs")
        right.addWidget(self.disagreements_label)
        right.addWidget(self.disagreements)
        layout = QtWidgets.QHBoxLayout(self)
        layout.addWidget(side)
        layout.addLayout(right, 1)

    # -- choosing logs ------------------------------------------------------------------------------
    def add_logs(self, paths) -> None:
        present = {self.logs.item(i).text() for i in range(self.logs.count())}
        for p in map(str, paths):
            if p not in present:
                self.logs.addItem(p)

    def _choose_files(self) -> None:
        files, _ = QtWidgets.QFileDialog.getOpenFileNames(self, "Logs to audit", "", "Inspection logs (*.h5)")
        self.add_logs(files)

    def _choose_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder of logs to audit")
        if folder:
            self.add_logs([folder])

    # -- running --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _show_idle(self, *_) -> None:
        """What the bar says before a run: what to do next, never "0 of 100 records" of no audit."""
        if self.running or self.result is not None:
            return
        n = self.logs.count()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("add logs to audit" if not n else f"ready: {n} log{'s' * (n != 1)} or folders")
        self.run_button.setEnabled(n > 0)

    def _clear_result(self) -> None:
        """Nothing of a previous run stays on screen while another runs (nor its Export)."""
        self.result = None
        self.export_button.setEnabled(False)
        self._fill_table(None)
        self.plot_items = audit_plots.draw(self.plots, None, self.font())
        self._fill_disagreements(None)

    def start(self) -> None:
        if self.running:
            return
        paths = [self.logs.item(i).text() for i in range(self.logs.count())]
        if not paths:
            self.errors.show_error("No logs chosen: add log files or a folder first.")
            return
        scheduler = self.scheduler.currentData()
        if scheduler == "address":
            scheduler = self.address.text().strip()
            if not scheduler:
                self.errors.show_error("Enter the scheduler's address, e.g. tcp://host:8786.")
                return
        options = dict(stored=self.mode.currentIndex() == 1, scheduler=scheduler, workers=self.workers.value())
        self.errors.clear()
        self._clear_result()
        self._cancel.clear()
        self._cancelling = False
        self.progress.setFormat("%v of %m records")
        self.progress.setRange(0, 0)  # busy until the first task reports
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.headline.setText("Auditing…")
        self._thread = threading.Thread(target=self._work, args=(paths, options), name="inspector-audit", daemon=True)
        self._thread.start()

    def _work(self, paths, options) -> None:
        from inspector.audit import audit
        from inspector.errors import InspectorError

        try:
            result = audit(paths, progress=lambda done, total: self._progress.emit(done, total),
                           cancel=self._cancel, **options)
        except InspectorError as exc:
            self._finished.emit(None, str(exc))
        except Exception as exc:  # a Dask or worker failure: shown, never a crash of the window
            self._finished.emit(None, f"{type(exc).__name__}: {exc}")
        else:
            self._finished.emit(result, "")

    def cancel(self) -> None:
        if not self.running:
            return
        self._cancel.set()
        self._cancelling = True
        self.cancel_button.setEnabled(False)
        # Frozen where it stood: a busy bar (no total yet) would go on moving, so it stops at 0.
        done, total = self.progress.value(), self.progress.maximum()
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(max(0, done))
        self.progress.setFormat("cancelled: %v of %m records" if total else "cancelled")
        self.headline.setText("Audit cancelled: waiting for the tasks in flight to stop…")

    def _on_progress(self, done: int, total: int) -> None:
        if self._cancelling:
            return  # tasks in flight finishing after Cancel: the bar stays where Cancel left it
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    def _on_finished(self, result, error: str) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if error:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("cancelled" if self._cancelling else "not run")
            self.headline.setText("The audit did not run.")
            self.errors.show_error(error)
            return
        self.show_result(result)

    # -- showing --------------------------------------------------------------------------------
    def show_result(self, result) -> None:
        self.result = result
        s = result.summary
        audited = sum(1 for i in result.logs if not i.skipped)
        skipped = [i for i in result.logs if i.skipped]
        kept = 0 if s is None else s.records
        planned = sum(i.records for i in result.logs if not i.skipped)
        if result.cancelled:
            text = ("<b>Audit cancelled</b> — " + (
                f"partial result: {kept:,} of {planned:,} records were finished and are shown"
                if kept else f"none of the {planned:,} records was finished") + "; run it again for a report.")
            self.progress.setRange(0, max(1, planned))
            self.progress.setValue(kept)
            self.progress.setFormat("cancelled: %v of %m records kept")
        else:
            text = ("Every task had finished when Cancel took effect: the audit is complete. "
                    if self._cancelling else "")
            text += (f"<b>{kept:,} records</b> from {audited} of {len(result.logs)} logs, "
                    f"{result.mode}, in {result.seconds:.1f} s ({result.records_per_s:.0f} records/s) on "
                    f"{result.workers} worker(s)")
            self.progress.setRange(0, max(1, planned))
            self.progress.setValue(kept)
            self.progress.setFormat("%v of %m records")
        if s is not None and s.labelled:
            text += f"; engineer labels agree with {100 * s.label_accuracy:.1f}% of {s.labelled} verdicts"
        self.headline.setText(text)
        problems = [f"{Path(i.path).name}: {i.skipped}" for i in skipped]
        problems += [f"{Path(f[0]).name} records {f[1]}–{f[2] - 1}: {f[3]}" for f in result.failed_tasks]
        if problems:
            self.errors.show_error("Not audited — " + "; ".join(problems))
        # A report of part of the logs would read as the whole audit: Export waits for a complete one.
        self.export_button.setEnabled(not result.cancelled)
        self.export_button.setToolTip("" if not result.cancelled else "a cancelled audit is not exported; run it again")
        self.status_message.emit(f"audit cancelled: {kept} records kept" if result.cancelled
                                 else f"audit done: {kept} records")
        self._fill_table(s)
        self.plot_items = audit_plots.draw(self.plots, s, self.font())
        self._fill_disagreements(s)

    def _fill_table(self, s) -> None:
        self.table.setRowCount(0 if s is None else len(s.classes))
        if s is None:
            return
        self.table.setFixedHeight(26 + min(max(3, len(s.classes)), 8) * 22)
        colours = s.class_set.colours()
        for row, c in enumerate(s.classes):
            shares = s.influence_shares(c)
            values = [f"{c} (OK)" if c == s.class_set.ok else c, f"{s.per_class[c]:,}", f"{100 * s.per_class[c] / max(1, s.records):.1f} %", f"{s.m_n[c]:,}",
                      "—" if not s.m_n[c] else fixed(s.mean_m(c), 3, sign=True, minus=MINUS)]
            values += ["—" if shares[k] != shares[k] else f"{100 * shares[k]:.0f} %" for k in INFLUENCE_COLOURS]
            values.append(s.unsure_text(c))
            for col, v in enumerate(values):
                item = QtWidgets.QTableWidgetItem(v)
                if col:
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                else:
                    item.setForeground(QtGui.QColor(colours[c]))
                self.table.setItem(row, col, item)

    def _fill_disagreements(self, s) -> None:
        rows = [] if s is None else s.disagreements
        self.disagreements.setRowCount(min(len(rows), 1000))
        for r, d in enumerate(rows[:1000]):
            for col, v in enumerate((d.log, str(d.record), d.stored, d.recomputed, f"{100 * d.recomputed_prob:.1f} %")):
                self.disagreements.setItem(r, col, QtWidgets.QTableWidgetItem(v))
        compared = 0 if s is None else s.compared
        if s is None:  # no audit (yet): no count of one
            self.disagreements_label.setText("Records where the re-computed prediction differs")
            return
        self.disagreements_label.setText(
            f"Records where the re-computed prediction differs: {len(rows):,} of {compared:,} re-run"
            if compared else "Stored results were read; nothing was re-run")

    # -- exporting ------------------------------------------------------------------------------
    def export_report(self, folder) -> Path:
        from inspector.audit import write_report

        if self.result is None or self.result.cancelled:
            raise ValueError("no complete audit to export")
        return write_report(self.result, folder)

    def _choose_export(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder for the report")
        if not folder:
            return
        try:
            path = self.export_report(folder)
        except Exception as exc:
            self.errors.show_error(f"Could not write the report to {folder}: {exc}")
            return
        self.status_message.emit(f"report written: {path}")

    def shutdown(self) -> None:
        """Called when the window closes: ask a running audit to stop."""
        self._cancel.set()
