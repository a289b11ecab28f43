"""Ray-cast rendering of the cavity scene: oblique camera images and the true top-down view.

What each ray sees is assembled here from the insert's geometry (`insert_geometry`) and the surfaces'
shading (`shading`); a camera then adds what it does to the light it receives (highlights, a view
hidden by glare or a fixture, blur, sensor noise). The insert is a (possibly leaning) cylinder with
height: seen obliquely, its unlit wall lands, after IPM, behind the insert as a black blind-spot shadow.
"""

from __future__ import annotations

import cv2
import numpy as np

from inspector.synth.camera import PinholeCamera, plane_to_world
from inspector.synth.insert_geometry import intersect_insert
from inspector.synth.scene import CameraEffects, CavityDesign, Lighting, Scene
from inspector.synth.shading import (
    DEFAULT_MATERIALS,
    Materials,
    SurfaceTexture,
    insert_radiance,
    light_vector,
    plane_radiance,
    smoothstep,
)

HIDE_MARGIN_MM = 1.5  # the hidden zone reaches this far beyond any insert pixel (blur margin)
HIDE_SATURATION = 4000.0  # far above 255, so sensor noise cannot pull a glared pixel off white
NOISE_BANK = 1 << 21
FIXTURE = np.array([0.10, 0.11, 0.12], np.float32)


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
    materials: Materials = DEFAULT_MATERIALS,
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
    out = plane_radiance(
        x, y, scene, design, light, lit=lit.reshape(shape), texture=texture, gain=gain, materials=materials
    )
    out = out.reshape(n, 3)
    if hits is not None and hits.hit.any():
        out[on_insert] = insert_radiance(hits, scene.insert, scene, design, light, materials) * gain
    return out, on_insert


class CameraView:
    """One camera of the line with its rays precomputed (the rig is fixed; cavities change), and the plant's
    surfaces and strobes."""

    def __init__(
        self,
        camera: PinholeCamera,
        design: CavityDesign,
        index: int,
        materials: Materials = DEFAULT_MATERIALS,
        lighting: Lighting = Lighting(),
    ):
        self.camera = camera
        self.design = design
        self.index = index
        self.materials = materials
        self.dirs = camera.ray_directions(camera.pixel_grid()).reshape(-1, 3)
        self.xy = camera.plane_hits(self.dirs).astype(np.float32)  # (N, 2)
        self.px = self.xy[:, 0].reshape(camera.height, camera.width)
        self.py = self.xy[:, 1].reshape(camera.height, camera.width)
        self.azimuth_deg = float(np.rad2deg(np.arctan2(camera.C[1], camera.C[0])))
        az = np.deg2rad(self.azimuth_deg)
        self.away = np.array([-np.cos(az), np.sin(az)])  # plane direction pointing away from this camera
        # How far from below a raised point its image (parallax) or shadow can land, per mm of height.
        view_slope = float((np.hypot(self.dirs[:, 0], self.dirs[:, 1]) / np.abs(self.dirs[:, 2])).max())
        self.reach_slope = max(view_slope, float(np.tan(np.deg2rad(lighting.strobe_tilt_deg[1]))))
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
            self.materials,
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
                cover = 1.0 - smoothstep(self.zone_radius, self.zone_radius + 2.0, dist)
                value = value + (HIDE_SATURATION * cover)[..., None]
            elif fx.hide == "fixture":
                # A clamp arm across the view, wide enough to cover the zone in this camera.
                a = np.deg2rad(fx.fixture_angle_deg)
                cx, cy = np.array(scene.cavity_center) + self.zone_offset
                across = np.abs(-(self.px - cx) * np.sin(a) + (self.py - cy) * np.cos(a))
                along = (self.px - cx) * np.cos(a) + (self.py - cy) * np.sin(a)
                arm = 1.0 - smoothstep(self.zone_radius, self.zone_radius + 1.0, across)
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
            self.materials,
        )
        return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(shape + (3,))
