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


def fill_option(fill: str) -> dict:
    """The keyword to start an explainer with: none for the default, so an explainer plugin that knows no
    fills (one not built on `explain.base.Explainer`) still starts as it always did."""
    return {} if check_fill(fill) == DEFAULT_FILL else {"fill": fill}
