"""The SWMR writer of inspection logs.

Every dataset and attribute is created before `swmr_mode` is switched on: HDF5
does not refuse new objects afterwards, so this writer never makes any (h5py
#1794). Each `append` checks the whole record first, writes and flushes every field,
then writes and flushes the commit count: a reader counts records by the commit
count, so it never sees half a record, and a crash loses at most the record
being written. `fsync=True` also survives a power cut, at a cost the benchmark reports.
The format is capped at HDF5 1.10 (`inspector.hdf5_format`), so HDF5 1.10+ tools read the logs.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import zlib
from pathlib import Path
from typing import Optional

import h5py
import numpy as np

from inspector.version import __version__
from inspector.hdf5_format import SWMR_LIBVER
from inspector.records.errors import RecordsError
from inspector.records.inspection import Inspection
from inspector.records.schema import (
    FORMAT,
    INFLUENCE_CODES,
    SCALAR_CHUNK,
    SCHEMA_VERSION,
    SOURCE_BYTES,
    STATUS_CODES,
    Layout,
)
from inspector.records.writer_process import WriterProcess
from inspector.signals import ctrl_c_after

STATE_OPEN, STATE_CLOSED = 1, 2
GROW = 64  # records the datasets' extents grow by at a time
RETENTION = ("all", "nok-images")  # nok-images: keep views only for cavities not judged OK


class RecordWriter:
    """Appends inspections to a new log file; use as a context manager (closing is what marks the
    file as cleanly closed)."""

    def __init__(
        self,
        path: str | Path,
        layout: Layout,
        *,
        provenance: Optional[dict] = None,
        retention: str = "all",
        fsync: bool = False,
        compression: Optional[str | dict] = "gzip",
    ):
        self.path = Path(path)
        if retention not in RETENTION:
            raise RecordsError(f"retention must be one of {', '.join(RETENTION)}, got {retention!r}")
        if self.path.exists():
            raise RecordsError(f"{self.path}: already exists; a log is never overwritten")
        if not self.path.parent.is_dir():
            raise RecordsError(f"{self.path}: folder {self.path.parent} does not exist")
        self.layout = layout
        self.retention = retention
        self.fsync = fsync
        self.fields = layout.fields()
        self._f = h5py.File(self.path, "w-", libver=SWMR_LIBVER)
        try:
            self._create(provenance or {}, compression)
            self._f.swmr_mode = True
        except BaseException:
            self._f.close()
            self.path.unlink(missing_ok=True)
            raise
        self.count = 0
        self._capacity = 0
        # Held, not looked up per record: h5py's name lookups hold the GIL and cost more than the writes.
        self._ds = {name: self._f[name] for name in self.fields}
        self._committed = self._f["committed"]

    def _create(self, provenance: dict, compression: Optional[str]) -> None:
        f = self._f
        f.attrs.update(
            {
                "format": FORMAT,
                "schema_version": SCHEMA_VERSION,
                "software": f"inspector {__version__}",
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                # Who writes it, so `inspector log close` can tell a writer that died from one at work.
                **WriterProcess.current().to_attrs(),
                "retention": self.retention,
                "influence_codes": np.array(INFLUENCE_CODES, dtype="S"),
                "status_codes": np.array(STATUS_CODES, dtype="S"),
                **self.layout.to_attrs(),
            }
        )
        for key, value in provenance.items():
            f.attrs[key] = value if isinstance(value, (str, int, float, np.ndarray)) else json.dumps(value)
        for name, (shape, dtype, per_record) in self.fields.items():
            kwargs = {}
            if per_record:
                chunks = (1,) + shape
                if isinstance(compression, dict):  # e.g. {"compression": "gzip", "compression_opts": 1}
                    kwargs = dict(compression)
                elif compression:
                    kwargs = {"compression": compression}
            else:
                chunks = (SCALAR_CHUNK,) + shape
            f.create_dataset(name, shape=(0,) + shape, maxshape=(None,) + shape, dtype=dtype, chunks=chunks, **kwargs)
        f.create_dataset("committed", data=np.zeros(1, np.int64))
        f.create_dataset("state", data=np.array([STATE_OPEN], np.uint8))
        # Datasets whose only filter is deflate get their chunks compressed here, with zlib, which
        # lets go of the GIL while it works (HDF5's own filter runs with it held, and stalled the
        # inspection thread of the pipeline by 40%); the bytes are what the filter would write.
        self._deflate = {
            name: ds.compression_opts
            for name, ds in f.items()
            if ds.compression == "gzip" and not ds.shuffle and not ds.fletcher32 and ds.scaleoffset is None
        }

    # -- writing ------------------------------------------------------------------------------
    def _values(self, rec: Inspection) -> dict[str, np.ndarray]:
        """Every field of `rec` as an array of the schema's shape and dtype; refuses a record that
        does not fit rather than writing part of it."""
        keep_images = rec.has_images and (
            self.retention == "all" or not self.layout.class_set.is_ok(rec.predicted)
        )
        zeros = np.zeros(self.layout.view_shape, np.uint8)
        values = {
            "view1": rec.view1 if keep_images else zeros,
            "view2": rec.view2 if keep_images else zeros,
            "probs": rec.probs,
            "predicted": rec.predicted,
            "target": rec.target,
            "curves": rec.curves,
            "m": rec.m,
            "influence": INFLUENCE_CODES.index(rec.influence) if rec.influence in INFLUENCE_CODES else -1,
            "timestamp": rec.timestamp,
            "cavity_id": rec.cavity_id,
            "source": rec.source.encode("utf-8")[:SOURCE_BYTES],
            "frame_ids": rec.frame_ids,
            "timings": rec.timing_vector(),
            "status": STATUS_CODES.index(rec.status) if rec.status in STATUS_CODES else -1,
            "simulated": rec.simulated,
            "has_images": keep_images,
        }
        if values["influence"] < 0:
            raise RecordsError(f"{self.path}: influence {rec.influence!r} is not one of {INFLUENCE_CODES}")
        if rec.fill != self.layout.fill:
            raise RecordsError(f"{self.path}: the record's curves used fill {rec.fill!r}, the log's are "
                               f"{self.layout.fill!r}; a change of fill starts a new log")
        if values["status"] < 0:
            raise RecordsError(f"{self.path}: status {rec.status!r} is not one of {STATUS_CODES}")
        if len(rec.stage_maps) != 2 or any(len(v) != len(self.layout.stage_shapes) for v in rec.stage_maps):
            raise RecordsError(f"{self.path}: a record needs {len(self.layout.stage_shapes)} stage maps per view")
        for j in range(len(self.layout.stage_shapes)):
            values[f"cam_stage{j + 1}"] = np.stack([rec.stage_maps[0][j], rec.stage_maps[1][j]])
        out = {}
        for name, (shape, dtype, _) in self.fields.items():
            a = np.asarray(values[name])
            if a.shape != shape:
                raise RecordsError(f"{self.path}: field {name} has shape {a.shape}, the log expects {shape}")
            if dtype.kind in "f" and a.dtype.kind not in "fiu":
                raise RecordsError(f"{self.path}: field {name} is {a.dtype}, the log expects numbers")
            if name in ("view1", "view2") and a.dtype != np.uint8:
                raise RecordsError(f"{self.path}: field {name} is {a.dtype}, the log expects uint8")
            out[name] = a.astype(dtype, copy=False)
        return out

    @staticmethod
    def _compressed(value: np.ndarray, level: int) -> bytes:
        """One record's chunk as the deflate filter stores it, even where it does not shrink: the
        zlib stream's checksum is what lets the reader report a damaged chunk as damaged."""
        return zlib.compress(np.ascontiguousarray(value).tobytes(), level)

    def append(self, rec: Inspection) -> int:
        """Write one inspection; returns its index."""
        if self._f is None:
            raise RecordsError(f"{self.path}: the log is closed")
        values = self._values(rec)
        chunks = {name: self._compressed(values[name], level) for name, level in self._deflate.items()}
        n = self.count
        with ctrl_c_after():
            if n + 1 > self._capacity:
                # Extents grow in steps (readers count by `committed`, never by extent), so a
                # record costs no resize of 21 datasets; close() trims them to the count.
                self._capacity = n + GROW
                for ds in self._ds.values():
                    ds.resize(self._capacity, axis=0)
            for name, value in values.items():
                ds = self._ds[name]
                if name in chunks:
                    ds.id.write_direct_chunk((n,) + (0,) * value.ndim, chunks[name])
                else:
                    ds[n] = value
            # Two flushes: within one, HDF5 does not order what it writes, and a reader was seen
            # to get the new count before the datasets' new extents. The record reaches the file
            # first; only then the count that makes it exist.
            self._f.flush()
            self._committed[0] = n + 1
            self._f.flush()
            if self.fsync:
                os.fsync(self._f.id.get_vfd_handle())
            self.count = n + 1
        return n

    def close(self) -> None:
        """Mark the log cleanly closed and close it; safe to call twice."""
        if self._f is None:
            return
        with ctrl_c_after():
            try:
                for ds in self._ds.values():
                    ds.resize(self.count, axis=0)
                self._f["state"][0] = STATE_CLOSED
                self._f.flush()
            finally:
                self._f.close()
                self._f = None

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
