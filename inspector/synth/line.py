"""The simulated dual-camera line: two oblique cameras over one cavity, calibrated like real ones.

Views are produced the way real ones are: render each camera's raw image, then
map it onto the cavity plane through the line's calibrated rig (by default the
rig shipped in `calibration/`, made by `inspector calibrate` from this line's
own chessboard images).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence

import numpy as np

from calibration import Grid, Rig, calibrate_rig, load_default_rig
from inspector.errors import InspectorError
from inspector.synth.camera import PinholeCamera
from inspector.synth.chessboard import render_chessboard
from inspector.synth.render import CameraView
from inspector.synth.scene import CLASSES, CavityDesign, Lighting, Scene, draw_scene
from inspector.synth.shading import Materials, SurfaceTexture

DEFAULT_HIDDEN_SHARE = 0.0
# Beyond this tilt the line's own chessboard images are too oblique for its calibration to pass (the
# board is not found, or the reprojection error exceeds the limit), and there is no rig to map with.
MAX_TILT_DEG = 60.0


@dataclass(frozen=True)
class LineConfig:
    """The simulated line (mm, degrees, pixels): its cameras' geometry, the cavity, the surfaces and strobes.

    `name` says which plant it is (a `LineVariant`'s name); it takes no part in comparing two configs.
    """

    tilt_deg: float = 30.0
    azimuths_deg: tuple[float, float] = (180.0, 0.0)  # camera 1 on the left of the cavity, camera 2 on the right
    distance_mm: float = 220.0
    focal_px: float = 800.0
    image_size: tuple[int, int] = (256, 192)
    design: CavityDesign = field(default_factory=CavityDesign)
    board_pattern: tuple[int, int] = (9, 6)
    board_square_mm: float = 4.0
    materials: Materials = field(default_factory=Materials)
    lighting: Lighting = field(default_factory=Lighting)
    name: str = field(default="default", compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.tilt_deg <= MAX_TILT_DEG:  # also refuses NaN
            raise InspectorError(f"camera tilt must be within [0, {MAX_TILT_DEG:g}] degrees off vertical "
                                 f"(the range the simulated line calibrates), got {self.tilt_deg:g}")

    def camera_geometry(self) -> tuple:
        """What the rig depends on: two lines that differ only in their cavities, surfaces or light share it."""
        return (self.tilt_deg, self.azimuths_deg, self.distance_mm, self.focal_px, self.image_size,
                self.board_pattern, self.board_square_mm)

    def cameras(self) -> tuple[PinholeCamera, PinholeCamera]:
        w, h = self.image_size
        return tuple(
            PinholeCamera.looking_at_cavity(
                azimuth_deg=az,
                tilt_deg=self.tilt_deg,
                distance_mm=self.distance_mm,
                focal_px=self.focal_px,
                width=w,
                height=h,
            )
            for az in self.azimuths_deg
        )


@dataclass(frozen=True, eq=False)
class Sample:
    """One simulated cavity: both raw camera images, both views after IPM, and the ground truth."""

    index: int
    label: str
    evidence: str
    view1: np.ndarray
    view2: np.ndarray
    raw1: np.ndarray
    raw2: np.ndarray
    scene: Scene


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of sample `index`: independent of how many samples are drawn around it."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(index),)))


class SimulatedLine:
    """Renders cavities through two virtual cameras and the line's rig."""

    def __init__(self, config: Optional[LineConfig] = None, rig: Optional[Rig] = None):
        self.config = config or LineConfig()
        self.design = self.config.design
        cams = self.config.cameras()
        self.views = tuple(
            CameraView(cam, self.design, i, self.config.materials, self.config.lighting) for i, cam in enumerate(cams)
        )
        if rig is None:
            shipped = self.config.camera_geometry() == LineConfig().camera_geometry()
            rig = load_default_rig() if shipped else self.calibrate()
        for name, cam in zip(("1", "2"), cams):
            if rig.camera(name).image_size != (cam.width, cam.height):
                raise InspectorError(
                    f"rig {rig.source or rig.sha256[:12]} calibrated camera {name} at "
                    f"{rig.camera(name).image_size}, but the line renders {cam.width}×{cam.height}"
                )
        self.rig = rig

    # -- calibration -------------------------------------------------------------------------
    def chessboard_images(self, n: int = 4, seed: int = 0) -> dict[str, list[np.ndarray]]:
        """`n` shots per camera of the calibration board on the plane, under varying light and noise."""
        rng = np.random.default_rng(seed)
        out: dict[str, list[np.ndarray]] = {"1": [], "2": []}
        for _ in range(n):
            for name, view in zip(("1", "2"), self.views):
                out[name].append(
                    render_chessboard(
                        view.camera,
                        self.config.board_pattern,
                        self.config.board_square_mm,
                        light=float(rng.uniform(0.8, 1.05)),
                        noise_sigma=float(rng.uniform(0.5, 2.0)),
                        rng=rng,
                    )
                )
        return out

    def calibrate(self, n: int = 4, seed: int = 0, grid: Grid = Grid()) -> Rig:
        """A rig for this line from its own chessboard images (used when no shipped rig fits)."""
        return calibrate_rig(
            self.chessboard_images(n, seed), self.config.board_pattern, self.config.board_square_mm, grid=grid
        )

    # -- cavities ----------------------------------------------------------------------------
    def draw(
        self,
        index: int,
        seed: int,
        *,
        hidden_share: float = DEFAULT_HIDDEN_SHARE,
        class_mix: Optional[Sequence[float]] = None,
    ) -> Scene:
        rng = sample_rng(seed, index)
        if class_mix is None:
            label = CLASSES[index % len(CLASSES)]  # balanced and reproducible for studies
        else:
            label = CLASSES[int(rng.choice(len(CLASSES), p=np.asarray(class_mix) / np.sum(class_mix)))]
        return draw_scene(label, rng, self.design, hidden_share=hidden_share, lighting=self.config.lighting)

    def render_raw(self, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
        texture = SurfaceTexture.from_seed(scene.texture_seed)
        return self.views[0].render(scene, texture), self.views[1].render(scene, texture)

    def render(self, scene: Scene, index: int = 0) -> Sample:
        raw1, raw2 = self.render_raw(scene)
        view1, view2 = self.rig.warp_pair(raw1, raw2)
        return Sample(index, scene.label, scene.evidence, view1, view2, raw1, raw2, scene)

    def top_down(self, scene: Scene, camera: int) -> np.ndarray:
        """The true top-down view of `scene` on the rig's grid under camera `camera`'s (1 or 2) strobe."""
        xs, ys = self.rig.grid.plane_coords()
        return self.views[camera - 1].top_down(scene, xs, ys)

    def samples(
        self,
        n: int,
        *,
        seed: int,
        hidden_share: float = DEFAULT_HIDDEN_SHARE,
        class_mix: Optional[Sequence[float]] = None,
        start: int = 0,
    ) -> Iterator[Sample]:
        check_share(hidden_share)
        for i in range(start, start + n):
            yield self.render(self.draw(i, seed, hidden_share=hidden_share, class_mix=class_mix), i)


def check_share(hidden_share: float) -> None:
    if not 0.0 <= hidden_share <= 1.0:
        raise InspectorError(f"hidden share must be within [0, 1], got {hidden_share}")


def generate(
    n: int,
    *,
    seed: int,
    hidden_share: Optional[float] = None,
    line: Optional[SimulatedLine] = None,
    class_mix: Optional[Sequence[float]] = None,
) -> list[Sample]:
    """`n` simulated cavities (classes in turn unless `class_mix` gives their proportions).

    `hidden_share` of them have their decisive zone hidden from one camera (by
    glare or a fixture), so that only the other camera's pixels show the class.
    The same seed gives the same bytes; sample i does not depend on n.
    """
    line = line or SimulatedLine()
    share = DEFAULT_HIDDEN_SHARE if hidden_share is None else float(hidden_share)
    return list(line.samples(int(n), seed=seed, hidden_share=share, class_mix=class_mix))
