"""One tile per cavity of the shot, side by side, each holding that cavity's last verdict.

A line that moulds two cavities per shot delivers their results interleaved; one banner for "the
newest" flickered between them. Here each cavity has its own tile, changed only by its own results.

The rule for NOKs: a tile always shows its cavity's latest verdict (a NOK followed by an OK shows OK),
but every NOK it received stays counted as *waiting* until the operator acknowledges it (a click on
the tile, `acknowledge(cavity)`, or `acknowledge_all()`, bound to key A by the main window). A tile
with waiting NOKs carries a thick amber outline and a badge with their count, whatever verdict it
shows; `waiting` is the total over the tiles.

The verdict's type follows the tile's height (`resizeEvent`): the tiles get about a fifth of the
window's height, so in full screen at 1920×1080 the capitals are over 90 px high, 1/12 of the height,
readable at 2 m on a 22" panel.
"""

from __future__ import annotations

import datetime as _dt
from typing import Optional

from PySide6 import QtCore, QtGui, QtWidgets

from ui.display_frame import DisplayFrame
from ui.elided_label import ElidedLabel
from ui.palette import IDLE_COLOUR, LOST_COLOUR, NOK_COLOUR, PENDING_COLOUR, text_on

VERDICT_SHARE = 0.62  # of the tile's height for the verdict's font (pixel size); caps are ~0.72 of that
PENDING_BORDER = 8
SAMPLE_DETAIL = "correct 100.0 %"  # the width the class and probability are sized for, at least


class CavityTile(QtWidgets.QFrame):
    """One cavity's latest verdict: OK green or NOK red (the class's colour as the left edge), the class
    and its probability, the time; or LOST / waiting while no verdict can be trusted."""

    clicked = QtCore.Signal(object)  # the cavity id (None for the placeholder)

    def __init__(self, cavity_id: Optional[int], parent=None):
        super().__init__(parent)
        self.cavity_id = cavity_id
        self.setObjectName("tile")
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.state = "idle"
        self.frame: Optional[DisplayFrame] = None
        self.pending = 0  # NOK results not acknowledged
        self.selected = False
        self._colours = (IDLE_COLOUR, "")
        self._fitted = 0  # length of the detail text the fonts were last fitted to
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(14, 4, 10, 4)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(0)
        self.verdict = QtWidgets.QLabel("—")
        self.verdict.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.verdict.setSizePolicy(QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Ignored)
        self.badge = ElidedLabel("")
        self.badge.setObjectName("badge")
        self.detail = ElidedLabel("")  # class and probability
        self.when = ElidedLabel("")  # cavity and time of the result
        grid.addWidget(self.verdict, 0, 0, 3, 1)
        grid.addWidget(self.badge, 0, 1)
        grid.addWidget(self.detail, 1, 1)
        grid.addWidget(self.when, 2, 1)
        grid.setColumnStretch(1, 1)
        self.setMinimumSize(120, 72)
        self._paint()
        self.show_idle("waiting for the first cavity")

    # -- what it shows --------------------------------------------------------------------------
    def show_frame(self, frame: DisplayFrame) -> None:
        """OK or NOK as the model's ClassSet says: every NOK red whatever its class (an operator reads the
        colour before the text; blue or olive would not say "stop"), edged in the class's own colour."""
        self.frame = frame
        ok = frame.is_ok
        self.state = "OK" if ok else "NOK"
        if not ok:
            self.pending += 1
        self._colours = (frame.colour, "") if ok else (NOK_COLOUR, frame.colour)
        self.verdict.setText(self.state)
        self.detail.set_full_text(f"{frame.predicted_name} {100 * frame.probability:.1f} %")
        if len(self.detail.full_text()) > max(self._fitted, len(SAMPLE_DETAIL)):  # a longer class name
            self._fit_fonts()
        when = _dt.datetime.fromtimestamp(frame.timestamp).strftime("%H:%M:%S") if frame.timestamp else "—"
        self.when.set_full_text(f"cavity {frame.cavity_id} · {when}")
        self._paint()

    def show_lost(self, cameras: str) -> None:
        self.state = "lost"
        self._colours = (LOST_COLOUR, "")
        self.verdict.setText("LOST")
        self.detail.set_full_text(cameras)
        self.when.set_full_text(self._name() + " · waits for the camera")
        self._paint()

    def show_idle(self, text: str) -> None:
        """No verdict to hold (a new run, a camera back): grey until this cavity's next result."""
        self.state = "idle"
        self.frame = None
        self._colours = (IDLE_COLOUR, "")
        self.verdict.setText("—")
        self.detail.set_full_text(text)
        self.when.set_full_text(self._name())
        self._paint()

    def acknowledge(self) -> int:
        """Clear the waiting NOKs; returns how many there were."""
        n, self.pending = self.pending, 0
        if n:
            self._paint()
        return n

    def set_selected(self, selected: bool) -> None:
        if selected != self.selected:
            self.selected = selected
            self._paint()

    def _name(self) -> str:
        return "" if self.cavity_id is None else f"cavity {self.cavity_id}"

    def _paint(self) -> None:
        background, accent = self._colours
        fg = text_on(background)
        border = (f"border: {PENDING_BORDER}px solid {PENDING_COLOUR};" if self.pending
                  else "border: 3px solid #101010;" if self.selected else f"border: 3px solid {background};")
        edge = f" border-left: 16px solid {accent};" if accent else ""
        sheet = (
            f"#tile {{ background: {background}; border-radius: 6px; {border}{edge} }} "
            f"#tile QLabel {{ color: {fg}; background: transparent; border: none; }} "
            f"#tile QLabel#badge {{ background: {PENDING_COLOUR}; color: #000000; border-radius: 3px; "
            "padding: 0px 4px; font-weight: bold; }")
        if sheet != self.styleSheet():  # a style sheet set again re-polishes every label: 10 ms a tile
            self.setStyleSheet(sheet)
        self.badge.set_full_text(f"{self.pending} NOK waiting" if self.pending else "")
        if self.badge.isVisibleTo(self) != bool(self.pending):
            self.badge.setVisible(bool(self.pending))
        if self.selected and self.cavity_id is not None:
            self.setToolTip("Shown below; click to acknowledge and follow the newest cavity again")
        else:
            self.setToolTip("Click: acknowledge this cavity's NOKs and show it below")

    # -- type that follows the window -----------------------------------------------------------
    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_fonts()

    def _fit_fonts(self) -> None:
        h, w = self.contentsRect().height(), self.contentsRect().width()
        size = max(12, int(VERDICT_SHARE * h))
        font = self.verdict.font()
        font.setBold(True)
        font.setPixelSize(size)
        widest = max(QtGui.QFontMetrics(font).horizontalAdvance(t) for t in ("NOK", "LOST"))
        room = max(0.45 * w, w - 300.0)  # the class, probability and time need about 300 px beside it
        if widest > room:
            font.setPixelSize(max(12, int(size * room / widest)))
        if font != self.verdict.font():
            self.verdict.setFont(font)
        # The verdict column is as wide as the widest verdict, so the tile does not jump between OK and NOK.
        verdict_width = QtGui.QFontMetrics(font).horizontalAdvance("LOST") + 4
        self.verdict.setFixedWidth(verdict_width)
        small = self.detail.font()
        small.setBold(True)
        small.setPixelSize(max(11, min(int(0.2 * h), int(font.pixelSize() * 0.3))))
        # The class and probability should fit beside the verdict whole, not as "missing 100.…".
        margins = self.layout().contentsMargins()
        rest = w - verdict_width - self.layout().horizontalSpacing() - margins.left() - margins.right() - 8
        sample = max(self.detail.full_text(), SAMPLE_DETAIL, key=len)
        wide = QtGui.QFontMetrics(small).horizontalAdvance(sample)
        if wide > rest > 0:
            small.setPixelSize(max(11, int(small.pixelSize() * rest / wide)))
        self._fitted = len(self.detail.full_text())
        for label in (self.detail, self.badge):
            if label.font() != small:
                label.setFont(small)
        plain = QtGui.QFont(small)
        plain.setBold(False)
        plain.setPixelSize(max(10, int(small.pixelSize() * 0.8)))
        if self.when.font() != plain:
            self.when.setFont(plain)

    def cap_height(self) -> float:
        """Height of the verdict's capitals in pixels (the test holds it to 1/12 of the window)."""
        return QtGui.QFontMetricsF(self.verdict.font()).capHeight()

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.clicked.emit(self.cavity_id)
        super().mouseReleaseEvent(event)


class CavityTiles(QtWidgets.QWidget):
    """The tiles in the shot's order (cavity ids ascending), the count of NOKs waiting, and the
    engineer's line below them."""

    waiting_changed = QtCore.Signal(int)  # NOKs not yet acknowledged, over all tiles
    acknowledged = QtCore.Signal(object)  # the cavity id, or None for all
    selection_changed = QtCore.Signal(object)  # the cavity the details below follow, None: the newest

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tiles: dict[int, CavityTile] = {}
        self.selected: Optional[int] = None
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        self.row_box = _Row()
        self.row = QtWidgets.QHBoxLayout(self.row_box)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(8)
        self.placeholder = CavityTile(None)  # until the first cavity, and the state shown there
        self.placeholder.clicked.connect(self._tile_clicked)
        self.row.addWidget(self.placeholder, 1)
        outer.addWidget(self.row_box, 1)
        line = QtWidgets.QHBoxLayout()
        line.setSpacing(10)
        self.waiting_label = ElidedLabel("")
        self.waiting_label.setObjectName("waiting")
        self.ack_button = QtWidgets.QPushButton("Acknowledge all")
        self.ack_button.setToolTip("The NOKs waiting have been seen: clear the amber marks (key A)")
        self.ack_button.clicked.connect(self._ack_clicked)
        self.engineer = ElidedLabel("")
        self.engineer.setStyleSheet("color: #555555;")
        line.addWidget(self.waiting_label, 2)
        line.addWidget(self.ack_button)
        line.addWidget(self.engineer, 3)
        outer.addLayout(line)
        self._show_waiting()

    def row_height(self) -> int:
        return self.row_box.hint

    def set_row_height(self, height: int) -> None:
        """The height the tiles ask for (the operator view gives them a share of the window's). Asked,
        not imposed: a minimum that follows the window's height would keep a window that was 4K tall from
        going back to 800 px."""
        self.row_box.hint = height
        self.row_box.setMaximumHeight(height)
        self.row_box.updateGeometry()

    # -- results --------------------------------------------------------------------------------
    def tile(self, cavity_id: int) -> CavityTile:
        """The cavity's tile, made (in the shot's order) the first time the cavity is seen."""
        tile = self.tiles.get(cavity_id)
        if tile is None:
            tile = CavityTile(cavity_id)
            tile.clicked.connect(self._tile_clicked)
            after = sorted(c for c in self.tiles if c < cavity_id)
            self.row.insertWidget(len(after), tile, 1)
            self.tiles[cavity_id] = tile
            self.placeholder.hide()
        return tile

    def show_frame(self, frame: DisplayFrame, *, noks: int = 0) -> None:
        """The cavity's newest result. `noks`: NOK results of this cavity since the last draw other than
        `frame` (drawn at most MAX_FPS, a tile may have missed some; each must be acknowledged)."""
        tile = self.tile(frame.cavity_id)
        tile.show_frame(frame)
        if noks:
            tile.pending += noks
            tile._paint()
        self._show_waiting()

    def show_lost(self, cameras: str) -> None:
        for tile in self.all_tiles():
            if tile.state != "lost" or tile.detail.full_text() != cameras:
                tile.show_lost(cameras)

    def show_idle(self, text: str) -> None:
        for tile in self.all_tiles():
            tile.show_idle(text)

    def clear(self, text: str = "waiting for the first cavity") -> None:
        """A new run: no tile, nothing waiting."""
        for tile in self.tiles.values():
            self.row.removeWidget(tile)
            tile.deleteLater()
        self.tiles.clear()
        self.selected = None
        self.placeholder.show_idle(text)
        self.placeholder.show()
        self.engineer.set_full_text("")
        self._show_waiting()

    def all_tiles(self) -> list[CavityTile]:
        return list(self.tiles.values()) if self.tiles else [self.placeholder]

    def cavity_ids(self) -> list[int]:
        return sorted(self.tiles)

    # -- acknowledging and choosing -------------------------------------------------------------
    @property
    def waiting(self) -> int:
        return sum(t.pending for t in self.tiles.values())

    def acknowledge(self, cavity_id: int) -> int:
        tile = self.tiles.get(cavity_id)
        n = tile.acknowledge() if tile is not None else 0
        self._show_waiting()
        self.acknowledged.emit(cavity_id)
        return n

    def acknowledge_all(self) -> int:
        n = sum(t.acknowledge() for t in self.tiles.values())
        self._show_waiting()
        self.acknowledged.emit(None)
        return n

    def select(self, cavity_id: Optional[int]) -> None:
        """Follow `cavity_id` in the details below (None: the newest cavity, whichever)."""
        self.selected = cavity_id if cavity_id in self.tiles else None
        for c, tile in self.tiles.items():
            tile.set_selected(c == self.selected)
        self.selection_changed.emit(self.selected)

    def _tile_clicked(self, cavity_id) -> None:
        if cavity_id is None:
            return
        self.acknowledge(cavity_id)
        self.select(None if self.selected == cavity_id else cavity_id)

    def _ack_clicked(self) -> None:
        self.acknowledge_all()

    def _show_waiting(self) -> None:
        n = self.waiting
        self.waiting_label.set_full_text(f"{n} NOK to acknowledge" if n else "no NOK waiting")
        sheet = f"background: {PENDING_COLOUR}; color: black; font-weight: bold; padding: 0px 4px;" if n \
            else "color: #555555;"
        if sheet != self.waiting_label.styleSheet():
            self.waiting_label.setStyleSheet(sheet)
        self.ack_button.setEnabled(bool(n))
        self.waiting_changed.emit(n)

    # -- the engineer's line --------------------------------------------------------------------
    def show_engineer_line(self, frame: DisplayFrame, policy: str = "") -> None:
        """Which camera the decision shown below rests on (Tilgner et al.'s m), for the engineer."""
        if frame.has_curves:
            m = f"m = {frame.m:+.2f}".replace("-", "−")
            rests = "both cameras equally" if frame.influence == "equal" else frame.influence
            text = f"cavity {frame.cavity_id}: decision rests on {rests}, {m}"
        else:
            text = f"cavity {frame.cavity_id}: m — (curves not computed{', policy ' + policy if policy else ''})"
        self.engineer.set_full_text(text)

    def set_engineer_line_visible(self, visible: bool) -> None:
        self.engineer.setVisible(visible)


class _Row(QtWidgets.QWidget):
    """The tiles' row: it asks for `hint` pixels of height and takes less where the window has less."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.hint = 96
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(super().sizeHint().width(), self.hint)

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(super().minimumSizeHint().width(), min(self.hint, 80))
