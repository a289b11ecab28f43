"""The run's state in one strip an operator reads at once: running, waiting, stopped or a camera lost,
and whether (and where) the run records. Colours from ui/palette.py.

States: `stopped` (no run), `starting` (the source opens), `waiting` (running, but no cavity came:
before the first one, or none for `TRIGGER_WAIT_S`, the line or its trigger is idle), `running`,
`stopping` (the batch in flight finishes) and `lost` (a camera does not answer: nothing can be
inspected until it does; stays after a stop while it was still lost).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6 import QtCore, QtWidgets

from ui.elided_label import ElidedLabel
from ui.palette import NOT_RECORDING_COLOUR, RECORDING_COLOUR, STATE_COLOURS, text_on

TRIGGER_WAIT_S = 3.0
HEADLINES = {"stopped": "STOPPED", "starting": "STARTING", "waiting": "WAITING", "running": "RUNNING",
             "stopping": "STOPPING"}


class RunStateIndicator(QtWidgets.QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("runState")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(10, 2, 4, 2)
        row.setSpacing(12)
        self.headline = QtWidgets.QLabel("")
        font = self.headline.font()
        font.setBold(True)
        font.setPointSize(font.pointSize() + 3)
        self.headline.setFont(font)
        self.detail = ElidedLabel("")
        self.recording = ElidedLabel("")
        self.recording.setObjectName("recording")
        row.addWidget(self.headline)
        row.addWidget(self.detail, 3)
        row.addWidget(self.recording, 2)
        self.state = ""
        self.log: Optional[str] = None
        self.set_recording(None)
        self.set_state("stopped", "choose a source and press Start")

    def text(self) -> str:
        return self.headline.text()

    def set_state(self, state: str, detail: str = "", *, headline: str = "") -> None:
        headline = headline or HEADLINES[state]
        if (state, headline, detail) == (self.state, self.headline.text(), self.detail.full_text()):
            return  # the stats timer asks every poll; a style sheet set again costs a relayout
        if state != self.state:
            colour = STATE_COLOURS[state]
            self.setStyleSheet(f"#runState {{ background: {colour}; border-radius: 4px; }} "
                               f"#runState QLabel {{ color: {text_on(colour)}; }} "
                               "#runState QLabel#recording { color: white; border-radius: 3px; padding: 0 6px; }")
        self.state = state
        self.headline.setText(headline)
        self.detail.set_full_text(detail)

    def show_lost(self, lost: dict, note: str = "") -> None:
        """Cameras that do not answer (name → why)."""
        detail = " · ".join([f"{name}: {why}" for name, why in sorted(lost.items())] + ([note] if note else []))
        self.set_state("lost", detail, headline=f"LOST · {', '.join(sorted(lost))}")

    def set_recording(self, log: Optional[str | Path]) -> None:
        """The log this run records to, or None: not recording."""
        self.log = str(log) if log else None
        colour = RECORDING_COLOUR if log else NOT_RECORDING_COLOUR
        self.recording.set_full_text(f"● REC {Path(log).name}" if log else "not recording")
        self.recording.setToolTip(f"recording to {log}" if log else "this run writes no log")
        self.recording.setStyleSheet(f"background: {colour};")
