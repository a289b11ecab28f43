"""All eight Grad-CAM maps of a record: per camera the view and its four stages overlaid, one colour bar."""

from __future__ import annotations

from typing import Optional, Sequence

import pyqtgraph as pg

from ui.camera_view import image_box
from ui.display_frame import DisplayFrame
from ui.heatmap_display import DEFAULT_COLORMAP, colormap_lut

TEXT = "#dddddd"


class HeatmapGrid(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent=parent)
        self.setBackground("#1e1e1e")
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.ci.setSpacing(3)
        self.titles = []
        for j, text in enumerate(["view (IPM)"] + [f"stage {s}" for s in range(1, 5)]):
            self.titles.append(self.ci.addLabel(text, row=0, col=j + 1, color=TEXT, size="8pt"))
        self.cells: list[list[tuple]] = []  # [view][column] → (viewbox, base, overlay)
        for v in (0, 1):
            self.ci.addLabel(f"camera {v + 1}", row=v + 1, col=0, angle=-90, color=TEXT, size="9pt")
            self.cells.append([image_box(self.ci, v + 1, j + 1) for j in range(5)])
        self.bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get(DEFAULT_COLORMAP), interactive=False,
                                   width=12, pen="#888888", colorMapMenu=False)
        self.bar.axis.setTextPen(TEXT)
        self.bar.axis.setPen("#888888")
        self.bar.axis.setLabel("heat ÷ max of its map", color=TEXT)
        self.ci.addItem(self.bar, row=1, col=6, rowspan=2)
        self.note = pg.TextItem("", color="#ffcc80", anchor=(0.5, 0.5))
        self.cells[0][0][0].addItem(self.note)
        self.set_colormap(DEFAULT_COLORMAP)
        self.set_opacity(0.5)
        self._shown = False

    def set_colormap(self, name: str) -> None:
        lut = colormap_lut(name)
        for row in self.cells:
            for _, _, overlay in row[1:]:
                overlay.setLookupTable(lut)
        self.bar.setColorMap(pg.colormap.get(name))

    def set_opacity(self, opacity: float) -> None:
        for row in self.cells:
            for _, _, overlay in row[1:]:
                overlay.setOpacity(float(opacity))

    def show_frame(self, frame: DisplayFrame, stage_shapes: Optional[Sequence[tuple[int, int]]] = None) -> None:
        for v, view in enumerate((frame.view1, frame.view2)):
            row = self.cells[v]
            row[0][1].setImage(view, autoLevels=False, levels=(0, 255))
            for j in range(4):
                _, base, overlay = row[j + 1]
                base.setImage(view, autoLevels=False, levels=(0, 255))
                overlay.setImage(frame.heat[v, j], autoLevels=False, levels=(0, 255))
        if stage_shapes:
            for j, (h, w) in enumerate(stage_shapes):
                self.titles[j + 1].setText(f"stage {j + 1} ({w}×{h})", color=TEXT, size="8pt")
        h, w = frame.view1.shape[:2]
        self.note.setPos(w / 2, h / 2)
        self.note.setText("" if frame.has_images else "images not kept\n(retention)")
        if not self._shown:
            for row in self.cells:
                for vb, _, _ in row:
                    vb.autoRange(padding=0.0)
            self._shown = True

    def clear_frame(self) -> None:
        for row in self.cells:
            for _, base, overlay in row:
                base.clear()
                overlay.clear()
        self.note.setText("")

