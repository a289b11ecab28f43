"""The application under a real X server (Xvfb), where one is installed: `inspector demo` opens the
window inspecting and recording, and SIGTERM closes it with the log valid."""

import glob
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

XVFB = shutil.which("xvfb-run")


def _env():
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["TMPDIR"] = env.get("TMPDIR", "/tmp")
    return env


@pytest.mark.skipif(XVFB is None, reason="needs xvfb-run (Debian: apt-get install xvfb)")
def test_demo_opens_the_application_and_closes_its_log_on_sigterm(tmp_path):
    env = {**_env(), "TMPDIR": str(tmp_path)}
    probe = subprocess.run([XVFB, "-a", sys.executable, "-c",
                            "from PySide6.QtGui import QGuiApplication; QGuiApplication([])"],
                           capture_output=True, text=True, env=env, timeout=120)
    if probe.returncode != 0:
        pytest.skip("Qt's xcb platform cannot start here (missing libxcb libraries)")
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
