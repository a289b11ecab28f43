"""Reading inspection logs: lazily, while they grow, and from files nobody vouches for.

Opening reads only attributes and the commit count; images and maps are read
when a record is asked for. A log is checked before use: known schema version,
every dataset's dtype and shape as the schema says, no soft or external links,
no virtual datasets or external storage, no filters beyond those built into
HDF5, declared sizes within bounds. Anything else is refused with a message
naming the file and the problem.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from inspector.classes import MAX_CLASSES
from inspector.fill_names import FILLS
from inspector.heatmaps import full_size_maps
from inspector.records.errors import RecordsError
from inspector.records.inspection import Inspection
from inspector.records.schema import (
    FORMAT,
    INFLUENCE_CODES,
    SCHEMA_VERSION,
    STATUS_CODES,
    TIMING_NAMES,
    Layout,
)
from inspector.records.writer import STATE_CLOSED
from inspector.records.writer_process import WriterProcess

MAX_RECORDS = 100_000_000
MAX_SIDE = 4096
MAX_P = 1001
BUILTIN_FILTERS = {"gzip", "lzf", "shuffle", "fletcher32", "scaleoffset", "szip"}
# What `RecordReader.writer_state` says of a log's writer.
CLOSED, WRITING, STOPPED, UNKNOWN = "closed", "writing", "stopped without closing", "unknown"
SCALARS = ("predicted", "target", "m", "influence", "timestamp", "cavity_id", "status", "simulated", "has_images")


def _h5py():
    # An untrusted file may name a filter plugin; with this set before HDF5 first looks for
    # plugins, none is ever loaded (a plugin is code).
    os.environ.setdefault("HDF5_PLUGIN_PRELOAD", "::")
    import h5py

    return h5py


class RecordReader:
    """A log opened for reading (SWMR: it may still be growing). Use as a context manager."""

    def __init__(self, path: str | Path, *, check_end: bool = True):
        """check_end=False opens a file that ends before the end HDF5 recorded, as a writer killed
        between reserving space and writing it may leave (for `log close`, which reads the records
        it keeps before it touches the file)."""
        self.path = Path(path)
        h5py = _h5py()
        if not self.path.is_file():
            raise RecordsError(f"{self.path}: no such log file")
        # A plain open checks the file's end against what HDF5 recorded (a SWMR open cannot: the
        # file may be growing); it is refused while a writer holds the file or after one died.
        # No libver: the bounds only choose the format of objects written, and a reader writes none.
        try:
            h5py.File(self.path, "r").close()
        except OSError as exc:
            self._refuse(exc, allow_open_for_write=True, allow_short=not check_end)
        try:
            self._f = h5py.File(self.path, "r", swmr=True)
        except OSError as exc:
            self._refuse(exc, allow_open_for_write=False)
        try:
            self._n = int(self._f["committed"][0]) if "committed" in self._f else 0
            self.layout = self._validate()
        except RecordsError:
            self._f.close()
            raise
        except (OSError, KeyError, ValueError, TypeError, IndexError) as exc:
            self._f.close()
            raise RecordsError(f"{self.path}: corrupt log ({exc})") from None
        self.fields = self.layout.fields()

    def _refuse(self, exc: OSError, allow_open_for_write: bool, allow_short: bool = False) -> None:
        text = str(exc)
        if "signature" in text:
            raise RecordsError(f"{self.path}: not an HDF5 file") from None
        if "truncated" in text and allow_short:
            return
        if "truncated" in text:
            raise RecordsError(f"{self.path}: the file is truncated") from None
        if allow_open_for_write and ("already open for write" in text or "consistency flags" in text):
            return
        raise RecordsError(f"{self.path}: corrupt or unreadable log ({text.splitlines()[0]})") from None

    # -- validation ---------------------------------------------------------------------------
    def _validate(self) -> Layout:
        f, name = self._f, self.path
        if f.attrs.get("format") != FORMAT:
            raise RecordsError(f"{name}: not an inspector inspection log")
        version = f.attrs.get("schema_version")
        if not isinstance(version, (int, np.integer)) or int(version) != SCHEMA_VERSION:
            raise RecordsError(
                f"{name}: schema version {version} is unknown; this inspector reads version {SCHEMA_VERSION}"
            )
        links = []
        f.visititems_links(lambda n, link: links.append((n, link)) if not isinstance(link, _h5py().HardLink) else None)
        if links:
            kind = type(links[0][1]).__name__
            raise RecordsError(f"{name}: refused: '{links[0][0]}' is a {kind}, which a log never contains")
        layout = Layout.from_attrs(f.attrs)
        H, W, c = layout.view_shape
        if not (0 < H <= MAX_SIDE and 0 < W <= MAX_SIDE and c == 3):
            raise RecordsError(f"{name}: view shape {layout.view_shape} is out of bounds")
        if not (0 < len(layout.classes) <= MAX_CLASSES and 0 < len(layout.p) <= MAX_P):
            raise RecordsError(f"{name}: {len(layout.classes)} classes or {len(layout.p)} curve points out of bounds")
        if layout.fill not in FILLS:
            raise RecordsError(f"{name}: fill {layout.fill!r} is unknown; this inspector knows {', '.join(FILLS)}")
        if any(not (0 < h <= H and 0 < w <= W) for h, w in layout.stage_shapes):
            raise RecordsError(f"{name}: stage shapes {layout.stage_shapes} are out of bounds")
        expected = layout.fields()
        expected_names = set(expected) | {"committed", "state"}
        extra = sorted(set(f.keys()) - expected_names)
        if extra:
            raise RecordsError(f"{name}: unexpected object '{extra[0]}' in the log")
        for key in ("committed", "state"):
            if key not in f or f[key].shape != (1,):
                raise RecordsError(f"{name}: missing or malformed dataset '{key}'")
        n = self._n
        if not 0 <= n <= MAX_RECORDS:
            raise RecordsError(f"{name}: record count {n} is out of bounds")
        for field, (shape, dtype, _) in expected.items():
            if field not in f:
                raise RecordsError(f"{name}: missing dataset '{field}'")
            ds = f[field]
            if ds.is_virtual:
                raise RecordsError(f"{name}: refused: dataset '{field}' is virtual (it reads other files)")
            if ds.external:
                raise RecordsError(f"{name}: refused: dataset '{field}' keeps its data in external files")
            if ds.dtype != dtype:
                raise RecordsError(f"{name}: dataset '{field}' is {ds.dtype}, the schema says {dtype}")
            if ds.shape[1:] != shape or ds.shape[0] < n or ds.shape[0] > MAX_RECORDS:
                raise RecordsError(f"{name}: dataset '{field}' has shape {ds.shape}, the schema says (≥{n},) + {shape}")
            filters = set(ds._filters) - BUILTIN_FILTERS
            if filters:
                raise RecordsError(f"{name}: dataset '{field}' needs filter plugin(s) {sorted(filters)}, which are not loaded")
        return layout

    # -- state --------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Records as of opening or the last `refresh()`."""
        return self._n

    @property
    def closed_cleanly(self) -> bool:
        """False while a writer has it open, and after its writer died without closing it (until
        `inspector log close`); `writer_state` tells the two apart."""
        return int(self._f["state"][0]) == STATE_CLOSED

    @property
    def writer(self) -> Optional[WriterProcess]:
        """The process that wrote the log, as the log names it; None for logs made before writers were recorded."""
        return WriterProcess.from_attrs(self._f.attrs)

    @property
    def writer_state(self) -> str:
        """"closed", "writing", "stopped without closing" (its writer died), or "unknown" (a writer on
        another host, or a log that does not name its writer), as of now."""
        writer = self.writer
        # Asked before the state is read: a writer that closes the log and exits in between is then
        # seen as closed, never as dead.
        running = writer.running() if writer is not None else None
        self._f["state"].refresh()
        if int(self._f["state"][0]) == STATE_CLOSED:
            return CLOSED
        if running is None:
            return UNKNOWN
        return WRITING if running else STOPPED

    def refresh(self) -> int:
        """Follow a growing log (SWMR); returns the record count now."""
        # The count is read once, before the fields are refreshed: they are then at least as new
        # as what it counts (reading the count again later could count records not yet seen).
        self._f["committed"].refresh()
        self._f["state"].refresh()
        self._n = int(self._f["committed"][0])
        for key in self.fields:
            self._f[key].refresh()
        return self._n

    @property
    def attrs(self) -> dict:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in self._f.attrs.items()}

    # -- records ------------------------------------------------------------------------------
    def _check(self, i: int) -> int:
        n = len(self)
        if not -n <= i < n:
            raise RecordsError(f"{self.path}: record {i} does not exist ({n} records)")
        return i % n

    def record(self, i: int) -> Inspection:
        try:
            return self._record(self._check(i))
        except OSError as exc:
            raise RecordsError(f"{self.path}: record {i} is unreadable, the file is damaged ({exc})") from None

    def _record(self, i: int) -> Inspection:
        f = self._f
        get = lambda key: f[key][i]
        timings = get("timings")
        return Inspection(
            view1=get("view1"),
            view2=get("view2"),
            probs=get("probs"),
            predicted=int(get("predicted")),
            target=int(get("target")),
            stage_maps=[
                [f[f"cam_stage{j + 1}"][i, v].astype(np.float32) for j in range(len(self.layout.stage_shapes))]
                for v in (0, 1)
            ],
            curves=get("curves"),
            m=float(get("m")),
            influence=INFLUENCE_CODES[int(get("influence"))],
            timestamp=float(get("timestamp")),
            cavity_id=int(get("cavity_id")),
            source=bytes(get("source")).decode("utf-8", "replace"),
            frame_ids=tuple(int(v) for v in get("frame_ids")),
            timings={k: float(v) for k, v in zip(TIMING_NAMES, timings) if np.isfinite(v)},
            status=STATUS_CODES[int(get("status"))],
            simulated=bool(get("simulated")),
            has_images=bool(get("has_images")),
            fill=self.layout.fill,
        )

    def __getitem__(self, i: int) -> Inspection:
        return self.record(i)

    def cams(self, i: int) -> np.ndarray:
        """The full-size Grad-CAM maps (2, 4, H, W) float32: the bilinear resize of the stored maps."""
        i = self._check(i)
        stored = [[self._f[f"cam_stage{j + 1}"][i, v] for j in range(len(self.layout.stage_shapes))] for v in (0, 1)]
        return full_size_maps(stored, self.layout.view_shape[:2])

    def scalars(self, start: int = 0, stop: Optional[int] = None, names: Sequence[str] = SCALARS) -> dict:
        """Scalar fields of records [start, stop) as arrays (no image or map is read)."""
        stop = len(self) if stop is None else min(stop, len(self))
        return {k: self._f[k][start:stop] for k in names}

    def iter_chunks(self, size: int = 4096) -> Iterator[tuple[int, int, dict]]:
        for start in range(0, len(self), size):
            stop = min(start + size, len(self))
            yield start, stop, self.scalars(start, stop)

    def select(
        self,
        *,
        classes: Optional[Sequence[str]] = None,
        influence: Optional[Sequence[str]] = None,
        m_range: Optional[tuple[float, float]] = None,
        time_range: Optional[tuple[float, float]] = None,
        status: Optional[Sequence[str]] = None,
    ) -> np.ndarray:
        """Indices of the records that pass every given filter, reading scalar fields in chunks."""
        for name, values, vocab in (("class", classes, self.layout.classes), ("influence", influence, INFLUENCE_CODES),
                                    ("status", status, STATUS_CODES)):
            unknown = [v for v in (values or []) if v not in vocab]
            if unknown:
                raise RecordsError(f"unknown {name} {unknown[0]!r}; known: {', '.join(vocab)}")
        hits = []
        for start, _, s in self.iter_chunks():
            keep = np.ones(len(s["m"]), bool)
            if classes is not None:
                keep &= np.isin(s["predicted"], [self.layout.classes.index(c) for c in classes])
            if influence is not None:
                keep &= np.isin(s["influence"], [INFLUENCE_CODES.index(v) for v in influence])
            if status is not None:
                keep &= np.isin(s["status"], [STATUS_CODES.index(v) for v in status])
            if m_range is not None:
                keep &= (s["m"] >= m_range[0]) & (s["m"] <= m_range[1])
            if time_range is not None:
                keep &= (s["timestamp"] >= time_range[0]) & (s["timestamp"] <= time_range[1])
            hits.append(np.flatnonzero(keep) + start)
        return np.concatenate(hits) if hits else np.zeros(0, np.int64)

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "RecordReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
