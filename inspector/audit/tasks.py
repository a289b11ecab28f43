"""The audit's unit of work: a record range of one log, and the mergeable summary it returns.

A task carries a path and a range, never an h5py handle (they do not pickle and
must not cross processes); it opens its own reader, streams the range in chunks
so a worker's memory does not grow with the log, and returns a `Summary` made of
counts, histogram bins and sums, so merging is exact addition in any order.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from inspector.classes import ClassSet
from inspector.errors import InspectorError
from inspector.explain.influence_interval import m_interval
from inspector.fill_names import fill_option
from inspector.number_text import fixed
from inspector.records.schema import INFLUENCE_CODES, STATUS_CODES

M_BINS = np.linspace(-1.0, 1.0, 41)  # m lies in [-1, 1]: a difference of two probabilities' means
UNSURE_NOTE = ("unsure: of the records with curves, those whose m has a 95% bootstrap-over-p interval that crosses "
               "a boundary of the ±0.02 band (the verdict rests on a few grid points); the verdict stays the paper's.")
VIEW_BATCH = 32  # pairs read and explained at once: bounds a worker's memory to a few MB


class AuditError(InspectorError):
    """An audit that cannot run as asked (no logs, no Dask, a model that does not fit the logs)."""


@dataclass(frozen=True)
class AuditTask:
    path: str
    start: int
    stop: int
    recompute: bool  # re-run the model on the stored views; else read the stored results
    model_path: Optional[str] = None  # None: the shipped model
    device: str = "cpu"
    explainer: str = "gradcam"  # explainer plugin name for re-runs (its maps are the masks' prior)


@dataclass
class Disagreement:
    log: str
    record: int
    stored: str
    recomputed: str
    stored_prob: float
    recomputed_prob: float
    m_stored: float
    m_recomputed: float


@dataclass
class Summary:
    """What one task (or many, merged) found; every field adds up across tasks."""

    classes: tuple[str, ...]
    p: tuple[float, ...]
    ok_class: str = ""  # the logs' OK class: the verdict OK/NOK and the labels' agreement follow it
    records: int = 0
    per_class: dict = field(default_factory=dict)  # class → records predicted as it
    m_hist: dict = field(default_factory=dict)  # class → counts over M_BINS (records with curves)
    m_sum: dict = field(default_factory=dict)
    m_n: dict = field(default_factory=dict)
    influence: dict = field(default_factory=dict)  # class → {influence: count}
    unsure: dict = field(default_factory=dict)  # class → records whose m interval crosses the ±0.02 band
    curve_sum: dict = field(default_factory=dict)  # class → (3, P) sum of curves
    status: dict = field(default_factory=dict)
    labelled: int = 0  # records with an OK or NOK engineer label
    label_agree: int = 0  # … whose verdict (OK: predicted as the OK class) the label confirms
    label_confusion: dict = field(default_factory=dict)  # "predicted OK/NOK|label OK/NOK" → count
    compared: int = 0  # records re-run and compared with the stored result
    not_rerunnable: int = 0  # records whose views were not kept
    disagreements: list = field(default_factory=list)
    t_first: float = float("nan")  # the earliest and latest record time (epoch s); NaN when none
    t_last: float = float("nan")

    @classmethod
    def empty(cls, classes, p, ok_class: Optional[str] = None) -> "Summary":
        s = cls(tuple(classes), tuple(float(v) for v in p), ClassSet.of(classes, ok_class).ok)
        for c in s.classes:
            s.per_class[c] = 0
            s.m_hist[c] = np.zeros(len(M_BINS) - 1, np.int64)
            s.m_sum[c], s.m_n[c] = 0.0, 0
            s.influence[c] = dict.fromkeys(INFLUENCE_CODES, 0)
            s.unsure[c] = 0
            s.curve_sum[c] = np.zeros((3, len(s.p)), np.float64)
        return s

    def add(self, other: "Summary") -> "Summary":
        if other.classes != self.classes or other.p != self.p:
            raise AuditError(
                f"logs disagree on classes {other.classes} vs {self.classes} or the p grid; audit them apart"
            )
        if other.ok_class != self.ok_class:
            raise AuditError(
                f"logs disagree on the OK class ({other.ok_class!r} vs {self.ok_class!r}); audit them apart"
            )
        self.records += other.records
        for c in self.classes:
            self.per_class[c] += other.per_class[c]
            self.m_hist[c] = self.m_hist[c] + other.m_hist[c]
            self.m_sum[c] += other.m_sum[c]
            self.m_n[c] += other.m_n[c]
            for k, v in other.influence[c].items():
                self.influence[c][k] += v
            self.unsure[c] += other.unsure[c]
            self.curve_sum[c] = self.curve_sum[c] + other.curve_sum[c]
        for k, v in other.status.items():
            self.status[k] = self.status.get(k, 0) + v
        for k, v in other.label_confusion.items():
            self.label_confusion[k] = self.label_confusion.get(k, 0) + v
        self.labelled += other.labelled
        self.label_agree += other.label_agree
        self.compared += other.compared
        self.not_rerunnable += other.not_rerunnable
        self.disagreements += other.disagreements
        # fmin/fmax ignore a NaN side: a summary of no records does not erase the other's times.
        self.t_first = float(np.fmin(self.t_first, other.t_first))
        self.t_last = float(np.fmax(self.t_last, other.t_last))
        return self

    # -- the figures the report shows ---------------------------------------------------------
    @property
    def class_set(self) -> ClassSet:
        return ClassSet.of(self.classes, self.ok_class or None)

    @property
    def ok_records(self) -> int:
        """Records predicted as the OK class."""
        return self.per_class.get(self.class_set.ok, 0)

    @property
    def nok_records(self) -> int:
        return self.records - self.ok_records

    def mean_m(self, c: str) -> float:
        return self.m_sum[c] / self.m_n[c] if self.m_n[c] else float("nan")

    def mean_curves(self, c: str) -> np.ndarray:
        return self.curve_sum[c] / self.m_n[c] if self.m_n[c] else np.full((3, len(self.p)), np.nan)

    def influence_shares(self, c: str) -> dict:
        n = sum(v for k, v in self.influence[c].items() if k != "none")
        return {k: (v / n if n else float("nan")) for k, v in self.influence[c].items() if k != "none"}

    def unsure_share(self, c: str) -> float:
        """Of the records with curves, the share whose verdict is unsure (`explain.influence_interval`)."""
        return self.unsure[c] / self.m_n[c] if self.m_n[c] else float("nan")

    def unsure_text(self, c: str) -> str:
        """"12% (6)": class c's unsure share and count; "—" without curves."""
        return "—" if not self.m_n[c] else f"{fixed(100 * self.unsure_share(c), 0)}% ({self.unsure[c]:,})"

    @property
    def label_accuracy(self) -> float:
        return self.label_agree / self.labelled if self.labelled else float("nan")


def find_logs(items: Iterable[str]) -> list[Path]:
    """Log files named on the command line: files, folders (every *.h5 below them) and glob patterns."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out += sorted(q for q in p.rglob("*.h5") if q.is_file())
        elif p.is_file():
            out.append(p)
        elif glob.has_magic(item):
            out += sorted(Path(q) for q in glob.glob(item, recursive=True) if os.path.isfile(q))
        else:
            raise AuditError(f"{item}: no such log file or folder")
    seen, unique = set(), []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    if not unique:
        raise AuditError(f"no .h5 logs found in {', '.join(map(str, items))}")
    return unique


@dataclass
class LogInfo:
    path: str
    records: int = 0
    model_sha256: str = ""
    rig_sha256: str = ""
    software: str = ""
    explainer: str = ""  # "" for logs made before the explainer was recorded
    fill: str = "zero"  # what the occluded pixels of its curves became
    closed_cleanly: bool = True
    skipped: str = ""  # why the log is not audited (unreadable, still open); empty if it is


def plan(
    logs: Iterable[Path], *, recompute: bool, model_path: Optional[str] = None, device: str = "cpu",
    chunk: int = 1024, include_open: bool = False, explainer: str = "gradcam",
) -> tuple[list[AuditTask], list[LogInfo]]:
    """Tasks of at most `chunk` records per log range; every log's provenance, or why it is skipped."""
    from inspector.records import RecordReader, RecordsError
    from inspector.records.reader import CLOSED, STOPPED, WRITING

    tasks, infos = [], []
    for path in logs:
        info = LogInfo(str(path))
        try:
            with RecordReader(path) as r:
                a = r.attrs
                info.records = len(r)
                info.model_sha256 = str(a.get("model_sha256", ""))
                info.rig_sha256 = str(a.get("rig_sha256", ""))
                info.software = str(a.get("software", ""))
                info.explainer = str(a.get("explainer", ""))
                info.fill = r.layout.fill
                writer_state = r.writer_state
                info.closed_cleanly = writer_state == CLOSED
        except (RecordsError, OSError) as exc:
            info.skipped = str(exc)
            infos.append(info)
            continue
        if not info.closed_cleanly and not include_open:
            info.skipped = {
                WRITING: "still open for writing",
                STOPPED: f"its writer stopped without closing it; `inspector log close {path}` makes it readable "
                         "by other HDF5 tools",
            }.get(writer_state, "still open for writing, or its writer died")
            info.skipped += " (--include-open audits the records committed so far)"
        infos.append(info)
        if info.skipped:
            continue
        for start in range(0, info.records, chunk):
            tasks.append(AuditTask(str(path), start, min(start + chunk, info.records), recompute, model_path, device,
                                   explainer))
    return tasks, infos


def run_task(task: AuditTask, models: Optional[dict] = None, progress: Optional[Callable[[int], None]] = None) -> Summary:
    """Summarise one record range. `models` caches loaded models by (path, device) across tasks of one
    process (a Dask worker keeps one in its plugin); `progress` gets the records done so far."""
    from inspector.records import LabelStore, RecordReader

    with RecordReader(task.path) as r:
        classes, p = r.layout.classes, r.layout.p
        s = Summary.empty(classes, p, r.layout.class_set.ok)
        sc = r.scalars(task.start, task.stop)
        n = task.stop - task.start
        predicted = sc["predicted"].astype(np.int64)
        m = sc["m"].astype(np.float64)
        influence = sc["influence"].astype(np.int64)
        curves = r._f["curves"][task.start:task.stop].astype(np.float64)
        probs = r._f["probs"][task.start:task.stop].astype(np.float64)
        stored_pred = predicted.copy()
        stored_m = m.copy()
        if task.recompute:
            rerun = sc["has_images"].astype(bool)
            predicted, m, influence, curves, new_probs = _recompute(
                r, task, models, classes, progress, rerun, predicted, m, influence, curves, probs)
            s.not_rerunnable = int(n - rerun.sum())
            s.compared = int(rerun.sum())
            for j in np.flatnonzero(rerun & (predicted != stored_pred)):
                s.disagreements.append(Disagreement(
                    task.path, task.start + int(j), classes[stored_pred[j]], classes[predicted[j]],
                    float(probs[j, stored_pred[j]]), float(new_probs[j, predicted[j]]), float(stored_m[j]), float(m[j]),
                ))
        s.records = n
        unsure = m_interval(curves).unsure  # from the curves alone: every log has them
        times = sc["timestamp"].astype(np.float64)
        if n and np.isfinite(times).any():
            s.t_first, s.t_last = float(np.nanmin(times)), float(np.nanmax(times))
        for k, c in enumerate(classes):
            mine = predicted == k
            s.per_class[c] = int(mine.sum())
            with_curves = mine & np.isfinite(m)
            s.m_hist[c] = np.histogram(np.clip(m[with_curves], -1, 1), bins=M_BINS)[0].astype(np.int64)
            s.m_sum[c] = float(m[with_curves].sum())
            s.m_n[c] = int(with_curves.sum())
            s.unsure[c] = int((with_curves & unsure).sum())
            s.curve_sum[c] = curves[with_curves].sum(axis=0) if with_curves.any() else np.zeros((3, len(p)))
            for code, name in enumerate(INFLUENCE_CODES):
                s.influence[c][name] = int((mine & (influence == code)).sum())
        for code, name in enumerate(STATUS_CODES):
            count = int((sc["status"] == code).sum())
            if count:
                s.status[name] = count
        labels = LabelStore(task.path).current()
        ok = predicted == r.layout.class_set.ok_index  # the verdict as the engineer's OK/NOK
        for i, label in labels.items():
            if task.start <= i < task.stop and label.verdict in ("OK", "NOK"):
                said_ok = label.verdict == "OK"
                was_ok = bool(ok[i - task.start])
                s.labelled += 1
                s.label_agree += said_ok == was_ok
                key = f"predicted {'OK' if was_ok else 'NOK'}|label {label.verdict}"
                s.label_confusion[key] = s.label_confusion.get(key, 0) + 1
    return s


def _recompute(r, task: AuditTask, models: Optional[dict], classes, progress, rerun, *stored):
    """Re-run the model on the stored views of the records marked in `rerun`, VIEW_BATCH pairs at a
    time; `stored` (predicted, m, influence, curves, probs) is copied, and the others keep it."""
    from inspector.explain.explainers import start_explainer

    fill = r.layout.fill  # re-run as the log was made
    key = (task.model_path, task.device, task.explainer, fill)
    if models is None:
        models = {}
    if key not in models:
        from inspector.model.checkpoint import load_model

        model = load_model(task.model_path, device=task.device)
        models[key] = start_explainer(task.explainer, model, device=task.device, **fill_option(fill))
    explainer = models[key]
    if tuple(explainer.classes) != tuple(classes):
        raise AuditError(f"{task.path}: the log's classes {classes} are not the model's {explainer.classes}")
    n = task.stop - task.start
    predicted, m, influence, curves, probs = (a.copy() for a in stored)
    p = np.asarray(r.layout.p)
    for b in range(0, n, VIEW_BATCH):
        idx = np.flatnonzero(rerun[b:b + VIEW_BATCH]) + b
        if idx.size:
            rows = task.start + idx
            v1 = r._f["view1"][rows[0]:rows[-1] + 1][idx - b]
            v2 = r._f["view2"][rows[0]:rows[-1] + 1][idx - b]
            for j, e in zip(idx, explainer.explain_batch(v1, v2, p=p, batch=len(idx))):
                predicted[j], m[j], curves[j], probs[j] = e.predicted, e.m, e.curves, e.probs
                influence[j] = INFLUENCE_CODES.index(e.influence)
        if progress is not None:
            progress(min(b + VIEW_BATCH, n))
    return predicted, m, influence, curves, probs
