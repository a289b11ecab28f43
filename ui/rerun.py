"""Re-running logged records with the current model, off the GUI thread, and what changed.

The job opens its own reader (an h5py handle belongs to one thread's work, and the
view may close its own meanwhile), explains the stored views with the stored target
class, so that m compares like with like, and computes curves only for records
that had them. A record whose views were not kept cannot be re-run and says so.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from PySide6 import QtCore

PROB_TOL = 0.005  # float32 in the log and batch-size-dependent rounding stay far below this
M_TOL = 0.01


@dataclass
class RerunOutcome:
    record: int
    rerunnable: bool
    stored_class: str = ""
    new_class: str = ""
    stored_prob: float = math.nan  # of the stored predicted class
    new_prob: float = math.nan  # the re-run's probability of that same class
    stored_m: float = math.nan
    new_m: float = math.nan
    note: str = ""

    @property
    def prob_diff(self) -> float:
        return self.new_prob - self.stored_prob

    @property
    def m_diff(self) -> float:
        return self.new_m - self.stored_m

    @property
    def class_differs(self) -> bool:
        return self.rerunnable and self.stored_class != self.new_class

    @property
    def differs(self) -> bool:
        if not self.rerunnable:
            return False
        m_off = not (math.isnan(self.stored_m) and math.isnan(self.new_m)) and not abs(self.m_diff) <= M_TOL
        return self.class_differs or not abs(self.prob_diff) <= PROB_TOL or m_off


def compare(record: int, rec, e, classes: Sequence[str]) -> RerunOutcome:
    return RerunOutcome(
        record=record,
        rerunnable=True,
        stored_class=classes[rec.predicted],
        new_class=classes[e.predicted],
        stored_prob=float(rec.probs[rec.predicted]),
        new_prob=float(e.probs[rec.predicted]),
        stored_m=float(rec.m),
        new_m=float(e.m),
    )


def rerun_records(path, records: Sequence[int], explainer, *, batch: int = 8, cancel: Optional[threading.Event] = None,
                  progress=None) -> list[RerunOutcome]:
    """Re-run `records` of the log at `path` with `explainer`; blocking (call it on a worker thread)."""
    from inspector.records import RecordReader

    out: list[RerunOutcome] = []
    with RecordReader(path) as reader:
        classes = reader.layout.classes
        p = reader.layout.p
        todo = list(records)
        for start in range(0, len(todo), batch):
            if cancel is not None and cancel.is_set():
                break
            recs = []
            for i in todo[start:start + batch]:
                rec = reader[i]
                if not rec.has_images:
                    out.append(RerunOutcome(i, False, stored_class=classes[rec.predicted],
                                            note="images not kept in the log (retention): not re-runnable"))
                else:
                    recs.append((i, rec))
            if recs:
                es = explainer.explain_batch(
                    np.stack([r.view1 for _, r in recs]), np.stack([r.view2 for _, r in recs]),
                    targets=np.array([r.target for _, r in recs]), p=p,
                    curves=np.array([bool(np.all(np.isfinite(r.curves))) for _, r in recs]),
                )
                out += [compare(i, rec, e, classes) for (i, rec), e in zip(recs, es)]
            if progress is not None:
                progress(min(start + batch, len(todo)), len(todo))
    out.sort(key=lambda o: o.record)
    return out


class RerunJob(QtCore.QObject):
    """One re-run on its own thread; `finished` carries the outcomes (or `failed` the error)."""

    finished = QtCore.Signal(list)
    failed = QtCore.Signal(str)
    progressed = QtCore.Signal(int, int)

    def __init__(self, path, records: Sequence[int], explainer, parent=None):
        super().__init__(parent)
        self.path = path
        self.records = list(records)
        self.explainer = explainer
        self.cancel = threading.Event()
        self.thread_id: Optional[int] = None
        self._thread = threading.Thread(target=self._run, name="ui-rerun", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        self.thread_id = threading.get_ident()
        try:
            outcomes = rerun_records(self.path, self.records, self.explainer, cancel=self.cancel,
                                     progress=lambda done, total: self.progressed.emit(done, total))
        except Exception as exc:  # a damaged record, a model that refuses the views: shown, not raised
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.finished.emit(outcomes)

    def join(self, timeout: Optional[float] = None) -> None:
        self._thread.join(timeout)

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()
