"""The desktop application's commands, contributed to `inspector` through the entry-point group
`inspector.commands`: `gui`, `review`, and the window of `demo`.

This module imports no Qt: `inspector` loads it to build its parser for every
command, and a machine whose Qt is broken must still run the headless ones. Qt
is tried in a child process first, because it aborts the whole process when its
platform plugin does not load (a missing libxcb-cursor0 is enough).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from inspector.cli.contributions import Command, Window, has_display
from inspector.cli.options import add_device
from inspector.errors import InspectorError


def qt_cannot_start() -> str:
    """Why Qt cannot open a window here, or "" if it can."""
    probe = "from PySide6.QtGui import QGuiApplication; QGuiApplication([])"
    try:
        r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "Qt did not start within 60 s"
    if r.returncode == 0:
        return ""
    lines = [l.strip() for l in r.stderr.splitlines() if l.strip() and not l.startswith("Available platform")]
    if lines and lines[0].startswith("Traceback"):
        return lines[-1]  # Python's own error (PySide6 missing or broken) is the traceback's last line
    needed = [l for l in lines if "is needed" in l]
    return (needed or lines or [f"exit status {r.returncode}"])[0].replace("qt.qpa.plugin: ", "")


def _require_gui() -> None:
    if not has_display():
        raise InspectorError("no display found (set DISPLAY or WAYLAND_DISPLAY, or use the command-line tools)")
    why = qt_cannot_start()
    if why:
        raise InspectorError(f"the desktop application cannot start here: {why}")


def run_gui(args: argparse.Namespace) -> int:
    _require_gui()
    from ui.app import run_app

    return run_app(view="operator", device=args.device, fullscreen=args.fullscreen)


def run_review(args: argparse.Namespace) -> int:
    from inspector.records import RecordReader

    with RecordReader(args.log):  # a log that cannot be opened is reported here, in one line
        pass
    _require_gui()
    from ui.app import run_app

    return run_app(view="review", log=str(args.log), device=args.device)


def run_demo_window(args: argparse.Namespace) -> int:
    from ui.app import run_app

    return run_app(demo=True, device=args.device)


def _gui_arguments(p: argparse.ArgumentParser) -> None:
    add_device(p, "where the model runs")
    p.add_argument("--fullscreen", action="store_true",
                   help="open full screen, as on a panel at the line (F11 toggles it)")


def _review_arguments(p: argparse.ArgumentParser) -> None:
    from pathlib import Path

    p.add_argument("log", type=Path, help="the inspection log (.h5)")
    add_device(p, "where re-runs run")


GUI = Command(
    help="open the desktop application (operator, review and audit views)",
    description="Open the desktop application with nothing running: the operator view (choose a source, "
    "start and stop, live views with Grad-CAM overlays, verdict, curves, counters, NOK gallery, "
    "recording), the review view (open a log, filter, label, export, re-run) and the audit view. "
    "Choices are remembered between launches; F1 lists the keyboard shortcuts (F5 start, Shift+F5 "
    "stop, F11 full screen, N next NOK, A acknowledge); Mode → Engineer mode shows the developer options.",
    add_arguments=_gui_arguments,
    run=run_gui,
)

REVIEW = Command(
    help="open the review view of the desktop application on a log",
    description="Open a log in the review view: a table of its records (following new ones while it is "
    "written) with sorting and filters, most uncertain first (the margin between the two most likely "
    "classes) to label what teaches the model most, the detail of each record (views, eight heatmaps, "
    "curves, probabilities, provenance), engineer labels (OK / NOK / unsure or the true class, keys "
    "O N U and 1-9), exports and re-runs with the current model.",
    add_arguments=_review_arguments,
    run=run_review,
)

DEMO_WINDOW = Window(cannot_start=qt_cannot_start, run=run_demo_window)
