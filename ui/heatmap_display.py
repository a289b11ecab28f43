"""Grad-CAM maps made ready to draw: per-map normalisation and colour lookup tables.

Heatmaps are stored unnormalised (the method's contract); a display divides each
map by its own maximum so that every stage uses the full colour range, and draws
uint8 through a 256-entry lookup table, which pyqtgraph maps without a float pass.
"""

from __future__ import annotations

import numpy as np

# Perceptually ordered maps bundled with pyqtgraph, so no matplotlib or colorcet lookup is needed.
COLORMAPS = ("turbo", "inferno", "viridis", "magma", "CET-L8")
DEFAULT_COLORMAP = "turbo"


def normalised_u8(maps: np.ndarray) -> np.ndarray:
    """(..., H, W) float maps → uint8 of the same shape, each map divided by its own maximum.

    A map whose maximum is 0 (nothing above ReLU) stays 0 instead of dividing by zero.
    """
    a = np.asarray(maps, np.float32)
    top = a.max(axis=(-2, -1), keepdims=True)
    safe = np.where(top > 0, top, 1.0)
    out = np.clip(a / safe, 0.0, 1.0) * 255.0
    return np.ascontiguousarray(np.rint(out).astype(np.uint8))


def colormap_lut(name: str) -> np.ndarray:
    """The 256×3 uint8 lookup table of a pyqtgraph colour map."""
    import pyqtgraph as pg

    lut = pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False)
    return np.ascontiguousarray(lut, dtype=np.uint8)


def colorize(heat_u8: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """uint8 heat (H, W) through a lookup table → H×W×3 uint8 (for thumbnails built off the GUI thread)."""
    return lut[heat_u8]


def blend(image: np.ndarray, heat_rgb: np.ndarray, opacity: float) -> np.ndarray:
    """The overlay as the views draw it, flattened into one RGB image."""
    out = image.astype(np.float32) * (1.0 - opacity) + heat_rgb.astype(np.float32) * opacity
    return np.ascontiguousarray(np.rint(out).astype(np.uint8))
