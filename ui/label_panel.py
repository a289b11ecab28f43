"""The engineer's verdict on a record: OK, NOK or unsure, with a comment."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from inspector.records.labels import VERDICTS

SHORTCUTS = {"OK": "O", "NOK": "N", "unsure": "U"}


class LabelPanel(QtWidgets.QGroupBox):
    labelled = QtCore.Signal(str, str)  # verdict, comment

    def __init__(self, parent=None):
        super().__init__("Engineer label", parent)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        self.buttons: dict[str, QtWidgets.QPushButton] = {}
        for verdict in VERDICTS:
            key = SHORTCUTS[verdict]
            button = QtWidgets.QPushButton(verdict)
            button.setToolTip(f"Label the selected record {verdict} (key {key}); saved beside the log")
            button.clicked.connect(lambda _=False, v=verdict: self.give(v))
            row.addWidget(button)
            self.buttons[verdict] = button
        self.comment = QtWidgets.QLineEdit()
        self.comment.setPlaceholderText("comment (saved with the label)")
        self.comment.setToolTip("Saved with the next label; Enter saves it with the current label")
        row.addWidget(self.comment, 1)
        self.current = QtWidgets.QLabel("")
        self.current.setMinimumWidth(70)
        row.addWidget(self.current)

    def give(self, verdict: str) -> None:
        self.labelled.emit(verdict, self.comment.text().strip())

    def show_label(self, verdict: str, comment: str) -> None:
        self.current.setText(f"now: {verdict}" if verdict else "unlabelled")
        self.comment.setText(comment)
