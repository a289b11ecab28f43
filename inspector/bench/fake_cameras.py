"""Aravis's fake GigE Vision cameras (`arv-fake-gv-camera-0.8`) on loopback, for the genicam benchmark and
the genicam source's tests.

Each camera is a process of its own on its own address (127.0.0.1, 127.0.0.2), so
one can be killed and started again on the same address like a camera losing its
power. Only the processes started here are ever stopped, by the pid their Popen
gave. 127.0.0.2 is added to `lo` only when it is not there, and removed only
if it was added here.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import Optional

FAKE = "arv-fake-gv-camera-0.8"
ANSWER_S = 30.0  # how long a started camera may take to answer discovery; only a broken one takes it


def why_unavailable(registry) -> str:
    """Why the fake cameras cannot be run and read here, or "": the program, and the genicam source."""
    if shutil.which(FAKE) is None:
        return f"{FAKE} is not installed (Debian: aravis-tools)"
    plugin = registry.load("sources", "genicam")
    return "" if plugin.ok else f"the genicam source {plugin.status}: {plugin.error}"


def has_address(address: str) -> bool:
    out = subprocess.run(["ip", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True).stdout
    return f"inet {address}/" in out


class LoopbackAddress:
    """`address` on lo for as long as it is needed: added if missing, and then removed again."""

    def __init__(self, address: str):
        self.address = address
        self.added = False

    def __enter__(self) -> "LoopbackAddress":
        if not has_address(self.address):
            subprocess.run(["ip", "addr", "add", f"{self.address}/8", "dev", "lo"], check=True, capture_output=True)
            self.added = True
        return self

    def __exit__(self, *exc) -> None:
        if self.added:
            subprocess.run(["ip", "addr", "del", f"{self.address}/8", "dev", "lo"], capture_output=True)
            self.added = False


class FakeCamera:
    """One fake camera process: `start()` waits until discovery finds it, `kill()` takes it away."""

    def __init__(self, address: str, serial: str, registry, loss_per_mille: int = 0):
        self.registry = registry  # finds the genicam source, whose device list says when a camera answers
        self.address = address
        self.serial = serial
        self.loss = loss_per_mille
        self.process: Optional[subprocess.Popen] = None

    @property
    def device_id(self) -> str:
        return f"Aravis-Fake-{self.serial}"

    def start(self) -> "FakeCamera":
        args = [FAKE, "-i", self.address, "-s", self.serial]
        if self.loss:
            args += ["-r", str(self.loss)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + ANSWER_S
        while not self.visible():  # each look is a discovery of about a second: no sleep needed
            if self.process.poll() is not None:
                raise RuntimeError(f"{FAKE} {self.serial} on {self.address} exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{FAKE} {self.serial} on {self.address} did not answer within {ANSWER_S:g} s")
        return self

    def visible(self) -> bool:
        """Whether discovery finds this camera now (about a second: discovery waits for answers)."""
        return any(d["serial"] == self.serial for d in self.registry.get("sources", "genicam").devices())

    def kill(self) -> None:
        """Gone at once, as a camera whose power was cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
