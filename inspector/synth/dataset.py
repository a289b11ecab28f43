"""Simulated datasets on disk (HDF5): what `inspector simulate` writes and training reads.

Layout: `view1`, `view2` (N×H×W×3 uint8), `label` (N, class index; names in the
attribute `classes`), `evidence` (N, fixed-length ASCII), per-sample geometry
(`gap_mm`, `hidden_camera`, `hide`), and with `raw=True` the oblique camera
images `raw1`, `raw2`. The file is written under a temporary name and renamed
when complete, so an interrupted run never leaves a file that looks finished.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Callable, Optional

import h5py
import numpy as np

from inspector import __version__
from inspector.errors import DatasetError
from inspector.hdf5_format import PLAIN_LIBVER
from inspector.synth.line import SimulatedLine, check_share
from inspector.synth.scene import CLASSES, insert_gap

FORMAT = "inspector-simulated-dataset"
FORMAT_VERSION = 1
BATCH = 64


def _create(f: h5py.File, name: str, n: int, shape: tuple, dtype, compress: bool) -> h5py.Dataset:
    kwargs = {"compression": "gzip", "compression_opts": 1} if compress else {}
    chunks = (1,) + shape if shape else (min(n, 4096),)
    return f.create_dataset(name, shape=(n,) + shape, dtype=dtype, chunks=chunks, **kwargs)


def write_dataset(
    path: str | Path,
    n: int,
    *,
    seed: int,
    hidden_share: float = 0.0,
    raw: bool = False,
    line: Optional[SimulatedLine] = None,
    overwrite: bool = False,
    progress: Optional[Callable[[int], None]] = None,
) -> Path:
    """Render `n` samples of the simulated line into an HDF5 file at `path`; returns the path.

    `progress` is called with the number of samples finished after each batch.
    """
    path = Path(path)
    if n <= 0:
        raise DatasetError(f"--n must be positive, got {n}")
    check_share(hidden_share)
    if path.exists() and not overwrite:
        raise DatasetError(f"{path}: already exists; choose another name or pass --overwrite")
    if not path.parent.is_dir():
        raise DatasetError(f"{path}: folder {path.parent} does not exist")
    line = line or SimulatedLine()
    grid = line.rig.grid
    view_shape = (grid.height, grid.width, 3)
    w, h = line.config.image_size
    partial = path.with_name(path.name + ".partial")
    try:
        with h5py.File(partial, "w", libver=PLAIN_LIBVER) as f:
            f.attrs.update(
                {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "classes": json.dumps(list(CLASSES)),
                    "seed": int(seed),
                    "hidden_share": float(hidden_share),
                    "software": f"inspector {__version__}",
                    "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    "rig_sha256": line.rig.sha256,
                    "rig": line.rig.to_json(),
                    "line": json.dumps(
                        {
                            "tilt_deg": line.config.tilt_deg,
                            "azimuths_deg": list(line.config.azimuths_deg),
                            "image_size": list(line.config.image_size),
                        }
                    ),
                }
            )
            ds = {
                "view1": _create(f, "view1", n, view_shape, np.uint8, True),
                "view2": _create(f, "view2", n, view_shape, np.uint8, True),
                "label": _create(f, "label", n, (), np.uint8, False),
                "evidence": _create(f, "evidence", n, (), "S8", False),
                "gap_mm": _create(f, "gap_mm", n, (), np.float32, False),
                "hidden_camera": _create(f, "hidden_camera", n, (), np.int8, False),
                "hide": _create(f, "hide", n, (), "S7", False),
            }
            if raw:
                ds["raw1"] = _create(f, "raw1", n, (h, w, 3), np.uint8, True)
                ds["raw2"] = _create(f, "raw2", n, (h, w, 3), np.uint8, True)
            for start in range(0, n, BATCH):
                batch = list(line.samples(min(BATCH, n - start), seed=seed, hidden_share=hidden_share, start=start))
                sl = slice(start, start + len(batch))
                ds["view1"][sl] = np.stack([s.view1 for s in batch])
                ds["view2"][sl] = np.stack([s.view2 for s in batch])
                ds["label"][sl] = [CLASSES.index(s.label) for s in batch]
                ds["evidence"][sl] = [s.evidence.encode() for s in batch]
                ds["gap_mm"][sl] = [insert_gap(s.scene.insert, line.design) for s in batch]
                hidden = [next((i + 1 for i, c in enumerate(s.scene.cameras) if c.hide), 0) for s in batch]
                ds["hidden_camera"][sl] = hidden
                ds["hide"][sl] = [(s.scene.cameras[k - 1].hide or "").encode() if k else b"" for s, k in zip(batch, hidden)]
                if raw:
                    ds["raw1"][sl] = np.stack([s.raw1 for s in batch])
                    ds["raw2"][sl] = np.stack([s.raw2 for s in batch])
                if progress:
                    progress(start + len(batch))
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def read_dataset(path: str | Path) -> dict[str, np.ndarray]:
    """All arrays of a simulated dataset, plus `classes` (tuple of names); for tests and small sets."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise DatasetError(f"{path}: not an inspector simulated dataset")
            out = {name: f[name][()] for name in f.keys()}
            out["classes"] = tuple(json.loads(f.attrs["classes"]))
            return out
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read dataset ({exc})") from None
