"""Operator and engineer modes, and the optional PIN in front of engineer mode.

The PIN is a convenience lock that keeps an operator from changing the
explainer or a source's developer options by accident. It is NOT security:
anyone who can edit the settings file, or run `inspector run` in a shell, can
do everything the engineer mode allows. Only a salted hash of the PIN is kept
(PBKDF2-HMAC-SHA256, RFC 8018), so the file does not show the PIN itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Callable, Optional

from PySide6 import QtCore, QtWidgets

from ui.settings import Settings

ENGINEER_KEY = "mode/engineer"
PIN_HASH_KEY = "mode/pin_hash"
PIN_SALT_KEY = "mode/pin_salt"
PIN_ROUNDS = 100_000  # a fraction of a second: slows a guess at the file, never the operator

# Attributes of the operator view that only the engineer sees (with their form rows).
ENGINEER_WIDGETS = ("explainer", "curves")


def pin_hash(pin: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, PIN_ROUNDS).hex()


class ModeLock(QtCore.QObject):
    """Whether the engineer mode is on, and its PIN; `changed(bool)` when the mode changes.

    `ask_pin` asks the person for the PIN (a dialog by default; tests pass their own); it returns
    None when they cancel."""

    changed = QtCore.Signal(bool)

    def __init__(self, settings: Settings, ask_pin: Optional[Callable[[str], Optional[str]]] = None, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.ask_pin = ask_pin or _ask_pin_dialog
        # A PIN-locked engineer mode is not restored on the next launch: it would bypass the lock.
        self.engineer = settings.flag(ENGINEER_KEY, False) and not self.has_pin

    @property
    def has_pin(self) -> bool:
        return bool(self.settings.text(PIN_HASH_KEY))

    def check_pin(self, pin: str) -> bool:
        if not self.has_pin:
            return True
        salt = bytes.fromhex(self.settings.text(PIN_SALT_KEY))
        return hmac.compare_digest(pin_hash(pin, salt), self.settings.text(PIN_HASH_KEY))

    def set_pin(self, pin: str) -> None:
        """Set the PIN ("" clears it)."""
        if not pin:
            self.clear_pin()
            return
        salt = os.urandom(16)
        self.settings.set(PIN_SALT_KEY, salt.hex())
        self.settings.set(PIN_HASH_KEY, pin_hash(pin, salt))
        self.settings.sync()

    def clear_pin(self) -> None:
        self.settings.remove(PIN_HASH_KEY)
        self.settings.remove(PIN_SALT_KEY)
        self.settings.sync()

    def enter_engineer(self, pin: Optional[str] = None) -> bool:
        """Enter engineer mode; with a PIN set, `pin` (or the one asked for) must match."""
        if self.engineer:
            return True
        if self.has_pin:
            if pin is None:
                pin = self.ask_pin("Engineer mode: PIN")
            if pin is None or not self.check_pin(pin):
                return False
        self._set(True)
        return True

    def leave_engineer(self) -> None:
        self._set(False)

    def _set(self, on: bool) -> None:
        self.engineer = on
        self.settings.set(ENGINEER_KEY, on)
        self.changed.emit(on)


def _ask_pin_dialog(title: str) -> Optional[str]:
    text, ok = QtWidgets.QInputDialog.getText(
        QtWidgets.QApplication.activeWindow(), "inspector", title, QtWidgets.QLineEdit.EchoMode.Password)
    return text if ok else None


def show_engineer_widgets(view, on: bool) -> None:
    """Show or hide the operator view's engineer widgets: the source form's developer options, and
    the explainer and curve-mode choosers with their labels (a form row is hidden whole)."""
    chooser = getattr(view, "chooser", None)
    if chooser is not None and hasattr(chooser, "set_engineer_mode"):
        chooser.set_engineer_mode(on)
    for name in ENGINEER_WIDGETS:
        widget = getattr(view, name, None)
        if widget is not None:
            show_row(widget, on)


def show_row(widget: QtWidgets.QWidget, visible: bool) -> None:
    """Show or hide a widget, with its label when it sits in a form."""
    parent = widget.parentWidget()
    form = parent.layout() if parent is not None else None
    if isinstance(form, QtWidgets.QFormLayout) and form.indexOf(widget) >= 0:
        form.setRowVisible(widget, visible)
    else:
        widget.setVisible(visible)
