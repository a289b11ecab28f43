"""The engineer's verdict on a record: OK, NOK or unsure, or the record's true class, with a comment.

A true class decides the verdict (the OK class is OK, any other class NOK), so
the panel offers only pairs that agree; `ReviewLabels.label_selected` checks
whatever reaches it by other ways.
"""

from __future__ import annotations

from typing import Optional

from PySide6 import QtCore, QtWidgets

from inspector.classes import ClassSet
from inspector.records.labels import VERDICTS

SHORTCUTS = {"OK": "O", "NOK": "N", "unsure": "U"}
CLASS_KEYS = 9  # keys 1…9 give the first nine classes; a log with more offers them in a list
CHOOSE = "class…"
CLASSES_PER_ROW = 4


def label_text(verdict: str, true_class: str = "") -> str:
    """"NOK · skewed", "OK · correct", "unsure", or "" for no label."""
    return f"{verdict} · {true_class}" if verdict and true_class else verdict


class LabelPanel(QtWidgets.QGroupBox):
    labelled = QtCore.Signal(str, str, str)  # verdict, comment, true class ("" where none was chosen)

    def __init__(self, parent=None):
        super().__init__("Engineer label", parent)
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(6, 4, 6, 4)
        col.setSpacing(3)
        row = QtWidgets.QHBoxLayout()
        self.buttons: dict[str, QtWidgets.QPushButton] = {}
        for verdict in VERDICTS:
            key = SHORTCUTS[verdict]
            button = QtWidgets.QPushButton(verdict)
            button.setToolTip(f"Label the selected record {verdict} (key {key}); saved beside the log"
                              + (" with the OK class as its true class" if verdict == "OK" else ""))
            button.clicked.connect(lambda _=False, v=verdict: self.give(v))
            row.addWidget(button)
            self.buttons[verdict] = button
        row.addStretch(1)
        col.addLayout(row)
        # The classes on a row of their own: beside the verdicts they made the panel wider than the
        # table's pane at 1024 px, and the pane (the label buttons with it) was cut off.
        classes = QtWidgets.QHBoxLayout()
        self.class_title = QtWidgets.QLabel("true class")
        classes.addWidget(self.class_title, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        self.class_row = QtWidgets.QGridLayout()  # CLASSES_PER_ROW a row: nine classes still fit 1024 px
        self.class_row.setSpacing(3)
        classes.addLayout(self.class_row)
        classes.addStretch(1)
        col.addLayout(classes)
        self.class_buttons: dict[str, QtWidgets.QPushButton] = {}
        self.class_list: Optional[QtWidgets.QComboBox] = None
        self.class_set: Optional[ClassSet] = None

        low = QtWidgets.QHBoxLayout()
        self.comment = QtWidgets.QLineEdit()
        self.comment.setPlaceholderText("comment (saved with the label)")
        self.comment.setToolTip("Saved with the next label")
        low.addWidget(self.comment, 1)
        col.addLayout(low)
        self.current = QtWidgets.QLabel("")
        self.current.setMinimumWidth(110)
        row.addWidget(self.current)
        self.set_classes(None)

    def set_classes(self, class_set: Optional[ClassSet]) -> None:
        """Offer the classes of the open log (none: no log open, and nothing to label: the panel is off)."""
        self.class_set = class_set
        self.setEnabled(class_set is not None)
        if class_set is None:
            self.show_label("", "")
            self.current.setText("")
        for button in self.class_buttons.values():
            button.deleteLater()
        self.class_buttons = {}
        if self.class_list is not None:
            self.class_list.deleteLater()
            self.class_list = None
        names = class_set.names if class_set is not None else ()
        self.class_title.setVisible(bool(names))
        if len(names) > CLASS_KEYS:  # buttons would not fit; a list holds any number
            self.class_list = QtWidgets.QComboBox()
            self.class_list.addItem(CHOOSE)
            self.class_list.addItems(list(names))
            self.class_list.setToolTip(f"Label the selected records with their true class (keys 1…{CLASS_KEYS}: "
                                       f"the first {CLASS_KEYS}); {class_set.ok} is OK, every other class NOK")
            self.class_list.activated.connect(self._class_chosen)
            self.class_row.addWidget(self.class_list, 0, 0)
            return
        for k, name in enumerate(names, 1):
            button = QtWidgets.QPushButton(f"{k} {name}")
            verdict = "OK" if name == class_set.ok else "NOK"
            button.setToolTip(f"The selected records are {name}: verdict {verdict} (key {k})")
            button.setStyleSheet(f"QPushButton {{ color: {class_set.colour(name)}; font-weight: bold; }}")
            button.clicked.connect(lambda _=False, c=name: self.give_class(c))
            self.class_row.addWidget(button, (k - 1) // CLASSES_PER_ROW, (k - 1) % CLASSES_PER_ROW)
            self.class_buttons[name] = button

    def _class_chosen(self, index: int) -> None:
        if index > 0:
            self.give_class(self.class_list.itemText(index))
        self.class_list.setCurrentIndex(0)

    def give(self, verdict: str) -> None:
        self.labelled.emit(verdict, self.comment.text().strip(), "")

    def give_class(self, name: str) -> None:
        """Label with a true class; its verdict follows from it."""
        verdict = "OK" if self.class_set is not None and name == self.class_set.ok else "NOK"
        self.labelled.emit(verdict, self.comment.text().strip(), name)

    def show_label(self, verdict: str, comment: str, true_class: str = "") -> None:
        self.current.setText(f"now: {label_text(verdict, true_class)}" if verdict else "unlabelled")
        self.comment.setText(comment)
