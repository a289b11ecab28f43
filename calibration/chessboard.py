"""Chessboard calibration: board corners in each image → one homography per camera.

The board lies on the cavity plane, centred on the cavity, its rows along the
plane's x axis, with the black corner square next to inner corner (0, 0) at
the top left of the top-down view (−x, −y). Several shots of one camera are
pooled into one robust fit (RANSAC, then least squares on the inliers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence, Union

import cv2
import numpy as np

from calibration.rig import CameraCalibration, Grid, Rig, now_utc
from inspector.errors import CalibrationError, ImageError
from inspector.images import as_rgb_uint8, read_image

ImageInput = Union[str, Path, np.ndarray]
DEFAULT_MAX_ERROR_PX = 1.0
RANSAC_THRESHOLD_PX = 2.0


def parse_pattern(text: str) -> tuple[int, int]:
    """'9x6' → (9, 6): inner corners per row and per column."""
    try:
        cols, rows = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise CalibrationError(f"board {text!r}: expected inner corners as COLSxROWS, e.g. 9x6") from None
    if cols < 3 or rows < 3:
        raise CalibrationError(f"board {text!r}: needs at least 3×3 inner corners")
    return cols, rows


def board_points(pattern: tuple[int, int], square_mm: float) -> np.ndarray:
    """Plane positions (N, 2) in mm of the inner corners, row by row, centred on the origin."""
    cols, rows = pattern
    xs = (np.arange(cols) - (cols - 1) / 2.0) * square_mm
    ys = (np.arange(rows) - (rows - 1) / 2.0) * square_mm
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def _sample(grey: np.ndarray, p: np.ndarray) -> float:
    """Mean grey level in a 3×3 window around p (nan outside the image)."""
    x, y = int(round(p[0])), int(round(p[1]))
    h, w = grey.shape
    if not (1 <= x < w - 1 and 1 <= y < h - 1):
        return float("nan")
    return float(grey[y - 1 : y + 2, x - 1 : x + 2].mean())


def _orient(corners: np.ndarray, pattern: tuple[int, int], grey: np.ndarray, name: str) -> np.ndarray:
    """Reorder detected corners so that corner 0 is the one next to the board's black corner square.

    OpenCV may start the ordering at either end of the board. A camera sees
    the plane from above, so the ordering must keep the board's handedness;
    of the two orderings that do, the black corner square picks one.
    """
    cols, rows = pattern
    g = corners.reshape(rows, cols, 2)
    for cand in (g, g[::-1, ::-1], g[::-1, :], g[:, ::-1]):
        along, down = cand[0, 1] - cand[0, 0], cand[1, 0] - cand[0, 0]
        if along[0] * down[1] - along[1] * down[0] <= 0:
            continue  # mirrored: no camera above the plane sees the board this way
        outer = _sample(grey, cand[0, 0] - 0.5 * along - 0.5 * down)  # the black corner square
        beside = _sample(grey, cand[0, 0] + 0.5 * along - 0.5 * down)  # a white square
        if outer + 20 < beside:
            return cand.reshape(-1, 2)
    raise CalibrationError(
        f"{name}: found the chessboard but cannot tell its orientation (the black corner square "
        "next to the first inner corner is not visible)"
    )


def find_corners(image: np.ndarray, pattern: tuple[int, int], name: str) -> np.ndarray:
    """Sub-pixel inner corners (N, 2), ordered as `board_points` orders the board."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
    found, corners = cv2.findChessboardCorners(grey, pattern, flags=flags)
    if not found:
        raise CalibrationError(f"{name}: no {pattern[0]}x{pattern[1]} chessboard found")
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-4)
    corners = cv2.cornerSubPix(grey, corners.astype(np.float32), (5, 5), (-1, -1), criteria)
    return _orient(corners.reshape(-1, 2).astype(np.float64), pattern, grey, name)


def _load(item: ImageInput, index: int, camera: str) -> tuple[np.ndarray, str]:
    if isinstance(item, (str, Path)):
        return read_image(item), str(item)
    name = f"camera {camera} image {index + 1}"
    return as_rgb_uint8(item, name), name


def calibrate_camera(
    name: str,
    images: Sequence[ImageInput],
    pattern: tuple[int, int],
    square_mm: float,
    *,
    max_error_px: float = DEFAULT_MAX_ERROR_PX,
) -> CameraCalibration:
    """Fit camera `name`'s image → plane homography from chessboard images (paths or RGB arrays)."""
    if not images:
        raise CalibrationError(f"camera {name}: no calibration images given")
    if not square_mm > 0:
        raise CalibrationError(f"square size must be positive, got {square_mm} mm")
    plane = board_points(pattern, square_mm)
    image_pts, plane_pts, size, first = [], [], None, None
    for i, item in enumerate(images):
        image, label = _load(item, i, name)
        h, w = image.shape[:2]
        if size is None:
            size, first = (w, h), label
        elif (w, h) != size:
            raise ImageError(
                f"{label} is {w}×{h} pixels but {first} is {size[0]}×{size[1]}: "
                f"all images of camera {name} must have one size"
            )
        image_pts.append(find_corners(image, pattern, label))
        plane_pts.append(plane)
    P, Q = np.concatenate(plane_pts), np.concatenate(image_pts)
    H, inliers = cv2.findHomography(P, Q, cv2.RANSAC, RANSAC_THRESHOLD_PX, maxIters=5000, confidence=0.999)
    if H is None:
        raise CalibrationError(f"camera {name}: no homography fits the detected corners")
    proj = cv2.perspectiveTransform(P[None].astype(np.float64), H)[0]
    err = np.linalg.norm(proj - Q, axis=1)
    rms, worst = float(np.sqrt(np.mean(err**2))), float(err.max())
    if rms > max_error_px:
        raise CalibrationError(
            f"camera {name}: reprojection error {rms:.3f} px RMS (worst {worst:.3f} px) is above the "
            f"limit of {max_error_px} px; check the board size, the square size and the images"
        )
    to_plane = np.linalg.inv(H)
    return CameraCalibration(
        name=str(name),
        image_size=size,
        image_to_plane=to_plane / to_plane[2, 2],
        reprojection_rms_px=round(rms, 6),
        reprojection_max_px=round(worst, 6),
        n_images=len(images),
        n_corners=int(inliers.sum()) if inliers is not None else len(P),
    )


def calibrate_rig(
    images: Mapping[str, Sequence[ImageInput]],
    pattern: tuple[int, int],
    square_mm: float,
    *,
    grid: Grid = Grid(),
    max_error_px: float = DEFAULT_MAX_ERROR_PX,
    software: str = "",
) -> Rig:
    """Calibrate every camera in `images` (camera name → its chessboard images) into one rig."""
    cameras = {
        str(name): calibrate_camera(str(name), imgs, pattern, square_mm, max_error_px=max_error_px)
        for name, imgs in images.items()
    }
    return Rig(
        cameras=cameras,
        grid=grid,
        board={"pattern": f"{pattern[0]}x{pattern[1]}", "square_mm": float(square_mm)},
        created=now_utc(),
        software=software,
    )
