"""A pipeline run on a worker thread, its results handed to the GUI without ever queueing up.

The pipeline calls `on_result` on its model thread for every inspection. There the
inspection is turned into a `DisplayFrame` (the numpy work, off the GUI thread),
kept as the latest frame of its cavity (and the latest of all), NOK frames go into a short
ring for the gallery and are counted per cavity (each must be acknowledged on its tile).
One queued signal tells the GUI that something is waiting; until the GUI has taken
it no further signal is sent, so at most one notification is ever in the event
queue however fast the line runs, and the GUI always draws each cavity's newest result.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field
from typing import Optional

from PySide6 import QtCore

from inspector.classes import ClassSet
from ui.display_frame import DisplayFrame, make_frame
from ui.heatmap_display import DEFAULT_COLORMAP, colormap_lut


@dataclass
class Taken:
    """What arrived since the GUI last looked."""

    latest: Optional[DisplayFrame] = None  # the newest frame of any cavity
    noks: list = field(default_factory=list)  # NOK frames for the gallery, oldest first (the newest few)
    by_cavity: dict = field(default_factory=dict)  # cavity id → its newest frame
    nok_counts: dict = field(default_factory=dict)  # cavity id → NOK results, all of them, not only the kept


class LiveRun(QtCore.QObject):
    waiting = QtCore.Signal()  # something new to take(); sent from the pipeline's threads

    def __init__(self, pipeline_factory, classes, p, *, gallery_size: int = 12, parent=None):
        """pipeline_factory(on_result) → an unstarted Pipeline; `classes` the model's ClassSet (a plain
        sequence of names takes the default OK rule)."""
        super().__init__(parent)
        self.classes = classes if isinstance(classes, ClassSet) else ClassSet.of(classes)
        self.p = tuple(p)
        self.pipeline = pipeline_factory(self._on_result)
        self._lock = threading.Lock()
        self._latest: Optional[DisplayFrame] = None
        self._noks: collections.deque = collections.deque(maxlen=gallery_size)
        self._by_cavity: dict[int, DisplayFrame] = {}
        self._nok_counts: collections.Counter = collections.Counter()
        self._notified = False
        self._lut = colormap_lut(DEFAULT_COLORMAP)  # read-only once built: safe to share with the worker
        self.result_threads: set[int] = set()  # which threads delivered results (the tests look)
        self.final = None  # RunStats once run() returned
        self.error: Optional[str] = None  # what run() raised, if it did
        self.display_error: Optional[str] = None  # the newest result could not be prepared for display
        self._thread = threading.Thread(target=self._run, name="ui-pipeline", daemon=True)

    # -- worker side ----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self.final = self.pipeline.run()
        except Exception as exc:  # a source that cannot open, a log that cannot be made: the GUI shows it
            self.error = str(exc) or type(exc).__name__
        finally:
            self._notify()

    def _on_result(self, result) -> None:
        rec = result.inspection
        nok = not self.classes.is_ok(rec.predicted)
        try:
            frame = make_frame(rec, self.classes, self.p, truth=result.truth, latency_s=result.latency_s,
                               thumbnail_lut=self._lut if nok else None)
        except Exception as exc:  # a display problem must not stop the inspection or its log
            with self._lock:
                self.display_error = f"cannot display cavity {rec.cavity_id}: {type(exc).__name__}: {exc}"
            self._notify()
            return
        with self._lock:
            self.display_error = None
            self.result_threads.add(threading.get_ident())
            self._latest = frame
            self._by_cavity[frame.cavity_id] = frame
            if nok:
                self._noks.append(frame)
                self._nok_counts[frame.cavity_id] += 1
        self._notify()

    def _notify(self) -> None:
        with self._lock:
            if self._notified:
                return
            self._notified = True
        self.waiting.emit()

    # -- GUI side -------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, reason: str = "stopped by the operator") -> None:
        self.pipeline.stop(reason)

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def join(self, timeout: Optional[float] = None) -> bool:
        self._thread.join(timeout)
        return self.done

    def take(self) -> Taken:
        """What came since the last take: the newest frame, each cavity's newest, the NOKs."""
        with self._lock:
            taken = Taken(self._latest, list(self._noks), self._by_cavity, dict(self._nok_counts))
            self._latest = None
            self._noks.clear()
            self._by_cavity = {}
            self._nok_counts.clear()
            self._notified = False
        return taken
