"""The live run's counters as a strip of tiles, filled from `Pipeline.stats()` snapshots; the strip
wraps into more rows where the window is too narrow for one."""

from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from inspector.classes import ClassSet
from inspector.run_stats import stage_label
from ui.palette import ALERT_COLOUR

TILES = (
    ("inspected", "inspected", "Cavities classified and explained in this run"),
    ("yield", "yield", "Share of inspected cavities judged OK"),
    ("throughput", "throughput", "Pairs inspected per second over the last 5 s"),
    ("latency", "latency", "Mean time per pair over the last 100, from the source's delivery to the end of "
                           "its explanation (waiting for the model, model, explanation)"),
    ("dropped", "dropped frames", "Pairs pushed out while the model was busy, and frames the source itself lost"),
    ("bad", "bad frames", "Pairs skipped because an image was missing or unusable"),
    ("errors", "errors", "Source failures (the run backs off and retries, then gives up)"),
    ("reconnects", "reconnects", "Times a camera answered again after it was lost (red while one is lost; "
                                 "a video file read live counts one per pass)"),
    ("elapsed", "running", "Time since the source opened"),
)
WARN = f"color: {ALERT_COLOUR};"
SPACING = 4
MAX_ROWS = 3
WIDEST = {"yield": "100.0 %", "throughput": "888.8 pairs/s", "latency": "8888 ms", "elapsed": "88888 s"}


class RunCounters(QtWidgets.QFrame):
    def __init__(self, classes, parent=None):
        """`classes`: the model's ClassSet (plain names take the default OK rule). One tile per class,
        its count in the class's colour; yield is the OK class's share."""
        super().__init__(parent)
        self.setObjectName("counters")
        self.setStyleSheet("#counters { background: #f5f5f5; border: 1px solid #d0d0d0; border-radius: 3px; }")
        self.class_set = classes if isinstance(classes, ClassSet) else ClassSet.of(classes)
        self.classes = self.class_set.names
        self.grid = QtWidgets.QGridLayout(self)
        self.grid.setContentsMargins(6, 2, 6, 2)
        self.grid.setHorizontalSpacing(SPACING)
        self.grid.setVerticalSpacing(0)
        self.values: dict[str, QtWidgets.QLabel] = {}
        self.names: dict[str, QtWidgets.QLabel] = {}
        self.tiles: list[QtWidgets.QWidget] = []
        ok = self.class_set.ok
        class_tiles = [(f"class:{c}", c, f"Cavities classified {c} (share of inspected): "
                        + ("OK" if c == ok else "NOK")) for c in self.classes]
        tiles = list(TILES[:2]) + class_tiles + list(TILES[2:])
        self._need = 0  # the width a tile needs for its widest text
        for key, title, tip in tiles:
            tile = QtWidgets.QWidget()
            tile.setToolTip(tip)
            col = QtWidgets.QVBoxLayout(tile)
            col.setContentsMargins(2, 0, 2, 0)
            col.setSpacing(0)
            value = QtWidgets.QLabel("—")
            font = value.font()
            font.setPointSize(13)
            font.setBold(True)
            value.setFont(font)
            value.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            name = QtWidgets.QLabel(title)
            name.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            name.setStyleSheet("color: #555555;")
            col.addWidget(value)
            col.addWidget(name)
            self.tiles.append(tile)
            self.values[key] = value
            self.names[key] = name
            if key.startswith("class:"):
                value.setStyleSheet(f"color: {self.class_set.colour(title)};")
            widest = max(value.fontMetrics().horizontalAdvance(WIDEST.get(key, "88888")),
                         name.fontMetrics().horizontalAdvance(f"{title} 100 %" if key.startswith("class:") else title))
            self._need = max(self._need, widest + 8)
        # A label asks for its text's width: left alone, a longer count would widen the window.
        for label in list(self.values.values()) + list(self.names.values()):
            label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.columns = 0
        self._reflow(len(self.tiles))
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.values["yield"].parentWidget().setToolTip(f"Share of inspected cavities judged OK (class {ok})")

    def resizeEvent(self, event) -> None:
        # As many tiles in a row as fit with their widest text: narrow windows get two rows (or more),
        # rather than "orrect 33" and "3.4 %" cut off.
        super().resizeEvent(event)
        room = self.contentsRect().width() - 12
        self._reflow(max(self._min_columns(), min(len(self.tiles), (room + SPACING) // (self._need + SPACING))))

    def _min_columns(self) -> int:
        # At most MAX_ROWS rows whatever the width: a layout pass at a passing narrow width (the first
        # show) once asked for six rows, and the window grew by itself to make room for them.
        return -(-len(self.tiles) // MAX_ROWS)

    def _reflow(self, columns: int) -> None:
        if columns == self.columns:
            return
        rows = -(-len(self.tiles) // columns)
        columns = -(-len(self.tiles) // rows)  # balanced rows: 6 + 5 rather than 10 + 1
        if columns == self.columns:
            return
        self.columns = columns
        for tile in self.tiles:
            self.grid.removeWidget(tile)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 0)
        for i, tile in enumerate(self.tiles):
            self.grid.addWidget(tile, i // columns, i % columns)
        for c in range(columns):
            self.grid.setColumnStretch(c, 1)

    def minimumSizeHint(self):
        return QtCore.QSize(self._min_columns() * (self._need + SPACING) + 12, super().minimumSizeHint().height())

    def text(self, key: str) -> str:
        return self.values[key].text()

    def show_stats(self, s) -> None:
        v = self.values
        v["inspected"].setText(f"{s.inspected}")
        for c in self.classes:
            n = s.per_class.get(c, 0)
            v[f"class:{c}"].setText(f"{n}")
            self.names[f"class:{c}"].setText(f"{c} {100 * n / s.inspected:.0f} %" if s.inspected else c)
        ok = s.per_class.get(self.class_set.ok)
        v["yield"].setText(f"{100 * ok / s.inspected:.1f} %" if s.inspected and ok is not None else "—")
        v["throughput"].setText(f"{s.recent_throughput:.1f} pairs/s")
        parts = [s.latency_ms.get(k, math.nan) for k in ("acquire", "model", "explain")]
        known = [x for x in parts if not math.isnan(x)]
        v["latency"].setText(f"{sum(known):.0f} ms" if known else "—")
        v["dropped"].setText(f"{s.dropped + s.source_dropped}")
        v["bad"].setText(f"{s.bad_frames}")
        v["errors"].setText(f"{s.source_errors}")
        v["reconnects"].setText(f"{s.reconnects}")
        v["reconnects"].setStyleSheet(WARN if s.lost else "")
        v["elapsed"].setText(f"{s.elapsed_s:.0f} s")
        for key, n in (("bad", s.bad_frames), ("errors", s.source_errors)):
            v[key].setStyleSheet(WARN if n else "")


STAGE_TIPS = {  # keyed as the stats' latency (TIMING_NAMES), in that order
    "acquire": "from the source's delivery until the model takes the pair (queueing)",
    "ipm": "mapping both camera images onto the cavity plane",
    "model": "classification with the eight Grad-CAM maps (one forward and one backward pass)",
    "explain": "occlusion masks and the curves a1, a2, a3 (only for cavities that get curves)",
    "write": "appending the record to the log (on its own thread)",
}


class StageLatency(QtWidgets.QGroupBox):
    """Where a pair's time goes: the pipeline's mean per stage over the last 100 pairs."""

    def __init__(self, parent=None):
        super().__init__("Latency per pair (mean of last 100)", parent)
        form = QtWidgets.QFormLayout(self)
        form.setVerticalSpacing(2)
        self.values: dict[str, QtWidgets.QLabel] = {}
        for stage, tip in STAGE_TIPS.items():
            value = QtWidgets.QLabel("—")
            value.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
            value.setToolTip(tip)
            name = QtWidgets.QLabel(stage_label(stage))
            name.setToolTip(tip)
            form.addRow(name, value)
            self.values[stage] = value

    def show_stats(self, s) -> None:
        for stage, label in self.values.items():
            ms = s.latency_ms.get(stage, math.nan)
            label.setText("—" if math.isnan(ms) else f"{ms:.1f} ms")
