"""A one-line label that shortens its text with "…" to the width it gets, the full text in its tooltip.

A plain QLabel asks for its text's width: a long path or detail widens the window (it grew from 800 to
845 px after a source change), or, squeezed, it is cut mid-letter ("orrect 33"). This one asks for
nothing (Ignored horizontal policy) and always shows what fits.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


class ElidedLabel(QtWidgets.QLabel):
    def __init__(self, text: str = "", parent=None, *, mode=QtCore.Qt.TextElideMode.ElideRight):
        super().__init__(parent)
        self._full = ""
        self._mode = mode
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(1)
        self.set_full_text(text)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        if text == self._full and self.text():
            return
        self._full = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, self._mode, max(0, width)) if width > 0 else ""
        if shown != self.text():
            super().setText(shown)

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(1, super().minimumSizeHint().height())

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(self.fontMetrics().horizontalAdvance(self._full) + 4, super().sizeHint().height())
