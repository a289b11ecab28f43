"""The window's Mode and Help menus, the log folder chooser, and what the keyboard shortcuts do.

`install` is called once by `build_window`; what it makes hangs on the window as attributes
(`mode_lock`, `shortcut_actions`, `engineer_action`, …) so tests and scripts can reach it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6 import QtGui, QtWidgets

from ui import shortcuts, window_state
from ui.about_dialog import AboutDialog, about_text
from ui.modes import ModeLock
from ui.settings import Settings


def install(window, settings: Settings, *, remember: bool = True) -> None:
    """Menus, shortcuts and modes. With `remember`, the window's state is restored now and saved
    when it closes (the demo remembers nothing: its choices are not the user's)."""
    op = window.operator
    window.settings = settings
    window.dialogs = {}
    handlers = {
        "start": op.start,
        "stop": op.stop,
        "next_nok": lambda: next_nok(op),
        "acknowledge": lambda: acknowledge(op),
        "toggle_full_screen": lambda: toggle_full_screen(window),
        "help": lambda: show_dialog(window, "shortcuts", shortcuts.ShortcutsDialog),
    }
    window.shortcut_actions = shortcuts.bind(window, handlers, lambda: window.tabs.currentWidget() is op)
    window.view_menu.addSeparator()
    window.view_menu.addAction(window.shortcut_actions["toggle_full_screen"])

    window.add_file_action("Log &folder…", None, lambda: choose_log_folder(window))

    lock = window.mode_lock = ModeLock(settings, parent=window)
    mode_menu = window.menuBar().addMenu("&Mode")
    engineer = window.engineer_action = QtGui.QAction("&Engineer mode", window)
    engineer.setCheckable(True)
    engineer.setToolTip("Source developer options, explainer and curve mode (asks the PIN if one is set)")
    engineer.triggered.connect(lambda checked: _engineer_toggled(window, checked))
    mode_menu.addAction(engineer)
    mode_menu.addSeparator()
    window.set_pin_action = mode_menu.addAction("Set engineer &PIN…", lambda: _set_pin(window))
    window.clear_pin_action = mode_menu.addAction("&Clear engineer PIN", lock.clear_pin)
    mode_menu.addSeparator()
    window.line_server_action = mode_menu.addAction("&Line server (OPC UA)…", lambda: set_line_server(window))
    lock.changed.connect(lambda on: _show_mode(window, on))
    _show_mode(window, lock.engineer)

    help_menu = window.menuBar().addMenu("&Help")
    keys = window.shortcut_actions["help"]
    keys.setText("&Keyboard shortcuts")
    help_menu.addAction(keys)
    help_menu.addAction("&About", lambda: show_about(window))

    if remember:
        window_state.restore(window, settings)
        window.closing.connect(lambda: window_state.save(window, settings))


def _show_mode(window, on: bool) -> None:
    window.operator.set_engineer_mode(on)
    window.engineer_action.setChecked(on)
    # An operator must not clear the PIN that keeps them out of engineer mode.
    window.set_pin_action.setEnabled(on)
    window.clear_pin_action.setEnabled(on)
    window.line_server_action.setEnabled(on)  # where the machine is told the verdicts: an engineer's choice


def set_line_server(window, setting=None) -> None:
    """Ask (or take) where runs serve their verdicts over OPC UA; it holds from the next Start on."""
    from ui.line_server import ask_line_server

    op = window.operator
    setting = setting if setting is not None else ask_line_server(op.line_server, window)
    if setting is not None:
        op.line_server = setting
        window.statusBar().showMessage(f"line server: {setting.url} ({setting.security}) from the next run"
                                       if setting.on else "line server: off", 8000)


def _engineer_toggled(window, checked: bool) -> None:
    lock = window.mode_lock
    if checked and not lock.enter_engineer():
        window.engineer_action.setChecked(False)
        window.statusBar().showMessage("wrong PIN: engineer mode stays off", 8000)
    elif not checked:
        lock.leave_engineer()


def _set_pin(window) -> None:
    pin = window.mode_lock.ask_pin("New engineer PIN (empty: none). A convenience lock, not security")
    if pin is not None:
        window.mode_lock.set_pin(pin.strip())


def set_log_folder(window, folder: str | Path) -> None:
    """Record into `folder` from now on, and remember it."""
    folder = Path(folder)
    op = window.operator
    op.log_folder = folder
    op.run_panel.set_log_folder(folder)
    window.settings.set(window_state.LOG_FOLDER_KEY, str(folder))
    window.settings.sync()


def choose_log_folder(window) -> None:
    folder = QtWidgets.QFileDialog.getExistingDirectory(window, "Folder for inspection logs",
                                                        str(window.operator.log_folder))
    if folder:
        set_log_folder(window, folder)


def next_nok(view) -> Optional[int]:
    """Select the next (older) NOK of the gallery and hold it on screen; after the oldest, the newest
    again. Returns the row shown, None when the gallery is empty."""
    gallery = getattr(view, "gallery", None)
    frames = getattr(gallery, "frames", None)
    if not frames:
        return None
    row = gallery.currentRow() + 1 if gallery.selectedItems() else 0
    row = row if row < len(frames) else 0
    gallery.setCurrentRow(row)
    view.pin(frames[row])
    return row


def acknowledge(view) -> None:
    """Acknowledge every NOK that waits on the per-cavity tiles (key A)."""
    view.acknowledge_all()


def toggle_full_screen(window) -> None:
    if window.isFullScreen():
        window.showNormal()
    else:
        window.showFullScreen()


def show_dialog(window, key: str, make) -> QtWidgets.QDialog:
    """Show a non-modal dialog (one of each: a second F1 raises the first)."""
    dialog = window.dialogs.get(key)
    if dialog is None:
        dialog = window.dialogs[key] = make(window)
    dialog.show()
    dialog.raise_()
    return dialog


def show_about(window) -> QtWidgets.QDialog:
    text = about_text(window.operator.context, window.operator.log_folder, window.settings.file)
    dialog = window.dialogs.pop("about", None)
    if dialog is not None:
        dialog.close()
    return show_dialog(window, "about", lambda parent: AboutDialog(text, parent))
