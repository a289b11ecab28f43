"""What the cavity scene's surfaces look like under a strobe: their materials, the steel's texture, the
light reaching them, and the radiance of the plane and of the insert.

Everything on the plane is shaded by one function of plane position, so a camera
image mapped back onto the plane (IPM) can be compared with the top-down truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inspector.synth.insert_geometry import InsertHits
from inspector.synth.scene import CameraEffects, CavityDesign, InsertPose, Scene

AMBIENT = 0.04
EDGE_MM = 0.35  # soft edges keep the plane band-limited so IPM resampling stays faithful
TEXTURE_EXTENT_MM = 40.0  # texture maps cover [-40, 40] mm along both plane axes
RADIAL_STEP_MM = 0.01
RADIAL_LUT_SIZE = 12000  # 120 mm: beyond any plane point a camera sees

STEEL = np.array([0.55, 0.56, 0.58], np.float32)
FLOOR = np.array([0.34, 0.36, 0.40], np.float32)
RIM = np.array([0.78, 0.78, 0.80], np.float32)
PIN_RING = np.array([0.62, 0.62, 0.64], np.float32)
PIN_HOLE = np.array([0.10, 0.10, 0.11], np.float32)
INSERT = np.array([0.88, 0.81, 0.64], np.float32)


@dataclass(frozen=True)
class Materials:
    """What a plant's surfaces look like: a tint on every steel colour above (another alloy, coating or
    polish) and the insert's albedo. The defaults leave the colours exactly as they are."""

    steel_tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    insert_colour: tuple[float, float, float] = (0.88, 0.81, 0.64)  # INSERT

    def steel(self, colour: np.ndarray) -> np.ndarray:
        if self.steel_tint == (1.0, 1.0, 1.0):
            return colour  # bit for bit the designed colour
        return (colour * np.asarray(self.steel_tint, np.float32)).astype(np.float32)

    def insert(self) -> np.ndarray:
        return np.asarray(self.insert_colour, np.float32)


DEFAULT_MATERIALS = Materials()


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _band(x: np.ndarray, lo: float, hi: float, edge: float = EDGE_MM) -> np.ndarray:
    """1 inside [lo, hi], 0 outside, with soft edges of width `edge`."""
    return smoothstep(lo - edge, lo + edge, x) * (1.0 - smoothstep(hi - edge, hi + edge, x))


@dataclass(frozen=True)
class SurfaceTexture:
    """Smooth multiplicative noise of the steel surface (two octaves), drawn from a seed."""

    coarse: np.ndarray  # (n, n) float32
    fine: np.ndarray

    @classmethod
    def from_seed(cls, seed: int) -> "SurfaceTexture | None":
        if seed < 0:
            return None
        rng = np.random.default_rng(seed)
        coarse = rng.standard_normal((48, 48)).astype(np.float32)
        fine = rng.standard_normal((96, 96)).astype(np.float32)
        return cls(coarse=coarse, fine=fine)

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.zeros(x.shape, np.float32)
        for grid, amplitude in ((self.coarse, 0.05), (self.fine, 0.03)):
            n = grid.shape[0]
            scale = (n - 1) / (2 * TEXTURE_EXTENT_MM)
            mx = ((x + TEXTURE_EXTENT_MM) * scale).astype(np.float32)
            my = ((y + TEXTURE_EXTENT_MM) * scale).astype(np.float32)
            out += amplitude * cv2.remap(grid, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        return out


def illumination(x: np.ndarray, y: np.ndarray, scene: Scene) -> np.ndarray:
    """Strength of the light reaching plane position (x, y), relative to nominal."""
    gx, gy = scene.light_gradient
    return scene.light_level * (1.0 + gx * x + gy * y).astype(np.float32)


def light_vector(camera_azimuth_deg: float, effects: CameraEffects) -> np.ndarray:
    """Unit world vector towards the strobe of a camera at `camera_azimuth_deg`."""
    a = np.deg2rad(camera_azimuth_deg + effects.light_azimuth_offset_deg)
    t = np.deg2rad(effects.light_tilt_deg)
    return np.array([np.sin(t) * np.cos(a), np.sin(t) * np.sin(a), np.cos(t)], np.float32)


def _layers(base: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """RGB (…, 3) of a base colour covered in turn by (colour, weight) layers."""
    out = np.broadcast_to(base, layers[0][1].shape + (3,)).astype(np.float32)
    for colour, weight in layers:
        out = out + weight[..., None] * (colour - out)
    return out


def _radial_lut(design: CavityDesign, tint: np.ndarray, materials: Materials = DEFAULT_MATERIALS) -> np.ndarray:
    """The cavity's rotationally symmetric albedo as a 1 × n RGB table over the distance from its centre.

    Looking it up with cv2.remap costs one pass over the image instead of one per feature.
    """
    rho = np.arange(RADIAL_LUT_SIZE, dtype=np.float32) * RADIAL_STEP_MM
    R = design.bowl_radius
    m = materials
    layers = [
        (m.steel(FLOOR), 1.0 - smoothstep(R - EDGE_MM, R + EDGE_MM, rho)),
        (m.steel(RIM), _band(rho, R - 0.2, R + 0.7)),
        (m.steel(PIN_RING), _band(rho, 2.5, 3.5)),
        (m.steel(PIN_HOLE), 1.0 - smoothstep(1.5 - EDGE_MM, 1.5 + EDGE_MM, rho)),
    ]
    return (_layers(m.steel(STEEL), layers) * tint)[None].astype(np.float32)


def plane_radiance(
    x: np.ndarray,
    y: np.ndarray,
    scene: Scene,
    design: CavityDesign,
    light: np.ndarray,
    *,
    lit: np.ndarray | None = None,
    texture: "SurfaceTexture | None" = None,
    gain: float = 1.0,
    materials: Materials = DEFAULT_MATERIALS,
) -> np.ndarray:
    """Linear RGB radiance (…, 3) of the plane at plane positions x, y (mm, 2-D arrays), times `gain`:
    albedo × (light × cos(incidence) × lit + ambient)."""
    cx, cy = scene.cavity_center
    dx, dy = x - cx, y - cy
    tint = np.asarray(scene.light_tint, np.float32)
    rho_px = np.sqrt(dx * dx + dy * dy) * (1.0 / RADIAL_STEP_MM)
    albedo = cv2.remap(
        _radial_lut(design, tint, materials),
        rho_px,
        np.zeros_like(rho_px),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    # The cavity number engraved beside the rim makes the cavity's rotation visible.
    a = np.deg2rad(scene.cavity_rot_deg)
    R = design.bowl_radius
    mx, my = dx - (R + 3.0) * np.cos(a), dy - (R + 3.0) * np.sin(a)
    near_mark = (np.abs(mx) < 1.0 + EDGE_MM) & (np.abs(my) < 1.0 + EDGE_MM)
    if near_mark.any():
        w = 1.0 - smoothstep(1.0 - EDGE_MM, 1.0 + EDGE_MM, np.hypot(mx[near_mark], my[near_mark]))
        albedo[near_mark] += w[:, None] * (materials.steel(PIN_HOLE) * tint - albedo[near_mark])
    shade = illumination(x, y, scene) * light[2]
    if lit is not None:
        shade = shade * lit
    shade = (shade + AMBIENT) * gain
    for rx, ry, radius, contrast in scene.residue:
        blob = np.exp(-((x - rx) ** 2 + (y - ry) ** 2) / (2 * radius**2))
        shade = shade * (1.0 + contrast * blob)
    if texture is not None:
        shade = shade * (1.0 + texture.sample(x, y))
    return albedo * shade[..., None]


def insert_radiance(
    hits: InsertHits,
    pose: InsertPose,
    scene: Scene,
    design: CavityDesign,
    light: np.ndarray,
    materials: Materials = DEFAULT_MATERIALS,
) -> np.ndarray:
    """Linear RGB radiance of the insert at its hit points (only rows where `hits.hit`)."""
    sel = hits.hit
    local, normal, point = hits.local[sel], hits.normal[sel], hits.point[sel]
    r, h = design.insert_radius, design.insert_height
    rho = (np.hypot(local[:, 0], local[:, 1]) / r).astype(np.float32)
    top = (local[:, 2] >= h - 1e-6).astype(np.float32)
    albedo = np.broadcast_to(materials.insert(), rho.shape + (3,)).astype(np.float32)
    groove = _band(rho * r, 0.62 * r, 0.70 * r) * top
    albedo = albedo * (1.0 - 0.45 * groove)[:, None]
    hole = (1.0 - smoothstep(0.18 * r - EDGE_MM, 0.18 * r + EDGE_MM, rho * r)) * top
    albedo = albedo * (1.0 - 0.8 * hole)[:, None]
    s = np.deg2rad(pose.spin_deg)
    mark = np.hypot(local[:, 0] - 0.85 * r * np.cos(s), local[:, 1] - 0.85 * r * np.sin(s)).astype(np.float32)
    albedo = albedo * (1.0 - 0.7 * (1.0 - smoothstep(0.6, 1.0, mark)) * top)[:, None]
    x, y = point[:, 0], -point[:, 1]
    # The insert is convex: where its surface faces the light, nothing of it shadows it.
    cos_in = np.clip(normal @ light, 0.0, None).astype(np.float32)
    light = illumination(x, y, scene) * cos_in
    return albedo * (light[:, None] + AMBIENT) * np.asarray(scene.light_tint, np.float32)
