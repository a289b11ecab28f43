"""Rig files: per camera, the homography from its image onto the cavity plane, and the IPM grid.

A rig is saved as canonical JSON; the sha256 of the file's bytes is the rig's
identity wherever a result records which rig made it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import cv2
import numpy as np

from inspector.errors import ImageError, RigError
from inspector.files import read_input_bytes
from inspector.images import as_rgb_uint8

RIG_FORMAT = "inspector-rig"
RIG_VERSION = 1
DEFAULT_RIG_PATH = Path(__file__).with_name("sim_rig.json")


@dataclass(frozen=True)
class Grid:
    """The IPM output: `width`×`height` pixels of `mm_per_px`, centred on the plane origin."""

    width: int = 128
    height: int = 128
    mm_per_px: float = 0.375

    def pixel_to_plane(self) -> np.ndarray:
        """3×3 matrix taking output pixel (u, v, 1) to plane (x, y, 1) in mm (pixel centres at integers)."""
        s = self.mm_per_px
        return np.array(
            [[s, 0.0, -(self.width - 1) / 2.0 * s], [0.0, s, -(self.height - 1) / 2.0 * s], [0.0, 0.0, 1.0]]
        )

    def plane_coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Plane x and y (mm) of every output pixel centre, each H×W."""
        s = self.mm_per_px
        xs = (np.arange(self.width) - (self.width - 1) / 2.0) * s
        ys = (np.arange(self.height) - (self.height - 1) / 2.0) * s
        return np.meshgrid(xs, ys)


@dataclass(frozen=True, eq=False)
class CameraCalibration:
    """One camera's mapping onto the plane and how well it fits its calibration images."""

    name: str
    image_size: tuple[int, int]  # width, height
    image_to_plane: np.ndarray  # 3×3, pixels → plane mm
    reprojection_rms_px: float
    reprojection_max_px: float
    n_images: int
    n_corners: int

    def plane_to_image(self) -> np.ndarray:
        H = np.linalg.inv(self.image_to_plane)
        return H / H[2, 2]


@dataclass(frozen=True, eq=False)
class Rig:
    """Both cameras' calibrations and the IPM grid they map onto."""

    cameras: Mapping[str, CameraCalibration]
    grid: Grid = Grid()
    board: Mapping[str, Any] = field(default_factory=dict)
    created: str = ""
    software: str = ""
    source: str = ""  # where the rig was loaded from, if anywhere
    _sha256: str = ""

    # -- identity and storage ---------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": RIG_FORMAT,
            "version": RIG_VERSION,
            "plane": {"units": "mm", "origin": "cavity centre", "axes": "x right, y down in the top-down view"},
            "grid": {"width": self.grid.width, "height": self.grid.height, "mm_per_px": self.grid.mm_per_px},
            "board": dict(self.board),
            "created": self.created,
            "software": self.software,
            "cameras": {
                name: {
                    "image_size": list(cam.image_size),
                    "image_to_plane": [[float(v) for v in row] for row in cam.image_to_plane],
                    "reprojection_rms_px": cam.reprojection_rms_px,
                    "reprojection_max_px": cam.reprojection_max_px,
                    "n_images": cam.n_images,
                    "n_corners": cam.n_corners,
                }
                for name, cam in sorted(self.cameras.items())
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @property
    def sha256(self) -> str:
        """The rig's identity: sha256 of its file bytes (of its canonical JSON if never saved)."""
        return self._sha256 or hashlib.sha256(self.to_json().encode()).hexdigest()

    def save(self, path: str | Path) -> str:
        """Write the rig as canonical JSON (atomically: a crash leaves the old file intact)."""
        path = Path(path)
        text = self.to_json()
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def load(cls, path: str | Path) -> "Rig":
        path = Path(path)
        raw = read_input_bytes(path, "rig", RigError)
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RigError(f"{path}: rig file is corrupt (not valid JSON: {exc})") from None
        rig = cls.from_dict(doc, str(path))
        object.__setattr__(rig, "_sha256", hashlib.sha256(raw).hexdigest())
        return rig

    @classmethod
    def from_dict(cls, doc: Any, source: str = "<rig>") -> "Rig":
        if not isinstance(doc, dict) or doc.get("format") != RIG_FORMAT:
            raise RigError(f"{source}: not an inspector rig file (no \"format\": \"{RIG_FORMAT}\")")
        version = doc.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise RigError(f"{source}: rig file is corrupt (version {version!r} is not an integer)")
        if version != RIG_VERSION:
            raise RigError(
                f"{source}: rig file version {version} is unknown; this inspector reads version {RIG_VERSION}"
            )
        try:
            g = doc["grid"]
            grid = Grid(int(g["width"]), int(g["height"]), float(g["mm_per_px"]))
            if grid.width <= 0 or grid.height <= 0 or not grid.mm_per_px > 0:
                raise ValueError("grid size and mm_per_px must be positive")
            cameras = {}
            for name, c in doc["cameras"].items():
                H = np.array(c["image_to_plane"], dtype=np.float64)
                if H.shape != (3, 3) or not np.all(np.isfinite(H)) or abs(np.linalg.det(H)) < 1e-15:
                    raise ValueError(f"camera {name}: image_to_plane must be an invertible finite 3×3 matrix")
                w, h = (int(v) for v in c["image_size"])
                if w <= 0 or h <= 0:
                    raise ValueError(f"camera {name}: image_size must be positive")
                cameras[str(name)] = CameraCalibration(
                    name=str(name),
                    image_size=(w, h),
                    image_to_plane=H,
                    reprojection_rms_px=float(c["reprojection_rms_px"]),
                    reprojection_max_px=float(c["reprojection_max_px"]),
                    n_images=int(c["n_images"]),
                    n_corners=int(c["n_corners"]),
                )
            if not cameras:
                raise ValueError("no cameras")
            return cls(
                cameras=cameras,
                grid=grid,
                board=dict(doc.get("board", {})),
                created=str(doc.get("created", "")),
                software=str(doc.get("software", "")),
                source=source,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise RigError(f"{source}: rig file is corrupt ({what})") from None

    # -- use -------------------------------------------------------------------------------
    def camera(self, name: str | int) -> CameraCalibration:
        name = str(name)
        try:
            return self.cameras[name]
        except KeyError:
            have = ", ".join(sorted(self.cameras)) or "none"
            raise RigError(f"{self.source or 'rig'}: has no camera {name!r} (cameras in the rig: {have})") from None

    def image_to_grid(self, name: str | int) -> np.ndarray:
        """The 3×3 warp taking camera pixels straight to IPM output pixels."""
        M = np.linalg.inv(self.grid.pixel_to_plane()) @ self.camera(name).image_to_plane
        return M / M[2, 2]

    def warp(self, name: str | int, image: np.ndarray, *, what: str | None = None) -> np.ndarray:
        """Inverse perspective mapping of one camera's image onto the plane grid (bilinear)."""
        cam = self.camera(name)
        label = what or f"image for camera {cam.name}"
        image = as_rgb_uint8(image, label)
        h, w = image.shape[:2]
        if (w, h) != cam.image_size:
            raise ImageError(
                f"{label} is {w}×{h} pixels but the rig calibrated camera {cam.name} at "
                f"{cam.image_size[0]}×{cam.image_size[1]}"
            )
        return cv2.warpPerspective(
            image,
            self.image_to_grid(name),
            (self.grid.width, self.grid.height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )

    def warp_pair(self, raw1: np.ndarray, raw2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """IPM of a raw pair from cameras "1" and "2"."""
        return self.warp("1", raw1), self.warp("2", raw2)


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def load_default_rig() -> Rig:
    """The rig of the simulated line, produced by `inspector calibrate` and shipped in `calibration/`."""
    return Rig.load(DEFAULT_RIG_PATH)
