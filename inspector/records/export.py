"""Exports of logged inspections: one record as a PNG figure and JSON, many as CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from inspector.records.labels import LabelStore
from inspector.records.reader import RecordReader, full_size_maps
from inspector.records.schema import TIMING_NAMES


def record_explanation(reader: RecordReader, rec):
    """A record read from `reader` as an `Explanation`, with full-size maps resized from the stored ones."""
    from inspector.explain.engine import Explanation

    return Explanation(
        probs=rec.probs,
        target=rec.target,
        classes=reader.layout.classes,
        cams=full_size_maps(rec.stage_maps, reader.layout.view_shape[:2]),
        p=np.array(reader.layout.p),
        curves=rec.curves,
        m=rec.m,
        influence=rec.influence,
        occludable=np.zeros(2, np.int64),
        stage_maps=rec.stage_maps,
    )


def record_dict(reader: RecordReader, i: int, rec=None) -> dict:
    rec = rec if rec is not None else reader[i]
    label = LabelStore(reader.path).current().get(i)
    e = record_explanation(reader, rec)
    return {
        "log": str(reader.path),
        "record": i,
        **e.to_dict(),
        "timestamp": rec.timestamp,
        "cavity_id": rec.cavity_id,
        "source": rec.source,
        "frame_ids": list(rec.frame_ids),
        "timings_s": rec.timings,
        "status": rec.status,
        "simulated": rec.simulated,
        "has_images": rec.has_images,
        "label": None if label is None else {"verdict": label.verdict, "comment": label.comment,
                                             "who": label.who, "when": label.when},
        "provenance": {k: v for k, v in reader.attrs.items() if k in ("model_sha256", "rig_sha256", "software")},
    }


def export_record(reader: RecordReader, i: int, png: Optional[str | Path] = None, json_path: Optional[str | Path] = None):
    """Write record `i` as the figure `inspector explain` draws and/or as JSON."""
    rec = reader[i]
    if png is not None:
        from inspector.explain.figure import save_explanation_figure

        save_explanation_figure(png, rec.view1, rec.view2, record_explanation(reader, rec),
                                title=f"{reader.path.name} record {i}")
    if json_path is not None:
        Path(json_path).write_text(json.dumps(record_dict(reader, i, rec), indent=2))


def export_csv(reader: RecordReader, path: str | Path, indices: Optional[Sequence[int]] = None) -> int:
    """The scalar fields of the given records (default: all) as CSV; returns the rows written."""
    from inspector.records.schema import INFLUENCE_CODES, STATUS_CODES

    labels = LabelStore(reader.path).current()
    indices = range(len(reader)) if indices is None else indices
    classes = reader.layout.classes
    s = reader.scalars()
    probs = reader._f["probs"][: len(reader)]
    timings = reader._f["timings"][: len(reader)]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["record", "timestamp", "cavity_id", "predicted", "target", *[f"p_{c}" for c in classes], "m",
                    "influence", "status", "simulated", *[f"t_{k}_s" for k in TIMING_NAMES], "label", "label_comment"])
        n = 0
        for i in indices:
            label = labels.get(int(i))
            w.writerow([int(i), f"{s['timestamp'][i]:.3f}", int(s["cavity_id"][i]), classes[s["predicted"][i]],
                        classes[s["target"][i]], *[f"{v:.6f}" for v in probs[i]], f"{s['m'][i]:.6f}",
                        INFLUENCE_CODES[s["influence"][i]], STATUS_CODES[s["status"][i]], bool(s["simulated"][i]),
                        *[f"{v:.6f}" for v in timings[i]], label.verdict if label else "", label.comment if label else ""])
            n += 1
    return n
