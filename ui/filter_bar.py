"""The review table's filters: class, influence, status, engineer label, m range and time range.

The time range's ends follow the log until the engineer sets them: an end left alone is open
("from the first record", "until now"), so a followed log's new records pass a ticked time filter,
and its field moves with the log to show where the log ends.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

from PySide6 import QtCore, QtGui, QtWidgets

from inspector.classes import ClassSet
from inspector.records.labels import VERDICTS
from inspector.records.schema import INFLUENCE_CODES, STATUS_CODES
from ui.record_table import RecordFilter

ANY = "any"


class FilterBar(QtWidgets.QWidget):
    changed = QtCore.Signal(object)  # RecordFilter

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        self.combos: dict[str, QtWidgets.QComboBox] = {}
        for col, (key, title, values, tip) in enumerate((
            ("class", "class", (), "Predicted class"),
            ("influence", "influence", INFLUENCE_CODES, "Camera the decision rests on ('none': no curves)"),
            ("status", "status", STATUS_CODES, "Record status"),
            ("label", "label", VERDICTS + ("none",), "Engineer label ('none': not labelled yet)"),
        )):
            combo = QtWidgets.QComboBox()
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(3)  # wider when room allows; the list shows every entry whole
            combo.addItem(ANY)
            combo.addItems(values)
            combo.setToolTip(tip)
            combo.currentIndexChanged.connect(self._emit)
            box = QtWidgets.QHBoxLayout()
            box.addWidget(QtWidgets.QLabel(title))
            box.addWidget(combo, 1)
            grid.addLayout(box, 0, col)
            self.combos[key] = combo
        self.m_min, self.m_max = QtWidgets.QLineEdit(), QtWidgets.QLineEdit()
        for edit, text in ((self.m_min, "min"), (self.m_max, "max")):
            edit.setPlaceholderText(text)
            edit.setValidator(QtGui.QDoubleValidator(-1.0, 1.0, 4))
            edit.setMaximumWidth(56)
            edit.setToolTip("m range (−1 … 1); records without curves have no m and fall outside any range")
            edit.editingFinished.connect(self._emit)
        low = QtWidgets.QHBoxLayout()
        low.addWidget(QtWidgets.QLabel("m"))
        low.addWidget(self.m_min)
        low.addWidget(QtWidgets.QLabel("…"))
        low.addWidget(self.m_max)
        low.addStretch(1)
        times = QtWidgets.QHBoxLayout()  # a row of its own: beside the m range it did not fit 1024 px
        self.time_on = QtWidgets.QCheckBox("time")
        self.time_on.setToolTip("Only records taken in this interval (local time)")
        self.time_on.toggled.connect(self._emit)
        self.t_from, self.t_to = QtWidgets.QDateTimeEdit(), QtWidgets.QDateTimeEdit()
        for edit, end in ((self.t_from, "from the log's first record"), (self.t_to, "until now")):
            edit.setDisplayFormat("MM-dd HH:mm:ss")
            edit.setToolTip(f"Local time; the year is that of the log. Left alone this end is open ({end}) and "
                            f"follows a growing log; once changed it stays (Reset opens it again)")
            edit.setCalendarPopup(True)
            edit.dateTimeChanged.connect(self._time_changed)
        self.set_ends: set[str] = set()  # "from", "to": the ends the user set; the others are open
        self._span: Optional[tuple[float, float]] = None
        times.addWidget(self.time_on)
        times.addWidget(self.t_from, 1)
        times.addWidget(QtWidgets.QLabel("…"))
        times.addWidget(self.t_to, 1)
        reset = QtWidgets.QPushButton("Reset")
        reset.setToolTip("Show every record")
        reset.clicked.connect(self.reset)
        low.addWidget(reset)
        grid.addLayout(low, 1, 0, 1, 4)
        grid.addLayout(times, 2, 0, 1, 4)
        self._quiet = False

    def set_log(self, classes: Union[ClassSet, Sequence[str]], t_min: Optional[float], t_max: Optional[float]) -> None:
        """The log's classes (its ClassSet; plain names take the default OK rule) and time span. The class
        filter offers every OK or every NOK record, then each class with its colour."""
        self._quiet = True
        class_set = classes if isinstance(classes, ClassSet) else ClassSet.of(classes)
        combo = self.combos["class"]
        combo.clear()
        combo.addItem(ANY)  # item data None: no class filter
        combo.addItem(f"OK ({class_set.ok})", (class_set.ok,))
        combo.addItem("NOK (all others)", class_set.nok)
        for c in class_set.names:
            combo.addItem(_swatch(class_set.colour(c)), c, (c,))
        self.set_ends = set()
        self._span = None
        self._quiet = False
        if t_min is not None and t_max is not None:
            self.extend_to(t_min, t_max)

    def extend_to(self, t_min: float, t_max: float) -> None:
        """The log now spans [t_min, t_max]: the open ends' fields show it (no filter changes: an open
        end lets every record through already)."""
        self._span = (t_min, t_max)
        self._quiet = True
        if "from" not in self.set_ends:
            self.t_from.setDateTime(QtCore.QDateTime.fromSecsSinceEpoch(int(t_min)))
        if "to" not in self.set_ends:
            self.t_to.setDateTime(QtCore.QDateTime.fromSecsSinceEpoch(int(t_max) + 1))
        self._quiet = False
        self._mark_ends()

    def _mark_ends(self) -> None:
        # An open end reads as the log's, in italics; one the user set, as typed.
        for edit, end in ((self.t_from, "from"), (self.t_to, "to")):
            font = edit.font()
            font.setItalic(end not in self.set_ends)
            edit.setFont(font)

    def reset(self) -> None:
        self._quiet = True
        for combo in self.combos.values():
            combo.setCurrentIndex(0)
        self.m_min.clear()
        self.m_max.clear()
        self.time_on.setChecked(False)
        self.set_ends = set()
        self._quiet = False
        if self._span is not None:
            self.extend_to(*self._span)
        self._emit()

    def _time_changed(self, _when) -> None:
        if self._quiet:
            return  # the log's span, not the user
        self.set_ends.add("from" if self.sender() is self.t_from else "to")
        self._mark_ends()
        if self.time_on.isChecked():
            self._emit()

    def _emit(self) -> None:
        if not self._quiet:
            self.changed.emit(self.current())

    def current(self) -> RecordFilter:
        pick = {k: (None if c.currentText() == ANY else (c.currentText(),)) for k, c in self.combos.items()}
        data = self.combos["class"].currentData()  # the classes an entry stands for
        pick["class"] = None if data is None else tuple(data)
        m_range = None
        lo, hi = _number(self.m_min.text()), _number(self.m_max.text())
        if lo is not None or hi is not None:
            m_range = (lo if lo is not None else -float("inf"), hi if hi is not None else float("inf"))
        time_range = None
        if self.time_on.isChecked():
            time_range = (self.t_from.dateTime().toSecsSinceEpoch() if "from" in self.set_ends else -float("inf"),
                          self.t_to.dateTime().toSecsSinceEpoch() if "to" in self.set_ends else float("inf"))
        return RecordFilter(classes=pick["class"], influence=pick["influence"], status=pick["status"],
                            labels=pick["label"], m_range=m_range, time_range=time_range)


def _swatch(colour: str) -> QtGui.QIcon:
    pix = QtGui.QPixmap(12, 12)
    pix.fill(QtGui.QColor(colour))
    return QtGui.QIcon(pix)


def _number(text: str) -> Optional[float]:
    try:
        return float(text.replace(",", ".")) if text.strip() else None
    except ValueError:
        return None

