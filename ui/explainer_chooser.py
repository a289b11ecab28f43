"""A chooser of the explainer plugins: which maps are drawn and which prior the curves' masks use."""

from __future__ import annotations

from PySide6 import QtWidgets

DEFAULT = "gradcam"


class ExplainerChooser(QtWidgets.QComboBox):
    """Every plugin of `inspector.explainers`; one that fails to import is listed, greyed, with its error."""

    def __init__(self, registry, parent=None):
        super().__init__(parent)
        self.registry = registry
        self.setToolTip("Which explainer draws the heatmaps and gives the masks of the curves their order\n"
                        "(Grad-CAM is the method of the paper; the others are there to compare)")
        for p in registry.plugins("explainers"):
            if p.status == "shadowed":
                continue
            registry.load("explainers", p.name)
            self.addItem(p.name)
            if not p.ok:
                item = self.model().item(self.count() - 1)
                item.setEnabled(False)
                item.setToolTip(f"{p.status}: {p.error}")
        if self.findText(DEFAULT) >= 0:
            self.setCurrentText(DEFAULT)

    @property
    def name(self) -> str:
        return self.currentText()
