"""How often influence names the camera that alone sees what decides the class, with its uncertainty.

A study pair whose decisive zone one camera cannot see (the simulator hides it by
glare or by a fixture, `inspector.synth.scene.HIDE_MECHANISMS`) has a right answer:
Tilgner et al.'s influence should name the other camera. This module counts, per
cell (class, camera that sees, what hides the other) and overall, the n such pairs
and the k on which influence names the seeing camera, with a 95% Wilson score
interval for k/n; and, on the pairs both cameras see, the influence shares per
class (Tilgner et al. found `missing` resting on both cameras equally: m = −0.001
in their Fig. 6).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

INFLUENCES = ("camera 1", "camera 2", "equal")
Z95 = 1.959963984540054  # the standard normal's 97.5% quantile: a two-sided 95% interval


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a binomial share k/n ("Probable Inference, the Law of Succession,
    and Statistical Inference", E. B. Wilson, 1927); z = 1.96 gives 95%:

        centre = (k + z²/2) / (n + z²),   half = z / (n + z²) · √(k(n − k)/n + z²/4)

    Unlike the normal ("Wald") interval it stays within [0, 1] and is not empty at k = 0 or k = n,
    which small study cells often are. n = 0 gives (nan, nan)."""
    if n <= 0:
        return float("nan"), float("nan")
    if not 0 <= k <= n:
        raise ValueError(f"k must lie in [0, n], got k={k}, n={n}")
    z2 = z * z
    centre = (k + z2 / 2) / (n + z2)
    half = z / (n + z2) * math.sqrt(k * (n - k) / n + z2 / 4)
    # At k = 0 or k = n an end is exactly 0 or 1 in exact arithmetic; floating point may land a hair
    # inside, which would put the share outside its own interval.
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def _cell(k: int, n: int) -> dict:
    lo, hi = wilson_interval(k, n)
    return {"n": int(n), "k": int(k), "share": k / n if n else float("nan"), "ci95": [lo, hi]}


def agreement_table(classes: Sequence[str], labels: np.ndarray, evidence: np.ndarray, influence: np.ndarray,
                    hidden_by: Optional[np.ndarray] = None) -> dict:
    """Agreement of influence with the evidence ground truth on the pairs only one camera sees.

    labels: (N,) class index; evidence: (N,) "both", "camera 1", "camera 2" or "none"; influence: (N,)
    the method's answer; hidden_by: (N,) what hides the other camera ("glare", "fixture"; "" where
    unknown, e.g. data without it). Returns {"cells": [{class, sees, hidden_by, n, k, share, ci95}],
    "overall": {n, k, share, ci95}}; the cells' n and k sum to the overall's."""
    evidence = np.asarray(evidence).astype(str)
    influence = np.asarray(influence).astype(str)
    hidden_by = np.full(len(evidence), "", dtype=object) if hidden_by is None else np.asarray(hidden_by).astype(str)
    one = np.isin(evidence, ("camera 1", "camera 2"))
    hit = influence == evidence
    cells = []
    for k_class, name in enumerate(classes):
        for cam in ("camera 1", "camera 2"):
            sel = one & (labels == k_class) & (evidence == cam)
            for how in sorted(set(hidden_by[sel].tolist())):
                cell = sel & (hidden_by == how)
                cells.append({"class": name, "sees": cam, "hidden_by": how or "unknown",
                              **_cell(int(hit[cell].sum()), int(cell.sum()))})
    return {"cells": cells, "overall": _cell(int(hit[one].sum()), int(one.sum())) if one.any() else None}


def both_visible_shares(classes: Sequence[str], labels: np.ndarray, evidence: np.ndarray, m: np.ndarray,
                        influence: np.ndarray) -> dict:
    """Per class, on the pairs both cameras see: n, mean and median m, and the influence shares."""
    evidence = np.asarray(evidence).astype(str)
    influence = np.asarray(influence).astype(str)
    out = {}
    for k, name in enumerate(classes):
        sel = (labels == k) & (evidence == "both")
        if sel.any():
            out[name] = {"n": int(sel.sum()), "m_mean": float(np.mean(m[sel])), "m_median": float(np.median(m[sel])),
                         "influence_share": {i: float((influence[sel] == i).mean()) for i in INFLUENCES}}
    return out


def _pct(share: float) -> str:
    return f"{100 * share:5.1f}%"


def format_agreement(table: dict) -> str:
    """The cells and the overall agreement as text, k/n and the 95% Wilson interval."""
    lines = [f"{'class':<8} {'only sees':<9} {'hidden by':<9} {'k/n':>7} {'agree':>7}  95% CI (Wilson)"]
    for c in table["cells"]:
        lo, hi = c["ci95"]
        lines.append(f"{c['class']:<8} {c['sees']:<9} {c['hidden_by']:<9} {c['k']:>3}/{c['n']:<3} {_pct(c['share']):>7}"
                     f"  {_pct(lo)} – {_pct(hi)}")
    o = table["overall"]
    if o is not None:
        lo, hi = o["ci95"]
        lines.append(f"{'overall':<28} {o['k']:>3}/{o['n']:<3} {_pct(o['share']):>7}  {_pct(lo)} – {_pct(hi)}")
    return "\n".join(lines)


def format_both_visible(shares: dict) -> str:
    lines = [f"{'class':<8} {'n':>5} {'m mean':>8} {'m median':>9} {'camera 1':>9} {'camera 2':>9} {'equal':>7}"]
    for c, d in shares.items():
        sh = d["influence_share"]
        lines.append(f"{c:<8} {d['n']:>5} {d['m_mean']:>+8.3f} {d['m_median']:>+9.3f} {_pct(sh['camera 1']):>9} "
                     f"{_pct(sh['camera 2']):>9} {_pct(sh['equal']):>7}")
    return "\n".join(lines)


def agreement_figure(fig, table: dict) -> None:
    """Agreement per cell with its 95% Wilson interval, and the overall one, as horizontal bars on `fig`."""
    rows = [(f"{c['class']}, only {c['sees']} sees, {c['hidden_by']}", c) for c in table["cells"]]
    if table["overall"] is not None:
        rows.append(("overall", table["overall"]))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(rows))[::-1]
    shares = np.array([r["share"] for _, r in rows])
    lo = np.array([r["ci95"][0] for _, r in rows])
    hi = np.array([r["ci95"][1] for _, r in rows])
    colours = ["#444444" if name == "overall" else "#1f77b4" for name, _ in rows]
    ax.barh(y, shares, color=colours, alpha=0.7)
    ax.errorbar(shares, y, xerr=[np.maximum(shares - lo, 0.0), np.maximum(hi - shares, 0.0)], fmt="none",
                ecolor="black", capsize=3)
    ax.set_yticks(y, [f"{name} ({r['k']}/{r['n']})" for name, r in rows], fontsize=7)
    ax.set_xlim(0, 1)
    ax.axvline(0.95, color="#2ca02c", linestyle="--", linewidth=1, label="95%")
    ax.legend(fontsize=7, loc="lower left")
    ax.set_xlabel("influence names the camera that alone sees the decisive zone (95% Wilson CI)")
    ax.set_title("agreement with the simulator's evidence ground truth", fontsize=10)
