"""The operator's Last run box: the summary of the run that ended, in the command line's words, and the
button that opens its log in Review."""

from __future__ import annotations

from typing import Optional

from PySide6 import QtCore, QtWidgets

from inspector.runner import format_summary
from ui.run_panel import breakable


class RunSummary(QtWidgets.QGroupBox):
    review_requested = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__("Last run", parent)
        self.lines: list[str] = []
        self.log: Optional[str] = None
        scol = QtWidgets.QVBoxLayout(self)
        self.text = QtWidgets.QLabel("")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        scol.addWidget(self.text)
        self.review_button = QtWidgets.QPushButton("Open log in Review")
        self.review_button.setToolTip("Open the log this run wrote in the Review tab")
        self.review_button.clicked.connect(self._review_clicked)
        scol.addWidget(self.review_button)
        self.hide()

    # Slots return None: PySide6 6.12 drops a reference to a bool a Python slot returns.
    def _review_clicked(self) -> None:
        if self.log:
            self.review_requested.emit(self.log)

    def show_run(self, stats, source) -> None:
        # The command line's wording, except where it names a command-line option.
        self.lines = [line.replace("not logged (no --out)", "not recorded (Record to log was off)")
                      for line in format_summary(stats, source)]
        self.text.setText(breakable("\n".join(self.lines)))  # a long log path wraps instead of being cut
        self.text.setToolTip("\n".join(self.lines))
        self.log = stats.log_files[0] if stats.log_files else None
        self.review_button.setVisible(bool(self.log))
        self.show()
