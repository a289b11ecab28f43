"""Ray-cast rendering of the cavity scene: oblique camera images and the true top-down view.

Everything on the plane is shaded by one function of plane position, so a camera
image mapped back onto the plane (IPM) can be compared with the top-down truth.
The insert is a (possibly leaning) cylinder with height: seen obliquely, its
unlit wall lands, after IPM, behind the insert as a black blind-spot shadow.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inspector.synth.camera import PinholeCamera, plane_to_world
from inspector.synth.scene import LIGHT_TILT_RANGE, CameraEffects, CavityDesign, InsertPose, Scene

AMBIENT = 0.04
EDGE_MM = 0.35  # soft edges keep the plane band-limited so IPM resampling stays faithful
TEXTURE_EXTENT_MM = 40.0  # texture maps cover [-40, 40] mm along both plane axes
HIDE_MARGIN_MM = 1.5  # the hidden zone reaches this far beyond any insert pixel (blur margin)
HIDE_SATURATION = 4000.0
NOISE_BANK = 1 << 21
RADIAL_STEP_MM = 0.01
RADIAL_LUT_SIZE = 12000  # 120 mm: beyond any plane point a camera sees  # far above 255, so sensor noise cannot pull a glared pixel off white

STEEL = np.array([0.55, 0.56, 0.58], np.float32)
FLOOR = np.array([0.34, 0.36, 0.40], np.float32)
RIM = np.array([0.78, 0.78, 0.80], np.float32)
PIN_RING = np.array([0.62, 0.62, 0.64], np.float32)
PIN_HOLE = np.array([0.10, 0.10, 0.11], np.float32)
INSERT = np.array([0.88, 0.81, 0.64], np.float32)
FIXTURE = np.array([0.10, 0.11, 0.12], np.float32)


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _band(x: np.ndarray, lo: float, hi: float, edge: float = EDGE_MM) -> np.ndarray:
    """1 inside [lo, hi], 0 outside, with soft edges of width `edge`."""
    return _smoothstep(lo - edge, lo + edge, x) * (1.0 - _smoothstep(hi - edge, hi + edge, x))


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


def _radial_lut(design: CavityDesign, tint: np.ndarray) -> np.ndarray:
    """The cavity's rotationally symmetric albedo as a 1 × n RGB table over the distance from its centre.

    Looking it up with cv2.remap costs one pass over the image instead of one per feature.
    """
    rho = np.arange(RADIAL_LUT_SIZE, dtype=np.float32) * RADIAL_STEP_MM
    R = design.bowl_radius
    layers = [
        (FLOOR, 1.0 - _smoothstep(R - EDGE_MM, R + EDGE_MM, rho)),
        (RIM, _band(rho, R - 0.2, R + 0.7)),
        (PIN_RING, _band(rho, 2.5, 3.5)),
        (PIN_HOLE, 1.0 - _smoothstep(1.5 - EDGE_MM, 1.5 + EDGE_MM, rho)),
    ]
    return (_layers(STEEL, layers) * tint)[None].astype(np.float32)


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
) -> np.ndarray:
    """Linear RGB radiance (…, 3) of the plane at plane positions x, y (mm, 2-D arrays), times `gain`:
    albedo × (light × cos(incidence) × lit + ambient)."""
    cx, cy = scene.cavity_center
    dx, dy = x - cx, y - cy
    tint = np.asarray(scene.light_tint, np.float32)
    rho_px = np.sqrt(dx * dx + dy * dy) * (1.0 / RADIAL_STEP_MM)
    albedo = cv2.remap(
        _radial_lut(design, tint), rho_px, np.zeros_like(rho_px), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    # The cavity number engraved beside the rim makes the cavity's rotation visible.
    a = np.deg2rad(scene.cavity_rot_deg)
    R = design.bowl_radius
    mx, my = dx - (R + 3.0) * np.cos(a), dy - (R + 3.0) * np.sin(a)
    near_mark = (np.abs(mx) < 1.0 + EDGE_MM) & (np.abs(my) < 1.0 + EDGE_MM)
    if near_mark.any():
        w = 1.0 - _smoothstep(1.0 - EDGE_MM, 1.0 + EDGE_MM, np.hypot(mx[near_mark], my[near_mark]))
        albedo[near_mark] += w[:, None] * (PIN_HOLE * tint - albedo[near_mark])
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


def _insert_frame(pose: InsertPose, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """(rotation local → world, base centre in world) of the insert."""
    base = plane_to_world(np.array(scene.cavity_center) + np.array(pose.shift))
    a, t = np.deg2rad(pose.tilt_dir_deg), np.deg2rad(pose.tilt_deg)
    lean = plane_to_world(np.array([np.cos(a), np.sin(a)]))  # horizontal world direction of the lean
    axis = np.cross([0.0, 0.0, 1.0], lean)
    axis /= np.linalg.norm(axis)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    Rl = np.eye(3) + np.sin(t) * K + (1 - np.cos(t)) * K @ K
    return Rl, base


@dataclass(frozen=True)
class InsertHits:
    hit: np.ndarray  # (N,) bool
    point: np.ndarray  # (N, 3) world hit points
    normal: np.ndarray  # (N, 3) world normals
    local: np.ndarray  # (N, 3) hit points in the insert frame


def intersect_insert(
    origins: np.ndarray, dirs: np.ndarray, pose: InsertPose, scene: Scene, design: CavityDesign
) -> InsertHits:
    """First intersection of rays with the insert cylinder above the plane."""
    Rl, base = _insert_frame(pose, scene)
    origins, dirs = np.broadcast_arrays(origins, dirs)
    o = (origins - base) @ Rl  # Rl^T (o - base) for row vectors
    d = dirs @ Rl
    r, h = design.insert_radius, design.insert_height
    big = np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        t_top = (h - o[:, 2]) / d[:, 2]
        xt, yt = o[:, 0] + t_top * d[:, 0], o[:, 1] + t_top * d[:, 1]
        t_top = np.where((t_top > 0) & (xt * xt + yt * yt <= r * r), t_top, big)
        a = d[:, 0] ** 2 + d[:, 1] ** 2
        b = 2 * (o[:, 0] * d[:, 0] + o[:, 1] * d[:, 1])
        c = o[:, 0] ** 2 + o[:, 1] ** 2 - r * r
        disc = b * b - 4 * a * c
        t_side = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)
        zs = o[:, 2] + t_side * d[:, 2]
        t_side = np.where((disc > 0) & (a > 1e-12) & (t_side > 0) & (zs >= 0) & (zs <= h), t_side, big)
    t = np.minimum(t_top, t_side)
    finite = np.isfinite(t)
    t_or_0 = np.where(finite, t, 0.0)
    world = origins + t_or_0[:, None] * dirs
    hit = finite & (world[:, 2] >= 0.0)  # the part of a leaning insert below the plane is hidden
    local = o + t_or_0[:, None] * d
    on_top = t_top <= t_side
    n_local = np.where(
        on_top[:, None],
        np.array([0.0, 0.0, 1.0]),
        np.stack([local[:, 0] / r, local[:, 1] / r, np.zeros_like(t)], axis=1),
    )
    return InsertHits(hit=hit, point=world, normal=n_local @ Rl.T, local=local)


def insert_radiance(
    hits: InsertHits, pose: InsertPose, scene: Scene, design: CavityDesign, light: np.ndarray
) -> np.ndarray:
    """Linear RGB radiance of the insert at its hit points (only rows where `hits.hit`)."""
    sel = hits.hit
    local, normal, point = hits.local[sel], hits.normal[sel], hits.point[sel]
    r, h = design.insert_radius, design.insert_height
    rho = (np.hypot(local[:, 0], local[:, 1]) / r).astype(np.float32)
    top = (local[:, 2] >= h - 1e-6).astype(np.float32)
    albedo = np.broadcast_to(INSERT, rho.shape + (3,)).astype(np.float32)
    groove = _band(rho * r, 0.62 * r, 0.70 * r) * top
    albedo = albedo * (1.0 - 0.45 * groove)[:, None]
    hole = (1.0 - _smoothstep(0.18 * r - EDGE_MM, 0.18 * r + EDGE_MM, rho * r)) * top
    albedo = albedo * (1.0 - 0.8 * hole)[:, None]
    s = np.deg2rad(pose.spin_deg)
    mark = np.hypot(local[:, 0] - 0.85 * r * np.cos(s), local[:, 1] - 0.85 * r * np.sin(s)).astype(np.float32)
    albedo = albedo * (1.0 - 0.7 * (1.0 - _smoothstep(0.6, 1.0, mark)) * top)[:, None]
    x, y = point[:, 0], -point[:, 1]
    # The insert is convex: where its surface faces the light, nothing of it shadows it.
    cos_in = np.clip(normal @ light, 0.0, None).astype(np.float32)
    light = illumination(x, y, scene) * cos_in
    return albedo * (light[:, None] + AMBIENT) * np.asarray(scene.light_tint, np.float32)


def _shade_scene(
    xy: np.ndarray,
    rays: np.ndarray,
    origins: np.ndarray,
    near: np.ndarray,
    scene: Scene,
    design: CavityDesign,
    light: np.ndarray,
    texture: "SurfaceTexture | None",
    shape: tuple[int, int],
    gain: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Radiance (N, 3) seen along rays whose plane hits are `xy` (N, 2), and which rays meet the insert.

    `shape` (h, w) with h·w = N lays the rays out as an image (texture lookup needs one).

    Only rays flagged `near` (plane hit close to the cavity) can meet the insert
    or land in its shadow; the others see the open plane.
    """
    n = xy.shape[0]
    x, y = xy[:, 0].reshape(shape), xy[:, 1].reshape(shape)
    lit = np.ones(n, np.float32)
    on_insert = np.zeros(n, bool)
    hits = None
    if scene.insert is not None:
        idx = np.flatnonzero(near)
        o = origins if origins.shape[0] == 1 else origins[idx]
        hits = intersect_insert(o, rays[idx], scene.insert, scene, design)
        on_insert[idx[hits.hit]] = True
        # Cast shadows: a plane point is dark where its way to the strobe passes through the insert.
        ground = idx[~hits.hit]
        points = plane_to_world(xy[ground].astype(np.float64))
        blocked = intersect_insert(points, light[None, :].astype(np.float64), scene.insert, scene, design).hit
        lit[ground[blocked]] = 0.0
    out = plane_radiance(x, y, scene, design, light, lit=lit.reshape(shape), texture=texture, gain=gain)
    out = out.reshape(n, 3)
    if hits is not None and hits.hit.any():
        out[on_insert] = insert_radiance(hits, scene.insert, scene, design, light) * gain
    return out, on_insert


class CameraView:
    """One camera of the line with its rays precomputed (the rig is fixed; cavities change)."""

    def __init__(self, camera: PinholeCamera, design: CavityDesign, index: int):
        self.camera = camera
        self.design = design
        self.index = index
        self.dirs = camera.ray_directions(camera.pixel_grid()).reshape(-1, 3)
        self.xy = camera.plane_hits(self.dirs).astype(np.float32)  # (N, 2)
        self.px = self.xy[:, 0].reshape(camera.height, camera.width)
        self.py = self.xy[:, 1].reshape(camera.height, camera.width)
        self.azimuth_deg = float(np.rad2deg(np.arctan2(camera.C[1], camera.C[0])))
        az = np.deg2rad(self.azimuth_deg)
        self.away = np.array([-np.cos(az), np.sin(az)])  # plane direction pointing away from this camera
        # How far from below a raised point its image (parallax) or shadow can land, per mm of height.
        view_slope = float((np.hypot(self.dirs[:, 0], self.dirs[:, 1]) / np.abs(self.dirs[:, 2])).max())
        self.reach_slope = max(view_slope, float(np.tan(np.deg2rad(LIGHT_TILT_RANGE[1]))))
        self.noise_bank = np.random.default_rng([index, 7]).standard_normal(NOISE_BANK, dtype=np.float32)
        self.zone_offset, self.zone_radius = self._decisive_zone()

    def _decisive_zone(self) -> tuple[np.ndarray, float]:
        """A disc (relative to the cavity centre) holding the plane hit of every ray that can see the
        insert or its shadow, whatever the class.

        The classes differ only inside it, so a camera whose pixels over this
        zone are covered shows nothing that decides the class.
        """
        d = self.design
        reach = d.bowl_radius - d.skewed_gap[0]  # the insert's top-down outline, worst case
        t = np.deg2rad(d.skewed_max_tilt)
        top = d.insert_height * np.cos(t) + d.insert_radius * np.sin(t)
        # Both the view of a raised point and its shadow land further away from this camera.
        along = top * self.reach_slope
        return self.away * along / 2, reach + along / 2 + HIDE_MARGIN_MM

    def zone_distance(self, scene: Scene) -> np.ndarray:
        """Distance (mm) of every pixel's plane hit from the centre of the decisive zone (h, w)."""
        cx, cy = np.array(scene.cavity_center) + self.zone_offset
        return np.hypot(self.px - cx, self.py - cy)

    def light(self, scene: Scene) -> np.ndarray:
        return light_vector(self.azimuth_deg, scene.cameras[self.index])

    def radiance(
        self, scene: Scene, texture: "SurfaceTexture | None" = None, gain: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Linear radiance (h, w, 3) × `gain` under this camera's strobe, and the mask of insert pixels."""
        cam = self.camera
        out, on_insert = _shade_scene(
            self.xy,
            self.dirs,
            cam.C[None, :],
            self._near_insert(scene),
            scene,
            self.design,
            self.light(scene),
            texture,
            (cam.height, cam.width),
            gain,
        )
        return out.reshape(cam.height, cam.width, 3), on_insert.reshape(cam.height, cam.width)

    def _near_insert(self, scene: Scene) -> np.ndarray:
        """Rays (flat) that can meet this scene's insert or land in its shadow: a disc around it,
        stretched away from the camera by the parallax and the shadow of its top."""
        if scene.insert is None:
            return np.zeros(len(self.xy), bool)
        d, pose = self.design, scene.insert
        t = np.deg2rad(pose.tilt_deg)
        top = d.insert_height * np.cos(t) + d.insert_radius * np.sin(t)
        along = top * self.reach_slope
        centre = np.array(scene.cavity_center) + np.array(pose.shift) + self.away * along / 2
        radius = d.insert_radius / np.cos(t) + d.insert_height * np.sin(t) + along / 2 + 0.5
        dx, dy = self.xy[:, 0] - centre[0], self.xy[:, 1] - centre[1]
        return dx * dx + dy * dy <= radius * radius

    def render(self, scene: Scene, texture: "SurfaceTexture | None" = None) -> np.ndarray:
        """The camera's uint8 RGB image of `scene`."""
        if texture is None:
            texture = SurfaceTexture.from_seed(scene.texture_seed)
        effects = scene.cameras[self.index]
        radiance, _ = self.radiance(scene, texture, 255.0 * effects.gain)
        return self._apply_effects(radiance, effects, scene)

    def _apply_effects(self, value: np.ndarray, fx: CameraEffects, scene: Scene) -> np.ndarray:
        # Highlights, the fixture and the sensor depend on the pixel's direction alone, never on
        # the insert: that is what lets a hidden camera carry no information about the class.
        if fx.glare is not None:
            gx, gy, radius, strength = fx.glare
            d2 = (self.px - gx) ** 2 + (self.py - gy) ** 2
            value = value + (strength * np.exp(-d2 / (2 * radius**2)))[..., None]
        if fx.hide is not None:
            dist = self.zone_distance(scene)
            if fx.hide == "glare":
                cover = 1.0 - _smoothstep(self.zone_radius, self.zone_radius + 2.0, dist)
                value = value + (HIDE_SATURATION * cover)[..., None]
            elif fx.hide == "fixture":
                # A clamp arm across the view, wide enough to cover the zone in this camera.
                a = np.deg2rad(fx.fixture_angle_deg)
                cx, cy = np.array(scene.cavity_center) + self.zone_offset
                across = np.abs(-(self.px - cx) * np.sin(a) + (self.py - cy) * np.cos(a))
                along = (self.px - cx) * np.cos(a) + (self.py - cy) * np.sin(a)
                arm = 1.0 - _smoothstep(self.zone_radius, self.zone_radius + 1.0, across)
                stripes = 1.0 + 0.25 * np.sin(along * 0.9).astype(np.float32)
                colour = FIXTURE[None, None, :] * (255.0 * scene.light_level * stripes)[..., None]
                # Written so that where the arm is opaque (arm = 1) the scene behind leaves no trace,
                # not even a rounding difference.
                value = value * (1.0 - arm)[..., None] + arm[..., None] * colour
            else:
                raise ValueError(f"unknown hide mechanism {fx.hide!r}")
        if fx.blur_sigma > 0.05:
            value = cv2.GaussianBlur(value, (0, 0), fx.blur_sigma)
        value = value + 0.5  # astype truncates: this rounds
        if fx.noise_sigma > 0:
            # A window of a fixed bank of normal deviates, at a seeded offset: drawing fresh ones
            # per pixel would cost a fifth of the whole render.
            start = np.random.default_rng([max(scene.texture_seed, 0), self.index, 1]).integers(
                NOISE_BANK - value.size
            )
            value += self.noise_bank[start : start + value.size].reshape(value.shape) * fx.noise_sigma
        return np.clip(value, 0, 255).astype(np.uint8)

    def top_down(self, scene: Scene, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """The true top-down (orthographic) uint8 RGB view at plane positions xs, ys under this
        camera's strobe: what a perfect IPM of a scene lying flat on the plane would give."""
        shape = np.shape(xs)
        xy = np.stack([np.ravel(xs), np.ravel(ys)], axis=1).astype(np.float32)
        origins = plane_to_world(xy.astype(np.float64))
        origins[:, 2] = 1000.0
        rays = np.broadcast_to(np.array([[0.0, 0.0, -1.0]]), origins.shape)
        out, _ = _shade_scene(
            xy,
            rays,
            origins,
            np.ones(len(xy), bool),
            scene,
            self.design,
            self.light(scene),
            SurfaceTexture.from_seed(scene.texture_seed),
            shape,
            255.0,
        )
        return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(shape + (3,))


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
