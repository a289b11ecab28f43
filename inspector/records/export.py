"""Logged inspections as CSV: the scalar fields of many records, for a spreadsheet.

One record as a figure and JSON is `inspector.evaluation.record_export`: it rebuilds
the record's explanation, which this package does not know.
"""

from __future__ import annotations

import csv
import datetime as _dt
from pathlib import Path
from typing import Optional, Sequence

from inspector.number_text import fixed
from inspector.records.labels import LabelStore
from inspector.records.reader import RecordReader
from inspector.records.schema import TIMING_NAMES


def iso_utc(t: float) -> str:
    """Epoch seconds as ISO 8601 in UTC to the millisecond, "2026-09-21T12:13:20.000Z": what a
    spreadsheet or a colleague in another time zone reads without converting; "" for no time (0)."""
    if not t > 0:
        return ""
    when = _dt.datetime.fromtimestamp(float(t), _dt.timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def export_csv(reader: RecordReader, path: str | Path, indices: Optional[Sequence[int]] = None) -> int:
    """The scalar fields of the given records (default: all) as CSV; returns the rows written. Times come
    first as ISO 8601 UTC (`time_utc`), then as epoch seconds (`timestamp`) for arithmetic. `m_low`,
    `m_high` and `unsure` are m's bootstrap-over-p interval (`explain.influence_interval`), from the
    stored curves; `fill` what the occluded pixels of the curves became."""
    # Here, not at the top: the records package reads logs without loading the explainer's torch.
    from inspector.explain.influence_interval import m_interval
    from inspector.records.schema import INFLUENCE_CODES, STATUS_CODES

    labels = LabelStore(reader.path).current()
    indices = range(len(reader)) if indices is None else indices
    class_set = reader.layout.class_set
    classes = class_set.names
    s = reader.scalars()
    probs = reader._f["probs"][: len(reader)]
    interval = m_interval(reader._f["curves"][: len(reader)])
    timings = reader._f["timings"][: len(reader)]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["record", "time_utc", "timestamp", "cavity_id", "predicted", "verdict", "target", *[f"p_{c}" for c in classes],
                    "m", "m_low", "m_high", "unsure", "influence", "fill", "status", "simulated", *[f"t_{k}_s" for k in TIMING_NAMES], "label",
                    "label_comment", "label_true_class"])
        n = 0
        for i in indices:
            label = labels.get(int(i))
            w.writerow([int(i), iso_utc(s["timestamp"][i]), f"{s['timestamp'][i]:.3f}", int(s["cavity_id"][i]), classes[s["predicted"][i]],
                        "OK" if class_set.is_ok(s["predicted"][i]) else "NOK", classes[s["target"][i]],
                        *[fixed(v, 6) for v in probs[i]], fixed(s["m"][i], 6, nan="nan"),
                        fixed(interval.low[i], 6, nan="nan"), fixed(interval.high[i], 6, nan="nan"),
                        bool(interval.unsure[i]), INFLUENCE_CODES[s["influence"][i]], reader.layout.fill, STATUS_CODES[s["status"][i]], bool(s["simulated"][i]),
                        *[fixed(v, 6, nan="nan") for v in timings[i]], label.verdict if label else "", label.comment if label else "",
                        label.true_class if label else ""])
            n += 1
    return n
