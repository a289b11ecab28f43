"""The operator's Run box: what a run uses (model, rig, curves policy, explainer, whether pairs may be
dropped), where it records, and the Start and Stop buttons."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Optional

from PySide6 import QtWidgets

from inspector.pipeline import CURVE_POLICIES
from ui.app_context import AppContext
from ui.elided_label import ElidedLabel
from ui.explainer_chooser import ExplainerChooser

FILE_SOURCES = ("folder", "video")  # finite inputs: wait for the model rather than drop a pair


def breakable(text: str) -> str:
    """`text` with a zero-width space after each / _ - and ., so a word-wrapped label can break a path."""
    for c in "/_-.":
        text = text.replace(c, c + "\u200b")
    return text


def default_log_path(folder: Path) -> Path:
    return folder / f"inspector-{_dt.datetime.now():%Y-%m-%dT%H%M%S}.h5"


class RunPanel(QtWidgets.QGroupBox):
    def __init__(self, ctx: AppContext, log_folder: Path, parent=None):
        super().__init__("Run", parent)
        self.log_folder = log_folder
        form = QtWidgets.QFormLayout(self)
        form.setVerticalSpacing(4)
        self.model_label = ElidedLabel(ctx.model_identity())
        self.model_label.setToolTip(f"{ctx.model_identity()}\n{ctx.model_file}\nsha256 {getattr(ctx.model, 'sha256', '?')}")
        form.addRow("model", self.model_label)
        self.rig_label = QtWidgets.QLabel(breakable(ctx.rig_identity()))
        self.rig_label.setWordWrap(True)
        self.rig_label.setToolTip(f"{ctx.rig_file}\nsha256 {ctx.rig.sha256 if ctx.rig is not None else '-'}")
        form.addRow("rig", self.rig_label)
        self.curves = QtWidgets.QComboBox()
        self.curves.addItems(CURVE_POLICIES)
        self.curves.setCurrentText("nok")
        self.curves.setToolTip("Which cavities get the masked-input curves and m (the costly part):\n"
                               "all, nok (only those not judged OK, i.e. predicted other than the model's OK class) or none")
        form.addRow("curves", self.curves)
        self.explainer = ExplainerChooser(ctx.registry)
        form.addRow("explainer", self.explainer)
        self.keep_all = QtWidgets.QCheckBox("wait for the model, never drop")
        self.keep_all.setToolTip("On for folders and video files; off for a live line, where the newest pair matters")
        form.addRow("pairs", self.keep_all)
        self.record = QtWidgets.QCheckBox("Record to log")
        self.record.setToolTip("Write every inspection to an HDF5 log (open it in Review, also while it grows)")
        self.record.setChecked(True)  # a line's results are kept unless someone says otherwise
        form.addRow(self.record)
        path_row = QtWidgets.QHBoxLayout()
        self.log_path = QtWidgets.QLineEdit()
        self._propose(default_log_path(self.log_folder))
        self.log_path.textChanged.connect(self._log_path_changed)
        self._log_path_changed(self.log_path.text())
        browse = QtWidgets.QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose the log file")
        browse.clicked.connect(self._choose_log)
        path_row.addWidget(self.log_path, 1)
        path_row.addWidget(browse)
        form.addRow(path_row)
        buttons = QtWidgets.QHBoxLayout()
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.setToolTip("Open the source and inspect")
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setToolTip("Finish the batch in flight, close the log, show the summary")
        self.stop_button.setEnabled(False)
        for button in (self.start_button, self.stop_button):  # the operator's main controls: large
            font = button.font()
            font.setPointSize(font.pointSize() + 3)
            font.setBold(True)
            button.setFont(font)
            button.setMinimumHeight(40)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        form.addRow(buttons)

    # Slots return None: PySide6 6.12 drops a reference to a bool a Python slot returns.
    def _log_path_changed(self, text: str) -> None:
        self.log_path.setToolTip(f"{text}\nThe log file to create (.h5); a log is never overwritten")

    def source_changed(self, name: str) -> None:
        self.keep_all.setChecked(name in FILE_SOURCES)

    def _choose_log(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Record to log", self.log_path.text(), "Inspection logs (*.h5)")
        if path:
            self.log_path.setText(path if path.endswith((".h5", ".hdf5")) else path + ".h5")
            self.record.setChecked(True)

    def log_target(self) -> Optional[Path]:
        """The log the next run records to, None when it records nothing."""
        if not self.record.isChecked():
            return None
        text = self.log_path.text().strip()
        if not text or text == self._proposed:
            # The name the field proposed, not one the user typed: dated now, when the run starts, not when
            # the window opened or the last run ended.
            self._propose(default_log_path(Path(text).parent if text else self.log_folder))
            text = self._proposed
        path = Path(text)
        if path.parent == self.log_folder:
            path.parent.mkdir(parents=True, exist_ok=True)  # the default folder is ours to make
        return path

    def set_log_folder(self, folder: Path) -> None:
        """Record into `folder` from now on: the proposed log moves there."""
        self.log_folder = Path(folder)
        self._propose(default_log_path(self.log_folder))

    def _propose(self, path: Path) -> None:
        self._proposed = str(path)
        self.log_path.setText(self._proposed)

    def propose_new_log(self, log: str) -> None:
        """A run wrote `log`: a log is never overwritten, so the field proposes a new one beside it."""
        if Path(self.log_path.text()) == Path(log):
            self._propose(default_log_path(Path(log).parent))

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.explainer.setEnabled(not running)  # a run keeps the explainer it started with
