"""What every command that gathers pairs shares: the pairs found so far, what was skipped and why,
duplicates kept once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from inspector.dataset.store import DatasetPairs


@dataclass
class Found:
    """One pair gathered from an input, before it becomes part of a dataset."""

    label: int
    view1: np.ndarray
    view2: np.ndarray
    origin: str
    source: str
    day: str
    sha256: str
    evidence: Optional[str] = None


@dataclass
class Gathered:
    """The pairs a command gathered and what it left out: `skipped` names each pair that could not be
    used (what, why), `left_out` counts those left out by rule (unlabelled, unsure, …)."""

    pairs: DatasetPairs
    skipped: list[tuple[str, str]] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0

    def counts(self) -> dict:
        """Pairs per class and what was left out, for the file's history and the summary."""
        per_class = np.bincount(self.pairs.labels, minlength=len(self.pairs.classes))
        return {"pairs": len(self.pairs), "per_class": {c: int(k) for c, k in zip(self.pairs.classes, per_class)},
                "skipped": len(self.skipped), "duplicates": self.duplicates, **self.left_out}


def stack(found: list[Found], classes: tuple[str, ...], ok_class: str, history: list,
          view_shape: tuple[int, ...]) -> tuple[DatasetPairs, int]:
    """The pairs as arrays, each pixel-identical pair (same sha256) kept once: (pairs, duplicates)."""
    seen: set[str] = set()
    keep = []
    for item in found:
        if item.sha256 not in seen:
            seen.add(item.sha256)
            keep.append(item)
    n = len(keep)

    def views(name: str) -> np.ndarray:
        out = np.empty((n,) + tuple(view_shape), np.uint8)
        for i, item in enumerate(keep):
            out[i] = getattr(item, name)
        return out

    text = lambda name: np.array([getattr(item, name) for item in keep], dtype=str)
    has_evidence = n > 0 and all(item.evidence is not None for item in keep)
    pairs = DatasetPairs(
        view1=views("view1"), view2=views("view2"), labels=np.array([i.label for i in keep], dtype=np.int64),
        origin=text("origin"), source=text("source"), day=text("day"), sha256s=text("sha256"),
        classes=tuple(classes), ok_class=ok_class, history=history,
        evidence=text("evidence") if has_evidence else None,
    )
    return pairs, len(found) - n


def dedupe(sha256s: np.ndarray) -> np.ndarray:
    """Indices of the first pair of each sha256, in order."""
    _, first = np.unique(sha256s, return_index=True)
    return np.sort(first)


def size_text(shape) -> str:
    h, w = shape[:2]
    return f"{w}×{h}"


def common_size(sizes: list[tuple[int, int]]) -> Optional[tuple[int, int]]:
    """The size more than half of the pairs have, or None when no size does."""
    if not sizes:
        return None
    size, k = Counter(sizes).most_common(1)[0]
    return size if 2 * k > len(sizes) else None
