"""One camera's view on the cavity plane with its Grad-CAM overlay, as two stacked ImageItems."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg

from ui.heatmap_display import DEFAULT_COLORMAP, colormap_lut


def image_box(layout: pg.GraphicsLayout, row: int, col: int, title: str = "") -> tuple[pg.ViewBox, pg.ImageItem, pg.ImageItem]:
    """A fixed, upright, aspect-locked ViewBox holding an image and an overlay above it."""
    if title:
        layout.addLabel(title, row=row, col=col, size="9pt")
        row += 1
    vb = layout.addViewBox(row=row, col=col, lockAspect=True, enableMouse=False, enableMenu=False, invertY=True)
    vb.setDefaultPadding(0.0)
    # Axis order per item rather than trusting the global option: a widget built before the
    # application configured pyqtgraph still draws rows as rows.
    base = pg.ImageItem(axisOrder="row-major")
    overlay = pg.ImageItem(axisOrder="row-major")
    overlay.setZValue(1)
    vb.addItem(base)
    vb.addItem(overlay)
    return vb, base, overlay


class CameraView(pg.GraphicsLayoutWidget):
    """Camera `index`'s IPM view with one stage's heatmap overlaid."""

    def __init__(self, index: int, subtitle: str = "", parent=None):
        super().__init__(parent=parent)
        self.index = index
        self.setBackground("#1e1e1e")
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.title = self.ci.addLabel(f"camera {index + 1}", row=0, col=0, color="#eeeeee", size="10pt")
        self.vb, self.base, self.overlay = image_box(self.ci, 1, 0)
        self.subtitle = self.ci.addLabel(subtitle, row=2, col=0, color="#aaaaaa", size="8pt")
        self.stage = 3
        self._heat: Optional[np.ndarray] = None
        self.set_colormap(DEFAULT_COLORMAP)
        self.set_opacity(0.45)

    def set_colormap(self, name: str) -> None:
        self.overlay.setLookupTable(colormap_lut(name))

    def set_opacity(self, opacity: float) -> None:
        self.overlay.setOpacity(float(opacity))

    def set_stage(self, stage: int) -> None:
        self.stage = int(stage)
        if self._heat is not None:
            self.overlay.setImage(self._heat[self.stage], autoLevels=False, levels=(0, 255))

    def show_frame(self, view: np.ndarray, heat: np.ndarray) -> None:
        """view: H×W×3 uint8; heat: (4, H, W) uint8 normalised maps of this camera."""
        first = self.base.image is None
        self.base.setImage(view, autoLevels=False, levels=(0, 255))
        self._heat = heat
        self.overlay.setImage(heat[self.stage], autoLevels=False, levels=(0, 255))
        if first:
            self.vb.autoRange(padding=0.0)

    def clear_frame(self) -> None:
        self.base.clear()
        self.overlay.clear()
        self._heat = None
