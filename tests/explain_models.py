"""Models whose evidence is known, and the tools the explainer tests share."""

import tomllib
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from inspector.explain.explainers import start_explainer

# The built-in explainers as pyproject.toml declares them: the registry must know exactly these.
PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
BUILTIN = tuple(PYPROJECT["project"]["entry-points"]["inspector.explainers"])
FAST = {"rise": {"masks": 64}}  # RISE's default 512 masks per view are more than a test needs


def start(name, model, **options):
    return start_explainer(name, model, **{**FAST.get(name, {}), **options})


def tensor(view):
    return torch.from_numpy(view).permute(2, 0, 1)[None].float() / 255


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def hwc(x):
    return x[0].permute(1, 2, 0).numpy()


class Brightness(nn.Module):
    """Class 0's logit is 20× the mean brightness of one view; the other view is ignored."""

    classes = ("bright", "dark")

    def __init__(self, view: int):
        super().__init__()
        self.view = view
        self.stages = nn.ModuleList([nn.ModuleList([nn.ReLU() for _ in range(4)]) for _ in range(2)])

    def encode(self, v, x):
        feats, h = [], x
        for j, stage in enumerate(self.stages[v]):
            h = stage(F.avg_pool2d(h, 2) if j else h)
            feats.append(h)
        return feats

    def fuse(self, f1, f2):
        s = (f1, f2)[self.view][-1].mean(dim=(1, 2, 3))
        return torch.stack([20 * s, torch.full_like(s, 2.5)], dim=1)

    def forward(self, a, b):
        return self.fuse(self.encode(0, a), self.encode(1, b))

    def cam_layers(self):
        return [list(self.stages[0]), list(self.stages[1])]


class Tiny(nn.Module):
    """Two separate branches of four small convolution stages on 16×16 views, a fusion convolution on
    both views' last stages, global pooling and a linear head."""

    classes = ("a", "b", "c")

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.branches = nn.ModuleList(
            nn.ModuleList(nn.Sequential(nn.Conv2d(3 if j == 0 else 4, 4, 3, stride=1 + (j % 2), padding=1), nn.ReLU())
                          for j in range(4))
            for _ in range(2)
        )
        self.fusion = nn.Sequential(nn.Conv2d(8, 6, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(6, 3)

    def encode(self, view, x):
        feats = []
        for stage in self.branches[view]:
            x = stage(x)
            feats.append(x)
        return feats

    def fuse(self, f1, f2):
        return self.head(self.fusion(torch.cat([f1[-1], f2[-1]], 1)).mean(dim=(2, 3)))

    def forward(self, x1, x2):
        return self.fuse(self.encode(0, x1), self.encode(1, x2))

    def cam_layers(self):
        return [list(self.branches[0]), list(self.branches[1])]
