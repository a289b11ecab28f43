"""A GenICam buffer's bytes as the H×W×3 uint8 RGB image every source hands on.

GenICam names a Bayer pattern by its first two pixels (BayerRG8: the first row
reads R G R G); OpenCV names it by the second row's second and third pixels, so
the same sensor is `COLOR_BayerBG2RGB` there. The table below is that swap, and
`tests/test_source_genicam.py` checks it on a red scene.
"""

from __future__ import annotations

import cv2
import numpy as np

_BAYER = {
    "BayerRG8": cv2.COLOR_BayerBG2RGB,
    "BayerBG8": cv2.COLOR_BayerRG2RGB,
    "BayerGR8": cv2.COLOR_BayerGB2RGB,
    "BayerGB8": cv2.COLOR_BayerGR2RGB,
}
SUPPORTED = ("Mono8", "RGB8", *_BAYER)


def to_rgb(data: bytes, width: int, height: int, pixel_format: str) -> np.ndarray:
    """The image in `data`; ValueError if its size does not fit the format (a short or damaged buffer)."""
    raw = np.frombuffer(data, np.uint8)
    channels = 3 if pixel_format == "RGB8" else 1
    need = width * height * channels
    if raw.size < need:
        raise ValueError(f"{raw.size} bytes, but a {width}×{height} {pixel_format} image needs {need}")
    raw = raw[:need]
    if pixel_format == "RGB8":
        return raw.reshape(height, width, 3).copy()
    plane = raw.reshape(height, width)
    if pixel_format == "Mono8":
        return cv2.cvtColor(plane, cv2.COLOR_GRAY2RGB)
    if pixel_format in _BAYER:
        return cv2.cvtColor(plane, _BAYER[pixel_format])
    raise ValueError(f"pixel format {pixel_format} is not one of {', '.join(SUPPORTED)}")
