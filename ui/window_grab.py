"""Grab the application's window at a given size, as the README's screenshots and the layout test do.

`grab_at` resizes the window (full screen is a window the size of the screen with no frame, which the
offscreen platform draws the same), lets the layouts settle, checks that the window kept the size it
was given, and saves a PNG. `layout_problems` lists what a reader would see as broken: a label whose
text does not fit its width, a button below its minimum size hint, a window that resized itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from PySide6 import QtCore, QtWidgets


def settle(seconds: float = 0.2) -> None:
    """Let layouts and pending repaints finish before grabbing or measuring."""
    app = QtWidgets.QApplication.instance()
    end = time.monotonic() + seconds
    while True:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
        if time.monotonic() >= end:
            return
        time.sleep(0.01)


def grab_at(window: QtWidgets.QWidget, width: int, height: int, path: Optional[str | Path] = None,
            *, seconds: float = 0.3):
    """Resize `window` to width × height, settle, and save it to `path` (PNG) when one is given.
    Returns the grabbed QPixmap."""
    window.resize(width, height)
    if not window.isVisible():
        window.show()
    settle(seconds)
    pixmap = window.grab()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        pixmap.save(str(path))
    return pixmap


def layout_problems(window: QtWidgets.QWidget, size: Optional[tuple[int, int]] = None) -> list[str]:
    """What does not hold at the window's current size: labels whose one line of text is wider than the
    label (word-wrapped and rich-text labels excepted), buttons smaller than their minimum size hint,
    and the window's size if it is not `size`."""
    problems = []
    if size is not None and (window.width(), window.height()) != tuple(size):
        problems.append(f"window is {window.width()}×{window.height()}, was set to {size[0]}×{size[1]}")
    for label in window.findChildren(QtWidgets.QLabel):
        if not label.isVisibleTo(window) or label.wordWrap() or not label.text() or label.pixmap() is not None:
            continue
        if label.textFormat() == QtCore.Qt.TextFormat.RichText or "<" in label.text():
            continue
        widest = max(label.fontMetrics().horizontalAdvance(line) for line in label.text().split("\n"))
        room = label.contentsRect().width() - 2 * label.margin() - max(0, label.indent())
        if widest > room:
            problems.append(f"label {label.text()!r} needs {widest} px, has {room} ({_where(label)})")
    for button in window.findChildren(QtWidgets.QAbstractButton):
        if not button.isVisibleTo(window):
            continue
        hint = button.minimumSizeHint()
        if button.width() < hint.width() or button.height() < hint.height():
            problems.append(f"button {button.text()!r} is {button.width()}×{button.height()}, "
                            f"its minimum hint {hint.width()}×{hint.height()} ({_where(button)})")
    return problems


def _where(widget: QtWidgets.QWidget) -> str:
    names = []
    while widget is not None and len(names) < 4:
        names.append(widget.objectName() or type(widget).__name__)
        widget = widget.parentWidget()
    return " < ".join(names)
