"""The paper's dataset study (Tilgner et al., section III) on the simulated line.

N pairs per class are explained; per class this reports the distribution of m,
the share of camera 1 / camera 2 / equal, mean curves with their spread, and
accuracy-vs-p curves against the true labels; against the simulator's ground
truth, how often `influence` names the only camera that can see the cavity, per
(class, camera that sees, what hides the other) and overall with 95% Wilson
intervals, and the influence shares per class on the pairs both cameras see
(`inspector.evaluation.agreement`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from inspector.explain.base import Explainer
from inspector.explain.engine import Explanation
from inspector.evaluation.agreement import (
    INFLUENCES, agreement_figure, agreement_table, both_visible_shares, format_agreement, format_both_visible,
)
from inspector.evaluation.figure import CURVE_STYLE


@dataclass
class StudyResult:
    classes: tuple[str, ...]
    labels: np.ndarray  # (N,) true class index
    evidence: np.ndarray  # (N,) ground truth: which camera shows what decides the class
    explanations: list[Explanation]
    seconds: float = 0.0
    summary: dict = field(default_factory=dict)
    hidden_by: Optional[np.ndarray] = None  # (N,) what hides the camera that cannot see: "glare", "fixture", ""


def hide_of(sample) -> str:
    """What hides the decisive zone from a simulated pair's hidden camera ("" when both see it)."""
    return next((cam.hide for cam in sample.scene.cameras if cam.hide), "")


def summarise(classes: Sequence[str], labels: np.ndarray, evidence: np.ndarray, ex: list[Explanation],
              hidden_by: Optional[np.ndarray] = None) -> dict:
    """Per class, agreement with the evidence ground truth and both-visible shares; `hidden_by` (N,) what
    hides the other camera, when known, splits the agreement cells by it."""
    m = np.array([e.m for e in ex])
    infl = np.array([e.influence for e in ex])
    pred = np.array([e.predicted for e in ex])
    curves = np.stack([e.curves for e in ex])  # (N, 3, P)
    correct_at = np.stack([e.curve_predictions for e in ex]) == labels[:, None, None]  # (N, 3, P)
    per_class = {}
    for k, name in enumerate(classes):
        sel = labels == k
        if not sel.any():
            continue
        per_class[name] = {
            "n": int(sel.sum()),
            "accuracy": float((pred[sel] == k).mean()),
            "m_mean": float(m[sel].mean()),
            "m_median": float(np.median(m[sel])),
            "m_std": float(m[sel].std()),
            "influence_share": {i: float((infl[sel] == i).mean()) for i in INFLUENCES},
            "mean_curves": curves[sel].mean(0).tolist(),
            "std_curves": curves[sel].std(0).tolist(),
            "accuracy_vs_p": correct_at[sel].mean(0).tolist(),
        }
    agreement = {}
    for cam in ("camera 1", "camera 2"):
        sel = evidence == cam
        if sel.any():
            agreement[cam] = {"n": int(sel.sum()), "influence_names_it": float((infl[sel] == cam).mean()),
                              "influence_shares": {i: float((infl[sel] == i).mean()) for i in INFLUENCES}}
    only_one = np.isin(evidence, ("camera 1", "camera 2"))
    return {
        "classes": list(classes),
        "n": int(len(labels)),
        "p": ex[0].p.tolist() if ex else [],
        "accuracy": float((pred == labels).mean()) if len(labels) else float("nan"),
        "per_class": per_class,
        "hidden_agreement": agreement,
        "hidden_agreement_overall": float((infl[only_one] == evidence[only_one]).mean()) if only_one.any() else None,
        "both_visible_influence_share": {
            i: float((infl[evidence == "both"] == i).mean()) for i in INFLUENCES
        } if (evidence == "both").any() else {},
        "agreement": agreement_table(classes, labels, evidence, infl, hidden_by),
        "both_visible": both_visible_shares(classes, labels, evidence, m, infl),
    }


def run_study(
    model,
    per_class: int,
    *,
    seed: int,
    hidden_share: float,
    line=None,
    device=None,
    batch: int = 16,
    progress: Optional[Callable[[int], None]] = None,
    explainer: Union[str, Explainer] = "gradcam",
    registry=None,
) -> StudyResult:
    """explainer: a registry name (started on `model` and `device`) or a prepared explainer; its
    maps are the prior of the masks."""
    import time

    from inspector.explain.explainers import start_explainer
    from inspector.synth.line import SimulatedLine
    from inspector.synth.scene import CLASSES, require_simulated_classes

    line = line or SimulatedLine()
    if isinstance(explainer, str):
        explainer = start_explainer(explainer, model, device=device, registry=registry)
    require_simulated_classes(explainer.classes, "study")
    n = per_class * len(CLASSES)
    labels, evidence, hidden_by, explanations = [], [], [], []
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        samples = list(line.samples(min(batch, n - start), seed=seed, hidden_share=hidden_share, start=start))
        explanations += explainer.explain_batch(
            np.stack([s.view1 for s in samples]), np.stack([s.view2 for s in samples]), batch=batch
        )
        labels += [CLASSES.index(s.label) for s in samples]
        evidence += [s.evidence for s in samples]
        hidden_by += [hide_of(s) for s in samples]
        if progress:
            progress(len(explanations))
    labels_a, evidence_a = np.array(labels), np.array(evidence)
    result = StudyResult(tuple(explainer.classes), labels_a, evidence_a, explanations, time.perf_counter() - t0,
                         hidden_by=np.array(hidden_by))
    result.summary = summarise(result.classes, labels_a, evidence_a, explanations, result.hidden_by)
    result.summary.update({"seed": seed, "hidden_share": hidden_share, "per_class_requested": per_class,
                           "seconds": round(result.seconds, 1),
                           "explainer": getattr(explainer, "label", type(explainer).__name__)})
    return result


def _figure(w: float, h: float) -> Figure:
    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def write_figures(result: StudyResult, out: Path) -> list[Path]:
    s = result.summary
    classes = [c for c in result.classes if c in s["per_class"]]
    m = np.array([e.m for e in result.explanations])
    p = np.array(s["p"])
    paths = []

    fig = _figure(4 * len(classes), 3.2)
    for i, c in enumerate(classes):
        ax = fig.add_subplot(1, len(classes), i + 1)
        vals = m[result.labels == result.classes.index(c)]
        ax.hist(vals, bins=np.linspace(-1, 1, 41), color="#555555")
        ax.axvspan(-0.02, 0.02, color="#2ca02c", alpha=0.25, label="equal (|m| < 0.02)")
        ax.set_title(f"{c}: m (n = {len(vals)})", fontsize=10)
        ax.set_xlabel("m  (< 0: camera 1, > 0: camera 2)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(out / "m_histograms.png")
    fig.savefig(paths[-1])

    fig = _figure(6, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / 3
    x = np.arange(len(classes))
    for j, (infl, colour) in enumerate(zip(("camera 1", "camera 2", "equal"), ("#1f77b4", "#d62728", "#2ca02c"))):
        ax.bar(x + (j - 1) * width, [s["per_class"][c]["influence_share"][infl] for c in classes], width,
               color=colour, label=infl)
    ax.set_xticks(x, classes)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of pairs")
    ax.set_title("which camera the decision rests on", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out / "influence_shares.png")
    fig.savefig(paths[-1])

    for key, name, ylabel in (("mean_curves", "mean_curves.png", "P(target), mean ± std"),
                              ("accuracy_vs_p", "accuracy_vs_p.png", "accuracy against true labels")):
        fig = _figure(4 * len(classes), 3.4)
        for i, c in enumerate(classes):
            ax = fig.add_subplot(1, len(classes), i + 1)
            rows = np.array(s["per_class"][c][key])
            for (label, colour, style), row, k in zip(CURVE_STYLE, rows, range(3)):
                ax.plot(p, row, style, color=colour, label=label)
                if key == "mean_curves":
                    std = np.array(s["per_class"][c]["std_curves"][k])
                    ax.fill_between(p, row - std, row + std, color=colour, alpha=0.12)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("p")
            ax.set_title(c, fontsize=10)
            ax.grid(alpha=0.3)
            if i == 0:
                ax.set_ylabel(ylabel)
                ax.legend(fontsize=7, loc="lower left")
        fig.tight_layout()
        paths.append(out / name)
        fig.savefig(paths[-1])

    table = s.get("agreement") or {}
    if table.get("overall") is not None:
        fig = _figure(8, 1.2 + 0.3 * (len(table["cells"]) + 1))
        agreement_figure(fig, table)
        fig.tight_layout()
        paths.append(out / "agreement.png")
        fig.savefig(paths[-1])
    return paths


def write_study(result: StudyResult, out: str | Path) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = write_figures(result, out)
    summary = out / "summary.json"
    summary.write_text(json.dumps(result.summary, indent=2))
    return paths + [summary]


def format_table(summary: dict) -> str:
    lines = [f"{'class':<8} {'n':>5} {'acc':>7} {'m mean':>8} {'m median':>9} {'camera 1':>9} {'camera 2':>9} {'equal':>7}"]
    for c, d in summary["per_class"].items():
        sh = d["influence_share"]
        lines.append(
            f"{c:<8} {d['n']:>5} {100 * d['accuracy']:>6.1f}% {d['m_mean']:>+8.3f} {d['m_median']:>+9.3f} "
            f"{100 * sh['camera 1']:>8.1f}% {100 * sh['camera 2']:>8.1f}% {100 * sh['equal']:>6.1f}%"
        )
    if summary.get("both_visible"):
        lines += ["", "pairs both cameras see (Tilgner et al.: `missing` equal, m = -0.001):",
                  format_both_visible(summary["both_visible"])]
    table = summary.get("agreement") or {}
    if table.get("overall") is not None:
        lines += ["", "pairs only one camera sees: agreement with the simulator's ground truth "
                  "(influence names the camera that sees)",
                  format_agreement(table)]
    return "\n".join(lines)
