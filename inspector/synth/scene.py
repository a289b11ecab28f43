"""What a simulated cavity is made of: geometry, class definitions, nuisances.

A `Scene` is plain data: everything the renderer needs, drawn from a seeded
generator by `draw_scene`. Nuisances (light, texture, camera effects) are drawn
from their own stream, independently of the insert, so that a test can render
the same nuisances with another class and compare pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from inspector.errors import InspectorError

CLASSES = ("correct", "missing", "skewed")
OK_CLASS = "correct"  # insert present and seated
EVIDENCE = ("both", "camera 1", "camera 2", "none")
HIDE_MECHANISMS = ("glare", "fixture")
LIGHT_TILT_RANGE = (50.0, 60.0)  # strobe elevation, degrees off vertical
LIGHT_LEVEL_RANGE = (0.7, 1.1)  # relative to nominal


@dataclass(frozen=True)
class Lighting:
    """What a plant's strobes give: the ranges a scene's light level and each strobe's tilt are drawn from."""

    level: tuple[float, float] = LIGHT_LEVEL_RANGE
    strobe_tilt_deg: tuple[float, float] = LIGHT_TILT_RANGE


def require_simulated_classes(classes, what: str) -> None:
    """Refuse a model whose classes are not the simulator's: simulated ground truth (a study, an explainer
    comparison) can only be held against a model that predicts the simulator's classes, in its order."""
    if tuple(classes) != CLASSES:
        raise InspectorError(
            f"{what}: the model's classes ({', '.join(classes)}) are not the simulator's ({', '.join(CLASSES)}); "
            "simulated ground truth needs a model trained on the simulator's classes"
        )


@dataclass(frozen=True)
class CavityDesign:
    """The mold cavity as designed (mm, degrees)."""

    bowl_radius: float = 18.0
    insert_radius: float = 12.0
    insert_height: float = 5.0
    # Class limits, as gaps between the insert's outline seen from above and the bowl's edge.
    correct_max_shift: float = 0.5
    correct_max_tilt: float = 1.5
    skewed_gap: tuple[float, float] = (0.2, 1.5)
    skewed_max_tilt: float = 12.0
    pose_jitter: float = 0.8  # how far the whole cavity may sit off the nominal centre

    def nominal_gap(self) -> float:
        return self.bowl_radius - self.insert_radius


@dataclass(frozen=True)
class InsertPose:
    """Where the insert sits: shift of its base centre from the cavity centre, and its lean."""

    shift: tuple[float, float]  # plane mm, relative to the cavity centre
    tilt_deg: float
    tilt_dir_deg: float  # plane direction towards which the top leans
    spin_deg: float  # rotation of the insert about its own axis (its top has a marker)


@dataclass(frozen=True)
class CameraEffects:
    """What one camera adds: gain, optics, sensor noise, highlights, and what hides the cavity."""

    gain: float = 1.0
    blur_sigma: float = 0.0  # pixels
    noise_sigma: float = 0.0  # grey levels
    glare: Optional[tuple[float, float, float, float]] = None  # x, y, radius mm, strength (grey levels)
    hide: Optional[str] = None  # None, "glare" or "fixture": covers the cavity's whole decisive zone
    fixture_angle_deg: float = 0.0
    # Each camera has its own strobe beside it, lower than the camera: it fires only during that
    # camera's exposure, so each image has its own light and the insert casts its shadow away from it.
    light_azimuth_offset_deg: float = 0.0
    light_tilt_deg: float = 55.0


@dataclass(frozen=True)
class Scene:
    """One cavity in front of both cameras."""

    label: str
    cavity_center: tuple[float, float]
    cavity_rot_deg: float
    insert: Optional[InsertPose]
    light_level: float
    light_gradient: tuple[float, float]  # relative change per mm along plane x and y
    light_tint: tuple[float, float, float]
    texture_seed: int
    residue: tuple[tuple[float, float, float, float], ...]  # x, y, radius mm, contrast (−: dark)
    cameras: tuple[CameraEffects, CameraEffects]

    @property
    def evidence(self) -> str:
        """Which camera's pixels show what decides the class (see `hidden_cameras`)."""
        hidden = [i for i, cam in enumerate(self.cameras) if cam.hide is not None]
        if not hidden:
            return "both"
        if len(hidden) == 2:
            return "none"
        return "camera 2" if hidden == [0] else "camera 1"

    def with_label(self, label: str, rng: np.random.Generator, design: CavityDesign) -> "Scene":
        """The same nuisances with the insert of another class (for pixel-truth tests)."""
        return replace(self, label=label, insert=draw_insert(label, rng, design))


def insert_outline_extent(pose: InsertPose, design: CavityDesign) -> float:
    """How far from the cavity centre the insert reaches, seen from above, towards its lean (mm)."""
    t = np.deg2rad(pose.tilt_deg)
    r, h = design.insert_radius, design.insert_height
    shift = float(np.hypot(*pose.shift))
    # The top rim leans out by h·sin t; the wall meets the plane at r/cos t.
    return shift + max(r / np.cos(t), h * np.sin(t) + r * np.cos(t))


def insert_gap(pose: Optional[InsertPose], design: CavityDesign) -> float:
    """Smallest top-down gap between insert and bowl edge (mm); the full bowl radius when missing."""
    if pose is None:
        return design.bowl_radius
    return design.bowl_radius - insert_outline_extent(pose, design)


def draw_insert(label: str, rng: np.random.Generator, design: CavityDesign) -> Optional[InsertPose]:
    if label not in CLASSES:
        raise ValueError(f"unknown class {label!r}; classes are {', '.join(CLASSES)}")
    spin = float(rng.uniform(0, 360))
    if label == "missing":
        return None
    if label == "correct":
        shift_r = design.correct_max_shift * np.sqrt(rng.uniform())
        shift_dir = rng.uniform(0, 2 * np.pi)
        tilt = float(rng.uniform(0, design.correct_max_tilt))
        return InsertPose(
            shift=(float(shift_r * np.cos(shift_dir)), float(shift_r * np.sin(shift_dir))),
            tilt_deg=tilt,
            tilt_dir_deg=float(rng.uniform(0, 360)),
            spin_deg=spin,
        )
    # skewed: lean and shift towards one direction until the gap closes to the skewed range
    direction = float(rng.uniform(0, 360))
    tilt = float(rng.uniform(0, design.skewed_max_tilt)) if rng.uniform() < 0.6 else 0.0
    gap = float(rng.uniform(*design.skewed_gap))
    unshifted = InsertPose((0.0, 0.0), tilt, direction, spin)
    shift_r = design.bowl_radius - gap - insert_outline_extent(unshifted, design)
    a = np.deg2rad(direction)
    return InsertPose(
        shift=(float(shift_r * np.cos(a)), float(shift_r * np.sin(a))),
        tilt_deg=tilt,
        tilt_dir_deg=direction,
        spin_deg=spin,
    )


def draw_camera_effects(
    rng: np.random.Generator, hide: Optional[str], lighting: Lighting = Lighting()
) -> CameraEffects:
    glare = None
    if rng.uniform() < 0.25:  # an incidental highlight, too small to hide the cavity
        glare = (
            float(rng.uniform(-20, 20)),
            float(rng.uniform(-20, 20)),
            float(rng.uniform(1.5, 4.0)),
            float(rng.uniform(40, 160)),
        )
    return CameraEffects(
        gain=float(rng.uniform(0.85, 1.15)),
        blur_sigma=float(rng.uniform(0.0, 0.9)),
        noise_sigma=float(rng.uniform(1.0, 4.0)),
        glare=glare,
        hide=hide,
        fixture_angle_deg=float(rng.uniform(0, 180)),
        light_azimuth_offset_deg=float(rng.uniform(-10, 10)),
        light_tilt_deg=float(rng.uniform(lighting.strobe_tilt_deg[0], lighting.strobe_tilt_deg[1])),
    )


def draw_scene(
    label: str,
    rng: np.random.Generator,
    design: CavityDesign,
    *,
    hidden_share: float = 0.0,
    lighting: Lighting = Lighting(),
) -> Scene:
    """Draw one cavity of class `label` with nuisances; `hidden_share` of them hide it from one camera."""
    # Nuisances come first and from their own child stream, so the insert never shifts them.
    nuisance_rng, insert_rng = rng.spawn(2)
    hide: list[Optional[str]] = [None, None]
    if nuisance_rng.uniform() < hidden_share:
        hidden_cam = int(nuisance_rng.integers(2))
        hide[hidden_cam] = HIDE_MECHANISMS[int(nuisance_rng.integers(len(HIDE_MECHANISMS)))]
    jitter_r = design.pose_jitter * np.sqrt(nuisance_rng.uniform())
    jitter_a = nuisance_rng.uniform(0, 2 * np.pi)
    n_residue = int(nuisance_rng.poisson(0.8))
    residue = tuple(
        (
            float(nuisance_rng.uniform(-24, 24)),
            float(nuisance_rng.uniform(-24, 24)),
            float(nuisance_rng.uniform(0.3, 1.2)),
            float(nuisance_rng.choice([-1, 1]) * nuisance_rng.uniform(0.2, 0.5)),
        )
        for _ in range(n_residue)
    )
    light_level = float(nuisance_rng.uniform(*lighting.level))
    light_gradient = (float(nuisance_rng.uniform(-0.006, 0.006)), float(nuisance_rng.uniform(-0.006, 0.006)))
    tint = nuisance_rng.uniform(0.93, 1.07, size=3)
    tint = tuple(float(v) for v in tint / tint.mean())
    texture_seed = int(nuisance_rng.integers(2**31))
    cameras = tuple(draw_camera_effects(nuisance_rng, hide[k], lighting) for k in range(2))
    return Scene(
        label=label,
        cavity_center=(float(jitter_r * np.cos(jitter_a)), float(jitter_r * np.sin(jitter_a))),
        cavity_rot_deg=float(nuisance_rng.uniform(0, 360)),
        insert=draw_insert(label, insert_rng, design),
        light_level=light_level,
        light_gradient=light_gradient,
        light_tint=tint,
        texture_seed=texture_seed,
        residue=residue,
        cameras=cameras,
    )


def clean_scene(label: str, rng: np.random.Generator, design: CavityDesign) -> Scene:
    """A scene without nuisances: even light, no texture noise, ideal cameras (for geometry checks)."""
    return Scene(
        label=label,
        cavity_center=(0.0, 0.0),
        cavity_rot_deg=0.0,
        insert=draw_insert(label, rng, design),
        light_level=1.0,
        light_gradient=(0.0, 0.0),
        light_tint=(1.0, 1.0, 1.0),
        texture_seed=-1,  # no texture
        residue=(),
        cameras=(CameraEffects(), CameraEffects()),
    )
