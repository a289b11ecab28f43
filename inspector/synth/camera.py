"""Pinhole cameras over the cavity plane.

Frames: the world is right-handed with Z up and the cavity plane at Z = 0.
Plane coordinates (x, y) in mm are the ones every top-down image uses: x to
the right, y downwards as the image rows run, so (x, y) = (X, -Y). Looking
down from +Z that keeps a top-down view unmirrored. Pixel centres sit at
integer coordinates, as in OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def plane_to_world(xy: np.ndarray) -> np.ndarray:
    """Plane points (..., 2) in mm → world points (..., 3) on Z = 0."""
    xy = np.asarray(xy, dtype=np.float64)
    return np.stack([xy[..., 0], -xy[..., 1], np.zeros(xy.shape[:-1])], axis=-1)


@dataclass(frozen=True, eq=False)
class PinholeCamera:
    """An ideal pinhole camera: intrinsics `K`, rotation `R` (world → camera), centre `C` (mm)."""

    K: np.ndarray
    R: np.ndarray
    C: np.ndarray
    width: int
    height: int

    @classmethod
    def looking_at_cavity(
        cls,
        *,
        azimuth_deg: float,
        tilt_deg: float,
        distance_mm: float,
        focal_px: float,
        width: int,
        height: int,
    ) -> "PinholeCamera":
        """A camera `distance_mm` from the plane origin, `tilt_deg` off vertical, aimed at the origin.

        The azimuth is measured in the world XY plane from +X towards +Y.
        """
        az, tilt = np.deg2rad(azimuth_deg), np.deg2rad(tilt_deg)
        if not 0.0 <= tilt_deg < 80.0:
            raise ValueError(f"camera tilt must be in [0, 80) degrees, got {tilt_deg}")
        C = distance_mm * np.array([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), np.cos(tilt)])
        forward = -C / np.linalg.norm(C)
        # Image "up" follows the azimuth so that a vertical camera (tilt 0) is still well defined.
        toward_camera = np.array([np.cos(az), np.sin(az), 0.0])
        right = np.cross(forward, toward_camera if tilt_deg > 0 else np.array([0.0, 1.0, 0.0]))
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        R = np.stack([right, down, forward])
        K = np.array(
            [[focal_px, 0.0, (width - 1) / 2.0], [0.0, focal_px, (height - 1) / 2.0], [0.0, 0.0, 1.0]]
        )
        return cls(K=K, R=R, C=C, width=int(width), height=int(height))

    def plane_to_image(self) -> np.ndarray:
        """The exact homography from plane (x, y, 1) in mm to image pixels."""
        Cx, Cy, Cz = self.C
        M = np.array([[1.0, 0.0, -Cx], [0.0, -1.0, -Cy], [0.0, 0.0, -Cz]])
        H = self.K @ self.R @ M
        return H / H[2, 2]

    def pixel_grid(self, supersample: int = 1) -> np.ndarray:
        """Pixel sample positions (h·s, w·s, 2); with s > 1, s×s samples spread over each pixel."""
        s = int(supersample)
        offsets = (np.arange(s) + 0.5) / s - 0.5
        u = (np.arange(self.width)[:, None] + offsets[None, :]).reshape(-1)
        v = (np.arange(self.height)[:, None] + offsets[None, :]).reshape(-1)
        uu, vv = np.meshgrid(u, v)
        return np.stack([uu, vv], axis=-1)

    def ray_directions(self, pixels: np.ndarray) -> np.ndarray:
        """Unit world directions (..., 3) of the rays through pixel positions (..., 2)."""
        pixels = np.asarray(pixels, dtype=np.float64)
        homog = np.concatenate([pixels, np.ones(pixels.shape[:-1] + (1,))], axis=-1)
        d = homog @ np.linalg.inv(self.K).T @ self.R  # (R^T K^-1 p)^T
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    def plane_hits(self, directions: np.ndarray) -> np.ndarray:
        """Plane coordinates (..., 2) in mm where rays with `directions` meet Z = 0."""
        t = -self.C[2] / directions[..., 2]
        X = self.C[0] + t * directions[..., 0]
        Y = self.C[1] + t * directions[..., 1]
        return np.stack([X, -Y], axis=-1)

    def project_plane(self, xy: np.ndarray) -> np.ndarray:
        """Plane points (..., 2) in mm → pixel positions (..., 2)."""
        xy = np.asarray(xy, dtype=np.float64)
        homog = np.concatenate([xy, np.ones(xy.shape[:-1] + (1,))], axis=-1) @ self.plane_to_image().T
        return homog[..., :2] / homog[..., 2:3]
