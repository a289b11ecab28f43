"""Which process writes a log, and whether it still runs.

A log records its writer (host, pid, the process's start time and the boot it
ran in) when it is made. A pid alone is not enough: pids are reused, so a
writer counts as running only if a process with its pid started at the same
moment of the same boot. Only Linux says when a process started
(/proc/<pid>/stat); elsewhere the start is unknown, and a live pid then cannot
tell the writer from a newcomer.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

UNKNOWN_START = -1  # stored for `start_ticks` where the system does not say


def _start_ticks(pid: int) -> Optional[int]:
    """Field 22 of /proc/<pid>/stat (clock ticks after boot); None if there is no such running process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = text[text.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):  # a zombie or dead process holds no file open
        return None
    return int(fields[19])


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@dataclass(frozen=True)
class WriterProcess:
    host: str
    pid: int
    start_ticks: Optional[int]  # None where the system does not say
    boot_id: str  # "" where the system does not say

    @classmethod
    def current(cls) -> "WriterProcess":
        pid = os.getpid()
        return cls(socket.gethostname(), pid, _start_ticks(pid), _boot_id())

    def to_attrs(self) -> dict:
        return {
            "host": self.host,
            "writer_pid": self.pid,
            "writer_start_ticks": UNKNOWN_START if self.start_ticks is None else self.start_ticks,
            "writer_boot_id": self.boot_id,
        }

    @classmethod
    def from_attrs(cls, attrs) -> Optional["WriterProcess"]:
        """The writer a log names; None for logs made before writers were recorded."""
        try:
            host, pid, start = attrs["host"], int(attrs["writer_pid"]), int(attrs["writer_start_ticks"])
            boot = attrs.get("writer_boot_id", "")
        except (KeyError, TypeError, ValueError):
            return None
        decode = lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        return cls(decode(host), pid, None if start == UNKNOWN_START else start, decode(boot))

    @property
    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    def running(self) -> Optional[bool]:
        """True if this process still runs, False if it does not, None if that cannot be told (another
        host, or a live pid whose start time is unknown)."""
        if not self.on_this_host:
            return None
        boot = _boot_id()
        if self.boot_id and boot and self.boot_id != boot:
            return False  # the machine restarted since
        if self.start_ticks is not None:
            return _start_ticks(self.pid) == self.start_ticks
        return None if _pid_exists(self.pid) else False
