"""The detail pane of one logged record: views and all eight heatmaps, curves with m, class
probabilities, provenance, and the last re-run's comparison."""

from __future__ import annotations

import datetime as _dt
import html
import math
from typing import Optional, Sequence, Union

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from inspector.classes import ClassSet
from inspector.number_text import MINUS, fixed
from ui.curves_plot import CurvesPlot
from ui.display_frame import DisplayFrame, format_m
from ui.heatmap_grid import HeatmapGrid
from ui.overlay_controls import OverlayControls
from ui.rerun import M_TOL, PROB_TOL, RerunOutcome


def _row(key: str, value: str) -> str:
    return (f"<tr><td style='color:#555;padding-right:8px'>{html.escape(key)}</td>"
            f"<td style='font-family:monospace'>{html.escape(value)}</td></tr>")


def provenance_card(model, attrs: dict) -> tuple[Optional[dict], str]:
    """The model card to show beside a log's provenance, and its title: the card of the model that made
    the log where the app has it loaded (same sha256), else the app's current model's, said to be so."""
    if model is None:
        return None, ""
    from inspector.model.card import model_card

    sha = str(getattr(model, "sha256", ""))
    logged = str(attrs.get("model_sha256", ""))
    if sha and sha == logged:
        return model_card(model), "model card of the model that made this log"
    return model_card(model), (f"model card of the app's current model (sha256 {sha[:12]}); the log was made "
                               f"with {logged[:12] or 'an unrecorded model'}, whose card is not loaded")


# (title, shares the width the others leave). No "result" column: a differing row is red, its differing
# cells bold, and each row's tooltip says agrees / DIFFERS / why not; the pane shares the detail's width.
RERUN_COLUMNS = (("#", False), ("stored", True), ("re-run", True), ("ΔP", False), ("Δm", False))
RERUN_TIPS = ("Record index", "Stored class and its probability", "The re-run's class and its probability of the "
              "stored class (or why the record could not be re-run)",
              "Probability change of the stored class, in percentage points", "Change of m")

PROVENANCE_KEYS = (
    ("software", "software"),
    ("model_sha256", "model"),
    ("rig_sha256", "rig"),
    ("source", "source"),
    ("curves", "curves"),
    ("retention", "retention"),
    ("created", "created"),
    ("host", "host"),
)


class ProbabilityBars(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent=parent, background="w")
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.setMouseEnabled(False, False)
        item.hideButtons()
        item.setLabel("left", "P (%)")
        item.setYRange(0, 112, padding=0)
        item.getAxis("left").setTicks([[(v, str(v)) for v in range(0, 101, 25)]])
        item.showGrid(y=True, alpha=0.25)
        for axis in ("left", "bottom"):
            item.getAxis(axis).setPen("#555555")
            item.getAxis(axis).setTextPen("#333333")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6)
        item.addItem(self.bars)
        self.texts: list[pg.TextItem] = []
        self.values = []
        self.names: tuple[str, ...] = ()
        self.predicted = -1

    def show_probs(self, classes: Union[ClassSet, Sequence[str]], probs: np.ndarray, predicted: int) -> None:
        """One bar per class in the class's colour (the ClassSet's), the predicted one full, the others pale."""
        class_set = classes if isinstance(classes, ClassSet) else ClassSet.of(classes)
        classes = class_set.names
        heights = 100.0 * np.asarray(probs, np.float64)
        brushes = [class_set.colour(c) for c in classes]
        brushes = [b if i == predicted else QtGui.QColor(b).lighter(170) for i, b in enumerate(brushes)]
        self.bars.setOpts(x=np.arange(len(classes)), height=heights, width=0.6, brushes=brushes, pen=None)
        item = self.getPlotItem()
        item.setXRange(-0.6, len(classes) - 0.4, padding=0)
        item.setYRange(0, 112, padding=0)
        for t in self.texts:
            item.removeItem(t)
        self.texts = []
        for i, h in enumerate(heights):
            # The outer bars' values lean inwards: centred, the last one ran past the plot's right edge.
            edge = 0.0 if i == 0 and len(heights) > 1 else 1.0 if i == len(heights) - 1 and len(heights) > 1 else 0.5
            t = pg.TextItem(f"{fixed(h, 1)} %", color="#222222", anchor=(edge, 1.0))
            t.setPos(i, h + 1.0)
            item.addItem(t)
            self.texts.append(t)
        self.values = list(heights)
        self.names, self.predicted = tuple(classes), int(predicted)
        self.setToolTip("  ".join(f"{k} {c}: {fixed(h, 1)} %" for k, (c, h) in enumerate(zip(classes, heights), 1)))
        self.fit_labels()

    def fit_labels(self) -> None:
        """Class names under the bars where each fits its bar's slot, else the class numbers (the label
        keys 1…9; names in the tooltip); values over every bar where they fit, else over the predicted
        one only: nine classes in a narrow pane ran into one another."""
        if not getattr(self, "names", ()):  # pyqtgraph resizes before __init__ has set it
            return
        slot = self.getPlotItem().getViewBox().width() / len(self.names)
        fm = self.fontMetrics()
        names_fit = max(fm.horizontalAdvance(c) for c in self.names) + 6 <= slot
        self.getPlotItem().getAxis("bottom").setTicks(
            [[(i, c if names_fit else str(i + 1)) for i, c in enumerate(self.names)]])
        values_fit = fm.horizontalAdvance("100.0 %") + 4 <= slot
        for i, t in enumerate(self.texts):
            t.setVisible(values_fit or i == self.predicted)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_labels()

    def clear_probs(self) -> None:
        """No bars, no values, no class ticks: nothing left of the record shown before."""
        self.bars.setOpts(x=[], height=[], width=0.6, brushes=[])
        item = self.getPlotItem()
        for t in self.texts:
            item.removeItem(t)
        self.texts = []
        item.getAxis("bottom").setTicks([[]])
        self.values = []
        self.names, self.predicted = (), -1
        self.setToolTip("")


class RerunTable(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(2, 2, 2, 2)
        self.summary = QtWidgets.QLabel("Select records and press Re-run to compare them with the current model.")
        self.summary.setWordWrap(True)
        col.addWidget(self.summary)
        self.table = QtWidgets.QTableWidget(0, len(RERUN_COLUMNS))
        self.table.setHorizontalHeaderLabels([name for name, _ in RERUN_COLUMNS])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(24)
        # The pane shares its width with the curves: text columns share what the numbers leave, eliding
        # (full text in each cell's tooltip) rather than running off the pane's right edge.
        for c, (name, stretch) in enumerate(RERUN_COLUMNS):
            header.setSectionResizeMode(c, QtWidgets.QHeaderView.ResizeMode.Stretch if stretch
                                        else QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
            self.table.horizontalHeaderItem(c).setToolTip(RERUN_TIPS[c])
        self.table.setToolTip(f"Differs: another class, |ΔP| > {100 * PROB_TOL:g} pp or |Δm| > {M_TOL:g}")
        col.addWidget(self.table)

    def show_outcomes(self, outcomes: list[RerunOutcome], model: str) -> None:
        differ = [o for o in outcomes if o.differs]
        skipped = [o for o in outcomes if not o.rerunnable]
        ran = len(outcomes) - len(skipped)
        text = f"re-ran {ran} record(s) with model {model}: "
        text += f"{len(differ)} differ" if differ else "all agree with the stored results"
        if skipped:
            text += f"; {len(skipped)} not re-runnable (images not kept)"
        self.summary.setText(text)
        self.summary.setStyleSheet("color: #b71c1c; font-weight: bold;" if differ else "")
        self.table.setRowCount(len(outcomes))
        for r, o in enumerate(outcomes):
            dp = "" if not o.rerunnable else fixed(100 * o.prob_diff, 2, sign=True, minus=MINUS)
            dm = ("" if not o.rerunnable or (math.isnan(o.stored_m) and math.isnan(o.new_m))
                  else fixed(o.m_diff, 3, sign=True, minus=MINUS))
            result = o.note if not o.rerunnable else ("DIFFERS" if o.differs else "agrees")
            cells = [str(o.record),
                     f"{o.stored_class} {fixed(100 * o.stored_prob, 1)} %" if o.rerunnable else o.stored_class,
                     f"{o.new_class} {fixed(100 * o.new_prob, 1)} %" if o.rerunnable else "not re-runnable", dp, dm]
            for c, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(f"{text}\nrecord {o.record}: {result}" if text else f"record {o.record}: {result}")
                if o.differs:
                    item.setBackground(QtGui.QColor("#ffcdd2"))
                    if (c == 2 and o.class_differs) or (c == 3 and abs(o.prob_diff) > PROB_TOL) or (
                            c == 4 and not abs(o.m_diff) <= M_TOL):
                        item.setForeground(QtGui.QColor("#b71c1c"))
                        font = item.font()
                        font.setBold(True)
                        item.setFont(font)
                self.table.setItem(r, c, item)


class RecordDetail(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        self.header = QtWidgets.QLabel("No record selected")
        self.header.setObjectName("recordHeader")
        self.header.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        self.header.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.header.setMinimumHeight(34)
        self._paint_header("#546e7a")
        col.addWidget(self.header)
        self.grid = HeatmapGrid()
        self.grid.setMinimumHeight(260)
        self._fit_grid()
        col.addWidget(self.grid, 5)
        self.overlay = OverlayControls(with_stage=False, opacity=0.5)
        self.overlay.opacity_changed.connect(self.grid.set_opacity)
        self.overlay.colormap_changed.connect(self.grid.set_colormap)
        col.addWidget(self.overlay)
        # A splitter, not a fixed share: the engineer widens the re-run table or the curves as needed.
        bottom = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        bottom.setChildrenCollapsible(False)
        self.bottom = bottom
        self.curves = CurvesPlot()
        bottom.addWidget(self.curves)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.tabs.setUsesScrollButtons(False)
        self.probs = ProbabilityBars()
        self.tabs.addTab(self.probs, "Probabilities")
        self.provenance = QtWidgets.QLabel("")
        self.provenance.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.provenance.setWordWrap(True)
        self.provenance.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        self.provenance.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.provenance)
        self.tabs.addTab(scroll, "Provenance")
        self.rerun = RerunTable()
        self.tabs.addTab(self.rerun, "Re-run")
        for k, tip in enumerate(("Class probabilities of the record", "Where the log came from, and the model card",
                                 "The last re-run with the current model, compared with the log")):
            self.tabs.setTabToolTip(k, tip)
        bottom.addWidget(self.tabs)
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 2)
        self.tabs.currentChanged.connect(self._share_bottom)
        bottom.splitterMoved.connect(self._fit_legend)
        self._legend_width = self.curves.legend.boundingRect().width()  # its three entries on one row
        self._shared = False
        col.addWidget(bottom, 4)
        self.frame: Optional[DisplayFrame] = None

    def _paint_header(self, colour: str) -> None:
        self.header.setStyleSheet(
            f"#recordHeader {{ background: {colour}; color: white; border-radius: 3px; padding: 4px 10px;"
            " font-size: 12pt; }")

    def show_record(self, frame: DisplayFrame, *, stage_shapes=None, label: str = "") -> None:
        self.frame = frame
        when = _dt.datetime.fromtimestamp(frame.timestamp).strftime("%Y-%m-%d %H:%M:%S") if frame.timestamp else "—"
        verdict = "OK" if frame.is_ok else "NOK"
        parts = [html.escape(format_m(frame)), f"fill {frame.fill}", f"cavity {frame.cavity_id}", when,
                 f"status {frame.status}",
                 f"label {html.escape(label) if label else '—'}"]
        self.header.setText(f"<b>record {frame.record} · {verdict} · {frame.predicted_name} "
                            f"{fixed(100 * frame.probability, 1)} %</b><br><span style='font-size:10pt'>"
                            + " · ".join(parts) + "</span>")
        self._paint_header(frame.colour)
        self.grid.show_frame(frame, stage_shapes)
        self._fit_grid()
        self.curves.show_frame(frame)
        self.probs.show_probs(frame.class_set, frame.probs, frame.predicted)

    def _share_bottom(self, _index: int = 0) -> None:
        # The re-run table needs the width, the curves otherwise: each gets the larger part when looked at.
        total = sum(self.bottom.sizes()) or self.bottom.width()
        tabs = 2 * total // 3 if self.tabs.currentWidget() is self.rerun else 2 * total // 5
        self.bottom.setSizes([total - tabs, tabs])
        self._fit_legend()

    def _fit_legend(self, *_moved) -> None:
        # The legend's entries side by side where they fit the curves' width, else one under another:
        # side by side in a narrow pane they ran past its right edge.
        columns = 3 if self._legend_width + 16 <= self.curves.width() else 1
        if self.curves.legend.columnCount != columns:
            self.curves.legend.setColumnCount(columns)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shared:  # the first time the pane has its width: the curves' share, not the size hints'
            self._shared = True
            self._share_bottom()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_legend()

    def _fit_grid(self) -> None:
        # The grid's scene does not shrink below its items (titles, images, colour bar), whose minimum
        # grows once a record is shown: a narrower view cut off stage 4. The pane keeps it whole.
        self.grid.ci.layout.activate()
        self.grid.setMinimumWidth(math.ceil(self.grid.ci.minimumWidth()) + 2 * self.grid.frameWidth() + 2)

    @property
    def header_text(self) -> str:
        return QtGui.QTextDocumentFragment.fromHtml(self.header.text()).toPlainText()

    def show_provenance(self, attrs: dict, path: str, n: int, card: Optional[dict] = None,
                        card_title: str = "") -> None:
        """The log's provenance, and below it a model card (`inspector.model.card`) under `card_title`."""
        rows = [("log", path), ("records", str(n))]
        for key, name in PROVENANCE_KEYS:
            if key in attrs and attrs[key] != "":
                rows.append((name, str(attrs[key])))
        body = "".join(_row(k, v) for k, v in rows)
        self.provenance_rows = dict(rows)
        self.card_rows: dict[str, str] = {}
        self.card_title = card_title if card is not None else ""
        if card is not None:
            from inspector.model.card import card_rows

            self.card_rows = dict(card_rows(card))
            body += (f"<tr><td colspan='2' style='padding-top:10px'><b>{html.escape(card_title)}</b></td></tr>"
                     + "".join(_row(k, v) for k, v in self.card_rows.items()))
        self.provenance.setText(f"<table>{body}</table>")

    def clear_record(self, text: str = "No record selected") -> None:
        self.frame = None
        self.header.setText(text)
        self._paint_header("#546e7a")
        self.grid.clear_frame()
        self.curves.clear_curves()
        self.probs.clear_probs()
