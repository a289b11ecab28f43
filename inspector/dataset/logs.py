"""A dataset from inspection logs: the records an engineer labelled in the review view.

A record becomes a pair when its newest label is OK (the log's OK class) or NOK with a true
class (that class). NOK without a true class goes to the log's NOK class when it has just one;
with several it is left out, since guessing the class would teach the model a wrong one.
Unsure and unlabelled records are left out; records whose views were not kept are named and
skipped. Every count is reported, so an engineer sees what labelling is still missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

from inspector.dataset.build import Found, Gathered, size_text, stack
from inspector.dataset.store import file_sha256, history_step, pair_sha256, utc_day
from inspector.errors import DatasetError
from inspector.records import LabelStore, RecordReader
from inspector.records.labels import true_class_error

LEFT_OUT = ("unlabelled", "unsure", "NOK without a class")


def from_logs(logs: Sequence[str | Path], *, progress: Optional[Callable] = None) -> Gathered:
    """The labelled records of `logs` (which must share classes, OK class and view size) as pairs.
    `progress(iterable, total=…)` may wrap the loop over records (tqdm)."""
    if not logs:
        raise DatasetError("no log given")
    first = None  # (log, classes, ok, view shape)
    found: list[Found] = []
    skipped: list[tuple[str, str]] = []
    left_out = {k: 0 for k in LEFT_OUT}
    inputs = []
    for log in map(Path, logs):
        with RecordReader(log) as reader:
            layout = reader.layout
            classes, ok = tuple(layout.classes), layout.class_set.ok
            shape = tuple(layout.view_shape)
            if first is None:
                first = (log, classes, ok, shape)
            else:
                _check_same(first, (log, classes, ok, shape))
            labels = LabelStore(log).current()
            n = len(reader)
            chosen = _choose(log, labels, n, classes, ok, layout.class_set.nok, left_out)
            scalars = reader.scalars(names=("timestamp", "has_images")) if n else {"timestamp": [], "has_images": []}
            records = sorted(chosen)
            it = progress(records, total=len(records), desc=log.name, unit="record") if progress else records
            for i in it:
                origin = f"{log}#{i}"
                if not bool(scalars["has_images"][i]):
                    skipped.append((origin, "its views were not kept in the log (image retention)"))
                    continue
                rec = reader.record(i)
                found.append(Found(classes.index(chosen[i]), rec.view1, rec.view2, origin, str(log),
                                   utc_day(float(scalars["timestamp"][i])), pair_sha256(rec.view1, rec.view2)))
        inputs.append({"path": str(log), "sha256": file_sha256(log), "records": n})
    _, classes, ok, shape = first
    pairs, duplicates = stack(found, classes, ok, [], shape)
    gathered = Gathered(pairs, skipped, left_out, duplicates)
    pairs.history = [history_step("dataset from-logs", inputs, gathered.counts())]
    return gathered


def _choose(log: Path, labels: dict, n: int, classes: tuple, ok: str, nok: tuple, left_out: dict) -> dict[int, str]:
    """record → class for the records that become pairs; counts the others into `left_out`."""
    chosen: dict[int, str] = {}
    for record, label in labels.items():
        if record >= n:
            raise DatasetError(f"{log}: labels name record {record}, but the log has {n} records")
        if label.verdict == "unsure":
            left_out["unsure"] += 1
            continue
        problem = true_class_error(label.verdict, label.true_class, classes, ok)
        if problem:
            raise DatasetError(f"{log}: record {record}: the label's {problem}")
        if label.verdict == "OK":
            chosen[record] = ok
        elif label.true_class:
            chosen[record] = label.true_class
        elif len(nok) == 1:
            chosen[record] = nok[0]
        else:
            left_out["NOK without a class"] += 1
    left_out["unlabelled"] += n - sum(1 for r in labels if r < n)
    return chosen


def _check_same(a: tuple, b: tuple) -> None:
    (log_a, classes_a, ok_a, shape_a), (log_b, classes_b, ok_b, shape_b) = a, b
    if classes_a != classes_b:
        raise DatasetError(f"{log_b}: classes {', '.join(classes_b)} differ from those of {log_a} "
                           f"({', '.join(classes_a)})")
    if ok_a != ok_b:
        raise DatasetError(f"{log_b}: OK class {ok_b!r} differs from that of {log_a} ({ok_a!r})")
    if shape_a != shape_b:
        raise DatasetError(f"{log_b}: views are {size_text(shape_b)}, those of {log_a} {size_text(shape_a)}")

