"""Help → About: which software, model, rig and log folder this window runs with (what a support call
asks first)."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtGui, QtWidgets


def about_text(context, log_folder: str | Path, settings_file: str = "") -> str:
    from inspector.model.card import format_card, model_card
    from inspector.version import __version__

    lines = [f"inspector {__version__}", ""]
    model = getattr(context, "model", None)
    lines.append(f"model  {Path(context.model_file).name or 'model'} · sha256 {getattr(model, 'sha256', '?')}")
    lines.append(f"rig    {context.rig_identity()}")
    lines.append(f"logs   {log_folder}")
    if settings_file:
        lines.append(f"settings  {settings_file}")
    try:
        card = format_card(model_card(model), "model card")
    except (AttributeError, KeyError, TypeError, ValueError):  # a model loaded without its card
        card = ""
    if card:
        lines += ["", card]
    return "\n".join(lines)


class AboutDialog(QtWidgets.QDialog):
    def __init__(self, text: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("About inspector")
        col = QtWidgets.QVBoxLayout(self)
        self.text = QtWidgets.QPlainTextEdit(text)
        self.text.setReadOnly(True)
        self.text.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        col.addWidget(self.text)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        col.addWidget(close)
        self.resize(760, 520)
