"""The cameras a source can open, found on request and put into its `cam1`/`cam2` options with a click.

Shown under a source's options only when its class lists devices (`Source.devices`). Finding asks
the network and the USB bus, which takes a moment, so it happens when the operator presses Find,
not when the form is built.
"""

from __future__ import annotations

from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets


class CameraFinder(QtWidgets.QWidget):
    def __init__(self, find: Callable[[], list[dict]], set_option: Callable[[str, str], None], parent=None):
        super().__init__(parent)
        self._find, self._set_option = find, set_option
        col = QtWidgets.QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        row = QtWidgets.QHBoxLayout()
        self.find_button = QtWidgets.QPushButton("Find cameras")
        self.find_button.setToolTip("List the cameras this source can open here")
        self.find_button.clicked.connect(self.refresh)
        self.cam_buttons = []
        for cam in ("1", "2"):
            b = QtWidgets.QPushButton(f"→ cam{cam}")
            b.setToolTip(f"Use the selected camera as camera {cam}")
            b.setEnabled(False)
            b.clicked.connect(lambda _=False, cam=cam: self.use(cam))
            self.cam_buttons.append(b)
        row.addWidget(self.find_button)
        row.addStretch(1)
        for b in self.cam_buttons:
            row.addWidget(b)
        col.addLayout(row)
        self.list = QtWidgets.QListWidget()
        self.list.setMaximumHeight(70)
        self.list.itemSelectionChanged.connect(self._selection)
        col.addWidget(self.list)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        col.addWidget(self.status)

    def refresh(self) -> None:
        self.list.clear()
        QtWidgets.QApplication.setOverrideCursor(QtGui.QCursor(QtCore.Qt.CursorShape.WaitCursor))
        try:
            rows = self._find()
        except Exception as exc:  # a camera library that fails to search is the operator's to know, not a crash
            self.status.setText(f"could not search for cameras: {exc}")
            return
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        for row in rows:
            item = QtWidgets.QListWidgetItem(row.get("label") or row["id"])
            item.setData(QtCore.Qt.ItemDataRole.UserRole, row["id"])
            self.list.addItem(item)
        self.status.setText(f"{len(rows)} camera(s) found" if rows else "no camera found")
        self._selection()

    def _selection(self) -> None:
        for b in self.cam_buttons:
            b.setEnabled(bool(self.list.selectedItems()))

    def use(self, cam: str) -> None:
        items = self.list.selectedItems()
        if items:
            self._set_option(f"cam{cam}", items[0].data(QtCore.Qt.ItemDataRole.UserRole))
