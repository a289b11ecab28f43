"""The audit view's figures: per class the distribution of m and the mean masked-input curves, and the
share of records whose decision rests on each camera.

Every class colour is the summary's ClassSet's (`inspector.classes`), the one palette the operator and
review views use too; the influence colours name cameras, not classes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

INFLUENCE_COLOURS = {"camera 1": "#1565c0", "camera 2": "#8e24aa", "equal": "#9e9e9e"}
CURVE_PENS = (("a1", "#455a64", QtCore.Qt.PenStyle.SolidLine), ("a2", "#1565c0", QtCore.Qt.PenStyle.DashLine),
              ("a3", "#8e24aa", QtCore.Qt.PenStyle.DotLine))
PLOTS_PER_ROW = 4
PLOT_ROW_PX, BAR_PX = 150, 24  # least heights of a row of per-class plots and of a class's influence bar
NO_RECORDS = "no records"


def _style(plot, title: str) -> None:
    """Dark text on the white background (pyqtgraph's defaults are for a black one)."""
    plot.setTitle(title, color="#212121", size="10pt")
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setTextPen("#424242")
        axis.setPen("#757575")
        axis.labelStyle = {"color": "#424242"}


def _say_empty(plot, x: float, y: float) -> None:
    """An empty class: a plain 0..1 axis and the words, not an autoscaled axis around nothing
    (pyqtgraph scales an all-zero histogram to "×0.001, −400…400")."""
    plot.getAxis("left").enableAutoSIPrefix(False)
    plot.setYRange(0, 1, padding=0)
    plot.disableAutoRange()
    label = pg.TextItem(NO_RECORDS, color="#757575", anchor=(0.5, 0.5))
    label.setPos(x, y)
    plot.addItem(label)


def draw(plots: pg.GraphicsLayoutWidget, s, font: QtGui.QFont) -> dict:
    """Fill `plots` with the figures of summary `s` (cleared first; nothing for None). Returns the
    plots by name ("hist <class>", "curves <class>", "shares") for the view and its tests."""
    from inspector.audit.tasks import M_BINS

    plots.clear()
    if s is None:
        return {}
    out = {}
    colours = s.class_set.colours()
    cols = min(len(s.classes), PLOTS_PER_ROW)  # more classes wrap: a histogram row and a curves row each
    for i, c in enumerate(s.classes):
        colour = colours[c]
        row, col = 2 * (i // cols), i % cols
        hist = out[f"hist {c}"] = plots.addPlot(row=row, col=col)
        _style(hist, f"m of {c} (n = {s.m_n[c]})")
        hist.setLabel("bottom", "m (&lt; 0: camera 1, &gt; 0: camera 2)")
        hist.setLabel("left", "records")
        hist.setXRange(-1, 1, padding=0.02)
        hist.addItem(pg.LinearRegionItem((-0.02, 0.02), movable=False, brush=pg.mkBrush(0, 0, 0, 25),
                                         pen=pg.mkPen("#bdbdbd")))
        if s.m_n[c]:
            hist.plot(M_BINS, s.m_hist[c], stepMode="center", fillLevel=0, brush=pg.mkBrush(colour),
                      pen=pg.mkPen(colour))
        else:
            _say_empty(hist, 0.0, 0.5)
        curves = out[f"curves {c}"] = plots.addPlot(row=row + 1, col=col)
        _style(curves, f"mean curves of {c}")
        mean = s.mean_curves(c)
        for (name, pen_colour, style), y in zip(CURVE_PENS, mean):
            if np.all(np.isfinite(y)):
                curves.plot(np.array(s.p), y, pen=pg.mkPen(pen_colour, width=2, style=style), name=name)
        curves.setXRange(min(s.p), max(s.p), padding=0.02)
        curves.setYRange(0, 1.02, padding=0)
        curves.setLabel("bottom", "occluded share p")
        curves.setLabel("left", "P(class)")
        if not s.m_n[c]:
            _say_empty(curves, float(np.mean(s.p)), 0.5)
    last = 2 * (-(-len(s.classes) // cols))
    shares = out["shares"] = plots.addPlot(row=last, col=0, colspan=cols)
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
    for y, c in enumerate(s.classes):
        if not s.m_n[c]:  # an empty bar would read as "no camera": say why it is empty
            label = pg.TextItem(NO_RECORDS, color="#757575", anchor=(0, 0.5))
            label.setPos(1, y)
            shares.addItem(label)
    shares.getAxis("left").setTicks([list(enumerate(s.classes))])
    # The axis does not widen for text ticks on its own: room for the longest class name.
    widest = max(QtGui.QFontMetrics(font).horizontalAdvance(c) for c in s.classes)
    shares.getAxis("left").setWidth(widest + 14)
    shares.setXRange(0, 100, padding=0)
    shares.invertY(True)
    shares.setLabel("bottom", "share (%)")
    for row in range(last):
        plots.ci.layout.setRowStretchFactor(row, 3)
    plots.ci.layout.setRowStretchFactor(last, max(2, len(s.classes) // 2))
    plots.setMinimumHeight(PLOT_ROW_PX * last + 40 + BAR_PX * len(s.classes))
    return out
