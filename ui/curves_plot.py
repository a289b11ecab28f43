"""The masked-input curves a1, a2, a3 of one cavity (Tilgner et al., Fig. 4 bottom)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from ui.display_frame import DisplayFrame, format_m

# Colours as in the exported figure (inspector.evaluation.figure), so a screenshot and a PNG agree.
CURVES = (
    ("a1 both", "#444444"),
    ("a2 cam 1", "#1f77b4"),  # short: the legend must fit beside the gallery at 1024 px (the tooltip says more)
    ("a3 cam 2", "#d62728"),
)
TOOLTIP = (
    "Probability of the explained class while the most influential positions are occluded (Tilgner et al.):\n"
    "a1: camera 1 keeps its top 1−p, camera 2 loses its top p (both masked)\n"
    "a2: camera 1 loses its top p, camera 2 untouched\n"
    "a3: camera 2 loses its top p, camera 1 untouched\n"
    "m = mean(a2 − a3): below −0.02 camera 1 had more influence, above +0.02 camera 2, else equal"
)


class CurvesPlot(pg.GraphicsLayoutWidget):
    """The plot with its legend in a row above it, where it never hides a curve."""

    def __init__(self, parent=None):
        super().__init__(parent=parent)
        self.setBackground("w")
        self.ci.setContentsMargins(4, 2, 8, 2)
        self.ci.setSpacing(0)
        self.title = self.ci.addLabel("", row=0, col=0, color="#222222", size="9pt")
        self.legend = pg.LegendItem(colCount=3, labelTextColor="#222222", labelTextSize="8pt", horSpacing=14)
        self.ci.addItem(self.legend, row=1, col=0)
        self.plot = self.ci.addPlot(row=2, col=0)
        item = self.plot
        item.setMenuEnabled(False)
        item.setMouseEnabled(False, False)
        item.hideButtons()
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLabel("bottom", "share of occluded positions p")
        item.setLabel("left", "P(class)")
        item.setXRange(0.0, 1.0, padding=0.03)
        item.setYRange(-0.05, 1.05, padding=0.0)
        for axis in ("left", "bottom"):
            item.getAxis(axis).setPen("#555555")
            item.getAxis(axis).setTextPen("#333333")
        self.lines = []
        for name, colour in CURVES:
            line = item.plot([], [], pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5, symbolBrush=colour,
                             symbolPen=None)
            self.legend.addItem(line, name)
            self.lines.append(line)
        self.note = pg.TextItem("", color="#666666", anchor=(0.5, 0.5))
        self.note.setPos(0.5, 0.5)
        item.addItem(self.note)
        self.setMinimumSize(260, 160)
        self.setToolTip(TOOLTIP)

    def show_frame(self, frame: DisplayFrame, policy_hint: str = "") -> None:
        self.plot.setLabel("left", f"P({frame.target_name})")
        if frame.has_curves:
            for line, row in zip(self.lines, frame.curves):
                line.setData(frame.p, np.asarray(row, np.float64))
            self.note.setText("")
            self.title.setText(f"cavity {frame.cavity_id} · {format_m(frame)}", color="#222222", size="9pt")
        else:
            for line in self.lines:
                line.setData([], [])
            self.note.setText("curves not computed for this cavity" + (f"\n({policy_hint})" if policy_hint else ""))
            self.title.setText(f"cavity {frame.cavity_id} · m —", color="#222222", size="9pt")

    def plotted(self) -> int:
        """How many curves have points (the tests look)."""
        return sum(1 for line in self.lines if line.xData is not None and len(line.xData))

    def clear_curves(self) -> None:
        for line in self.lines:
            line.setData([], [])
        self.note.setText("")
        self.title.setText("")

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(360, 320)
