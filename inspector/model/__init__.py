"""The multi-view fusion network, its training, and checkpoints (with the shipped default model)."""

from inspector.model.checkpoint import DEFAULT_MODEL_PATH, ModelError, load_model, save_checkpoint
from inspector.model.mvfn import MVFN, ArchConfig, SingleViewNet, build_model

__all__ = [
    "DEFAULT_MODEL_PATH",
    "MVFN",
    "ArchConfig",
    "ModelError",
    "SingleViewNet",
    "build_model",
    "load_model",
    "save_checkpoint",
]
