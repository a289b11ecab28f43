"""A dataset from class folders: `DIR/<class>/<key>_cam1.png` + `<key>_cam2.png`, one folder per class.

Files pair by the rules of the folder source (`inspector.pair_names`). Without a rig the
images are views as the model takes them; with one they are raw camera images, mapped onto
the cavity plane through it. A pair that cannot be used (a missing partner, an unreadable file,
images of the wrong size) is named and skipped; a class folder left without pairs, or images
of no prevailing size, refuse the whole import: a dataset silently missing a class, or resized
by accident, would train a model that fails on the line.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Callable, Optional

from inspector.classes import DEFAULT_OK_CLASS, check_classes
from inspector.dataset.build import Found, Gathered, common_size, size_text, stack
from inspector.dataset.store import history_step, pair_sha256, utc_day
from inspector.errors import DatasetError, ImageError
from inspector.images import read_image
from inspector.pair_names import PairPattern, list_pairs


def class_folders(root: Path) -> list[Path]:
    if not root.exists():
        raise DatasetError(f"{root}: no such folder")
    if not root.is_dir():
        raise DatasetError(f"{root}: is not a folder (give the folder that holds one folder per class)")
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def import_folders(root: str | Path, *, cam1: str = "*_cam1.png", cam2: str = "*_cam2.png", rig=None,
                   ok_class: str = DEFAULT_OK_CLASS, progress: Optional[Callable] = None) -> Gathered:
    """The pairs of every class folder under `root`; `rig` (a `calibration.Rig`) maps raw images to views.
    `progress(iterable, total=…)` may wrap the loop over pairs (tqdm)."""
    root = Path(root)
    patterns = (PairPattern(cam1, "--cam1", where="", error=DatasetError),
                PairPattern(cam2, "--cam2", where="", error=DatasetError))
    if cam1 == cam2:
        raise DatasetError(f"--cam1 and --cam2 are the same pattern {cam1!r}; no file could pair")
    folders = class_folders(root)
    names = tuple(p.name for p in folders)
    if ok_class not in names:
        have = ", ".join(names) or "none"
        raise DatasetError(f"{root}: the OK class {ok_class!r} has no folder (class folders: {have}); "
                           "name it with --ok-class")
    classes, ok_class = check_classes(names, ok_class, str(root))

    skipped: list[tuple[str, str]] = []
    todo = []
    for label, folder in enumerate(folders):
        try:
            listed = list_pairs(folder, patterns)
        except OSError as exc:
            raise DatasetError(f"{folder}: cannot be listed ({exc.strerror or exc})") from None
        complete = 0
        for key, files in listed:
            if None in files:
                present = next(p for p in files if p is not None)
                cam = files.index(None)
                skipped.append((str(present), f"its camera {cam + 1} partner "
                                f"{patterns[cam].name(key)} is missing"))
            else:
                todo.append((label, folder, files))
                complete += 1
        if not complete:
            raise DatasetError(f"{folder}: no image pairs in the folder of class {folder.name!r} "
                               f"({patterns[0].text} + {patterns[1].text})")

    read = []
    for label, folder, files in (progress(todo, total=len(todo), desc="reading", unit="pair") if progress else todo):
        item = _read_pair(label, folder, files, rig, skipped)
        if item is not None:
            read.append(item)

    size = common_size([item.view1.shape[:2] for item in read])
    if size is None and read:
        found = Counter(size_text(item.view1.shape) for item in read)
        sizes = ", ".join(f"{s} ({k} pairs)" for s, k in found.most_common())
        raise DatasetError(f"{root}: images of mixed sizes, none shared by more than half of the pairs: {sizes}")
    usable = []
    for item in read:
        if item.view1.shape[:2] != size:
            skipped.append((item.origin, f"{size_text(item.view1.shape)} pixels, but most pairs are "
                            f"{size_text(size)}"))
        else:
            usable.append(item)
    for label, folder in enumerate(folders):
        if not any(item.label == label for item in usable):
            raise DatasetError(f"{folder}: no usable image pairs in the folder of class {folder.name!r} "
                               "(every pair was skipped)")

    hashes = hashlib.sha256("".join(item.sha256 for item in usable).encode()).hexdigest()
    inputs = [{"path": str(root), "sha256": hashes, "sha256_of": "the pairs' sha256 in order"}]
    if rig is not None:
        inputs.append({"path": rig.source or "rig", "sha256": rig.sha256, "role": "rig"})
    pairs, duplicates = stack(usable, classes, ok_class, [], size + (3,))
    gathered = Gathered(pairs, skipped, {}, duplicates)
    pairs.history = [history_step("dataset import", inputs, gathered.counts(), cam1=cam1, cam2=cam2)]
    return gathered


def _read_pair(label: int, folder: Path, files: list[Path], rig, skipped: list) -> Optional[Found]:
    origin = f"{files[0]} + {files[1].name}" if files[0].parent == files[1].parent else f"{files[0]} + {files[1]}"
    try:
        images = [read_image(p) for p in files]
        day = utc_day(files[0].stat().st_mtime)
    except ImageError as exc:
        path, _, why = str(exc).partition(": ")
        skipped.append((path, why))
        return None
    except OSError as exc:
        skipped.append((origin, f"cannot be read ({exc.strerror or exc})"))
        return None
    if images[0].shape != images[1].shape:
        skipped.append((origin, f"the two images differ in size ({size_text(images[0].shape)} and "
                        f"{size_text(images[1].shape)})"))
        return None
    if rig is not None:
        try:
            images = list(rig.warp_pair(images[0], images[1]))
        except ImageError as exc:
            skipped.append((origin, f"{exc}"))
            return None
    return Found(label, images[0], images[1], origin, str(folder), day, pair_sha256(images[0], images[1]))
