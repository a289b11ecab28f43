"""The built-in explainers as the registry starts them, `Class(model, device=None, **options)`,
and the one-call forms of Tilgner et al.'s method.

Every explainer is a `base.Explainer` that makes its stage maps its own way and
keeps the rest (masks, curves, m, influence, batching, devices, batch-norm
folding), so the pipeline, the audit and the GUI use any of them unchanged.
Registry names (entry point group `inspector.explainers` in pyproject.toml):

- `gradcam` (the default), `hirescam`, `gradcampp`, `xgradcam`, `layercam`: the
  gradient family (`cam_rules.GradientCAM` and its subclasses), one forward and
  one backward pass for both views and all four stages.
- `scorecam`: Score-CAM per view and stage (`scorecam.ScoreCAM`), K masked copies
  per channel set; the slowest CAM here.
- `rise`: RISE per view (`rise.RISE`), seeded; one input-level map, the same at all
  four stages. Options: masks (N, default 512), cells (8), keep (0.5), seed (0).
- `gradcam-fused`: Grad-CAM whose masks come from the block-wise fusion of its four
  stage maps (`fusion`); every explainer takes prior="fused" the same way.
"""

from __future__ import annotations

from torch import nn

from inspector.errors import InspectorError
from inspector.explain.base import Explainer
from inspector.explain.cam_rules import GradCAM
from inspector.explain.engine import Explanation


def gradcam_fused(model: nn.Module, device=None, **options) -> GradCAM:
    """Grad-CAM with the masks drawn from the block-wise fusion of its four stage maps."""
    return GradCAM(model, device=device, prior="fused", **options)


def explain_pair(
    model: nn.Module, view1, view2, *, target=None, p=None, device=None, fill: str = "zero"
) -> Explanation:
    """Explain one pair (H×W×3 uint8 RGB or float32 in [0, 1]) with Tilgner et al.'s method.

    target: class name or index (default: the predicted class); p: the grid of
    proportions (default 0, 0.1, …, 1); fill: what the occluded pixels become
    (`fills`: "zero", the paper's, "road" or "mean").
    """
    return GradCAM(model, device=device, fill=fill).explain(view1, view2, target=target, p=p)


def explain_batch(model: nn.Module, views1, views2, *, targets=None, p=None, device=None, batch: int = 16,
                  fill: str = "zero"):
    """Explain N pairs (N×H×W×3); a list of `Explanation`."""
    return GradCAM(model, device=device, fill=fill).explain_batch(views1, views2, targets=targets, p=p, batch=batch)


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
