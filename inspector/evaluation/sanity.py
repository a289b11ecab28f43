"""The model-randomisation sanity check of "Sanity Checks for Saliency Maps" (J. Adebayo, J. Gilmer,
M. Muelly, I. Goodfellow, M. Hardt and B. Kim, NeurIPS 2018), for Tilgner et al.'s method on an MVFN.

A map that explains a model must depend on the model. Cascading randomisation
re-initialises the network's blocks from the top down, cumulatively — the head,
then the fusion branch, then stage 4, 3, 2 and 1 of both view branches — seeded,
as Quantus' `ModelParameterRandomisation` does (with He's normal initialisation
rather than the layers' `reset_parameters`: see `randomise`). After every step the Grad-CAM maps of every
view and stage (at input size, for the class the trained model predicted) are
compared with the trained model's by Spearman's rank correlation

    ρ = Pearson(rank(L_trained), rank(L_random))     (average ranks for ties)

per pair, then averaged over pairs. A map with no ranking at all (constant, e.g.
all zero after the ReLU) correlates 0 with a ranked one and 1 with another constant
one. Under the fully randomised model the masked-input curves give m per pair; a
model with no knowledge must not name one camera systematically.

It passes when (1) after full randomisation the mean ρ of every view's stage-4 map,
the map the occlusion masks come from, is below `RHO_THRESHOLD` (0.5: at most a
weak monotone relation left), and (2) the randomised m does not favour a camera:
a two-sided exact sign test of the camera-1 against the camera-2 verdicts (equal
left out) has p ≥ `ALPHA` (0.05). The lower stages are reported, not judged:
Adebayo et al. found that early-layer maps of random networks still follow image
edges.

The model passed in is never modified: randomisation works on a CPU copy.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional, Sequence

import numpy as np
import torch
from torch import nn

from inspector.errors import InspectorError
from inspector.explain.cam_rules import GradCAM
from inspector.explain.engine import VIEW_NAMES
from inspector.model.card import sanity_text

RHO_THRESHOLD = 0.5
ALPHA = 0.05
INFLUENCES = ("camera 1", "camera 2", "equal")


@dataclass
class SanityResult:
    """steps[0] is "trained" (the model itself); correlation[s, v, j] the mean ρ over pairs of view v's
    stage-j map after step s with the trained one; m_random and influence_random per pair under the
    fully randomised model."""

    steps: tuple[str, ...]
    correlation: np.ndarray  # (S, 2, 4)
    m_random: np.ndarray  # (N,)
    influence_random: tuple[str, ...]
    seed: int
    model_sha256: str = ""
    seconds: float = 0.0
    threshold: float = RHO_THRESHOLD
    alpha: float = ALPHA
    views: tuple[bool, bool] = (True, True)  # which views have maps (a single-view baseline has one)

    @property
    def n_pairs(self) -> int:
        return int(len(self.m_random))

    def shares(self) -> dict[str, float]:
        infl = np.asarray(self.influence_random)
        return {i: float((infl == i).mean()) if len(infl) else float("nan") for i in INFLUENCES}

    @property
    def sign_test_p(self) -> float:
        infl = list(self.influence_random)
        return sign_test(infl.count("camera 1"), infl.count("camera 2"))

    @property
    def stage4_random(self) -> list[float]:
        """Per view with maps, the mean ρ of its stage-4 map under the fully randomised model."""
        return [float(self.correlation[-1, v, 3]) for v in (0, 1) if self.views[v]]

    @property
    def maps_fall(self) -> bool:
        return all(r < self.threshold for r in self.stage4_random)

    @property
    def m_unsystematic(self) -> bool:
        return self.sign_test_p >= self.alpha

    @property
    def passes(self) -> bool:
        return self.maps_fall and self.m_unsystematic

    def to_dict(self) -> dict:
        m = self.m_random
        return {
            "passes": self.passes, "maps_fall": self.maps_fall, "m_unsystematic": self.m_unsystematic,
            "threshold_rho_stage4": self.threshold, "alpha": self.alpha,
            "pairs": self.n_pairs, "seed": self.seed, "model_sha256": self.model_sha256,
            "seconds": round(self.seconds, 1), "steps": list(self.steps),
            "rank_correlation": {
                VIEW_NAMES[v]: {f"stage {j + 1}": [float(x) for x in self.correlation[:, v, j]] for j in range(4)}
                for v in (0, 1) if self.views[v]},
            "random_m": {"mean": float(np.mean(m)) if len(m) else float("nan"),
                         "median": float(np.median(m)) if len(m) else float("nan"),
                         "influence_share": self.shares(), "sign_test_p": self.sign_test_p,
                         "m": [float(x) for x in m]},
        }

    def card(self) -> dict:
        """The short form a model card keeps (`meta["card"]["sanity"]`)."""
        full = self.correlation[-1]
        return {
            "passes": self.passes, "pairs": self.n_pairs, "seed": self.seed,
            "rho_random_per_stage": [float(np.mean(full[[v for v in (0, 1) if self.views[v]], j])) for j in range(4)],
            "rho_random_stage4": self.stage4_random, "threshold_rho_stage4": self.threshold,
            "random_influence_share": self.shares(), "sign_test_p": self.sign_test_p, "alpha": self.alpha,
        }


def sign_test(a: int, b: int) -> float:
    """Two-sided exact sign test of a against b successes out of a + b under p = ½ (binomial):
    p = min(1, 2 · Σ_{i ≤ min(a, b)} C(a + b, i) / 2^(a + b)); 1 when a + b = 0."""
    n = a + b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(a, b) + 1)) / 2.0 ** n
    return min(1.0, 2.0 * tail)


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 0..n−1 of a flat array, ties sharing their mean rank (as `scipy.stats.rankdata`)."""
    order = np.argsort(x, kind="stable")
    s = x[order]
    first = np.r_[True, s[1:] != s[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    counts = np.diff(np.r_[starts, len(s)])
    ranks = np.empty(len(s), np.float64)
    ranks[order] = (starts + (counts - 1) / 2.0)[group]
    return ranks


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ of two maps; a constant map correlates 0 with a ranked one, 1 with a constant one."""
    ra, rb = average_ranks(np.ravel(a)), average_ranks(np.ravel(b))
    ra -= ra.mean()
    rb -= rb.mean()
    na, nb = float(np.sqrt((ra * ra).sum())), float(np.sqrt((rb * rb).sum()))
    if na == 0.0 or nb == 0.0:
        return 1.0 if na == nb else 0.0
    return float((ra * rb).sum() / (na * nb))


def randomisation_steps(model: nn.Module) -> list[tuple[str, list[nn.Module]]]:
    """The blocks to randomise, top (output) first: the head, the fusion branch (MVFN), stage 4 … 1
    of every view branch."""
    if hasattr(model, "fusion") and hasattr(model, "branches"):
        branches = list(model.branches)
        steps = [("head", [model.fusion.head]), ("fusion", [model.fusion.blocks])]
    elif hasattr(model, "branch_") and hasattr(model, "head"):
        branches = [model.branch_]
        steps = [("head", [model.head])]
    else:
        raise InspectorError(f"the sanity check knows the MVFN and the single-view baseline, not {type(model).__name__}")
    for j in reversed(range(len(branches[0].stages))):
        steps.append((f"stage {j + 1}", [b.stages[j] for b in branches]))
    return steps


def randomise(modules: Sequence[nn.Module], seed: int) -> None:
    """Re-initialise every parameter (and batch-norm statistics) under `modules` from `seed`; the
    caller's random state is left as it was.

    Convolution and linear weights are drawn from He et al.'s normal, N(0, 2/fan_in) ("Delving Deep
    into Rectifiers", K. He, X. Zhang, S. Ren and J. Sun, 2015), biases zero, batch norm reset to the
    identity: the signal keeps its scale through the ReLUs, so the randomised model still answers its
    input. PyTorch's own `reset_parameters` shrinks it about √3-fold per layer, and a fully reset
    MVFN gives nearly the same logits for every pair: m would be 0 there whatever the method."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for block in modules:
            for layer in block.modules():
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                    if layer.bias is not None:
                        nn.init.zeros_(layer.bias)
                elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
                    layer.reset_parameters()


def cascade(model: nn.Module, seed: int) -> Iterator[tuple[str, nn.Module]]:
    """Cascading randomisation: per step of `randomisation_steps`, its name and one CPU copy of `model`
    with that step's blocks and all before it randomised (step s seeded with seed·1000 + s). The same
    copy is yielded each time, changed further; `model` itself is left as it is."""
    randomised = copy.deepcopy(model).cpu()
    names = {id(m): n for n, m in model.named_modules()}
    for s, (name, modules) in enumerate(randomisation_steps(model), start=1):
        randomise([randomised.get_submodule(names[id(m)]) for m in modules], seed * 1000 + s)
        yield name, randomised


def _maps(model: nn.Module, x1: np.ndarray, x2: np.ndarray, targets, device, curves: bool):
    ex = GradCAM(model, device=device).explain_batch(x1, x2, targets=targets, curves=curves)
    return ex, np.stack([e.cams for e in ex])  # (N, 2, 4, H, W)


def sanity_check(model: nn.Module, views1: np.ndarray, views2: np.ndarray, *, seed: int = 0, device=None,
                 progress: Optional[Callable[[str], None]] = None) -> SanityResult:
    """Cascading randomisation of `model` (see the module) on the pairs (N×H×W×3); `seed` seeds the
    re-initialisation of step s with seed·1000 + s, so the same seed gives the same numbers."""
    t0 = time.perf_counter()
    steps = randomisation_steps(model)
    device = device if device is not None else next(model.parameters()).device
    trained, cams0 = _maps(model, views1, views2, None, device, curves=False)
    targets = np.array([e.target for e in trained])
    views = tuple(bool(layers) for layers in model.cam_layers())
    rows = [_correlations(cams0, cams0)]
    ex = trained
    for s, (name, randomised) in enumerate(cascade(model, seed), start=1):
        last = s == len(steps)
        ex, cams = _maps(randomised, views1, views2, targets, device, curves=last)
        rows.append(_correlations(cams0, cams))
        if progress:
            progress(name)
    return SanityResult(("trained",) + tuple(n for n, _ in steps), np.stack(rows),
                        np.array([e.m for e in ex], np.float64), tuple(e.influence for e in ex), seed,
                        str(getattr(model, "sha256", "")), time.perf_counter() - t0, views=views)


CARD_PAIRS = 6  # what `inspector train` spends on its card's check: a few seconds on a CPU


def card_sanity(model: nn.Module, views1, views2, labels: np.ndarray, indices: np.ndarray, *, seed: int = 0,
                pairs: int = CARD_PAIRS) -> dict:
    """The model card's sanity entry from at most `pairs` of the pairs `indices` (the validation split),
    taken in turn from each class so that every class with pairs there is in it."""
    indices = np.asarray(indices)
    turn = np.zeros(len(indices), int)
    for k in np.unique(labels[indices]):
        at = labels[indices] == k
        turn[at] = np.arange(at.sum())
    chosen = np.sort(indices[np.lexsort((labels[indices], turn))[:pairs]])
    return sanity_check(model, np.asarray(views1[chosen]), np.asarray(views2[chosen]), seed=seed).card()


def _correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(2, 4) mean over pairs of ρ between a[i, v, j] and b[i, v, j]."""
    n = a.shape[0]
    out = np.zeros((2, 4))
    for v in range(2):
        for j in range(4):
            out[v, j] = np.mean([rank_correlation(a[i, v, j], b[i, v, j]) for i in range(n)]) if n else np.nan
    return out


def format_sanity(result: SanityResult) -> str:
    """The table of ρ per randomisation step, view and stage, and the randomised m's verdicts."""
    views = [v for v in (0, 1) if result.views[v]]
    head = f"{'randomised up to':<17} " + " ".join(f"{f'c{v + 1}/s{j + 1}':>7}" for v in views for j in range(4))
    lines = [f"Spearman ρ of each view's and stage's Grad-CAM map with the trained model's "
             f"(mean over {result.n_pairs} pairs; c1/s4 = camera 1, stage 4)", head]
    for s, name in enumerate(result.steps):
        lines.append(f"{name:<17} " + " ".join(f"{result.correlation[s, v, j]:>+7.3f}" for v in views
                                               for j in range(4)))
    d = result.to_dict()["random_m"]
    sh = d["influence_share"]
    lines.append(f"fully randomised model: m mean {d['mean']:+.3f}, median {d['median']:+.3f}; camera 1 "
                 f"{100 * sh['camera 1']:.1f}%, camera 2 {100 * sh['camera 2']:.1f}%, equal {100 * sh['equal']:.1f}%; "
                 f"sign test camera 1 vs camera 2 p = {d['sign_test_p']:.3f}")
    lines.append(sanity_text(result.card()))
    return "\n".join(lines)


def sanity_figure(fig, result: SanityResult) -> None:
    """ρ against randomisation depth, one line per stage, one panel per view (Adebayo et al.'s Fig. 2)."""
    views = [v for v in (0, 1) if result.views[v]]
    x = np.arange(len(result.steps))
    for i, v in enumerate(views):
        ax = fig.add_subplot(1, len(views), i + 1)
        for j in range(4):
            ax.plot(x, result.correlation[:, v, j], "o-", label=f"stage {j + 1}")
        ax.axhline(result.threshold, color="#888888", linestyle="--", linewidth=1, label="stage-4 threshold")
        ax.set_xticks(x, result.steps, rotation=35, ha="right", fontsize=8)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlabel("randomised (cumulative, top first)")
        ax.set_title(f"{VIEW_NAMES[v]}: rank correlation with the trained maps", fontsize=9)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.set_ylabel("Spearman ρ, mean over pairs")
            ax.legend(fontsize=7)
