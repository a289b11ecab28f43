"""Tiny training datasets for the fine-tuning, model card and model comparison tests: simulated pairs
written as a training file (view1, view2, label, evidence; attributes classes and ok_class), with
other classes or another view size where a test needs them."""

import json

import h5py
import numpy as np

from inspector.synth import CLASSES, generate


def write_pairs(path, n=36, *, seed=7, classes=None, size=None, hidden_share=0.4):
    """`n` simulated pairs at `path`. `classes` (names) relabels them in turn (pair i is class i mod k), for a
    dataset of other classes than the simulator's; `size` keeps every size-th pixel (128 → 64 with 2)."""
    samples = generate(n, seed=seed, hidden_share=hidden_share)
    v1 = np.stack([s.view1 for s in samples])
    v2 = np.stack([s.view2 for s in samples])
    if size:
        v1, v2 = v1[:, ::size, ::size].copy(), v2[:, ::size, ::size].copy()
    if classes is None:
        classes = list(CLASSES)
        labels = np.array([CLASSES.index(s.label) for s in samples])
    else:
        labels = np.arange(n) % len(classes)
    with h5py.File(path, "w") as f:
        f["view1"], f["view2"], f["label"] = v1, v2, labels.astype(np.int64)
        f["evidence"] = np.array([s.evidence.encode() for s in samples], dtype="S8")
        f.attrs["classes"] = json.dumps(list(classes))
        f.attrs["ok_class"] = classes[0]
    return path
