"""A visible error state inside a view: one red strip with the message, never a dialog per error."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from ui.palette import ALERT_COLOUR


class ErrorStrip(QtWidgets.QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("errorStrip")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(10, 4, 6, 4)
        self.label = QtWidgets.QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.label, 1)
        close = QtWidgets.QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.clear)
        row.addWidget(close)
        self.setStyleSheet(
            f"#errorStrip {{ background: {ALERT_COLOUR}; border-radius: 3px; }} #errorStrip QLabel, #errorStrip QToolButton "
            "{ color: white; font-weight: bold; }"
        )
        self.hide()

    @property
    def message(self) -> str:
        return self.label.text() if self.active else ""

    @property
    def active(self) -> bool:
        return not self.isHidden()

    def show_error(self, message: str) -> None:
        self.label.setText(message)
        self.label.setToolTip(message)
        self.show()

    def clear(self) -> None:
        self.label.setText("")
        self.hide()
