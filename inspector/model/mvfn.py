"""The multi-view fusion network (MVFN) of Tilgner et al., and a single-view baseline.

Two outer branches, one per camera view, of four stages each (two 3×3
convolutions, the first one strided); an inner fusion branch that, at every
stage, merges both views' features with the fused features of the stage
before and carries the result on; global average pooling and a linear head.
The classes live in the checkpoint, not in the code.

Every model here follows the contract the explainer relies on:
`model(x1, x2)` takes float (B, 3, H, W) tensors in [0, 1] and returns logits;
`encode(view, x)` returns that view's four stage features; `fuse(f1, f2)`
turns both views' features into logits; `cam_layers()` names, per view, the
four modules whose outputs are the last convolution activations of each stage.
Normalisation is a buffer inside the model, so explainers mask raw images.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from inspector.classes import default_ok_class


@dataclass(frozen=True)
class ArchConfig:
    """Everything that fixes the shape of a model; saved in its checkpoint."""

    arch: str = "mvfn"  # "mvfn" or "single-view"
    classes: tuple[str, ...] = ("correct", "missing", "skewed")
    ok_class: str = "correct"  # which class means OK; one of `classes`
    input_size: tuple[int, int] = (128, 128)  # height, width
    widths: tuple[int, ...] = (8, 16, 32, 64)  # per stage, both outer branches
    fusion_widths: tuple[int, ...] = (8, 16, 32, 64)
    shared_branches: bool = False  # one branch run on both views
    view: int = 0  # the single-view baseline's view (0 = camera 1, 1 = camera 2)
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.25, 0.25, 0.25)

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ArchConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown architecture fields {sorted(unknown)}")
        if "ok_class" not in d and "classes" in d:  # a checkpoint made before the OK class was stored
            d = {**d, "ok_class": default_ok_class(d["classes"])}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


class ConvBNReLU(nn.Sequential):
    """3×3 convolution, batch norm, ReLU (not in place: gradient hooks read this output)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=False),
        )


class Branch(nn.Module):
    """One outer branch: four stages, each halving the resolution."""

    def __init__(self, widths: Sequence[int]):
        super().__init__()
        stages, cin = [], 3
        for w in widths:
            stages.append(nn.Sequential(ConvBNReLU(cin, w, stride=2), ConvBNReLU(w, w)))
            cin = w
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats

    def cam_layers(self) -> list[nn.Module]:
        return [stage[-1] for stage in self.stages]


class Fusion(nn.Module):
    """The inner branch: at stage j, conv(concat(view 1_j, view 2_j, pooled fused_{j−1})); then the head."""

    def __init__(self, widths: Sequence[int], fusion_widths: Sequence[int], n_classes: int):
        super().__init__()
        blocks, prev = [], 0
        for w, fw in zip(widths, fusion_widths):
            blocks.append(ConvBNReLU(2 * w + prev, fw))
            prev = fw
        self.blocks = nn.ModuleList(blocks)
        self.widths = tuple(widths)
        self.head = nn.Linear(fusion_widths[-1], n_classes)

    def forward(self, f1: Sequence[torch.Tensor], f2: Sequence[torch.Tensor]) -> torch.Tensor:
        fused = None
        for block, a, b in zip(self.blocks, f1, f2):
            parts = [a, b] if fused is None else [a, b, F.max_pool2d(fused, 2)]
            fused = block(torch.cat(parts, dim=1))
        return self.head(fused.mean(dim=(2, 3)))

    # Before its batch norm and ReLU, a stage's fusion convolution is linear in its three inputs
    # (view 1, view 2, the fused state before), so it is the sum of three convolutions with
    # slices of its kernel. A view's share can then be computed once and reused.
    def _kernel(self, stage: int, which: int) -> torch.Tensor:
        conv, w = self.blocks[stage][0], self.widths[stage]
        start = which * w
        stop = start + w if which < 2 else conv.in_channels
        return conv.weight[:, start:stop]

    def parts(self, view: int, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """One view's share of every stage's fusion convolution (no bias)."""
        out = []
        for j, f in enumerate(feats):
            conv = self.blocks[j][0]
            out.append(F.conv2d(f, self._kernel(j, view), None, conv.stride, conv.padding))
        return out

    def forward_parts(self, p1: Sequence[torch.Tensor], p2: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits from both views' `parts`: `forward` up to float rounding."""
        fused = None
        for j, block in enumerate(self.blocks):
            conv = block[0]
            y = p1[j] + p2[j]
            if conv.bias is not None:
                y += conv.bias.view(1, -1, 1, 1)
            if fused is not None:
                y += F.conv2d(F.max_pool2d(fused, 2), self._kernel(j, 2), None, conv.stride, conv.padding)
            for layer in list(block)[1:]:  # batch norm (an identity once folded), ReLU
                y = layer(y)
            fused = y
        return self.head(fused.mean(dim=(2, 3)))


class _Normalised(nn.Module):
    def __init__(self, config: ArchConfig):
        super().__init__()
        self.config = config
        self.classes = tuple(config.classes)
        self.ok_class = config.ok_class
        self.register_buffer("mean", torch.tensor(config.mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(config.std, dtype=torch.float32).view(1, 3, 1, 1))
        self.sha256 = ""  # set by the checkpoint loader: the model's identity in every record

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        # x·(1/σ) − μ/σ in one pass over the batch: the explainer normalises hundreds of masked images.
        return torch.addcmul(-self.mean / self.std, x, 1.0 / self.std)


class MVFN(_Normalised):
    """Multi-view fusion network: two outer branches and an inner fusion branch."""

    def __init__(self, config: ArchConfig = ArchConfig()):
        super().__init__(config)
        if len(config.widths) != 4 or len(config.fusion_widths) != 4:
            raise ValueError("an MVFN has four stages: widths and fusion_widths need four entries")
        first = Branch(config.widths)
        self.branches = nn.ModuleList([first] if config.shared_branches else [first, Branch(config.widths)])
        self.fusion = Fusion(config.widths, config.fusion_widths, len(config.classes))

    def branch(self, view: int) -> Branch:
        if view not in (0, 1):
            raise ValueError(f"view must be 0 (camera 1) or 1 (camera 2), got {view}")
        return self.branches[0] if self.config.shared_branches else self.branches[view]

    def encode(self, view: int, x: torch.Tensor) -> list[torch.Tensor]:
        """The four stage features of `view`'s branch for images x in [0, 1]."""
        return self.branch(view)(self.normalise(x))

    def encode_normalised(self, view: int, xn: torch.Tensor) -> list[torch.Tensor]:
        """Optional contract: `encode` for images already passed through `normalise`."""
        return self.branch(view)(xn)

    def fuse(self, f1: Sequence[torch.Tensor], f2: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.fusion(f1, f2)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return self.fuse(self.encode(0, x1), self.encode(1, x2))

    def fuse_parts(self, view: int, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Optional contract: one view's share of the fusion, to reuse across fusions."""
        return self.fusion.parts(view, feats)

    def fuse_from_parts(self, p1: Sequence[torch.Tensor], p2: Sequence[torch.Tensor]) -> torch.Tensor:
        """Optional contract: logits from both views' `fuse_parts`."""
        return self.fusion.forward_parts(p1, p2)

    def cam_layers(self) -> list[list[nn.Module]]:
        return [self.branch(0).cam_layers(), self.branch(1).cam_layers()]


class SingleViewNet(_Normalised):
    """The baseline: one branch of the same design on one view, pooled into a linear head.

    It takes both views to keep the contract and ignores the other one.
    """

    def __init__(self, config: ArchConfig = ArchConfig(arch="single-view")):
        super().__init__(config)
        if config.view not in (0, 1):
            raise ValueError(f"view must be 0 or 1, got {config.view}")
        self.branch_ = Branch(config.widths)
        self.head = nn.Linear(config.widths[-1], len(config.classes))

    def encode(self, view: int, x: torch.Tensor) -> list[torch.Tensor]:
        return self.branch_(self.normalise(x)) if view == self.config.view else []

    def fuse(self, f1: Sequence[torch.Tensor], f2: Sequence[torch.Tensor]) -> torch.Tensor:
        feats = f1 if self.config.view == 0 else f2
        return self.head(feats[-1].mean(dim=(2, 3)))

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        x = x1 if self.config.view == 0 else x2
        return self.fuse(*((self.encode(0, x), []) if self.config.view == 0 else ([], self.encode(1, x))))

    def cam_layers(self) -> list[list[nn.Module]]:
        layers = self.branch_.cam_layers()
        return [layers, []] if self.config.view == 0 else [[], layers]


def build_model(config: ArchConfig) -> nn.Module:
    if config.ok_class not in config.classes:
        raise ValueError(f"OK class {config.ok_class!r} is not one of the classes {list(config.classes)}")
    if config.arch == "mvfn":
        return MVFN(config)
    if config.arch == "single-view":
        return SingleViewNet(config)
    raise ValueError(f"unknown architecture {config.arch!r}")
