"""The audit view: choose logs, run `inspector.audit` off the GUI thread with progress and cancel,
show its figures (m per class, influence shares, mean curves) and export the report.

The audit runs on a plain thread (it may start a Dask cluster, which brings its
own threads and processes); progress and the result come back as Qt signals,
so the widgets are only ever touched on the GUI thread.
"""

from __future__ import annotations

import threading
from importlib.util import find_spec
from pathlib import Path
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ui.error_strip import ErrorStrip

INFLUENCE_COLOURS = {"camera 1": "#1565c0", "camera 2": "#8e24aa", "equal": "#9e9e9e"}
CURVE_PENS = (("a1", "#455a64", QtCore.Qt.PenStyle.SolidLine), ("a2", "#1565c0", QtCore.Qt.PenStyle.DashLine),
              ("a3", "#8e24aa", QtCore.Qt.PenStyle.DotLine))
PLOTS_PER_ROW = 4
PLOT_ROW_PX, BAR_PX = 150, 24  # least heights of a row of per-class plots and of a class's influence bar
SCHEDULERS = (("This process", "none"), ("Local Dask cluster", "local"), ("Existing cluster…", "address"))


def _style(plot, title: str) -> None:
    """Dark text on the white background (pyqtgraph's defaults are for a black one)."""
    plot.setTitle(title, color="#212121", size="10pt")
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setTextPen("#424242")
        axis.setPen("#757575")
        axis.labelStyle = {"color": "#424242"}


class AuditView(QtWidgets.QWidget):
    status_message = QtCore.Signal(str)
    _progress = QtCore.Signal(int, int)
    _finished = QtCore.Signal(object, str)  # result or None, error message

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result = None
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
        self.progress.setFormat("%v of %m records")
        self.progress.setValue(0)
        self.errors = ErrorStrip()

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
        self.table = QtWidgets.QTableWidget(0, 8)
        self.table.setHorizontalHeaderLabels(
            ["class", "records", "share", "with curves", "mean m", "camera 1", "camera 2", "equal"])
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
        self._cancel.clear()
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
        self._cancel.set()
        self.cancel_button.setEnabled(False)
        self.headline.setText("Cancelling after the tasks in flight…")

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    def _on_finished(self, result, error: str) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if error:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
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
        text = (f"<b>{0 if s is None else s.records:,} records</b> from {audited} of {len(result.logs)} logs, "
                f"{result.mode}, in {result.seconds:.1f} s ({result.records_per_s:.0f} records/s) on "
                f"{result.workers} worker(s)")
        if result.cancelled:
            text += " — <b>cancelled</b>: the figures cover the finished part"
        if s is not None and s.labelled:
            text += f"; engineer labels agree with {100 * s.label_accuracy:.1f}% of {s.labelled} verdicts"
        self.headline.setText(text)
        problems = [f"{Path(i.path).name}: {i.skipped}" for i in skipped]
        problems += [f"{Path(f[0]).name} records {f[1]}–{f[2] - 1}: {f[3]}" for f in result.failed_tasks]
        if problems:
            self.errors.show_error("Not audited — " + "; ".join(problems))
        self.export_button.setEnabled(True)
        self.status_message.emit(f"audit done: {0 if s is None else s.records} records")
        self._fill_table(s)
        self._draw(s)
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
                      "—" if not s.m_n[c] else f"{s.mean_m(c):+.3f}"]
            values += ["—" if shares[k] != shares[k] else f"{100 * shares[k]:.0f} %" for k in INFLUENCE_COLOURS]
            for col, v in enumerate(values):
                item = QtWidgets.QTableWidgetItem(v)
                if col:
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                else:
                    item.setForeground(QtGui.QColor(colours[c]))
                self.table.setItem(row, col, item)

    def _draw(self, s) -> None:
        from inspector.audit.tasks import M_BINS

        self.plots.clear()
        if s is None:
            return
        colours = s.class_set.colours()
        cols = min(len(s.classes), PLOTS_PER_ROW)  # more classes wrap: a histogram row and a curves row each
        for i, c in enumerate(s.classes):
            colour = colours[c]
            row, col = 2 * (i // cols), i % cols
            hist = self.plots.addPlot(row=row, col=col)
            _style(hist, f"m of {c} (n = {s.m_n[c]})")
            hist.plot(M_BINS, s.m_hist[c], stepMode="center", fillLevel=0, brush=pg.mkBrush(colour), pen=pg.mkPen(colour))
            hist.addItem(pg.LinearRegionItem((-0.02, 0.02), movable=False, brush=pg.mkBrush(0, 0, 0, 25),
                                             pen=pg.mkPen("#bdbdbd")))
            hist.setLabel("bottom", "m (&lt; 0: camera 1, &gt; 0: camera 2)")
            hist.setLabel("left", "records")
            hist.setXRange(-1, 1, padding=0.02)
            curves = self.plots.addPlot(row=row + 1, col=col)
            _style(curves, f"mean curves of {c}")
            mean = s.mean_curves(c)
            for (name, pen_colour, style), y in zip(CURVE_PENS, mean):
                if np.all(np.isfinite(y)):
                    curves.plot(np.array(s.p), y, pen=pg.mkPen(pen_colour, width=2, style=style), name=name)
            curves.setYRange(0, 1.02, padding=0)
            curves.setLabel("bottom", "occluded share p")
            curves.setLabel("left", "P(class)")
        last = 2 * (-(-len(s.classes) // cols))
        shares = self.plots.addPlot(row=last, col=0, colspan=cols)
        _style(shares, "which camera the decisions rest on (% of records with curves)")
        left = np.zeros(len(s.classes))
        for k, colour in INFLUENCE_COLOURS.items():
            w = np.array([100 * np.nan_to_num(s.influence_shares(c)[k]) for c in s.classes])
            shares.addItem(pg.BarGraphItem(x0=left, y=np.arange(len(s.classes)), height=0.6, width=w,
                                           brush=pg.mkBrush(colour), pen=pg.mkPen("w"), name=k))
            for y, (x0, wi) in enumerate(zip(left, w)):
                if wi >= 8:
                    label = pg.TextItem(f"{k} {wi:.0f}%", color="w", anchor=(0.5, 0.5))
                    label.setPos(x0 + wi / 2, y)
                    shares.addItem(label)
            left += w
        shares.getAxis("left").setTicks([list(enumerate(s.classes))])
        # The axis does not widen for text ticks on its own: room for the longest class name.
        widest = max(QtGui.QFontMetrics(self.font()).horizontalAdvance(c) for c in s.classes)
        shares.getAxis("left").setWidth(widest + 14)
        shares.setXRange(0, 100, padding=0)
        shares.invertY(True)
        shares.setLabel("bottom", "share (%)")
        for row in range(last):
            self.plots.ci.layout.setRowStretchFactor(row, 3)
        self.plots.ci.layout.setRowStretchFactor(last, max(2, len(s.classes) // 2))
        self.plots.setMinimumHeight(PLOT_ROW_PX * last + 40 + BAR_PX * len(s.classes))

    def _fill_disagreements(self, s) -> None:
        rows = [] if s is None else s.disagreements
        self.disagreements.setRowCount(min(len(rows), 1000))
        for r, d in enumerate(rows[:1000]):
            for col, v in enumerate((d.log, str(d.record), d.stored, d.recomputed, f"{100 * d.recomputed_prob:.1f} %")):
                self.disagreements.setItem(r, col, QtWidgets.QTableWidgetItem(v))
        compared = 0 if s is None else s.compared
        self.disagreements_label.setText(
            f"Records where the re-computed prediction differs: {len(rows):,} of {compared:,} re-run"
            if compared else "Stored results were read; nothing was re-run")

    # -- exporting ------------------------------------------------------------------------------
    def export_report(self, folder) -> Path:
        from inspector.audit import write_report

        if self.result is None:
            raise ValueError("no audit to export")
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
