"""Where the OPC UA server keeps its certificate, key, trusted client certificates and users.

The folder is `$INSPECTOR_CONFIG_DIR` when set (tests, a service account), else the user's
configuration folder (`$XDG_CONFIG_HOME/inspector/opcua`, by default `~/.config/inspector/opcua`).
Its files are secrets (the server's private key, password hashes): it is made readable by its
owner only, and the OS must keep it so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from inspector.errors import InspectorError

ENV = "INSPECTOR_CONFIG_DIR"


class SecurityConfigError(InspectorError):
    """A certificate, user file or configuration folder of the OPC UA server that cannot be used."""


def default_config_dir() -> Path:
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "inspector" / "opcua"


@dataclass(frozen=True)
class ConfigFolder:
    root: Path

    @classmethod
    def at(cls, root: Path | str | None = None) -> "ConfigFolder":
        return cls(Path(root) if root is not None else default_config_dir())

    @property
    def server_cert(self) -> Path:
        return self.root / "server" / "cert.der"

    @property
    def server_key(self) -> Path:
        return self.root / "server" / "key.pem"

    @property
    def trusted(self) -> Path:
        return self.root / "trusted"

    @property
    def users(self) -> Path:
        return self.root / "users.json"

    def make(self) -> "ConfigFolder":
        """Create the folders, owner-only (0700): they hold the key and the password hashes."""
        try:
            for folder in (self.root, self.server_cert.parent, self.trusted):
                folder.mkdir(parents=True, exist_ok=True)
                os.chmod(folder, 0o700)
        except OSError as exc:
            raise SecurityConfigError(f"{self.root}: cannot create the OPC UA configuration folder "
                                      f"({exc.strerror or exc})") from None
        return self
