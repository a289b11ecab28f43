"""Two models on the same labelled data, side by side: before switching a line to a new model.

Per model: accuracy overall and per class, the confusion matrix, and where the
data records which camera can see what decides the class (`evidence`), the
influence agreement: on pairs only one camera can see (evidence `camera 1` or
`camera 2`), the share whose influence (Tilgner et al.'s m, from Grad-CAM with
curves) names that camera, as `inspector.evaluation.study.summarise` defines it.
Then the pairs on which the two models predict different classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from inspector.errors import InspectorError
from inspector.evaluation.study import summarise
from inspector.model.evaluate import Report, accuracy_report, predict

ONE_CAMERA = ("camera 1", "camera 2")
DEFAULT_EXPLAIN_MAX = 300  # Grad-CAM with curves costs ~35 forward passes a pair; 300 take about a minute


@dataclass
class ModelSide:
    name: str  # as the user named it (a path, or "default")
    sha256: str
    probs: np.ndarray  # (N, C)
    report: Report
    agreement: Optional[dict] = None  # {"n", "share", "per_camera": {camera: {"n", "share"}}}; None: no evidence

    @property
    def predicted(self) -> np.ndarray:
        return self.probs.argmax(1)

    def to_dict(self) -> dict:
        return {"model": self.name, "model_sha256": self.sha256, **self.report.to_dict(),
                "influence_agreement": self.agreement}


@dataclass
class ModelComparison:
    classes: tuple[str, ...]
    labels: np.ndarray
    sides: list[ModelSide]
    explained: np.ndarray = field(default_factory=lambda: np.zeros(0, int))  # indices of the explained pairs

    @property
    def disagreements(self) -> np.ndarray:
        """Indices of the pairs on which the models predict different classes."""
        a, b = self.sides
        return np.flatnonzero(a.predicted != b.predicted)

    def to_dict(self) -> dict:
        return {"classes": list(self.classes), "n": int(len(self.labels)),
                "models": [s.to_dict() for s in self.sides],
                "explained_pairs": self.explained.tolist(),
                "disagreements": self.disagreements.tolist()}

    def format(self) -> str:
        return format_comparison(self)


def check_fits(named_models: Sequence[tuple[str, object]], data) -> None:
    """Refuse a model whose classes (names and order) or input size are not the data's, naming which."""
    h, w = data.view1.shape[1:3]
    for name, model in named_models:
        if tuple(model.classes) != tuple(data.classes):
            raise InspectorError(f"{data.path}: classes ({', '.join(data.classes)}) differ from those of model "
                                 f"{name} ({', '.join(model.classes)})")
        if (h, w) != tuple(model.config.input_size):
            mh, mw = model.config.input_size
            raise InspectorError(f"{data.path}: views are {w}×{h} but model {name} takes {mw}×{mh}")


def explain_sample(evidence: Optional[np.ndarray], most: int, seed: int = 0) -> np.ndarray:
    """Indices of at most `most` pairs only one camera can see, drawn without replacement and sorted; the
    same for the same data and seed."""
    if evidence is None or most <= 0:
        return np.zeros(0, int)
    pool = np.flatnonzero(np.isin(np.asarray(evidence).astype(str), ONE_CAMERA))
    if len(pool) > most:
        pool = np.sort(np.random.default_rng(seed).choice(pool, size=most, replace=False))
    return pool


def influence_agreement(model, data, idx: np.ndarray, *, batch: int = 16, device=None,
                        progress: Optional[Callable[..., object]] = None, desc: str = "explain") -> Optional[dict]:
    """The share of the pairs `idx` whose influence names the camera their evidence names (`None` without
    such pairs). `progress(iterable, **kw)` may wrap the batches (tqdm)."""
    if len(idx) == 0:
        return None
    from inspector.explain.explainers import explain_batch

    starts = range(0, len(idx), batch)
    explanations = []
    for s in (progress(starts, desc=desc, unit="batch") if progress else starts):
        sel = idx[s:s + batch]
        explanations += explain_batch(model, data.view1[sel], data.view2[sel], device=device, batch=batch)
    summary = summarise(tuple(model.classes), data.labels[idx], np.asarray(data.evidence)[idx].astype(str),
                        explanations)
    return {"n": int(len(idx)), "share": summary["hidden_agreement_overall"],
            "per_camera": {cam: {"n": d["n"], "share": d["influence_names_it"]}
                           for cam, d in summary["hidden_agreement"].items()}}


def compare_models(named_models: Sequence[tuple[str, object]], data, *, explain_max: int = DEFAULT_EXPLAIN_MAX,
                   batch: int = 128, device=None, progress: Optional[Callable[..., object]] = None) -> ModelComparison:
    """Both models of `named_models` ((name, loaded model) pairs) on `data`, side by side."""
    check_fits(named_models, data)
    idx = explain_sample(data.evidence, explain_max)
    sides = []
    for k, (name, model) in enumerate(named_models):
        probs = predict(model, data.view1, data.view2, batch=batch)
        report = accuracy_report(data.labels, probs.argmax(1), data.classes, data.evidence)
        agreement = influence_agreement(model, data, idx, device=device, progress=progress,
                                        desc=f"explain ({'AB'[k]})")
        sides.append(ModelSide(name, str(model.sha256), probs, report, agreement))
    return ModelComparison(tuple(data.classes), np.asarray(data.labels), sides, idx)


# -- text -------------------------------------------------------------------------------------------------------
def _pct(v) -> str:
    return "—" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{100 * v:.2f}%"


def _agreement_text(a: Optional[dict]) -> str:
    return "no pairs with one-camera evidence" if a is None else f"{_pct(a['share'])} of {a['n']}"


def format_comparison(c: ModelComparison) -> str:
    a, b = c.sides
    heads = [f"A: {a.name} ({a.sha256[:12]})", f"B: {b.name} ({b.sha256[:12]})"]
    rows = [("accuracy", _pct(a.report.accuracy), _pct(b.report.accuracy))]
    rows += [(f"  {name}", _pct(a.report.per_class[name]), _pct(b.report.per_class[name])) for name in c.classes]
    for ev in a.report.per_evidence:
        rows.append((f"evidence {ev!r}", _pct(a.report.per_evidence[ev]["accuracy"]),
                     _pct(b.report.per_evidence[ev]["accuracy"])))
    rows.append(("influence agreement", _agreement_text(a.agreement), _agreement_text(b.agreement)))
    for cam in ONE_CAMERA:
        if a.agreement and cam in a.agreement["per_camera"]:
            rows.append((f"  evidence {cam}", _agreement_text(a.agreement["per_camera"][cam]),
                         _agreement_text((b.agreement or {}).get("per_camera", {}).get(cam))))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(heads[0]), *(len(r[1]) for r in rows))
    lines = [f"{len(c.labels)} pairs; A = --model, B = --compare",
             f"{'':<{w0}}  {heads[0]:<{w1}}  {heads[1]}"]
    lines += [f"{r[0]:<{w0}}  {r[1]:<{w1}}  {r[2]}" for r in rows]
    lines.append("confusion (rows: truth, columns: predicted), A | B:")
    w = max(len(x) for x in c.classes)
    cells = " ".join(f"{x:>{w}}" for x in c.classes)
    lines.append(f"{'':>{w}}  {cells} | {cells}")
    for name, ra, rb in zip(c.classes, a.report.confusion, b.report.confusion):
        lines.append(f"{name:>{w}}  " + " ".join(f"{v:>{w}}" for v in ra) + " | " + " ".join(f"{v:>{w}}" for v in rb))
    d = c.disagreements
    lines.append(f"the models disagree on {len(d)} of {len(c.labels)} pairs"
                 + (f" (A right on {int((a.predicted[d] == c.labels[d]).sum())}, B right on "
                    f"{int((b.predicted[d] == c.labels[d]).sum())})" if len(d) else ""))
    return "\n".join(lines)
