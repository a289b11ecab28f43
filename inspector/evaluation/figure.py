"""Figures of explanations, after Tilgner et al.'s Fig. 4: per view the image and its four stage
heatmaps overlaid, and the three curves with m, its bootstrap-over-p interval and "unsure" where the
interval crosses a boundary of the ±0.02 band (`explain.influence_interval`) in the title.

Matplotlib's object API with the Agg canvas: no pyplot, so no global figure state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from inspector.errors import InspectorError
from inspector.explain.engine import Explanation
from inspector.explain.influence_interval import interval_text, record_interval
from inspector.files import write_then_rename
from inspector.number_text import MINUS, fixed

CURVE_STYLE = (
    ("a1: both masked (1−p, p)", "#444444", "-"),
    ("a2: camera 1 masked", "#1f77b4", "-"),
    ("a3: camera 2 masked", "#d62728", "-"),
)


def overlay(ax, image: np.ndarray, heat: np.ndarray) -> None:
    ax.imshow(image, interpolation="nearest")
    top = float(heat.max())
    # Display normalises each map on its own; an all-zero map stays blank rather than dividing by zero.
    ax.imshow(heat / top if top > 0 else heat, cmap="jet", alpha=0.45, vmin=0, vmax=1, interpolation="bilinear")


def draw_curves(ax, e: Explanation) -> None:
    for (label, colour, style), row in zip(CURVE_STYLE, e.curves):
        ax.plot(e.p, row, style, color=colour, marker="o", markersize=3, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("p (share of the high-influence region occluded)")
    ax.set_ylabel(f"P({e.target_name})")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(curves_title(e), fontsize=10)


def curves_title(e: Explanation) -> str:
    """"m = −0.034 [−0.061, +0.012] → camera 1, unsure": m, its 95% bootstrap-over-p interval, the
    paper's verdict, "unsure" when the interval crosses a boundary of the ±0.02 band, and a fill that
    is not the paper's."""
    low, high, unsure = record_interval(e.curves)
    title = f"m = {fixed(e.m, 3, sign=True, minus=MINUS)}"
    if np.isfinite(low):
        title += f" {interval_text(low, high)}"
    title += f" → {e.influence}" + (", unsure" if unsure else "")
    return title + ("" if e.fill == "zero" else f" (fill: {e.fill})")


def explanation_figure(view1: np.ndarray, view2: np.ndarray, e: Explanation, title: str = "") -> Figure:
    fig = Figure(figsize=(11, 7.4), dpi=100)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, 5, height_ratios=[1, 1, 1.25], hspace=0.35, wspace=0.08)
    for v, image in enumerate((view1, view2)):
        ax = fig.add_subplot(grid[v, 0])
        ax.imshow(image, interpolation="nearest")
        ax.set_ylabel(f"camera {v + 1}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        if v == 0:
            ax.set_title("view (IPM)", fontsize=9)
        for j in range(4):
            ax = fig.add_subplot(grid[v, j + 1])
            overlay(ax, image, e.cams[v, j])
            ax.set_axis_off()
            if v == 0:
                h, w = e.stage_maps[v][j].shape if e.stage_maps and e.stage_maps[v] else (0, 0)
                ax.set_title(f"stage {j + 1}" + (f" ({w}×{h})" if h else ""), fontsize=9)
    ax = fig.add_subplot(grid[2, 1:4])
    draw_curves(ax, e)
    probs = ", ".join(f"{c} {fixed(100 * p, 1)}%" for c, p in zip(e.classes, e.probs))
    made_by = f" with {e.explainer}" if e.explainer else ""
    fig.suptitle(title or f"predicted {e.classes[e.predicted]} ({probs}); explaining {e.target_name}{made_by}",
                 fontsize=11)
    return fig


def figure_format(path: str | Path) -> str:
    """The image format a figure at `path` is written in, from its extension (none: PNG); refuses one
    matplotlib cannot write, before anything is computed."""
    path = Path(path)
    ext = path.suffix[1:].lower() or "png"
    formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    if ext not in formats:
        raise InspectorError(f"{path}: cannot write a figure as .{ext} (formats: {', '.join(sorted(formats))})")
    return ext


def save_explanation_figure(path: str | Path, view1, view2, e: Explanation, title: str = "") -> Path:
    """Draw the figure into `path`, under a temporary name renamed when complete. The format is named,
    not left to the name: the temporary name has no image extension, and a name without one gets PNG."""
    path = Path(path)
    fig = explanation_figure(view1, view2, e, title)
    return write_then_rename(path, lambda tmp: fig.savefig(tmp, format=figure_format(path)))
