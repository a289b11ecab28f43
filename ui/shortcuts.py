"""The keyboard shortcuts: one table that both binds them (`bind`) and lists them (Help → Keyboard
shortcuts), so the help cannot drift from the keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets


@dataclass(frozen=True)
class Shortcut:
    keys: str  # QKeySequence's portable text
    does: str  # what a person reads in the help
    slot: str  # the name of the handler `bind` is given
    operator_only: bool  # only while the operator view is in front (review has its own N, O, U keys)


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("F5", "Start a run", "start", True),
    Shortcut("Shift+F5", "Stop the run (the batch in flight finishes, the log closes)", "stop", True),
    Shortcut("N", "Show the next NOK of the gallery (held until Back to live)", "next_nok", True),
    Shortcut("A", "Acknowledge the NOKs that wait", "acknowledge", True),
    Shortcut("F11", "Full screen on / off", "toggle_full_screen", False),
    Shortcut("F1", "This list of keyboard shortcuts", "help", False),
)
# Bound elsewhere, listed here so the help names every key.
OTHER_KEYS: tuple[tuple[str, str], ...] = (
    ("Ctrl+O", "Open a log in the review view"),
    ("Ctrl+1 … Ctrl+3", "Operator, Review, Audit view"),
    ("O / N / U, 1–9", "Review: label the record OK / NOK / unsure, or as class 1–9"),
    ("Ctrl+Q", "Quit (a run in flight ends and its log closes valid)"),
)


def bind(window: QtWidgets.QMainWindow, handlers: dict[str, Callable[[], None]],
         is_operator_in_front: Callable[[], bool]) -> dict[str, QtGui.QAction]:
    """An action per row of `SHORTCUTS`, added to `window` (so it works whatever has the focus);
    an operator-only one is enabled only while the operator view is in front."""
    actions = {}
    for s in SHORTCUTS:
        action = QtGui.QAction(s.does, window)
        action.setShortcut(QtGui.QKeySequence(s.keys))
        action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _=False, f=handlers[s.slot]: f())
        window.addAction(action)
        actions[s.slot] = action

    def follow_front(*_) -> None:
        front = is_operator_in_front()
        for s in SHORTCUTS:
            if s.operator_only:
                actions[s.slot].setEnabled(front)

    window.tabs.currentChanged.connect(follow_front)
    follow_front()
    return actions


def rows() -> list[tuple[str, str]]:
    """(keys, what they do) for the help: the bound table first, then the keys bound elsewhere."""
    native = QtGui.QKeySequence.SequenceFormat.NativeText
    return [(QtGui.QKeySequence(s.keys).toString(native), s.does) for s in SHORTCUTS] + list(OTHER_KEYS)


class ShortcutsDialog(QtWidgets.QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        col = QtWidgets.QVBoxLayout(self)
        self.table = QtWidgets.QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Keys", "Does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        for keys, does in rows():
            r = self.table.rowCount()
            self.table.insertRow(r)
            self.table.setItem(r, 0, QtWidgets.QTableWidgetItem(keys))
            self.table.setItem(r, 1, QtWidgets.QTableWidgetItem(does))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        col.addWidget(self.table)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        col.addWidget(close)
        self.resize(620, 360)
