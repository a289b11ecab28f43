"""The main window: one tab per view (operator, review, and any added later), a menu and a status bar."""

from __future__ import annotations

from typing import Optional

from PySide6 import QtCore, QtGui, QtWidgets

from ui.refcount_guard import guard as guard_refcounts


class MainWindow(QtWidgets.QMainWindow):
    closing = QtCore.Signal()  # before the views shut down: the window's state is still there to save

    def __init__(self, title: str = "inspector", parent=None):
        super().__init__(parent)
        guard_refcounts()
        self.setWindowTitle(title)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.views: dict[str, QtWidgets.QWidget] = {}
        self.note = QtWidgets.QLabel("")
        self.statusBar().addPermanentWidget(self.note)
        self.file_menu = self.menuBar().addMenu("&File")
        self.open_action: Optional[QtGui.QAction] = None
        quit_action = QtGui.QAction("&Quit", self)
        quit_action.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self._quit_action = quit_action
        self.file_menu.addAction(quit_action)
        self.view_menu = self.menuBar().addMenu("&View")

    def add_view(self, name: str, widget: QtWidgets.QWidget) -> int:
        """Add a tab; a view's `status_message` signal, if it has one, goes to the status bar."""
        if name in self.views:
            raise ValueError(f"a view named {name!r} exists already")
        self.views[name] = widget
        index = self.tabs.addTab(widget, name)
        signal = getattr(widget, "status_message", None)
        if signal is not None:
            signal.connect(lambda text: self.statusBar().showMessage(text, 15000))
        action = QtGui.QAction(name, self)
        if index < 9:
            action.setShortcut(QtGui.QKeySequence(f"Ctrl+{index + 1}"))
        action.triggered.connect(lambda: self.show_view(name))
        self.view_menu.addAction(action)
        return index

    def view(self, name: str) -> QtWidgets.QWidget:
        return self.views[name]

    def show_view(self, name: str) -> QtWidgets.QWidget:
        """Bring the view `name` (case-insensitive) to the front."""
        for key, widget in self.views.items():
            if key.lower() == name.lower():
                self.tabs.setCurrentWidget(widget)
                return widget
        raise ValueError(f"no view {name!r} (views: {', '.join(self.views)})")

    def add_file_action(self, text: str, shortcut, slot) -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.file_menu.insertAction(self._quit_action, action)
        return action

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.closing.emit()
        # A run must end and its log close valid before the window goes.
        for widget in self.views.values():
            shutdown = getattr(widget, "shutdown", None)
            if shutdown is not None:
                shutdown()
        super().closeEvent(event)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(1280, 800)
