"""Merging dataset files and splitting one into a training and a test file.

A split by a field (`by="day"`, `"source"`, …) keeps every group of pairs sharing the field's
value on one side: shots of one hour, or of one mold, look alike, and a test set that shares
them with training measures memory rather than what the model does on the next day's parts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from inspector.dataset.build import dedupe, size_text
from inspector.dataset.store import Dataset, DatasetPairs, history_step, load_dataset, write_partial
from inspector.errors import DatasetError
from inspector.files import check_output_file


@dataclass
class Merged:
    pairs: DatasetPairs
    inputs: int  # pairs in all inputs together
    duplicates: int


def merge(paths: Sequence[str | Path], progress=None) -> Merged:
    """The pairs of every file, in order, each pixel-identical pair (same sha256) kept once. The files
    must share classes, OK class and view size; each keeps its provenance and history."""
    if len(paths) < 2:
        raise DatasetError("merge needs at least two dataset files")
    datas: list[Dataset] = []
    for path in (progress(paths, desc="reading", unit="file") if progress else paths):
        data = load_dataset(path)
        if datas:
            _check_same(datas[0], data)
        datas.append(data)
    cat = lambda name: np.concatenate([getattr(d, name) for d in datas])
    evidence = np.concatenate([d.evidence for d in datas]) if all(d.evidence is not None for d in datas) else None
    sha256s = cat("sha256s")
    keep = dedupe(sha256s)
    inputs = [{"path": d.path, "sha256": d.sha256, "pairs": len(d.labels), "history": d.history} for d in datas]
    first = datas[0]
    whole = DatasetPairs(cat("view1"), cat("view2"), cat("labels"), cat("origin"), cat("source"), cat("day"), sha256s,
                         first.classes, first.ok_class, [], evidence)
    pairs = whole.take(keep, [])
    counts = {"pairs": len(keep), "per_class": _per_class(pairs.labels, pairs.classes),
              "duplicates": len(sha256s) - len(keep)}
    pairs.history = [history_step("dataset merge", inputs, counts)]
    return Merged(pairs, len(sha256s), len(sha256s) - len(keep))


def _check_same(a: Dataset, b: Dataset) -> None:
    if a.classes != b.classes:
        raise DatasetError(f"{b.path}: classes {', '.join(b.classes)} differ from those of {a.path} "
                           f"({', '.join(a.classes)})")
    if a.ok_class != b.ok_class:
        raise DatasetError(f"{b.path}: OK class {b.ok_class!r} differs from that of {a.path} ({a.ok_class!r})")
    if a.view1.shape[1:] != b.view1.shape[1:]:
        raise DatasetError(f"{b.path}: views are {size_text(b.view1.shape[1:])}, those of {a.path} "
                           f"{size_text(a.view1.shape[1:])}")


def _per_class(labels: np.ndarray, classes: Sequence[str]) -> dict:
    return {c: int(k) for c, k in zip(classes, np.bincount(labels, minlength=len(classes)))}


# -- split ----------------------------------------------------------------------------------------
@dataclass
class Split:
    train: np.ndarray  # indices into the dataset, sorted
    test: np.ndarray
    warnings: list[str] = field(default_factory=list)


def split_indices(data: Dataset, share: float, seed: int, by: Optional[str] = None) -> Split:
    """Stratified per class and seeded; with `by`, whole groups of equal `by` values go to one side."""
    if not 0.0 < share < 1.0:
        raise DatasetError(f"--test-share must be within (0, 1), got {share:g}")
    rng = np.random.default_rng(seed)
    if by is None:
        return _split_pairs(data, share, rng)
    if by not in data.fields():
        raise DatasetError(f"{data.path}: has no field {by!r} to split by (its fields: {', '.join(data.fields())})")
    return _split_groups(data, data.values(by).astype(str), by, share, rng)


def _split_pairs(data: Dataset, share: float, rng: np.random.Generator) -> Split:
    train, test, warnings = [], [], []
    for k, name in enumerate(data.classes):
        idx = rng.permutation(np.flatnonzero(data.labels == k))
        n = len(idx)
        n_test = int(round(n * share))
        if n >= 2:
            n_test = min(max(n_test, 1), n - 1)  # each side sees every class it can
        else:
            warnings.append(f"class {name!r} has {n} pair{'s' * (n != 1)}: it cannot be on both sides")
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return Split(np.sort(np.concatenate(train)), np.sort(np.concatenate(test)), warnings)


def _split_groups(data: Dataset, values: np.ndarray, by: str, share: float, rng: np.random.Generator) -> Split:
    """Greedy: groups in a seeded order, each put on the test side when that brings every class's test
    count closer to its share (relative to the class's size); then any class left with no group on a
    side gets its smallest group moved there."""
    names, group_of = np.unique(values, return_inverse=True)
    C = len(data.classes)
    counts = np.zeros((len(names), C), np.int64)
    np.add.at(counts, (group_of, data.labels), 1)
    total = counts.sum(0)
    for k, name in enumerate(data.classes):
        groups = np.flatnonzero(counts[:, k])
        if total[k] and len(groups) < 2:
            raise DatasetError(f"{data.path}: class {name!r} has all its {total[k]} pairs in one {by} "
                               f"({str(names[groups[0]])!r}), so no split by {by} can put it on both sides")
    target = share * total
    scale = np.maximum(total, 1).astype(np.float64)
    in_test = np.zeros(len(names), bool)
    have = np.zeros(C)
    cost = lambda t: float((((t - target) / scale) ** 2).sum())
    for g in rng.permutation(len(names)):
        if cost(have + counts[g]) < cost(have):
            in_test[g] = True
            have = have + counts[g]
    warnings = []
    for k, name in enumerate(data.classes):
        for side in (True, False):
            if total[k] and not (counts[in_test == side, k] > 0).any():
                # the smallest group of this class on the other side moves over
                pool = np.flatnonzero((in_test != side) & (counts[:, k] > 0))
                g = pool[np.argmin(counts[pool].sum(1))]
                in_test[g] = side
    for k, name in enumerate(data.classes):
        if not total[k]:
            continue
        n_test = int(counts[in_test, k].sum())
        if n_test == 0 or n_test == total[k]:
            warnings.append(f"class {name!r}: its groups by {by} could not be put on both sides")
    test = np.flatnonzero(in_test[group_of])
    train = np.flatnonzero(~in_test[group_of])
    return Split(train, test, warnings)


def write_split(data: Dataset, split: Split, outputs: tuple[Path, Path], *, overwrite: bool, step: dict,
                progress=None) -> None:
    """Both files or neither: each is written under a temporary name, and they are renamed only when
    both are complete. `progress(n)` is told how many pairs of both files are written."""
    for out in outputs:
        check_output_file(out, overwrite=overwrite, error=DatasetError)
    whole = DatasetPairs.of(data, [])
    partials = [out.with_name(out.name + ".partial") for out in outputs]
    try:
        for side, idx, partial in zip(("train", "test"), (split.train, split.test), partials):
            labels = data.labels[idx]
            counts = {"pairs": len(idx), "per_class": _per_class(labels, data.classes)}
            history = data.history + [history_step("dataset split", [{"path": data.path, "sha256": data.sha256}],
                                                   counts, side=side, **step)]
            done = 0 if side == "train" else len(split.train)
            write_partial(partial, whole.take(idx, history), progress and (lambda n, done=done: progress(done + n)))
        for partial, out in zip(partials, outputs):
            os.replace(partial, out)
    except OSError as exc:
        raise DatasetError(f"{outputs[0]}: cannot write ({exc})") from None
    finally:
        for partial in partials:
            partial.unlink(missing_ok=True)
