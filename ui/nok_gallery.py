"""The last NOK cavities as clickable thumbnails."""

from __future__ import annotations

import datetime as _dt

from PySide6 import QtCore, QtGui, QtWidgets

from ui.display_frame import DisplayFrame


def qimage_rgb(rgb) -> QtGui.QImage:
    """An H×W×3 uint8 array as a QImage that owns its pixels (the array may be freed after)."""
    h, w, _ = rgb.shape
    return QtGui.QImage(rgb.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()


class NokGallery(QtWidgets.QListWidget):
    picked = QtCore.Signal(object)  # the DisplayFrame of the clicked thumbnail

    def __init__(self, size: int = 12, parent=None):
        super().__init__(parent)
        self.size = size
        self.frames: list[DisplayFrame] = []  # newest first, parallel to the items
        self.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.setIconSize(QtCore.QSize(132, 68))
        self.setGridSize(QtCore.QSize(144, 100))
        self.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.setMovement(QtWidgets.QListView.Movement.Static)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setSpacing(2)
        self.setToolTip("The last NOK cavities, newest first: click one to inspect it")
        self.itemClicked.connect(self._clicked)

    def _clicked(self, item: QtWidgets.QListWidgetItem) -> None:
        self.picked.emit(self.frames[self.row(item)])

    def add_frames(self, frames: list[DisplayFrame]) -> None:
        """Frames oldest first; only the newest `size` are kept."""
        for frame in frames[-self.size:]:
            item = QtWidgets.QListWidgetItem()
            if frame.thumbnail is not None:
                item.setIcon(QtGui.QIcon(QtGui.QPixmap.fromImage(qimage_rgb(frame.thumbnail))))
            when = _dt.datetime.fromtimestamp(frame.timestamp).strftime("%H:%M:%S") if frame.timestamp else ""
            item.setText(f"{frame.predicted_name} {100 * frame.probability:.0f} %\ncav {frame.cavity_id} · {when}")
            item.setToolTip(
                f"{frame.predicted_name} {100 * frame.probability:.1f} %, cavity {frame.cavity_id}, "
                f"frame {frame.frame_ids[0]}" + (f", truth {frame.truth}" if frame.truth else "")
            )
            item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.AlignmentFlag.AlignTop)
            self.insertItem(0, item)
            self.frames.insert(0, frame)
        while len(self.frames) > self.size:
            self.takeItem(self.count() - 1)
            self.frames.pop()

    def clear_frames(self) -> None:
        self.clear()
        self.frames.clear()
