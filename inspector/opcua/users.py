"""The OPC UA server's users: name → role and a salted scrypt hash of the password, in `users.json`.

scrypt is the memory-hard key derivation of "Stronger Key Derivation via Sequential Memory-Hard
Functions" (Colin Percival, 2009), RFC 7914; a stolen file costs an attacker ~16 MiB and tens of
milliseconds per guess and per user (each has its own 16-byte salt). No password is ever stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from inspector.files import write_then_rename
from inspector.opcua.config_folder import SecurityConfigError

ROLES = ("operator", "engineer")
MIN_PASSWORD = 8
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# RFC 7914's interactive-login parameters: N=2^14, r=8, p=1 (16 MiB).
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
VERSION = 1


@dataclass(frozen=True)
class UserRecord:
    name: str
    role: str
    salt: str  # hex
    hash: str  # hex
    n: int = SCRYPT["n"]
    r: int = SCRYPT["r"]
    p: int = SCRYPT["p"]

    def verify(self, password: str) -> bool:
        digest = _scrypt(password, bytes.fromhex(self.salt), self.n, self.r, self.p)
        return hmac.compare_digest(digest.hex(), self.hash)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise SecurityConfigError(f"user name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting "
                                  "with a letter or digit")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise SecurityConfigError(f"password: too short ({len(password)} characters); use at least {MIN_PASSWORD}")
    return password


def new_record(name: str, role: str, password: str) -> UserRecord:
    if role not in ROLES:
        raise SecurityConfigError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    salt = secrets.token_bytes(16)
    digest = _scrypt(check_password(password), salt, **SCRYPT)
    return UserRecord(check_name(name), role, salt.hex(), digest.hex())


def load_users(path: Path) -> dict[str, UserRecord]:
    """The users of `path`; none when the file does not exist yet."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {VERSION}")
        return {name: UserRecord(name=name, **fields) for name, fields in data["users"].items()}
    except OSError as exc:
        raise SecurityConfigError(f"{path}: cannot read the users file ({exc.strerror})") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SecurityConfigError(f"{path}: not a users file of inspector ({exc})") from None


def save_users(path: Path, users: dict[str, UserRecord]) -> None:
    """Write `users` whole under a temporary name, owner-only (0600), then rename it over `path`."""
    data = {"version": VERSION,
            "users": {u.name: {k: v for k, v in vars(u).items() if k != "name"} for u in users.values()}}

    def write(partial: Path) -> None:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.chmod(partial, 0o600)  # an old partial file keeps its mode through O_CREAT

    write_then_rename(path, write, SecurityConfigError)


def check_new_user(path: Path, name: str, overwrite: bool) -> dict[str, UserRecord]:
    """The users of `path`, after refusing a bad `name` or one taken (unless `overwrite`)."""
    users = load_users(path)
    check_name(name)
    if name in users and not overwrite:
        raise SecurityConfigError(f"user {name!r}: already exists in {path}; pass --overwrite to replace it")
    return users


def add_user(path: Path, name: str, role: str, password: str, *, overwrite: bool = False) -> UserRecord:
    users = check_new_user(path, name, overwrite)
    users[name] = record = new_record(name, role, password)
    save_users(path, users)
    return record
