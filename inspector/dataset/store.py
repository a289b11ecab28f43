"""The dataset file: one HDF5 format that every `inspector dataset` command writes and training reads.

Attributes: `format` ("inspector-dataset"), `format_version`, `classes` (JSON list, logit
order), `ok_class`, `software`, `created` (UTC, ISO 8601) and `history` (JSON list of the
steps that made the file: command, inputs with their sha256, counts).

Datasets, N along axis 0: `view1`, `view2` (N×H×W×3 uint8, gzip 1, one pair per chunk),
`label` (uint8 class index), `sha256` (S64: `pair_sha256` of the pair), `origin` (where
exactly the pair came from: two files, or `LOG#RECORD`), `source` (the folder or log it came
from), `day` (YYYY-MM-DD) and, when the inputs had it, `evidence` (S8).

`load_dataset` also reads what `inspector simulate` writes, giving its pairs an origin
`FILE#i`, the file's name as source and the day it was created, so old datasets keep training.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import h5py
import numpy as np

from inspector.classes import DEFAULT_OK_CLASS, check_classes
from inspector.errors import DatasetError
from inspector.files import check_output_file
from inspector.hdf5_format import PLAIN_LIBVER
from inspector.signals import ctrl_c_after
from inspector.version import __version__

FORMAT = "inspector-dataset"
FORMAT_VERSION = 1
SIMULATED_FORMAT = "inspector-simulated-dataset"
TEXT_FIELDS = ("origin", "source", "day")  # per-pair strings, besides `evidence` where present
_WRITE_BATCH = 256


@dataclass
class Dataset:
    view1: np.ndarray
    view2: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    evidence: Optional[np.ndarray]
    sha256: str
    path: str
    ok_class: str = DEFAULT_OK_CLASS  # which of `classes` means OK (the file's attribute `ok_class`)
    origin: Optional[np.ndarray] = None  # per pair, numpy str arrays (see the module's docstring)
    source: Optional[np.ndarray] = None
    day: Optional[np.ndarray] = None
    sha256s: Optional[np.ndarray] = None  # per pair: `pair_sha256`
    history: list = field(default_factory=list)
    created: str = ""
    software: str = ""

    def fields(self) -> tuple[str, ...]:
        """The per-pair string fields the file has: what `inspector dataset split --by` can group by."""
        names = [n for n in TEXT_FIELDS if getattr(self, n) is not None]
        return tuple(names + (["evidence"] if self.evidence is not None else []))

    def values(self, name: str) -> np.ndarray:
        """The per-pair values of one of `fields()`."""
        return self.evidence if name == "evidence" else getattr(self, name)


@dataclass
class DatasetPairs:
    """Pairs to write, with everything the file says of them (arrays N along axis 0)."""

    view1: np.ndarray
    view2: np.ndarray
    labels: np.ndarray
    origin: np.ndarray
    source: np.ndarray
    day: np.ndarray
    sha256s: np.ndarray
    classes: tuple[str, ...]
    ok_class: str
    history: list
    evidence: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, idx: np.ndarray, history: list) -> "DatasetPairs":
        idx = np.asarray(idx, dtype=np.int64)
        ev = self.evidence[idx] if self.evidence is not None else None
        return DatasetPairs(self.view1[idx], self.view2[idx], self.labels[idx], self.origin[idx], self.source[idx],
                            self.day[idx], self.sha256s[idx], self.classes, self.ok_class, history, ev)

    @classmethod
    def of(cls, data: Dataset, history: list) -> "DatasetPairs":
        return cls(data.view1, data.view2, data.labels, data.origin, data.source, data.day, data.sha256s,
                   data.classes, data.ok_class, history, data.evidence)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pair_sha256(view1: np.ndarray, view2: np.ndarray) -> str:
    """sha256 of a pair's pixels: view1's bytes, view2's bytes, then their shape as text ("64x64x3"), so
    that the same bytes in another shape are another pair."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(view1).tobytes())
    h.update(np.ascontiguousarray(view2).tobytes())
    h.update("x".join(str(s) for s in view1.shape).encode())
    return h.hexdigest()


def utc_day(timestamp: float) -> str:
    return _dt.datetime.fromtimestamp(timestamp, _dt.timezone.utc).strftime("%Y-%m-%d")


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def history_step(command: str, inputs: list[dict], counts: dict, **more) -> dict:
    """One step of a file's history: what ran, on what (each input with its sha256), and what it counted."""
    return {"command": command, "when": now_utc(), "software": f"inspector {__version__}",
            "inputs": inputs, "counts": counts, **more}


def _text(values) -> np.ndarray:
    return np.array([v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values], dtype=str)


def load_dataset(path: str | Path) -> Dataset:
    """A dataset file with `view1`, `view2` (N×H×W×3 uint8), `label` and the attribute `classes`."""
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"{path}: is a folder, not a dataset file")
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file")
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("view1", "view2", "label") if k not in f]
            if missing or "classes" not in f.attrs:
                what = ", ".join(missing + ([] if "classes" in f.attrs else ["attribute 'classes'"]))
                raise DatasetError(f"{path}: not a training dataset (missing {what})")
            v1, v2, labels = f["view1"], f["view2"], f["label"]
            if v1.dtype != np.uint8 or v1.ndim != 4 or v1.shape[-1] != 3 or v1.shape != v2.shape:
                raise DatasetError(
                    f"{path}: view1 and view2 must both be N×H×W×3 uint8 (got {v1.shape} {v1.dtype}, "
                    f"{v2.shape} {v2.dtype})"
                )
            if labels.shape != (v1.shape[0],):
                raise DatasetError(f"{path}: label has shape {labels.shape}, expected ({v1.shape[0]},)")
            classes = tuple(json.loads(f.attrs["classes"]))
            ok_class = f.attrs.get("ok_class", None)
            classes, ok_class = check_classes(classes, None if ok_class is None else str(ok_class), str(path))
            data = Dataset(
                view1=v1[()],
                view2=v2[()],
                labels=labels[()].astype(np.int64),
                classes=classes,
                evidence=f["evidence"][()].astype(str) if "evidence" in f else None,
                sha256="",
                path=str(path),
                ok_class=ok_class,
                created=str(f.attrs.get("created", "")),
                software=str(f.attrs.get("software", "")),
            )
            _read_provenance(f, path, data)
    except OSError as exc:
        raise DatasetError(f"{path}: not a readable HDF5 file ({exc})") from None
    if len(data.labels) and (data.labels.min() < 0 or data.labels.max() >= len(classes)):
        raise DatasetError(f"{path}: labels outside 0..{len(classes) - 1}")
    data.sha256 = file_sha256(path)
    return data


def _read_provenance(f: h5py.File, path: Path, data: Dataset) -> None:
    """origin, source, day, pair hashes and history: read from a dataset file, made up for any other
    (a simulated dataset, or a file made by hand) from what it does say."""
    n = len(data.labels)
    if f.attrs.get("format") == FORMAT:
        for name in ("origin", "source", "day", "sha256"):
            if name not in f or f[name].shape != (n,):
                raise DatasetError(f"{path}: dataset '{name}' is missing or not one per pair")
        data.origin, data.source, data.day = (_text(f[k][()]) for k in ("origin", "source", "day"))
        data.sha256s = _text(f["sha256"][()])
        try:
            data.history = list(json.loads(f.attrs.get("history", "[]")))
        except (TypeError, ValueError):
            raise DatasetError(f"{path}: attribute 'history' is not a JSON list") from None
        return
    created = data.created[:10]
    try:
        _dt.date.fromisoformat(created)
    except ValueError:
        created = utc_day(path.stat().st_mtime)
    data.origin = np.array([f"{path.name}#{i}" for i in range(n)], dtype=str)
    data.source = np.full(n, path.name, dtype=object).astype(str)
    data.day = np.full(n, created, dtype=object).astype(str)
    data.sha256s = np.array([pair_sha256(a, b) for a, b in zip(data.view1, data.view2)], dtype=str)
    what = "inspector simulate" if f.attrs.get("format") == SIMULATED_FORMAT else "made elsewhere"
    data.history = [{"command": what, "when": data.created, "software": data.software,
                     "inputs": [], "counts": {"pairs": n}}]


def write_dataset_file(path: str | Path, pairs: DatasetPairs, *, overwrite: bool = False, progress=None) -> Path:
    """Write `pairs` as a dataset file at `path`: under a temporary name, renamed when complete, so that
    an error or a Ctrl-C leaves no file (and an old one as it was). `progress(n)` is told how many pairs
    are written after each batch."""
    path = Path(path)
    check_output_file(path, overwrite=overwrite, error=DatasetError)
    partial = path.with_name(path.name + ".partial")
    try:
        write_partial(partial, pairs, progress)
        os.replace(partial, path)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise DatasetError(f"{path}: cannot write ({exc})") from None
        raise
    return path


def write_partial(path: Path, pairs: DatasetPairs, progress=None) -> None:
    """The whole file at `path` (the caller renames it into place, or removes it)."""
    n = len(pairs)
    text = h5py.string_dtype("utf-8")
    with h5py.File(path, "w", libver=PLAIN_LIBVER) as f:
        f.attrs.update({
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "classes": json.dumps(list(pairs.classes)),
            "ok_class": pairs.ok_class,
            "software": f"inspector {__version__}",
            "created": now_utc(),
            "history": json.dumps(pairs.history),
        })
        shape = pairs.view1.shape[1:] if n else (1, 1, 3)
        for name in ("view1", "view2"):
            f.create_dataset(name, shape=(n,) + tuple(shape), dtype=np.uint8, chunks=(1,) + tuple(shape),
                             compression="gzip", compression_opts=1)
        for start in range(0, n, _WRITE_BATCH):
            # A KeyboardInterrupt inside an HDF5 call can hang the library: a Ctrl-C waits for the batch.
            with ctrl_c_after():
                sl = slice(start, min(start + _WRITE_BATCH, n))
                f["view1"][sl] = pairs.view1[sl]
                f["view2"][sl] = pairs.view2[sl]
            if progress:
                progress(sl.stop)
        with ctrl_c_after():
            f.create_dataset("label", data=np.asarray(pairs.labels, dtype=np.uint8))
            f.create_dataset("sha256", data=np.array([s.encode() for s in pairs.sha256s], dtype="S64"))
            for name in TEXT_FIELDS:
                f.create_dataset(name, data=[str(v) for v in getattr(pairs, name)], dtype=text, shape=(n,))
            if pairs.evidence is not None:
                f.create_dataset("evidence", data=np.array([str(v).encode() for v in pairs.evidence], dtype="S8"))
