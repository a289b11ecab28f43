"""The verdict of the shown cavity in large type: class, probability, and which camera it rests on; or,
while a camera does not answer, which one is lost and why."""

from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

from ui.display_frame import DisplayFrame

from inspector.classes import NOK_COLOURS

IDLE_COLOUR = "#546e7a"
NOK_COLOUR = NOK_COLOURS[0]
LOST_COLOUR = NOK_COLOUR  # a line that inspects nothing is as urgent as a bad part


class VerdictBanner(QtWidgets.QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("verdict")
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(14, 6, 14, 6)
        grid.setHorizontalSpacing(18)
        self.verdict = QtWidgets.QLabel("—")
        font = self.verdict.font()
        font.setPointSize(24)
        font.setBold(True)
        self.verdict.setFont(font)
        self.detail = QtWidgets.QLabel("")
        self.influence = QtWidgets.QLabel("")
        self.influence.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        big = self.influence.font()
        big.setPointSize(14)
        big.setBold(True)
        self.influence.setFont(big)
        grid.addWidget(self.verdict, 0, 0, 2, 1)
        grid.addWidget(self.influence, 0, 1)
        grid.addWidget(self.detail, 1, 1)
        self.detail.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        # Long texts must not widen the window: they are cut, the full text is in the tooltip.
        for label in (self.detail, self.influence):
            label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        grid.setColumnStretch(1, 1)
        self.setMinimumHeight(70)
        self.show_idle("waiting for the first cavity")

    def _paint(self, colour: str, accent: str = "") -> None:
        edge = f" border-left: 14px solid {accent};" if accent else ""
        self.setStyleSheet(f"#verdict {{ background: {colour}; border-radius: 4px;{edge} }} "
                           "#verdict QLabel { color: white; }")

    def show_idle(self, text: str) -> None:
        self._paint(IDLE_COLOUR)
        self.verdict.setText("—")
        self.influence.setText("")
        self.detail.setText(text)
        self.state = "idle"

    def show_lost(self, lost: dict, note: str = "") -> None:
        """Cameras that do not answer (name → why): no verdict can come until they do."""
        detail = " · ".join([f"{name}: {why}" for name, why in sorted(lost.items())] + ([note] if note else []))
        if self.state == "lost" and self.detail.text() == detail:
            return  # the stats timer asks every poll; a style sheet set again costs a relayout
        self._paint(LOST_COLOUR)
        self.state = "lost"
        self.verdict.setText(f"LOST · {', '.join(sorted(lost))}")
        self.influence.setText("inspection waits until it answers")
        self.detail.setText(detail)
        self.setToolTip(f"{self.verdict.text()}\n{self.detail.text()}")

    def show_frame(self, frame: DisplayFrame, *, source: str = "live") -> None:
        """OK or NOK as the model's ClassSet says: green for OK; every NOK red, whichever class (an operator
        reads the colour before the text, and blue or olive would not say "stop"), with the predicted
        class's own colour as the edge, the colour it has in the counters."""
        ok = frame.is_ok
        self._paint(frame.colour) if ok else self._paint(NOK_COLOUR, frame.colour)
        self.state = "OK" if ok else "NOK"
        self.verdict.setText(f"{'OK' if ok else 'NOK'} · {frame.predicted_name} {100 * frame.probability:.1f} %")
        if frame.has_curves:
            self.influence.setText(f"m = {frame.m:+.3f} → {frame.influence}".replace("-", "−"))
        else:
            self.influence.setText("m — (curves not computed)")
        parts = [source, f"cavity {frame.cavity_id}", f"frame {frame.frame_ids[0]}"]
        if frame.record is not None:
            parts[0] = f"record {frame.record}"
        if not math.isnan(frame.latency_ms):
            parts.append(f"latency {frame.latency_ms:.0f} ms")
        if frame.truth:
            parts.append(f"truth {frame.truth}")
        self.detail.setText(" · ".join(parts))
        self.setToolTip(f"{self.verdict.text()}\n{self.influence.text()}\n{self.detail.text()}")
