"""Where the tensors run: the `--device auto|cpu|cuda` choice every command and library call shares."""

from __future__ import annotations

from typing import Optional

import torch

from inspector.errors import InspectorError


def resolve_device(device: Optional[str | torch.device]) -> torch.device:
    """'auto' (or None) → CUDA when present, else CPU; 'cuda' without a GPU is an error."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InspectorError("--device cuda: no CUDA device is available here (use auto or cpu)")
    if dev.type not in ("cpu", "cuda"):
        raise InspectorError(f"--device {device}: expected auto, cpu or cuda")
    return dev
