"""The simulated dual-camera cavity line, with ground truth per sample."""

from inspector.synth.line import LineConfig, Sample, SimulatedLine, generate
from inspector.synth.scene import CLASSES, EVIDENCE, CavityDesign, Scene

__all__ = ["CLASSES", "EVIDENCE", "CavityDesign", "LineConfig", "Sample", "Scene", "SimulatedLine", "generate"]
