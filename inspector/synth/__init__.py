"""The simulated dual-camera cavity line, with ground truth per sample, and its variants (other plants)."""

from inspector.synth.line import LineConfig, Sample, SimulatedLine, generate
from inspector.synth.scene import CLASSES, EVIDENCE, CavityDesign, Scene
from inspector.synth.variants import LineVariant, line_names, load_line

__all__ = [
    "CLASSES",
    "EVIDENCE",
    "CavityDesign",
    "LineConfig",
    "LineVariant",
    "Sample",
    "Scene",
    "SimulatedLine",
    "generate",
    "line_names",
    "load_line",
]
