"""The table of a log's records: scalar columns held as numpy arrays, sorted and filtered with numpy.

Only scalar fields are ever read for the table (in chunks, through
`RecordReader.scalars`), so a log of 100,000 records opens at once; Qt asks for
the text of the visible cells only. The rows shown are `order`, a permutation of
record indices: sorting and filtering rebuild it with numpy, never a Python loop
over records.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from PySide6 import QtCore, QtGui

from inspector.classes import ClassSet
from inspector.number_text import MINUS, fixed
from inspector.records.labels import VERDICTS
from inspector.records.schema import INFLUENCE_CODES, STATUS_CODES

COLUMNS = ("#", "time", "cavity", "class", "P (%)", "margin", "m", "influence", "status", "label", "true class",
           "re-run")
TIPS = (
    "Record index in the log",
    "When the cameras fired (local time; the date is in the tooltip and the detail pane)",
    "Cavity id from the source",
    "Predicted class",
    "Probability of the predicted class",
    "p(top 1) − p(top 2): how sure the model was; sort ascending to label the most uncertain records first",
    "Mean of a2 − a3 over p; negative: camera 1 had more influence (— where the curves were not computed)",
    "Which camera the decision rests on (|m| < 0.02: equal)",
    "ok, no-curves or bad-frame",
    "Engineer label (O / N / U in the review view)",
    "The class the engineer says the record is (keys 1…9 in the review view)",
    "Result of the last re-run with the current model",
)
LABEL_NONE = -1
LABEL_NAMES = {i: v for i, v in enumerate(VERDICTS)}
RERUN_NAMES = {0: "", 1: "agrees", 2: "DIFFERS", 3: "no images"}
CHUNK = 8192
RED = QtGui.QColor("#ffcdd2")


@dataclass
class RecordFilter:
    """Which records the table shows; None: no restriction on that field."""

    classes: Optional[Sequence[str]] = None
    influence: Optional[Sequence[str]] = None
    status: Optional[Sequence[str]] = None
    labels: Optional[Sequence[str]] = None  # verdicts, and "none" for unlabelled records
    m_range: Optional[tuple[float, float]] = None
    time_range: Optional[tuple[float, float]] = None


def margins(probs: np.ndarray) -> np.ndarray:
    """p(top 1) − p(top 2) per row of `probs` (N×C): small where the model hesitates between two classes,
    the "margin" uncertainty of active learning (Scheffer, Decomain, Wrobel: "Active Hidden Markov Models
    for Information Extraction"; Settles: "Active Learning Literature Survey")."""
    c = probs.shape[1]
    if c < 2:
        return np.ones(len(probs), np.float32)
    top = np.partition(probs, (c - 2, c - 1), axis=1)
    return (top[:, c - 1] - top[:, c - 2]).astype(np.float32)


def read_scalars(reader, start: int, stop: int) -> dict[str, np.ndarray]:
    """The table's columns for records [start, stop), chunk by chunk."""
    parts = []
    names = ("predicted", "m", "influence", "timestamp", "cavity_id", "status", "has_images", "probs")
    for a in range(start, stop, CHUNK):
        s = reader.scalars(a, min(a + CHUNK, stop), names)
        probs = s.pop("probs")
        s["prob"] = np.take_along_axis(probs, s["predicted"].astype(np.int64)[:, None], axis=1)[:, 0]
        s["margin"] = margins(probs)
        parts.append(s)
    if not parts:
        return empty_columns()
    return {k: np.concatenate([p[k] for p in parts]) for k in COLUMN_TYPES}


COLUMN_TYPES = {"predicted": np.uint8, "m": np.float32, "influence": np.uint8, "timestamp": np.float64,
                "cavity_id": np.int32, "status": np.uint8, "has_images": np.bool_, "prob": np.float32,
                "margin": np.float32}


def empty_columns() -> dict[str, np.ndarray]:
    return {k: np.zeros(0, t) for k, t in COLUMN_TYPES.items()}


class RecordTableModel(QtCore.QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.classes: tuple[str, ...] = ()
        self.class_colours: list[QtGui.QColor] = []  # per class index: the log's ClassSet colour (OK green)
        self.class_set: Optional[ClassSet] = None
        self.cols: dict[str, np.ndarray] = empty_columns()
        self.labels = np.zeros(0, np.int8)
        self.true_class = np.zeros(0, np.int16)  # index into `classes`; LABEL_NONE where none was given
        self.comments: dict[int, str] = {}
        self.rerun = np.zeros(0, np.int8)
        self.filter = RecordFilter()
        self.sort_column = 0
        self.sort_order = QtCore.Qt.SortOrder.AscendingOrder
        self.order = np.zeros(0, np.int64)

    # -- loading --------------------------------------------------------------------------------
    def load(self, reader, labels: dict) -> None:
        self.beginResetModel()
        class_set = reader.layout.class_set
        self.classes = class_set.names
        self.class_colours = [QtGui.QColor(class_set.colour(c)) for c in class_set.names]
        self.class_set = class_set
        self.cols = read_scalars(reader, 0, len(reader))
        n = len(self.cols["m"])
        self.labels = np.full(n, LABEL_NONE, np.int8)
        self.true_class = np.full(n, LABEL_NONE, np.int16)
        self.rerun = np.zeros(n, np.int8)
        self.set_labels(labels, notify=False)
        self.order = self._ordered(self._filtered())
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self.cols = empty_columns()
        self.labels = np.zeros(0, np.int8)
        self.true_class = np.zeros(0, np.int16)
        self.rerun = np.zeros(0, np.int8)
        self.order = np.zeros(0, np.int64)
        self.endResetModel()

    @property
    def total(self) -> int:
        return len(self.cols["m"])

    def extend(self, reader) -> int:
        """Read the records a growing log gained; returns how many. New rows that land at the end of
        the current order are inserted there (the view keeps its place); otherwise the model resets."""
        old = self.total
        new = len(reader)
        if new <= old:
            return 0
        more = read_scalars(reader, old, new)
        self.cols = {k: np.concatenate([self.cols[k], more[k]]) for k in self.cols}
        self.labels = np.concatenate([self.labels, np.full(new - old, LABEL_NONE, np.int8)])
        self.true_class = np.concatenate([self.true_class, np.full(new - old, LABEL_NONE, np.int16)])
        self.rerun = np.concatenate([self.rerun, np.zeros(new - old, np.int8)])
        order = self._ordered(self._filtered())
        shown = len(self.order)
        if len(order) >= shown and np.array_equal(order[:shown], self.order):
            if len(order) > shown:
                self.beginInsertRows(QtCore.QModelIndex(), shown, len(order) - 1)
                self.order = order
                self.endInsertRows()
        else:
            self.beginResetModel()
            self.order = order
            self.endResetModel()
        return new - old

    def set_labels(self, labels: dict, notify: bool = True) -> None:
        """labels: record → Label (LabelStore.current()), their true classes checked by the caller."""
        self.labels[:] = LABEL_NONE
        self.true_class[:] = LABEL_NONE
        self.comments = {}
        codes = {v: i for i, v in LABEL_NAMES.items()}
        for record, label in labels.items():
            if 0 <= record < len(self.labels):
                self.labels[record] = codes.get(label.verdict, LABEL_NONE)
                self.true_class[record] = self._class_code(label.true_class)
                self.comments[record] = label.comment
        if notify and len(self.order):
            self._column_changed(COLUMNS.index("label"))
            self._column_changed(COLUMNS.index("true class"))

    def set_label(self, record: int, verdict: str, comment: str, true_class: str = "") -> None:
        self.labels[record] = {v: i for i, v in LABEL_NAMES.items()}[verdict]
        self.true_class[record] = self._class_code(true_class)
        self.comments[record] = comment
        row = self.row_of(record)
        if row is not None:
            self.dataChanged.emit(self.index(row, COLUMNS.index("label")), self.index(row, COLUMNS.index("true class")))

    def _class_code(self, name: str) -> int:
        return self.classes.index(name) if name in self.classes else LABEL_NONE

    def set_rerun(self, outcomes) -> None:
        for o in outcomes:
            if 0 <= o.record < len(self.rerun):
                self.rerun[o.record] = 3 if not o.rerunnable else (2 if o.differs else 1)
        self.dataChanged.emit(self.index(0, 0), self.index(max(len(self.order) - 1, 0), len(COLUMNS) - 1))

    def _column_changed(self, col: int) -> None:
        self.dataChanged.emit(self.index(0, col), self.index(len(self.order) - 1, col))

    # -- filter and sort ------------------------------------------------------------------------
    def set_filter(self, f: RecordFilter) -> None:
        self.beginResetModel()
        self.filter = f
        self.order = self._ordered(self._filtered())
        self.endResetModel()

    def _filtered(self) -> np.ndarray:
        f, c = self.filter, self.cols
        keep = np.ones(self.total, bool)
        if f.classes is not None:
            keep &= np.isin(c["predicted"], [self.classes.index(x) for x in f.classes if x in self.classes])
        if f.influence is not None:
            keep &= np.isin(c["influence"], [INFLUENCE_CODES.index(x) for x in f.influence if x in INFLUENCE_CODES])
        if f.status is not None:
            keep &= np.isin(c["status"], [STATUS_CODES.index(x) for x in f.status if x in STATUS_CODES])
        if f.labels is not None:
            codes = [i for i, v in LABEL_NAMES.items() if v in f.labels] + ([LABEL_NONE] if "none" in f.labels else [])
            keep &= np.isin(self.labels, codes)
        if f.m_range is not None:  # NaN m (no curves) fails both comparisons: outside any range
            keep &= (c["m"] >= f.m_range[0]) & (c["m"] <= f.m_range[1])
        if f.time_range is not None:
            keep &= (c["timestamp"] >= f.time_range[0]) & (c["timestamp"] <= f.time_range[1])
        return np.flatnonzero(keep)

    def _key(self, column: int) -> np.ndarray:
        name = COLUMNS[column]
        c = self.cols
        return {
            "#": None, "time": c["timestamp"], "cavity": c["cavity_id"], "class": c["predicted"], "P (%)": c["prob"],
            "m": c["m"], "influence": c["influence"], "status": c["status"], "label": self.labels,
            "re-run": self.rerun, "margin": c["margin"], "true class": self.true_class,
        }[name]

    def _ordered(self, rows: np.ndarray) -> np.ndarray:
        key = self._key(self.sort_column)
        descending = self.sort_order == QtCore.Qt.SortOrder.DescendingOrder
        if key is None:
            return np.ascontiguousarray(rows[::-1] if descending else rows)
        values = key[rows]
        missing = np.isnan(values) if values.dtype.kind == "f" else np.zeros(len(rows), bool)
        known = rows[~missing]
        known = known[np.argsort(values[~missing], kind="stable")]  # ties stay in record order
        if descending:
            known = known[::-1]
        # Records without a value (m where no curves were computed) go last in either direction.
        return np.ascontiguousarray(np.concatenate([known, rows[missing]]))

    def sort(self, column: int, order=QtCore.Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        records = [int(self.order[i.row()]) if i.row() < len(self.order) else -1 for i in before]
        self.sort_column = column
        self.sort_order = order
        self.order = self._ordered(np.sort(self.order))
        position = np.empty(self.total, np.int64)
        position[self.order] = np.arange(len(self.order))
        after = [self.index(int(position[r]), i.column()) if r >= 0 else QtCore.QModelIndex()
                 for r, i in zip(records, before)]
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()

    # -- lookup ---------------------------------------------------------------------------------
    def record_at(self, row: int) -> int:
        return int(self.order[row])

    def row_of(self, record: int) -> Optional[int]:
        hits = np.flatnonzero(self.order == record)
        return int(hits[0]) if len(hits) else None

    def label_of(self, record: int) -> str:
        return LABEL_NAMES.get(int(self.labels[record]), "")

    def true_class_of(self, record: int) -> str:
        code = int(self.true_class[record])
        return self.classes[code] if code != LABEL_NONE else ""

    # -- Qt's model interface -------------------------------------------------------------------
    def rowCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if orientation == QtCore.Qt.Orientation.Horizontal:
            if role == QtCore.Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == QtCore.Qt.ItemDataRole.ToolTipRole:
                return TIPS[section]
        return None

    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        i = int(self.order[index.row()])
        name = COLUMNS[index.column()]
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self._text(i, name)
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            if name in ("#", "cavity", "P (%)", "margin", "m"):
                return int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
            return None
        if role == QtCore.Qt.ItemDataRole.ForegroundRole and name == "class":
            return self.class_colours[int(self.cols["predicted"][i])]
        if role == QtCore.Qt.ItemDataRole.ForegroundRole and name == "true class" and self.true_class[i] != LABEL_NONE:
            return self.class_colours[int(self.true_class[i])]
        if role == QtCore.Qt.ItemDataRole.BackgroundRole and self.rerun[i] == 2:
            return RED
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            if name == "label" and i in self.comments:
                return self.comments[i] or None
            if name == "time":
                return _dt.datetime.fromtimestamp(float(self.cols["timestamp"][i])).isoformat(sep=" ", timespec="milliseconds")
        return None

    def _text(self, i: int, name: str) -> str:
        c = self.cols
        if name == "#":
            return str(i)
        if name == "time":
            t = float(c["timestamp"][i])
            return _dt.datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3] if t > 0 else "—"
        if name == "cavity":
            return str(int(c["cavity_id"][i]))
        if name == "class":
            return self.classes[c["predicted"][i]]
        if name == "P (%)":
            return fixed(100 * float(c["prob"][i]), 1)
        if name == "margin":
            return fixed(c["margin"][i], 3)
        if name == "m":
            return fixed(c["m"][i], 3, sign=True, minus=MINUS)
        if name == "influence":
            code = int(c["influence"][i])
            return INFLUENCE_CODES[code] if code < len(INFLUENCE_CODES) else "?"
        if name == "status":
            code = int(c["status"][i])
            return STATUS_CODES[code] if code < len(STATUS_CODES) else "?"
        if name == "label":
            return LABEL_NAMES.get(int(self.labels[i]), "")
        if name == "true class":
            return self.true_class_of(i)
        if name == "re-run":
            return RERUN_NAMES[int(self.rerun[i])]
        return ""

