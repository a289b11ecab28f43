"""What the views share: the plugin registry, the model, the rig and the device, loaded once.

Passed to each view explicitly (no module-level state), so tests and embedding
applications can hand in their own registry or model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional


@dataclass
class AppContext:
    registry: Any  # inspector.plugins.PluginRegistry
    model: Any
    rig: Any
    device: Any  # torch.device
    model_file: str = ""
    rig_file: str = ""

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.model.classes)

    @property
    def class_set(self):
        """The model's classes and which is OK (inspector.classes.ClassSet)."""
        from inspector.classes import ClassSet

        return ClassSet.of_model(self.model)

    def model_identity(self) -> str:
        sha = str(getattr(self.model, "sha256", ""))[:12] or "?"
        return f"{Path(self.model_file).name or 'model'} · {sha} · {self.device.type}"

    def rig_identity(self) -> str:
        if self.rig is None:
            return "none"
        g = self.rig.grid
        return f"{Path(self.rig_file).name or 'rig'} · {self.rig.sha256[:12]} · {g.width}×{g.height} px at {g.mm_per_px:g} mm/px"

    def new_explainer(self, name: str = "gradcam", fill: str = "zero"):
        """A fresh explainer: each thread that explains needs its own (Grad-CAM hooks its model copy).
        fill: what the occluded pixels of its curves become (`inspector.explain.fills`)."""
        from inspector.fill_names import fill_option

        return self.registry.start("explainers", name, self.model, device=self.device, **fill_option(fill))


def load_context(
    device: str = "auto", *, registry=None, model_path: Optional[str] = None, rig_path: Optional[str] = None
) -> AppContext:
    from calibration.rig import DEFAULT_RIG_PATH
    from inspector.devices import resolve_device
    from inspector.model.checkpoint import DEFAULT_MODEL_PATH
    from inspector.plugins import PluginRegistry
    from inspector.runner import load_model_choice, load_rig_choice

    registry = registry if registry is not None else PluginRegistry.discover()
    dev = resolve_device(device)
    model = load_model_choice(registry, model_path, dev)
    rig = load_rig_choice(rig_path)
    return AppContext(
        registry=registry,
        model=model,
        rig=rig,
        device=dev,
        model_file=str(model_path or DEFAULT_MODEL_PATH),
        rig_file=str(rig_path or DEFAULT_RIG_PATH),
    )
