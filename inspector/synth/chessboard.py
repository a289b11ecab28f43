"""The calibration target of the simulated line: a camera image of a chessboard lying on the cavity plane."""

from __future__ import annotations

import numpy as np

from inspector.synth.camera import PinholeCamera


def render_chessboard(
    camera: PinholeCamera,
    pattern: tuple[int, int],
    square_mm: float,
    *,
    light: float = 1.0,
    noise_sigma: float = 0.0,
    rng: np.random.Generator | None = None,
    supersample: int = 4,
) -> np.ndarray:
    """A camera image of a chessboard lying on the plane, centred on the origin, rows along plane x.

    `pattern` counts inner corners (columns, rows), as OpenCV does. The square at
    the board's corner next to inner corner (0, 0) is black; the board sits on a
    white sheet one square wider on every side. Supersampling gives the
    anti-aliased edges corner refinement needs.
    """
    cols, rows = pattern
    pixels = camera.pixel_grid(supersample)
    xy = camera.plane_hits(camera.ray_directions(pixels))
    # Board coordinates in squares, with the board's outer corner at (0, 0).
    bx = xy[..., 0] / square_mm + (cols + 1) / 2.0
    by = xy[..., 1] / square_mm + (rows + 1) / 2.0
    inside = (bx >= 0) & (bx < cols + 1) & (by >= 0) & (by < rows + 1)
    black = inside & ((np.floor(bx).astype(int) + np.floor(by).astype(int)) % 2 == 0)
    sheet = (bx >= -1) & (bx < cols + 2) & (by >= -1) & (by < rows + 2)
    albedo = np.where(sheet, 0.92, 0.45).astype(np.float32)
    albedo[black] = 0.06
    s = supersample
    img = albedo.reshape(camera.height, s, camera.width, s).mean(axis=(1, 3)) * (255.0 * light)
    if noise_sigma > 0:
        rng = rng or np.random.default_rng(0)
        img = img + rng.standard_normal(img.shape) * noise_sigma
    grey = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)
