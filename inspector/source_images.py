"""The one check of a source's images before the pipeline uses them: present, H×W×3 (or grey), pixels
uint8 or float in [0, 1], and of the size the rig or the model needs.

A bad image is skipped as a bad frame with the reason, so every reason reads the same way: the
input's name, a colon, the problem, on one line.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from inspector.errors import ImageError


def check_image(image, name: str, size: Optional[tuple[int, int]] = None, wanted: str = "") -> np.ndarray:
    """`image` as H×W×3 uint8, or ImageError "<name>: <problem>". size: the (H, W) it must have, and
    wanted: the words before that size in the message, naming who needs it ("the model takes")."""
    if image is None:
        raise ImageError(f"{name}: missing")
    a = np.asarray(image)
    if a.ndim == 2:  # a grey camera: the model takes colour
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 2 or a.shape[1] < 2:
        raise ImageError(f"{name}: expected an H×W×3 image, got shape {a.shape}")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise ImageError(f"{name}: contains NaN or infinite values")
        if a.min() < 0.0 or a.max() > 1.0:
            raise ImageError(f"{name}: float pixels must lie in [0, 1], got [{a.min():.3g}, {a.max():.3g}]")
        a = np.rint(a * 255.0).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise ImageError(f"{name}: pixels must be uint8 or float in [0, 1], got {a.dtype}")
    if size is not None and a.shape[:2] != tuple(size):
        raise ImageError(f"{name}: {a.shape[1]}×{a.shape[0]} px, but {wanted} {size[1]}×{size[0]}")
    return np.ascontiguousarray(a)
