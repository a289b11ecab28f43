"""Choosing an explainer: the same simulated pairs under several explainers, compared as Sattarzadeh et al.
compare explainers in the SISE paper.

For each explainer, on the same pairs and in the same run: the explanations with
their runtime per pair (maps, and maps plus Tilgner et al.'s curves, from the engine's
own timings; the best of `rounds` rounds on the first batch, the explainers taking
turns, so that load from elsewhere on a shared machine does not land on one
explainer alone), the faithfulness metrics of `metrics` on each explanation's mask
prior, Tilgner et al.'s own measures (mean curves a1–a3, |m|) and how often the
influence names the camera that the simulator says is the only one to see the
cavity. A table of metric × method, JSON of everything, and figures of the same
pairs under every explainer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from inspector.explain.cam_rules import GradCAM
from inspector.explain.engine import Explanation
from inspector.explain.explainers import start_explainer
from inspector.evaluation.figure import CURVE_STYLE, overlay
from inspector.evaluation.metrics import DEFAULT_STEPS, SETTINGS, TOP_SHARE, Faithfulness, explanation_faithfulness
from inspector.evaluation.study import summarise

DEFAULT_EXPLAINERS = ("gradcam", "hirescam", "gradcampp", "xgradcam", "layercam", "scorecam", "rise", "gradcam-fused")
DEFAULT_PER_CLASS = 20  # 60 pairs: all eight explainers in about three minutes on two CPU cores


@dataclass
class MethodRun:
    name: str
    explanations: list[Explanation]
    faithfulness: Faithfulness
    study: dict  # `study.summarise` of its explanations
    maps_s: float  # seconds per pair, best round
    curves_s: float  # seconds per pair, in that round
    metrics_s: float  # seconds for all pairs (not a runtime of the explainer)


@dataclass
class Comparison:
    classes: tuple[str, ...]
    labels: np.ndarray
    evidence: np.ndarray
    views1: np.ndarray  # (N, H, W, 3) uint8, kept for the figures
    views2: np.ndarray
    runs: list[MethodRun] = field(default_factory=list)
    settings: dict = field(default_factory=dict)


def run_comparison(
    model,
    names: Sequence[str],
    per_class: int = DEFAULT_PER_CLASS,
    *,
    seed: int,
    hidden_share: float,
    line=None,
    device=None,
    batch: int = 16,
    steps: int = DEFAULT_STEPS,
    rounds: int = 3,
    registry=None,
    progress: Optional[Callable[[str, int, int], None]] = None,
) -> Comparison:
    """Explain per_class × classes simulated pairs with each explainer `names` names, and measure each.
    progress(name, pairs done, pairs in all) as batches finish."""
    from inspector.synth.line import SimulatedLine
    from inspector.synth.scene import CLASSES, require_simulated_classes

    require_simulated_classes(model.classes, "explainer comparison")
    line = line or SimulatedLine()
    n = per_class * len(CLASSES)
    samples = list(line.samples(n, seed=seed, hidden_share=hidden_share))
    v1 = np.stack([s.view1 for s in samples])
    v2 = np.stack([s.view2 for s in samples])
    result = Comparison(
        classes=(), labels=np.array([CLASSES.index(s.label) for s in samples]),
        evidence=np.array([s.evidence for s in samples]), views1=v1, views2=v2,
        settings={"seed": seed, "hidden_share": hidden_share, "per_class": per_class, "n": n, "batch": batch,
                  "steps": steps, "top_share": TOP_SHARE, "timing_rounds": rounds},
    )
    # Warm-up, untimed: the first batch of a shape pays for kernel selection and allocation, which
    # would otherwise be charged to whichever explainer runs first. Each explainer then warms its
    # own path (RISE draws its masks) on one pair.
    GradCAM(model, device=device).explain_batch(v1[:batch], v2[:batch], batch=batch)
    explainers, timings = {}, {}
    for name in names:
        explainer = explainers[name] = start_explainer(name, model, device=device, registry=registry)
        result.classes = tuple(explainer.classes)
        explainer.explain_batch(v1[:1], v2[:1])
        explanations: list[Explanation] = []
        for start in range(0, n, batch):
            explanations += explainer.explain_batch(v1[start:start + batch], v2[start:start + batch], batch=batch)
            if progress:
                progress(name, len(explanations), n)
        timings[name] = [_per_pair(explanations[0])]  # round one: the first batch
        t0 = time.perf_counter()
        faith = explanation_faithfulness(explainer, v1, v2, explanations, steps=steps, batch=batch)
        metrics_s = time.perf_counter() - t0
        result.runs.append(MethodRun(
            name, explanations, faith, summarise(result.classes, result.labels, result.evidence, explanations),
            maps_s=np.nan, curves_s=np.nan, metrics_s=metrics_s,
        ))
    for _ in range(rounds - 1):
        for name, explainer in explainers.items():
            timings[name].append(_per_pair(explainer.explain_batch(v1[:batch], v2[:batch], batch=batch)[0]))
    for run in result.runs:
        run.maps_s, run.curves_s = min(timings[run.name], key=sum)
    return result


def _per_pair(e: Explanation) -> tuple[float, float]:
    """(maps, curves) seconds per pair of the batch that made `e`."""
    return e.timings.get("maps_s", np.nan), e.timings.get("curves_s", np.nan)


# -- the table ------------------------------------------------------------------------------------
def _curve_means(run: MethodRun) -> np.ndarray:
    return np.nanmean(np.stack([e.curves for e in run.explanations]), axis=(0, 2))  # (3,) a1, a2, a3


def _rows(c: Comparison) -> list[tuple[str, str, list[float]]]:
    """(metric, which way is better: "↓", "↑" or "", one value per method)."""
    rows: list[tuple[str, str, list[float]]] = [
        ("runtime: maps, ms/pair", "↓", [1e3 * r.maps_s for r in c.runs]),
        ("runtime: maps + curves, ms/pair", "↓", [1e3 * (r.maps_s + r.curves_s) for r in c.runs]),
    ]
    faith = [r.faithfulness for r in c.runs]
    for label, key, better in (("drop %", "drop", "↓"), ("increase %", "increase", "↑")):
        values = [getattr(f, key)() for f in faith]
        rows += [(f"{label} ({s})", better, [float(v[i]) for v in values]) for i, s in enumerate(SETTINGS)]
    for label, key, better in (("deletion AUC", "deletion_auc", "↓"), ("insertion AUC", "insertion_auc", "↑")):
        values = [getattr(f, key)().mean(axis=0) for f in faith]
        rows += [(f"{label} ({s})", better, [float(v[i]) for v in values]) for i, s in enumerate(SETTINGS)]
    means = [_curve_means(r) for r in c.runs]
    for i, (curve, _, _) in enumerate(CURVE_STYLE):
        rows.append((f"Tilgner et al. mean {curve.split(':')[0]}", "↓", [float(m[i]) for m in means]))
    rows.append(("Tilgner et al. mean |m|", "", [float(np.nanmean([abs(e.m) for e in r.explanations])) for r in c.runs]))
    hidden = int(np.isin(c.evidence, ("camera 1", "camera 2")).sum())
    rows.append((f"influence = ground truth, % (n = {hidden})", "↑",
                 [100 * (r.study["hidden_agreement_overall"] if r.study["hidden_agreement_overall"] is not None
                         else float("nan")) for r in c.runs]))
    return rows


def _best(values: list[float], better: str) -> set[int]:
    """The methods with the best value of a row; none where a row does not tell them apart."""
    finite = [v for v in values if np.isfinite(v)]
    if not better or len(finite) < 2 or min(finite) == max(finite):
        return set()
    top = min(finite) if better == "↓" else max(finite)
    return {i for i, v in enumerate(values) if v == top}


def _fmt(v: float, label: str) -> str:
    """Percentages and milliseconds to one decimal, probabilities and areas to three."""
    if not np.isfinite(v):
        return "–"
    return f"{v:.1f}" if "%" in label or "ms/" in label else f"{v:.3f}"


def format_comparison(c: Comparison) -> str:
    """The table as text: one row per metric, one column per method, * marks the best."""
    names = [r.name for r in c.runs]
    width = max(13, *(len(n) + 1 for n in names))
    rows = _rows(c)
    label_w = max(len(label) + 2 for label, _, _ in rows)
    lines = [f"{'metric':<{label_w}}" + "".join(f"{n:>{width}}" for n in names)]
    for label, better, values in rows:
        best = _best(values, better)
        cells = [_fmt(v, label) + ("*" if i in best else " ") for i, v in enumerate(values)]
        lines.append(f"{(label + ' ' + better).strip():<{label_w}}" + "".join(f"{cell:>{width}}" for cell in cells))
    return "\n".join(lines)


def markdown_comparison(c: Comparison) -> str:
    """The table in Markdown, the best of each row in bold."""
    return markdown_table([r.name for r in c.runs], _rows(c))


def markdown_table(names: Sequence[str], rows: Sequence[tuple[str, str, Sequence[float]]]) -> str:
    """Rows of (metric, "↓"/"↑"/"", values) as a Markdown table (also from comparison.json's "table")."""
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, better, values in rows:
        best = _best(list(values), better)
        cells = [f"**{_fmt(v, label)}**" if i in best else _fmt(v, label) for i, v in enumerate(values)]
        lines.append(f"| {(label + ' ' + better).strip().replace('|', chr(92) + '|')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def comparison_dict(c: Comparison) -> dict:
    return {
        "settings": c.settings,
        "classes": list(c.classes),
        "explainers": [r.name for r in c.runs],
        "table": [{"metric": label, "better": better, "values": dict(zip((r.name for r in c.runs), values))}
                  for label, better, values in _rows(c)],
        "per_explainer": {
            r.name: {"seconds": {"maps_per_pair": r.maps_s, "curves_per_pair": r.curves_s,
                                 "metrics_all_pairs": r.metrics_s},
                     "faithfulness": r.faithfulness.summary(), "study": r.study}
            for r in c.runs
        },
    }


# -- figures --------------------------------------------------------------------------------------
def _figure(w: float, h: float) -> Figure:
    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def figure_samples(c: Comparison, k: int = 3) -> list[int]:
    """Pairs worth showing: one that only camera 1 sees, one only camera 2 sees, and ones both see
    that are not OK (the simulator's OK class); then the first pairs."""
    from inspector.synth.scene import CLASSES, OK_CLASS

    picks: list[int] = []
    for want in ("camera 1", "camera 2"):
        hit = np.flatnonzero(c.evidence == want)
        if hit.size:
            picks.append(int(hit[0]))
    for i in np.flatnonzero((c.evidence == "both") & (c.labels != CLASSES.index(OK_CLASS))):
        if len(picks) >= k:
            break
        picks.append(int(i))
    picks += [i for i in range(len(c.labels)) if i not in picks]
    return picks[:k]


def sample_figure(c: Comparison, i: int) -> Figure:
    """One pair under every explainer: a row each with both views' four stage maps, the mask prior
    and the curves. Each map is shown from its minimum to its maximum: RISE's maps have no zero floor."""
    runs = c.runs
    height = 1.55 * len(runs) + 0.9
    fig = _figure(16.5, height)
    grid = fig.add_gridspec(len(runs), 11, width_ratios=[1] * 10 + [1.7], hspace=0.12, wspace=0.06,
                            left=0.03, right=0.96, top=1 - 0.75 / height, bottom=0.3 / height)
    ev = c.evidence[i]
    truth = c.classes[c.labels[i]] if c.classes else str(c.labels[i])
    for row, run in enumerate(runs):
        e = run.explanations[i]
        for v, image in enumerate((c.views1[i], c.views2[i])):
            for j in range(5):
                ax = fig.add_subplot(grid[row, 5 * v + j])
                heat = e.cams[v, j] if j < 4 else e.prior_maps[v]
                overlay(ax, image, heat - heat.min())
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(f"cam {v + 1} " + (f"stage {j + 1}" if j < 4 else "mask prior"), fontsize=8)
                if v == 0 and j == 0:
                    ax.set_ylabel(run.name, fontsize=9)
        ax = fig.add_subplot(grid[row, 10])
        for (label, colour, style), curve in zip(CURVE_STYLE, e.curves):
            ax.plot(e.p, curve, style, color=colour, label=label.split(":")[0])
        ax.set_ylim(-0.02, 1.02)
        ax.tick_params(labelsize=7)
        ax.yaxis.tick_right()
        ax.text(0.03, 0.05, f"m = {e.m:+.3f} → {e.influence}", transform=ax.transAxes, fontsize=7)
        if row == 0:
            ax.set_title(f"curves, P({e.target_name})", fontsize=8)
            ax.legend(fontsize=6, loc="center left")
    fig.suptitle(f"pair {i}: true class {truth}, the cavity is visible to {ev}", fontsize=11)
    return fig


def curves_figure(c: Comparison) -> Figure:
    """Mean deletion and insertion curves of every explainer, per setting."""
    fig = _figure(13, 6.4)
    for row, (key, title) in enumerate((("deletion", "deletion (most relevant first)"),
                                        ("insertion", "insertion on black (most relevant first)"))):
        for col, setting in enumerate(SETTINGS):
            ax = fig.add_subplot(2, 3, 3 * row + col + 1)
            for run in c.runs:
                f = run.faithfulness
                ax.plot(f.fractions, getattr(f, key)[:, col].mean(axis=0), label=run.name)
            ax.set_ylim(-0.02, 1.02)
            ax.grid(alpha=0.3)
            ax.set_title(f"{title}: {setting}", fontsize=9)
            if row == 1:
                ax.set_xlabel("share of pixels")
            if col == 0:
                ax.set_ylabel("P(target), mean")
    fig.axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def write_comparison(c: Comparison, out: str | Path) -> list[Path]:
    """comparison.json, comparison.md (the table) and the figures, in folder `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "comparison.json", out / "comparison.md"]
    paths[0].write_text(json.dumps(comparison_dict(c), indent=2))
    paths[1].write_text(markdown_comparison(c) + "\n")
    curves = out / "deletion_insertion.png"
    curves_figure(c).savefig(curves)
    paths.append(curves)
    for i in figure_samples(c):
        path = out / f"pair_{i:03d}.png"
        sample_figure(c, i).savefig(path)
        paths.append(path)
    return paths
