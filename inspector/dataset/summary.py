"""What a dataset holds and how it was made, as plain data (`describe`) and as text a person reads."""

from __future__ import annotations

from collections import Counter

import numpy as np

from inspector.dataset.store import Dataset


def class_counts_text(labels: np.ndarray, classes, ok_class: str) -> str:
    """"correct (OK) 40, missing 38, skewed 12": pairs per class, in logit order."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(classes))
    return ", ".join(f"{c}{' (OK)' if c == ok_class else ''} {int(k)}" for c, k in zip(classes, counts))


def describe(data: Dataset) -> dict:
    """Classes, counts per class and per source (and per class within each source), view size,
    duplicates, when and by what the file was made, and its history."""
    classes = list(data.classes)
    per_source: dict[str, dict] = {}
    for src in sorted(set(data.source.tolist())):
        labels = data.labels[data.source == src]
        per_source[src] = {"pairs": int(len(labels)),
                           "per_class": {c: int(k) for c, k in zip(classes, np.bincount(labels, minlength=len(classes)))}}
    repeated = sum(k - 1 for k in Counter(data.sha256s.tolist()).values() if k > 1)
    h, w = data.view1.shape[1:3]
    return {
        "path": data.path,
        "sha256": data.sha256,
        "classes": classes,
        "ok_class": data.ok_class,
        "pairs": int(len(data.labels)),
        "per_class": {c: int(k) for c, k in zip(classes, np.bincount(data.labels, minlength=len(classes)))},
        "per_source": per_source,
        "days": sorted(set(data.day.tolist())),
        "view_size": [int(w), int(h)],
        "duplicates": int(repeated),
        "fields": list(data.fields()),
        "created": data.created,
        "software": data.software,
        "history": data.history,
    }


def info_text(d: dict) -> str:
    w, h = d["view_size"]
    lines = [
        f"{d['path']} (sha256 {d['sha256'][:12]})",
        f"classes: {', '.join(d['classes'])} (OK class: {d['ok_class']})",
        f"pairs: {d['pairs']}, views {w}×{h}",
        "per class: " + ", ".join(f"{c} {k}" for c, k in d["per_class"].items()),
        f"per source ({len(d['per_source'])}):",
    ]
    for src, s in d["per_source"].items():
        lines.append(f"  {src}: {s['pairs']} ({', '.join(f'{c} {k}' for c, k in s['per_class'].items() if k)})")
    days = d["days"]
    if days:
        lines.append(f"days: {days[0]} … {days[-1]} ({len(days)} days)" if len(days) > 1 else f"day: {days[0]}")
    if d["duplicates"]:
        lines.append(f"duplicates: {d['duplicates']} pairs repeat another pixel for pixel")
    lines.append(f"created {d['created'] or 'at an unknown time'} by {d['software'] or 'unknown software'}")
    lines.append("history:")
    lines += _steps(d["history"], "  ")
    return "\n".join(lines)


def _steps(history: list, indent: str) -> list[str]:
    out = []
    for n, step in enumerate(history, 1):
        counts = step.get("counts", {})
        per_class = counts.get("per_class")
        what = f"pairs {counts.get('pairs', '?')}"
        if per_class:
            what += " (" + ", ".join(f"{c} {k}" for c, k in per_class.items()) + ")"
        what += "".join(f", {k} {v}" for k, v in counts.items() if k not in ("pairs", "per_class") and v)
        extra = ", ".join(f"{k} {v}" for k, v in step.items()
                          if k not in ("command", "when", "software", "inputs", "counts") and v not in (None, ""))
        out.append(f"{indent}{n}. {step.get('command', '?')} {step.get('when', '')}: {what}"
                   + (f"; {extra}" if extra else ""))
        for inp in step.get("inputs", []):
            sha = f" (sha256 {inp['sha256'][:12]})" if inp.get("sha256") else ""
            out.append(f"{indent}   from {inp.get('path', '?')}{sha}")
            if inp.get("history"):
                out += _steps(inp["history"], indent + "     ")
    return out
