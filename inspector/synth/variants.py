"""Line variants: what differs between two plants that make the same part, as plain data read from JSON.

Two plants differ in what a model trained on one has never seen: the cameras' tilt, the mold's bowl and
insert radii, the steel's finish and the insert's colour, and the strobes' level and angle. A variant
names those values; everything else (the classes' definitions, the nuisances, the sensor) stays the
simulated line's. The named variants ship as JSON files in `inspector/synth/lines/`; a user's own file
has the same keys, and a key it leaves out keeps the default line's value.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from inspector.errors import InspectorError
from inspector.files import read_input_bytes
from inspector.synth.line import MAX_TILT_DEG, LineConfig
from inspector.synth.scene import CavityDesign, Lighting
from inspector.synth.shading import Materials

LINES_PACKAGE, LINES_FOLDER = "inspector.synth", "lines"  # package data, so a wheel carries them
# Beyond these the simulated cavity no longer fits its views (128 px × 0.375 mm = 48 mm across, with the
# engraved number 4 mm beyond the rim), or the classes' gaps no longer fit between insert and bowl.
BOWL_RADIUS_MM = (12.0, 20.0)
INSERT_RADIUS_MM = (6.0, 16.0)
MIN_NOMINAL_GAP_MM = 3.0
IMAGE_SIDE_PX = (64, 1024)
TINT = (0.5, 1.5)
LIGHT_LEVEL = (0.2, 2.0)
STROBE_TILT_DEG = (20.0, 75.0)


class LineVariantError(InspectorError):
    """A line variant file, or a name, that cannot be used."""


@dataclass(frozen=True)
class LineVariant:
    """One plant's simulated line (mm, degrees, pixels; colours linear RGB in [0, 1])."""

    name: str = "default"
    description: str = "the line the shipped rig and model were made on"
    camera_tilt_deg: float = 30.0
    image_size: tuple[int, int] = (256, 192)
    bowl_radius_mm: float = 18.0
    insert_radius_mm: float = 12.0
    steel_tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    insert_colour: tuple[float, float, float] = (0.88, 0.81, 0.64)
    light_level: tuple[float, float] = (0.7, 1.1)
    strobe_tilt_deg: tuple[float, float] = (50.0, 60.0)

    def config(self) -> LineConfig:
        return LineConfig(
            tilt_deg=self.camera_tilt_deg,
            image_size=self.image_size,
            design=CavityDesign(bowl_radius=self.bowl_radius_mm, insert_radius=self.insert_radius_mm),
            materials=Materials(steel_tint=self.steel_tint, insert_colour=self.insert_colour),
            lighting=Lighting(level=self.light_level, strobe_tilt_deg=self.strobe_tilt_deg),
            name=self.name,
        )

    @classmethod
    def of_config(cls, config: LineConfig, description: str = "") -> "LineVariant":
        """The variant a line config renders (its name, and every value a variant can set)."""
        return cls(
            name=config.name,
            description=description,
            camera_tilt_deg=float(config.tilt_deg),
            image_size=tuple(config.image_size),
            bowl_radius_mm=float(config.design.bowl_radius),
            insert_radius_mm=float(config.design.insert_radius),
            steel_tint=tuple(config.materials.steel_tint),
            insert_colour=tuple(config.materials.insert_colour),
            light_level=tuple(config.lighting.level),
            strobe_tilt_deg=tuple(config.lighting.strobe_tilt_deg),
        )

    def with_tilt(self, tilt_deg: float) -> "LineVariant":
        """This plant with its cameras at another tilt (`--tilt`); its name says so."""
        if tilt_deg == self.camera_tilt_deg:
            return self
        return replace(self, name=f"{self.name} at tilt {tilt_deg:g}", camera_tilt_deg=float(tilt_deg))

    def to_dict(self) -> dict[str, Any]:
        """The values as the JSON files hold them (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "LineVariant":
        """A variant from parsed JSON, every value checked; `where` (the file) starts every error."""
        if not isinstance(data, dict):
            raise LineVariantError(f"{where}: expected a JSON object of line values, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LineVariantError(f"{where}: unknown key {unknown[0]!r}; the keys are {', '.join(sorted(known))}")
        values = {k: _CHECKS[k](data[k], f"{where}: key {k!r}") for k in data}
        variant = cls(**{"name": Path(where).stem, **values})
        gap = variant.bowl_radius_mm - variant.insert_radius_mm
        if gap < MIN_NOMINAL_GAP_MM:
            raise LineVariantError(f"{where}: key 'insert_radius_mm': {variant.insert_radius_mm:g} leaves "
                                   f"{gap:g} mm to the bowl (bowl_radius_mm {variant.bowl_radius_mm:g}); the "
                                   f"classes need at least {MIN_NOMINAL_GAP_MM:g} mm")
        return variant


def _number(lo: float, hi: float, integer: bool = False):
    def check(v: Any, where: str) -> float:
        # bool is an int to Python, but `true` is no tilt
        ok_type = isinstance(v, int) if integer else isinstance(v, (int, float))
        if isinstance(v, bool) or not ok_type:
            kind = "an integer" if integer else "a number"
            raise LineVariantError(f"{where}: expected {kind}, got {json.dumps(v)}")
        if not (math.isfinite(v) and lo <= v <= hi):
            raise LineVariantError(f"{where}: {v:g} is out of range [{lo:g}, {hi:g}]")
        return int(v) if integer else float(v)

    return check


def _list(n: int, item, ordered: bool = False):
    def check(v: Any, where: str) -> tuple:
        if not isinstance(v, list) or len(v) != n:
            raise LineVariantError(f"{where}: expected a list of {n} values, got {json.dumps(v)}")
        out = tuple(item(x, where) for x in v)
        if ordered and out[0] > out[1]:
            raise LineVariantError(f"{where}: expected [low, high], got {json.dumps(v)}")
        return out

    return check


def _text(v: Any, where: str) -> str:
    if not isinstance(v, str):
        raise LineVariantError(f"{where}: expected a string, got {json.dumps(v)}")
    return v


_CHECKS = {
    "name": _text,
    "description": _text,
    "camera_tilt_deg": _number(0.0, MAX_TILT_DEG),
    "image_size": _list(2, _number(*IMAGE_SIDE_PX, integer=True)),
    "bowl_radius_mm": _number(*BOWL_RADIUS_MM),
    "insert_radius_mm": _number(*INSERT_RADIUS_MM),
    "steel_tint": _list(3, _number(*TINT)),
    "insert_colour": _list(3, _number(0.0, 1.0)),
    "light_level": _list(2, _number(*LIGHT_LEVEL), ordered=True),
    "strobe_tilt_deg": _list(2, _number(*STROBE_TILT_DEG), ordered=True),
}


def line_record(config: LineConfig, **extra: Any) -> dict[str, Any]:
    """What a dataset records of the line it came from: the variant's name and values, the cameras'
    azimuths, and `extra` (the seed, ...)."""
    variant = LineVariant.of_config(config)
    return {
        "name": variant.name,
        "tilt_deg": variant.camera_tilt_deg,
        "azimuths_deg": list(config.azimuths_deg),
        "image_size": list(config.image_size),
        "variant": {k: v for k, v in variant.to_dict().items() if k != "description"},
        **extra,
    }


def line_names() -> list[str]:
    """The variants shipped with inspector, by name."""
    folder = resources.files(LINES_PACKAGE).joinpath(LINES_FOLDER)
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def load_line_file(path: str | Path) -> LineVariant:
    path = Path(path)
    text = read_input_bytes(path, "line variant", LineVariantError)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LineVariantError(f"{path}: not a JSON file ({exc})") from None
    return LineVariant.from_dict(data, str(path))


def load_line(name_or_file: str) -> LineVariant:
    """A shipped variant by name (`default`, `line-b`), or a JSON file of one (a path, or a name ending .json)."""
    if name_or_file.endswith(".json") or "/" in name_or_file or Path(name_or_file).is_file():
        return load_line_file(name_or_file)
    names = line_names()
    if name_or_file not in names:
        raise LineVariantError(f"unknown line {name_or_file!r}; the lines are {', '.join(names)} "
                               "(or give a JSON file of one)")
    shipped = resources.files(LINES_PACKAGE).joinpath(LINES_FOLDER, f"{name_or_file}.json")
    return LineVariant.from_dict(json.loads(shipped.read_text()), f"{LINES_FOLDER}/{name_or_file}.json")
