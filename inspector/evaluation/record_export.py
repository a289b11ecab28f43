"""One logged record as the figure and JSON that `inspector explain` writes for a fresh pair.

A record holds what the engine computed (probabilities, stage maps, curves, m);
rebuilding its `Explanation` resizes the stored maps exactly as the engine did, so
the figure of a logged record and of the same pair explained anew agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np

from inspector.explain.engine import Explanation
from inspector.files import write_then_rename
from inspector.heatmaps import full_size_maps
from inspector.number_text import fixed
from inspector.records import LabelStore, RecordReader


def record_explanation(reader: RecordReader, rec):
    """A record read from `reader` as an `Explanation`, with full-size maps resized from the stored ones."""
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
        fill=rec.fill,
    )


def record_dict(reader: RecordReader, i: int, rec=None) -> dict:
    rec = rec if rec is not None else reader[i]
    label = LabelStore(reader.path).current().get(i)
    e = record_explanation(reader, rec)
    return {
        "log": str(reader.path),
        "record": i,
        **e.to_dict(),
        "ok_class": reader.layout.class_set.ok,
        "verdict": "OK" if reader.layout.class_set.is_ok(rec.predicted) else "NOK",
        "timestamp": rec.timestamp,
        "cavity_id": rec.cavity_id,
        "source": rec.source,
        "frame_ids": list(rec.frame_ids),
        "timings_s": rec.timings,
        "status": rec.status,
        "simulated": rec.simulated,
        "has_images": rec.has_images,
        "label": None if label is None else {"verdict": label.verdict, "comment": label.comment,
                                             "who": label.who, "when": label.when, "true_class": label.true_class},
        "provenance": {k: v for k, v in reader.attrs.items() if k in ("model_sha256", "rig_sha256", "software")},
    }


def verdict_line(reader: RecordReader, rec) -> str:
    """"NOK · skewed 87.3 % · OK class: correct": the verdict as the log's own classes decide it."""
    class_set = reader.layout.class_set
    verdict = "OK" if class_set.is_ok(rec.predicted) else "NOK"
    name = class_set.names[rec.predicted]
    return f"{verdict} · {name} {fixed(100 * float(rec.probs[rec.predicted]), 1)} % · OK class: {class_set.ok}"


def record_figure(reader: RecordReader, i: int, rec=None):
    """The figure of record `i`: `inspector explain`'s, with the record's verdict in a box of its class's
    colour at the top left (a figure mailed alone must say what the line decided)."""
    # Matplotlib only when a figure is asked for: the review window imports this module at start.
    from inspector.evaluation.figure import explanation_figure

    rec = rec if rec is not None else reader[i]
    fig = explanation_figure(rec.view1, rec.view2, record_explanation(reader, rec),
                             title=f"{reader.path.name} record {i}")
    colour = reader.layout.class_set.colour(reader.layout.class_set.names[rec.predicted])
    fig.text(0.01, 0.985, verdict_line(reader, rec), ha="left", va="top", fontsize=12, fontweight="bold",
             color="white", bbox={"boxstyle": "round,pad=0.3", "facecolor": colour, "edgecolor": colour})
    return fig


def export_record(reader: RecordReader, i: int, png: Optional[str | Path] = None, json_path: Optional[str | Path] = None):
    """Write record `i` as the figure `inspector explain` draws (with its verdict) and/or as JSON."""
    rec = reader[i]
    if png is not None:
        from inspector.evaluation.figure import figure_format

        fig = record_figure(reader, i, rec)
        write_then_rename(Path(png), lambda tmp: fig.savefig(tmp, format=figure_format(png)))
    if json_path is not None:
        Path(json_path).write_text(json.dumps(record_dict(reader, i, rec), indent=2))
