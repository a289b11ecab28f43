"""Reading and writing images as RGB uint8 arrays, with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inspector.errors import ImageError


def read_image(path: str | Path) -> np.ndarray:
    """The image at `path` as H×W×3 uint8 RGB (grey images are expanded to three channels)."""
    path = Path(path)
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image file")
    if not path.is_file():
        raise ImageError(f"{path}: no such image file")
    data = np.fromfile(str(path), dtype=np.uint8)  # imread cannot say *why* it failed; this can
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ImageError(f"{path}: not a readable image (empty, truncated or of an unknown format)")
    if image.dtype != np.uint8:
        raise ImageError(f"{path}: {image.dtype} pixels; only 8-bit images are supported")
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_image(path: str | Path, rgb: np.ndarray, fmt: str = "") -> None:
    """Write an H×W×3 uint8 RGB array (PNG keeps it lossless) in the format `fmt` (".png"), or by default
    the one the path's extension names (a temporary name need not carry it)."""
    path = Path(path)
    ok, buf = cv2.imencode(fmt or path.suffix or ".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise ImageError(f"{path}: could not encode image")
    buf.tofile(str(path))


def as_rgb_uint8(image: np.ndarray, name: str) -> np.ndarray:
    """Check that an in-memory image is H×W×3 uint8, naming it in the error otherwise."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(f"{name}: expected an H×W×3 RGB image, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ImageError(f"{name}: expected uint8 pixels, got {image.dtype}")
    return image
