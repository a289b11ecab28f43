"""Predictions over arrays of view pairs, and the accuracy figures a person reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn


def to_tensor(views: np.ndarray, device: torch.device) -> torch.Tensor:
    """N×H×W×3 uint8 → N×3×H×W float in [0, 1] on `device`."""
    t = torch.from_numpy(np.ascontiguousarray(views)).to(device)
    return t.permute(0, 3, 1, 2).float().div_(255.0)


@torch.inference_mode()
def predict(
    model: nn.Module, view1: np.ndarray, view2: np.ndarray, *, batch: int = 128, device=None
) -> np.ndarray:
    """Class probabilities (N, C) of uint8 view pairs, computed in batches."""
    device = device or next(model.parameters()).device
    out = []
    for i in range(0, len(view1), batch):
        logits = model(to_tensor(view1[i : i + batch], device), to_tensor(view2[i : i + batch], device))
        out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(model.classes)), np.float32)


@dataclass
class Report:
    """Accuracy overall, per class, per evidence group, and the confusion matrix (rows: truth)."""

    classes: tuple[str, ...]
    n: int
    accuracy: float
    per_class: dict[str, float]
    confusion: list[list[int]]
    per_evidence: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "classes": list(self.classes),
            "n": self.n,
            "accuracy": self.accuracy,
            "per_class": self.per_class,
            "confusion": self.confusion,
            "per_evidence": self.per_evidence,
        }

    def format(self) -> str:
        lines = [f"{self.n} samples, accuracy {100 * self.accuracy:.2f}%"]
        lines.append("per class: " + ", ".join(f"{c} {100 * a:.2f}%" for c, a in self.per_class.items()))
        for ev, d in self.per_evidence.items():
            lines.append(
                f"evidence {ev!r}: {d['n']} samples, accuracy {100 * d['accuracy']:.2f}% ("
                + ", ".join(f"{c} {100 * a:.1f}%" for c, a in d["per_class"].items())
                + ")"
            )
        width = max(len(c) for c in self.classes)
        lines.append("confusion (rows: truth, columns: predicted):")
        lines.append(" " * (width + 2) + " ".join(f"{c:>{width}}" for c in self.classes))
        for c, row in zip(self.classes, self.confusion):
            lines.append(f"{c:>{width}}  " + " ".join(f"{v:>{width}}" for v in row))
        return "\n".join(lines)


def _per_class(labels: np.ndarray, preds: np.ndarray, classes: Sequence[str]) -> dict[str, float]:
    return {
        c: float((preds[labels == k] == k).mean()) if (labels == k).any() else float("nan")
        for k, c in enumerate(classes)
    }


def accuracy_report(
    labels: np.ndarray, preds: np.ndarray, classes: Sequence[str], evidence: Optional[np.ndarray] = None
) -> Report:
    labels, preds = np.asarray(labels), np.asarray(preds)
    k = len(classes)
    confusion = np.zeros((k, k), int)
    np.add.at(confusion, (labels, preds), 1)
    report = Report(
        classes=tuple(classes),
        n=int(len(labels)),
        accuracy=float((labels == preds).mean()) if len(labels) else float("nan"),
        per_class=_per_class(labels, preds, classes),
        confusion=confusion.tolist(),
    )
    if evidence is not None:
        evidence = np.asarray(evidence).astype(str)
        for ev in sorted(set(evidence)):
            sel = evidence == ev
            report.per_evidence[str(ev)] = {
                "n": int(sel.sum()),
                "accuracy": float((labels[sel] == preds[sel]).mean()),
                "per_class": _per_class(labels[sel], preds[sel], classes),
            }
    return report
