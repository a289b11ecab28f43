"""Screenshots of the desktop application for the README: docs/operator.png (1920×1080, full screen),
operator-1024x768.png, review.png and audit.png.

Builds the real window offscreen, runs the operator view on the simulator (two
cavities per shot, recording) until NOK cavities fill part of the gallery, grabs
it in full screen at 1920×1080 and at 1024×768 (with `ui.window_grab.grab_at`,
as the layout test does), then
opens the log it wrote in the review view with a NOK record selected, and audits
that log in the audit view.

    python docs/make_screenshots.py [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing


def wait_until(app, condition, timeout: float, what: str) -> None:
    from PySide6 import QtCore

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"make_screenshots: timed out waiting for {what}")
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def settle(app, seconds: float = 0.3) -> None:
    """Let layouts and pending repaints finish before grabbing."""
    from ui.window_grab import settle as settle_layouts

    settle_layouts(seconds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=str(HERE), help="folder for the PNGs (default: docs/)")
    args = parser.parse_args(argv)
    out = Path(args.out)

    from ui.app import build_window, ensure_application
    from ui.settings import Settings
    from ui.window_grab import grab_at

    app = ensure_application()
    folder = Path(tempfile.mkdtemp(prefix="inspector-screens-"))
    try:
        # Settings of its own: the pictures must not depend on, nor change, what this user chose.
        window = build_window(device=args.device, log_folder=str(folder), settings=Settings.scratch())
        window.show()
        op = window.operator
        op.chooser.choose("simulator")
        for name, value in (("rate", 4), ("cavities", 2), ("seed", 7), ("hidden_share", 0.3)):
            op.chooser.set_option(name, value)
        op.curves.setCurrentText("all")
        op.record.setChecked(True)
        op.log_path.setText(str(folder / "line.h5"))
        if not op.start():
            raise SystemExit(f"make_screenshots: the simulator did not start: {op.error_strip.message}")
        wait_until(app, lambda: len(op.gallery.frames) >= 6 and int(op.counters.text("inspected") or 0) >= 20,
                   120, "NOK cavities in the gallery")
        # The live view on a NOK cavity whose curves say which camera it rests on.
        wait_until(app, lambda: op.shown is not None and not op.shown.is_ok and op.shown.has_curves
                   and op.shown.influence != "equal", 60, "a NOK cavity on screen")
        wait_until(app, lambda: len(op.tiles.tiles) == 2, 30, "both cavities' tiles")
        # Full screen on a 1080 p panel is a frameless window of its size: the offscreen platform draws both alike.
        grab_at(window, 1920, 1080, out / "operator.png", seconds=0.4)
        grab_at(window, 1024, 768, out / "operator-1024x768.png", seconds=0.4)
        window.resize(1280, 800)

        op.stop()
        wait_until(app, lambda: not op.running, 60, "the run to stop")
        review = window.review
        review.open_log(op.last_log)
        window.show_view("Review")
        review.filters.combos["class"].setCurrentText("missing")
        frames = review.model.cols
        order = review.model.order
        best = max(order.tolist(), key=lambda i: (bool(frames["has_images"][i]), abs(float(frames["m"][i]))
                                                   if frames["m"][i] == frames["m"][i] else -1.0))
        review.filters.reset()
        review.select_record(int(best))
        review.label_panel.comment.setText("confirmed: insert absent")
        review.label_selected("NOK", "confirmed: insert absent", "missing")
        settle(app, 0.4)
        window.grab().save(str(out / "review.png"))

        # The audit view on the same log, re-run with the shipped model in this process.
        audit = window.audit
        window.show_view("Audit")
        audit.add_logs([op.last_log])
        audit.scheduler.setCurrentIndex(0)
        audit.start()
        wait_until(app, lambda: audit.result is not None or audit.errors.active, 300, "the audit")
        settle(app, 0.4)
        window.grab().save(str(out / "audit.png"))
        window.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"wrote {out / 'operator.png'}, {out / 'operator-1024x768.png'}, {out / 'review.png'} and {out / 'audit.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
