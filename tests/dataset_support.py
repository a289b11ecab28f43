"""Class folders of real simulated pairs, and inspection logs with engineer labels, for the `inspector dataset` tests."""

import os
from pathlib import Path

import numpy as np

from inspector.images import write_image
from inspector.synth import generate

CLASSES = ("correct", "missing", "skewed")
DAY = 86_400


def samples(n=12, seed=3):
    return generate(n, seed=seed)


def class_folders(root, items, *, raw=False, day0=1_780_000_000, days=1, prefix="a"):
    """One folder per class under `root`, `<prefix><i>_cam1.png` + `_cam2.png` for each sample; the
    i-th pair's files dated `day0 + (i % days)` days. Returns {i: (cam1 path, cam2 path)}."""
    root = Path(root)
    paths = {}
    for i, s in enumerate(items):
        folder = root / s.label
        folder.mkdir(parents=True, exist_ok=True)
        a, b = folder / f"{prefix}{i}_cam1.png", folder / f"{prefix}{i}_cam2.png"
        write_image(a, s.raw1 if raw else s.view1)
        write_image(b, s.raw2 if raw else s.view2)
        t = day0 + (i % days) * DAY
        os.utime(a, (t, t))
        os.utime(b, (t, t))
        paths[i] = (a, b)
    return paths


def pixels_equal(data, k, view1, view2):
    return np.array_equal(data.view1[k], view1) and np.array_equal(data.view2[k], view2)
