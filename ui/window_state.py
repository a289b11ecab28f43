"""What the window remembers between launches (ui/settings.py): the source and every source's options,
the heatmap stage, opacity and colour map, the curve mode and explainer, the window's geometry and
its splitters, and the line server (OPC UA) runs serve on. The engineer mode and the log folder are kept where they are changed (ui/modes.py,
ui/window_actions.py).

A remembered value that no longer fits (a source since uninstalled, a colour map renamed) is
skipped: the default stays, and the application starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6 import QtWidgets

from ui.line_server import SECURITIES, LineServerSetting
from ui.settings import Settings

LOG_FOLDER_KEY = "run/log_folder"
DEFAULT_LOG_FOLDER = Path.home() / "inspector-logs"


def log_folder(settings: Settings) -> Path:
    """The folder the user chose for logs once, or ~/inspector-logs."""
    return Path(settings.text(LOG_FOLDER_KEY) or DEFAULT_LOG_FOLDER)


def restore(window, settings: Settings) -> None:
    op = window.operator
    chooser = op.chooser
    chooser.set_all_options(settings.json("source/options", {}))
    name = settings.text("source/name")
    if name and chooser.is_enabled(name):
        chooser.choose(name)
    overlay = getattr(op, "overlay", None)
    if overlay is not None:
        stage = settings.integer("view/stage", overlay.stage.currentIndex())
        if 0 <= stage < overlay.stage.count():
            overlay.stage.setCurrentIndex(stage)
        opacity = settings.integer("view/opacity", overlay.opacity.value())
        overlay.opacity.setValue(max(overlay.opacity.minimum(), min(overlay.opacity.maximum(), opacity)))
        _choose_text(overlay.colormap, settings.text("view/colormap"))
    _choose_text(op.curves, settings.text("run/curves"))
    _choose_text(op.explainer, settings.text("run/explainer"))
    security = settings.text("opcua/security", "sign-and-encrypt")
    op.line_server = LineServerSetting(settings.text("opcua/url"),
                                       security if security in SECURITIES else "sign-and-encrypt")
    geometry = settings.data("window/geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
    for key, splitter in _splitters(window):
        state = settings.data(key)
        if state is not None:
            splitter.restoreState(state)


def save(window, settings: Settings) -> None:
    op = window.operator
    settings.set("source/name", op.chooser.name)
    settings.set_json("source/options", op.chooser.all_options())
    overlay = getattr(op, "overlay", None)
    if overlay is not None:
        settings.set("view/stage", overlay.stage.currentIndex())
        settings.set("view/opacity", overlay.opacity.value())
        settings.set("view/colormap", overlay.colormap.currentText())
    settings.set("run/curves", op.curves.currentText())
    settings.set("run/explainer", op.explainer.currentText())
    settings.set("opcua/url", op.line_server.url)
    settings.set("opcua/security", op.line_server.security)
    settings.set("window/geometry", window.saveGeometry())
    for key, splitter in _splitters(window):
        settings.set(key, splitter.saveState())
    settings.sync()


def _choose_text(combo: QtWidgets.QComboBox, text: Optional[str]) -> None:
    i = combo.findText(text) if text else -1
    item = combo.model().item(i) if i >= 0 and hasattr(combo.model(), "item") else None
    if i >= 0 and (item is None or item.isEnabled()):
        combo.setCurrentIndex(i)


def _splitters(window):
    """Each splitter of each view with a key that stays the same from one launch to the next: the
    view's name and the splitter's place among the view's splitters."""
    for name, view in window.views.items():
        for i, splitter in enumerate(view.findChildren(QtWidgets.QSplitter)):
            yield f"window/splitters/{name}/{splitter.objectName() or i}", splitter
