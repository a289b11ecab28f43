"""Simulated datasets as a plant keeps its images: one folder per class, one PNG per camera and cavity.

Layout of `DIR` (what `inspector simulate --images DIR` writes, and `inspector dataset import` reads):

    DIR/<class>/<key>_cam1.png, DIR/<class>/<key>_cam2.png   key = the sample's index, zero-padded
    DIR/evidence.csv      key,class,evidence: the ground truth of every pair
    DIR/line.json         the line variant the images come from (name and values)
    DIR/rig.json          with raw images only: the rig that maps them onto the cavity plane

By default the images are the views (the cavity plane after IPM, what the model takes); with `raw` they
are the oblique camera images, and the rig is written beside them. The whole tree is written into
`DIR.partial` and renamed when complete, so a run stopped by Ctrl-C, SIGTERM or an error leaves
nothing that looks like a dataset.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from typing import Callable, Optional

from inspector.errors import DatasetError
from inspector.files import check_free_space
from inspector.images import write_image
from inspector.synth.line import SimulatedLine, check_share
from inspector.synth.scene import CLASSES
from inspector.synth.variants import line_record

PNG_OVERHEAD = 1024  # header, chunk framing; zlib's worst case adds 0.1% more
FOLDER_FILES_BYTES = 64  # a line of evidence.csv, directory entries


def key_width(n: int) -> int:
    return max(5, len(str(n - 1)))


def images_bytes(n: int, line: SimulatedLine, raw: bool = False) -> int:
    """The most bytes `write_image_folders` takes for `n` pairs: PNGs no larger than their pixels (plus
    zlib's worst case), as the HDF5 bound assumes of gzip; simulated images shrink by about a third."""
    if raw:
        w, h = line.config.image_size
    else:
        w, h = line.rig.grid.width, line.rig.grid.height
    per_image = int(h * (w * 3 + 1) * 1.001) + PNG_OVERHEAD
    return n * (2 * per_image + FOLDER_FILES_BYTES) + (1 << 20)


def check_images_output(folder: Path, n: int, line: SimulatedLine, *, raw: bool = False,
                        overwrite: bool = False) -> None:
    """What `write_image_folders` refuses before it writes anything: a bad count, a file where the folder
    should be, a folder that is not empty (unless `overwrite`), a missing parent, too little free space."""
    if n <= 0:
        raise DatasetError(f"--n must be positive, got {n}")
    if folder.exists() and not folder.is_dir():
        raise DatasetError(f"{folder}: is a file; name the folder to write the images into")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise DatasetError(f"{folder}: is not empty; choose another folder or pass --overwrite to replace it")
    parent = folder.absolute().parent
    if not parent.is_dir():
        raise DatasetError(f"{folder}: folder {parent} does not exist")
    check_free_space(folder, n, images_bytes(n, line, raw), DatasetError)


def write_image_folders(
    folder: str | Path,
    n: int,
    *,
    seed: int,
    hidden_share: float = 0.0,
    raw: bool = False,
    line: Optional[SimulatedLine] = None,
    overwrite: bool = False,
    progress: Optional[Callable[[int], None]] = None,
    stop: Optional[Callable[[], bool]] = None,
) -> dict[str, int]:
    """Render `n` pairs of the simulated line into class folders under `folder`; returns pairs per class.

    `progress` is called with the number of pairs written after each; `stop` is asked before each: when
    it returns true, the partial tree is removed and KeyboardInterrupt raised, as a Ctrl-C would.
    """
    folder = Path(folder)
    check_share(hidden_share)
    line = line or SimulatedLine()
    check_images_output(folder, n, line, raw=raw, overwrite=overwrite)
    partial = folder.with_name(folder.name + ".partial")
    width = key_width(n)
    counts = {c: 0 for c in CLASSES}
    try:
        if partial.exists():  # left by a run that was killed outright; it was never a dataset
            shutil.rmtree(partial)
        for c in CLASSES:
            (partial / c).mkdir(parents=True)
        with open(partial / "evidence.csv", "w", newline="") as f:
            rows = csv.writer(f)
            rows.writerow(["key", "class", "evidence"])
            for done, sample in enumerate(line.samples(n, seed=seed, hidden_share=hidden_share), 1):
                if stop is not None and stop():
                    raise KeyboardInterrupt
                key = f"{sample.index:0{width}d}"
                images = (sample.raw1, sample.raw2) if raw else (sample.view1, sample.view2)
                for cam, image in zip((1, 2), images):
                    write_image(partial / sample.label / f"{key}_cam{cam}.png", image)
                rows.writerow([key, sample.label, sample.evidence])
                counts[sample.label] += 1
                if progress:
                    progress(done)
        record = line_record(line.config, seed=seed, hidden_share=hidden_share, images="raw" if raw else "views")
        (partial / "line.json").write_text(json.dumps(record, indent=2) + "\n")
        if raw:
            line.rig.save(partial / "rig.json")
        _replace_folder(partial, folder)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(exc, OSError):  # a full disk, a folder that turned read-only
            raise DatasetError(f"{folder}: cannot write ({exc.strerror or exc})") from None
        raise
    return counts


def _replace_folder(partial: Path, folder: Path) -> None:
    """Put the finished tree in place; an old one (only with overwrite) is moved aside, not removed, until
    the new one is in place, so a failure in between loses neither."""
    if not folder.exists():
        os.replace(partial, folder)
        return
    old = folder.with_name(folder.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    os.replace(folder, old)
    os.replace(partial, folder)
    shutil.rmtree(old, ignore_errors=True)
