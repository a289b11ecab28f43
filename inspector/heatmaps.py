"""Stage maps brought to the views' size: the one resize that the method, the logs and the screens share.

A log stores each stage's map at layer resolution; whoever shows or measures it
at full size must resize it exactly as the engine did when it explained the
pair, or a map read back would differ from the one explained.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.nn import functional as F


def resize_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, h, w) → (B, H, W), bilinear with align_corners=False (the method's resize, Tilgner et al.)."""
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


def full_size_maps(stage_maps: Sequence[Sequence[np.ndarray]], size: tuple[int, int]) -> np.ndarray:
    """Stored stage maps [view][stage] → (2, stages, H, W) float32, resized as the engine resizes."""
    return np.stack(
        [
            np.stack([resize_maps(torch.from_numpy(np.asarray(m, np.float32))[None], size)[0].numpy() for m in view])
            for view in stage_maps
        ]
    )
