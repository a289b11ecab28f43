"""Simulated datasets on disk (HDF5): what `inspector simulate` writes and training reads.

Layout: `view1`, `view2` (N×H×W×3 uint8), `label` (N, class index; names in the
attribute `classes`), `evidence` (N, fixed-length ASCII), per-sample geometry
(`gap_mm`, `hidden_camera`, `hide`), and with `raw=True` the oblique camera
images `raw1`, `raw2`. The file is written under a temporary name and renamed
when complete, so an interrupted run never leaves a file that looks finished;
one stopped by its caller (Ctrl-C, SIGTERM) or by an error leaves no file at all.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Callable, Optional

import h5py
import numpy as np

from inspector.version import __version__
from inspector.errors import DatasetError
from inspector.files import check_free_space, check_output_file
from inspector.hdf5_format import PLAIN_LIBVER
from inspector.signals import ctrl_c_after
from inspector.synth.line import SimulatedLine, check_share
from inspector.synth.scene import CLASSES, insert_gap
from inspector.synth.variants import line_record

FORMAT = "inspector-simulated-dataset"
FORMAT_VERSION = 1
BATCH = 64
SAMPLE_FIELD_BYTES = 1 + 8 + 4 + 1 + 7  # label, evidence, gap_mm, hidden_camera, hide


def dataset_bytes(n: int, line: SimulatedLine, raw: bool = False) -> int:
    """The most bytes `write_dataset` takes for `n` samples: every image uncompressed, the per-sample
    fields, and 1% for HDF5's chunk index and deflate's worst case. An upper bound, not an estimate:
    gzip-1 makes simulated images only about a third smaller (their sensor noise does not compress),
    and how much depends on the scenes."""
    grid = line.rig.grid
    w, h = line.config.image_size
    per_sample = 2 * grid.height * grid.width * 3 + (2 * h * w * 3 if raw else 0) + SAMPLE_FIELD_BYTES
    return int(n * per_sample * 1.01) + (1 << 20)


def _create(f: h5py.File, name: str, n: int, shape: tuple, dtype, compress: bool) -> h5py.Dataset:
    kwargs = {"compression": "gzip", "compression_opts": 1} if compress else {}
    chunks = (1,) + shape if shape else (min(n, 4096),)
    return f.create_dataset(name, shape=(n,) + shape, dtype=dtype, chunks=chunks, **kwargs)


def check_dataset_output(path: Path, n: int, line: SimulatedLine, *, raw: bool = False,
                         overwrite: bool = False) -> None:
    """What `write_dataset` refuses before it writes anything, for callers that want to know before
    they start (a progress bar): a bad count, an existing file unless `overwrite`, a missing folder, a
    file larger than the folder's free space could hold."""
    if n <= 0:
        raise DatasetError(f"--n must be positive, got {n}")
    check_output_file(path, overwrite=overwrite, error=DatasetError)
    check_free_space(path, n, dataset_bytes(n, line, raw), DatasetError)


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
    stop: Optional[Callable[[], bool]] = None,
) -> Path:
    """Render `n` samples of the simulated line into an HDF5 file at `path`; returns the path.

    Refused when `dataset_bytes` exceeds the free space of the folder. `progress` is called with
    the number of samples finished after each batch. `stop` is asked between samples: when it
    returns true, the partial file is removed and KeyboardInterrupt raised, as a Ctrl-C would.
    """
    path = Path(path)
    check_share(hidden_share)
    line = line or SimulatedLine()
    check_dataset_output(path, n, line, raw=raw, overwrite=overwrite)
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
                    # Which plant: the variant's name and every value of it (and the keys older files had).
                    "line": json.dumps(line_record(line.config)),
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
                batch = []
                # Asked per sample, not per batch: a batch takes a second or more to render.
                for sample in line.samples(min(BATCH, n - start), seed=seed, hidden_share=hidden_share, start=start):
                    if stop is not None and stop():
                        raise KeyboardInterrupt
                    batch.append(sample)
                _write_batch(ds, batch, start, line, raw)
                if progress:
                    progress(start + len(batch))
        os.replace(partial, path)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full disk, a folder that turned read-only
            raise DatasetError(f"{path}: cannot write ({exc})") from None
        raise
    return path


def _write_batch(ds: dict, batch: list, start: int, line: SimulatedLine, raw: bool) -> None:
    # A KeyboardInterrupt inside an HDF5 call can hang the library: a Ctrl-C waits for the writes.
    with ctrl_c_after():
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
