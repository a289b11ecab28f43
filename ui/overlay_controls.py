"""The heatmap controls shared by the camera views: stage, opacity and colour map."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from ui.heatmap_display import COLORMAPS, DEFAULT_COLORMAP


class OverlayControls(QtWidgets.QWidget):
    stage_changed = QtCore.Signal(int)  # 0-based
    opacity_changed = QtCore.Signal(float)
    colormap_changed = QtCore.Signal(str)

    def __init__(self, *, with_stage: bool = True, opacity: float = 0.45, parent=None):
        super().__init__(parent)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.stage = QtWidgets.QComboBox()
        self.stage.addItems([f"stage {j}" for j in range(1, 5)])
        self.stage.setCurrentIndex(3)
        self.stage.setToolTip("Network stage whose Grad-CAM map is overlaid (4: the last, coarsest)")
        self.stage.currentIndexChanged.connect(self.stage_changed)
        if with_stage:
            row.addWidget(QtWidgets.QLabel("Grad-CAM"))
            row.addWidget(self.stage)
        else:
            self.stage.hide()
        row.addWidget(QtWidgets.QLabel("opacity"))
        self.opacity = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(100 * opacity))
        self.opacity.setMinimumWidth(90)
        self.opacity.setToolTip("Heatmap opacity over the view")
        self.opacity.valueChanged.connect(self._opacity_moved)
        row.addWidget(self.opacity, 1)
        self.opacity_text = QtWidgets.QLabel(f"{round(100 * opacity)} %")
        self.opacity_text.setMinimumWidth(38)

        row.addWidget(self.opacity_text)
        row.addWidget(QtWidgets.QLabel("colours"))
        self.colormap = QtWidgets.QComboBox()
        self.colormap.addItems(COLORMAPS)
        self.colormap.setCurrentText(DEFAULT_COLORMAP)
        self.colormap.setToolTip("Colour map of the heatmaps (each map scaled to its own maximum)")
        self.colormap.currentTextChanged.connect(self.colormap_changed)
        row.addWidget(self.colormap)

    def _opacity_moved(self, value: int) -> None:
        self.opacity_text.setText(f"{value} %")
        self.opacity_changed.emit(value / 100.0)
