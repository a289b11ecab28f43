"""A figure sheet of the pairs two models classify differently: per tile both views, the truth, and each
model's prediction with its probability (green where right, red where wrong).

Matplotlib's object API with the Agg canvas, as `inspector.evaluation.figure`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from inspector.evaluation.figure import figure_format
from inspector.evaluation.model_compare import ModelComparison
from inspector.files import write_then_rename

MAX_TILES = 48
COLUMNS = 6
RIGHT, WRONG = "#2e7d32", "#c62828"


def _pair_image(view1: np.ndarray, view2: np.ndarray) -> np.ndarray:
    gap = np.full((view1.shape[0], max(2, view1.shape[1] // 32), 3), 255, np.uint8)
    return np.concatenate([view1, gap, view2], axis=1)


def disagreement_figure(c: ModelComparison, view1: np.ndarray, view2: np.ndarray, max_tiles: int = MAX_TILES) -> Figure:
    a, b = c.sides
    idx = c.disagreements
    shown = idx[:max_tiles]
    cols = min(COLUMNS, max(len(shown), 1))
    rows = max(1, int(np.ceil(len(shown) / cols)))
    height = 2.35 * rows + 1.0  # inches: the tiles, and a band on top for the title
    fig = Figure(figsize=(3.1 * cols, height), dpi=100)
    FigureCanvasAgg(fig)
    more = f"; {len(idx) - len(shown)} more not shown" if len(idx) > len(shown) else ""
    fig.suptitle(f"{len(idx)} of {len(c.labels)} pairs on which A ({a.name}) and B ({b.name}) disagree{more}"
                 "\nleft: camera 1, right: camera 2", fontsize=10, y=1 - 0.1 / height, va="top")
    grid = fig.add_gridspec(rows, cols, hspace=0.55, wspace=0.06, top=1 - 1.0 / height, bottom=0.02,
                            left=0.01, right=0.99)
    for t, i in enumerate(shown):
        ax = fig.add_subplot(grid[t // cols, t % cols])
        ax.imshow(_pair_image(view1[i], view2[i]), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        truth = int(c.labels[i])
        ax.set_title(f"#{i} truth {c.classes[truth]}", fontsize=8, pad=22)
        for line, (tag, side) in enumerate((("A", a), ("B", b))):
            k = int(side.predicted[i])
            ax.text(0.5, 1.02 + 0.1 * (1 - line), f"{tag}: {c.classes[k]} {100 * side.probs[i, k]:.0f}%",
                    transform=ax.transAxes, ha="center", va="bottom", fontsize=8,
                    color=RIGHT if k == truth else WRONG)
    return fig


def save_disagreement_sheet(path: str | Path, c: ModelComparison, view1: np.ndarray, view2: np.ndarray,
                            max_tiles: int = MAX_TILES) -> Path:
    """Draw the sheet into `path` (format from its extension, PNG without one), written then renamed."""
    path = Path(path)
    fig = disagreement_figure(c, view1, view2, max_tiles)
    return write_then_rename(path, lambda tmp: fig.savefig(tmp, format=figure_format(path)))
