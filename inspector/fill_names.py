"""The names of the fills of masked pixels (`inspector.explain.fills`), apart from the torch code that
makes them: the log schema and the command line check a name without importing torch."""

from __future__ import annotations

from inspector.errors import InspectorError

FILLS = ("zero", "road", "mean")  # "zero" is Tilgner et al.'s method and the default
DEFAULT_FILL = "zero"


def check_fill(fill: str) -> str:
    if fill not in FILLS:
        raise InspectorError(f"fill must be one of {', '.join(FILLS)}, got {fill!r}")
    return fill
