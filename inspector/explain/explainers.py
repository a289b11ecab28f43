"""The built-in explainers beyond Grad-CAM, as the registry starts them: `Class(model, device=None, **options)`.

Each is an `Explainer` that makes its stage maps another way and keeps the rest
(masks, curves, m, influence, batching, devices, batch-norm folding), so the
pipeline, the audit and the GUI use any of them unchanged. Registry names (entry
point group `inspector.explainers` in pyproject.toml):

- `gradcam` (the default, `engine.Explainer`), `hirescam`, `gradcampp`, `xgradcam`,
  `layercam`: the gradient family, one forward and one backward pass for both views
  and all four stages (formulas in `cam_rules`).
- `scorecam`: Score-CAM per view and stage (`scorecam`), K masked copies per channel
  set; the slowest CAM here.
- `rise`: RISE per view (`rise`), seeded; one input-level map, the same at all four
  stages. Options: masks (N, default 512), cells (8), keep (0.5), seed (0).
- `gradcam-fused`: Grad-CAM whose masks come from the block-wise fusion of its four
  stage maps (`fusion`); every explainer takes prior="fused" the same way.
"""

from __future__ import annotations

import torch
from torch import nn

from inspector.errors import InspectorError
from inspector.explain import cam_rules
from inspector.explain.engine import Explainer
from inspector.explain.rise import rise_maps, rise_masks
from inspector.explain.scorecam import score_cams

class HiResCAMExplainer(Explainer):
    name = "hirescam"
    rule = staticmethod(cam_rules.hirescam)


class GradCAMPlusPlusExplainer(Explainer):
    name = "gradcampp"
    rule = staticmethod(cam_rules.gradcampp)


class XGradCAMExplainer(Explainer):
    name = "xgradcam"
    rule = staticmethod(cam_rules.xgradcam)


class LayerCAMExplainer(Explainer):
    name = "layercam"
    rule = staticmethod(cam_rules.layercam)


class ScoreCAMExplainer(Explainer):
    """Score-CAM; `chunk` masked copies go through the model at once."""

    name = "scorecam"

    def _maps(self, x1, x2, target):
        return score_cams(self.model, x1, x2, target, chunk=self.chunk)


class RISEExplainer(Explainer):
    """RISE with `masks` random masks of a `cells`×`cells` grid, each cell kept with probability `keep`;
    `seed` fixes the masks (drawn once per image size, on the CPU, then kept on the device)."""

    name = "rise"

    def __init__(
        self, model: nn.Module, *, masks: int = 512, cells: int = 8, keep: float = 0.5, seed: int = 0, **options
    ):
        if int(masks) < 1 or int(cells) < 1 or not 0.0 < float(keep) < 1.0:
            raise InspectorError(f"rise: need masks ≥ 1, cells ≥ 1 and 0 < keep < 1 (got {masks}, {cells}, {keep})")
        super().__init__(model, **options)
        self.n_masks, self.cells, self.keep, self.seed = int(masks), int(cells), float(keep), int(seed)
        self._masks: dict[tuple[int, int], torch.Tensor] = {}

    def masks(self, size: tuple[int, int]) -> torch.Tensor:
        size = (int(size[0]), int(size[1]))
        if size not in self._masks:
            drawn = rise_masks(self.n_masks, size, cells=self.cells, keep=self.keep, seed=self.seed)
            self._masks[size] = drawn.to(self.device)
        return self._masks[size]

    def _maps(self, x1, x2, target):
        return rise_maps(self.model, x1, x2, self.masks(x1.shape[2:]), target, keep=self.keep, chunk=self.chunk)


def gradcam_fused(model: nn.Module, device=None, **options) -> Explainer:
    """Grad-CAM with the masks drawn from the block-wise fusion of its four stage maps."""
    return Explainer(model, device=device, prior="fused", **options)


def start_explainer(name: str, model: nn.Module, *, device=None, registry=None, **options) -> Explainer:
    """The explainer plugin `name` started on `model` through the registry (discovered when not given),
    so third-party explainers work wherever a built-in one does."""
    from inspector.plugins import PluginRegistry

    registry = registry if registry is not None else PluginRegistry.discover()
    return registry.start("explainers", name, model, device=device, **options)


def explainer_names(registry=None) -> list[str]:
    """Every explainer the registry knows: this project's own (its entry points) first, then the
    third-party ones by name."""
    from inspector.plugins import PluginRegistry

    registry = registry if registry is not None else PluginRegistry.discover()
    # The built-ins come in the order of the installed metadata, which is by name: setuptools writes
    # entry_points.txt sorted, so the order pyproject.toml declares them in does not survive the install.
    own = registry.builtins("explainers")
    return own + [n for n in registry.names("explainers") if n not in own]


def parse_explainers(text: str, registry=None) -> list[str]:
    """A comma-separated list of explainer names, checked against the registry."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = explainer_names(registry)
    unknown = [n for n in names if n not in known]
    if not names or unknown:
        raise InspectorError(
            f"explainers: unknown {', '.join(unknown) or '(none given)'}; installed: {', '.join(known)}"
        )
    if len(set(names)) != len(names):
        raise InspectorError(f"explainers: {text!r} names one twice")
    return names
