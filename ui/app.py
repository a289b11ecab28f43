"""The desktop application's entry points: `run_app` for the command line, `build_window` for tests,
the screenshot script and the benchmark."""

from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
from pathlib import Path
from typing import Optional, Sequence

from PySide6 import QtWidgets

from ui.refcount_guard import guard as guard_refcounts

WINDOW_SIZE = (1280, 800)


def configure_pyqtgraph() -> None:
    """Application-wide pyqtgraph options, set once the application is being set up (never on import)."""
    import pyqtgraph as pg

    # Row-major: numpy's own (H, W, 3) layout, so images reach Qt without a transpose. No OpenGL:
    # the offscreen platform (tests, screenshots) cannot make a context.
    pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False, antialias=True,
                        background="w", foreground="#333333")


def ensure_application(argv: Optional[Sequence[str]] = None) -> QtWidgets.QApplication:
    """The running QApplication, or a new one (Fusion style: the same look on every platform)."""
    guard_refcounts()
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(list(argv) if argv is not None else sys.argv[:1])
        app.setStyle("Fusion")
        app.setApplicationName("inspector")
    configure_pyqtgraph()
    return app


def build_window(
    *,
    view: str = "operator",
    log: Optional[str] = None,
    demo: bool = False,
    device: str = "auto",
    context=None,
    log_folder: Optional[str] = None,
    settings=None,
):
    """The main window with the operator, review and audit views, not yet shown and with no event loop run.

    context: an `AppContext` to use instead of loading the model and rig (tests pass theirs).
    log_folder: where the operator view proposes new logs. With `demo`, the simulator starts at
    once, recording into a new temporary folder whose path the window shows.
    settings: a `ui.settings.Settings` to restore from and save to when the window closes (default:
    the user's, or the INI file INSPECTOR_SETTINGS names); the demo neither restores nor saves.
    """
    from ui.app_context import load_context
    from ui.audit_view import AuditView
    from ui.elided_label import ElidedLabel
    from ui.main_window import MainWindow
    from ui.operator_view import OperatorView
    from ui.review_view import ReviewView
    from ui.settings import Settings
    from ui.window_actions import install
    from ui.window_state import log_folder as remembered_log_folder

    ensure_application()
    context = context if context is not None else load_context(device)
    window = MainWindow("inspector — cavity inspection")
    settings = settings if settings is not None else Settings.user()
    if demo:
        log_folder = tempfile.mkdtemp(prefix="inspector-demo-")
    elif log_folder is None:
        log_folder = str(remembered_log_folder(settings))
    operator = OperatorView(context, log_folder=log_folder)
    review = ReviewView(context)
    window.add_view("Operator", operator)
    window.add_view("Review", review)
    audit = AuditView()
    window.add_view("Audit", audit)

    def open_in_review(path: str) -> None:
        window.show_view("Review")
        review.open_log(path)

    def choose_in_review() -> None:
        window.show_view("Review")
        review.choose_log()

    window.add_file_action("&Open log…", "Ctrl+O", choose_in_review)
    operator.review_requested.connect(open_in_review)
    # The status bar's lasting note is where the run records, replaced by every run (once "demo log: …"
    # stayed while a later run recorded elsewhere); elided, a long path must not widen the window.
    note = ElidedLabel("")
    note.setMinimumWidth(200)
    window.statusBar().removeWidget(window.note)
    window.note.deleteLater()
    window.note = note
    window.statusBar().addPermanentWidget(note, 1)
    operator.recording_changed.connect(note.set_full_text)
    window.operator, window.review, window.audit = operator, review, audit
    window.resize(*WINDOW_SIZE)
    install(window, settings, remember=not demo)
    if log is not None:
        review.open_log(log)
    window.show_view(view)
    if demo:
        operator.chooser.choose("simulator")
        operator.curves.setCurrentText("all")  # the demo shows which camera every decision rests on
        operator.record.setChecked(True)
        operator.log_path.setText(str(Path(log_folder) / "demo.h5"))
        operator.start()
    return window


def run_app(
    *,
    view: str = "operator",
    log: Optional[str] = None,
    demo: bool = False,
    device: str = "auto",
    fullscreen: bool = False,
    argv: Optional[Sequence[str]] = None,
) -> int:
    """Run the desktop application; returns the event loop's exit code (2 when it cannot start).
    fullscreen: open full screen (F11 leaves it), as on a panel at the line."""
    from inspector.errors import InspectorError

    app = ensure_application(argv)
    try:
        window = build_window(view=view, log=log, demo=demo, device=device)
    except (InspectorError, ValueError) as exc:
        print(f"inspector gui: {exc}", file=sys.stderr)
        if app.platformName() not in ("offscreen", "minimal"):
            QtWidgets.QMessageBox.critical(None, "inspector", str(exc))
        return 2
    if fullscreen:
        window.showFullScreen()
    else:
        window.show()
    with _close_on_signals(window):
        return app.exec()


@contextlib.contextmanager
def _close_on_signals(window):
    """Ctrl-C and SIGTERM close the window as its close button would: the run in flight ends and its
    log is closed valid. Python runs signal handlers only between bytecodes, so a timer wakes it up
    while Qt's event loop (C++) waits."""
    import signal

    from PySide6 import QtCore

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    close = lambda *_: QtCore.QTimer.singleShot(0, window.close)  # noqa: E731
    previous = {s: signal.signal(s, close) for s in (signal.SIGINT, signal.SIGTERM)}
    wake = QtCore.QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    try:
        yield
    finally:
        wake.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
