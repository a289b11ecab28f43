"""Where the desktop application remembers what the user chose between launches.

One `Settings` wraps a `QtCore.QSettings`: the user's own (organisation and
application "inspector", in the platform's usual place) or an INI file named by
the environment variable `INSPECTOR_SETTINGS` or passed in. Tests, the benchmark
and the screenshot script use a file of their own so that they never read nor
change the user's settings.

Values go through typed getters: an INI file gives every value back as a
string, and a value a user edited by hand into nonsense falls back to the
default instead of stopping the application.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Optional

from PySide6 import QtCore

ORGANISATION = "inspector"
APPLICATION = "inspector"
ENVIRONMENT = "INSPECTOR_SETTINGS"  # an INI file to use instead of the user's settings


class Settings:
    def __init__(self, qsettings: QtCore.QSettings):
        self.q = qsettings

    @classmethod
    def user(cls) -> "Settings":
        """The user's settings, or the INI file `INSPECTOR_SETTINGS` names."""
        path = os.environ.get(ENVIRONMENT, "").strip()
        if path:
            return cls.at(path)
        return cls(QtCore.QSettings(ORGANISATION, APPLICATION))

    @classmethod
    def at(cls, path: str | Path) -> "Settings":
        """Settings kept in the INI file `path` (created when first written)."""
        return cls(QtCore.QSettings(str(path), QtCore.QSettings.Format.IniFormat))

    @classmethod
    def scratch(cls) -> "Settings":
        """Settings in a new temporary file: a run that must neither read nor change the user's."""
        return cls.at(Path(tempfile.mkdtemp(prefix="inspector-settings-")) / "settings.ini")

    @property
    def file(self) -> str:
        return self.q.fileName()

    def contains(self, key: str) -> bool:
        return self.q.contains(key)

    def set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def remove(self, key: str) -> None:
        self.q.remove(key)

    def sync(self) -> None:
        self.q.sync()

    def text(self, key: str, default: str = "") -> str:
        value = self.q.value(key, default)
        return default if value is None else str(value)

    def integer(self, key: str, default: int) -> int:
        try:
            return int(self.q.value(key, default))
        except (TypeError, ValueError):
            return default

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.q.value(key, default)
        if isinstance(value, str):  # INI files keep "true" / "false"
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)

    def data(self, key: str) -> Optional[QtCore.QByteArray]:
        value = self.q.value(key)
        return value if isinstance(value, QtCore.QByteArray) and not value.isEmpty() else None

    def json(self, key: str, default):
        """A value kept as JSON text (nested dicts, which QSettings would flatten per platform)."""
        try:
            return json.loads(self.text(key, "")) if self.contains(key) else default
        except ValueError:
            return default

    def set_json(self, key: str, value) -> None:
        self.set(key, json.dumps(value, sort_keys=True))
