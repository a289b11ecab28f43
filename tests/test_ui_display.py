"""The application under a real X server (Xvfb): `inspector demo` opens the window inspecting and
recording, and SIGTERM closes it with the log valid.

`.ci/system-packages` installs Xvfb and the X libraries Qt loads, so a missing one fails the test;
INSPECTOR_ALLOW_NO_XVFB=1 skips it instead, for machines where they cannot be installed.
"""

import glob
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

XVFB = shutil.which("xvfb-run")
ALLOW_MISSING = "INSPECTOR_ALLOW_NO_XVFB"


def _missing(what: str) -> None:
    message = f"{what}: run .ci/system-packages (Debian), or set {ALLOW_MISSING}=1 to skip this test"
    if os.environ.get(ALLOW_MISSING) == "1":
        pytest.skip(message)
    pytest.fail(message)


def _env():
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["TMPDIR"] = env.get("TMPDIR", "/tmp")
    return env


def test_demo_opens_the_application_and_closes_its_log_on_sigterm(tmp_path):
    if XVFB is None:
        _missing("xvfb-run not found")
    env = {**_env(), "TMPDIR": str(tmp_path)}
    probe = subprocess.run([XVFB, "-a", sys.executable, "-c",
                            "from PySide6.QtGui import QGuiApplication; QGuiApplication([])"],
                           capture_output=True, text=True, env=env, timeout=120)
    if probe.returncode != 0:
        _missing(f"Qt's xcb platform cannot start under Xvfb ({probe.stderr.strip().splitlines()[-1:]})")
    proc = subprocess.Popen([XVFB, "-a", sys.executable, "-m", "inspector.cli", "demo"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        logs = []
        while time.monotonic() < deadline and not logs:
            logs = glob.glob(str(tmp_path / "inspector-demo-*" / "demo.h5"))
            time.sleep(0.5)
        assert logs, "the demo made no log"
        time.sleep(8)  # inspecting and recording
        # Signal the demo itself (not xvfb-run, whose command line names it too), as a service manager would.
        demo = subprocess.run(["pgrep", "-s", str(proc.pid), "-f", r"^\S*python\S* -m inspector.cli demo"],
                              capture_output=True, text=True).stdout.split()
        assert len(demo) == 1, demo
        os.kill(int(demo[0]), signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        try:  # the X server too: it is in the session xvfb-run leads
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    from inspector.records import RecordReader

    with RecordReader(logs[0]) as log:
        assert log.closed_cleanly and len(log) > 0
