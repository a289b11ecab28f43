"""Logs that roll over: by record count, by file size, by shift, and whenever the model or the
rig changes (a log's provenance is fixed when it is made)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Optional

from inspector.records.errors import RecordsError
from inspector.records.inspection import Inspection
from inspector.records.schema import Layout
from inspector.records.writer import RecordWriter


class RotatingWriter:
    """Writes `stem_<UTC start>_<n>.h5` files in `folder`, starting a new one when a limit is hit."""

    def __init__(
        self,
        folder: str | Path,
        stem: str,
        layout: Layout,
        *,
        provenance: Optional[dict] = None,
        max_records: Optional[int] = None,
        max_bytes: Optional[int] = None,
        shift_hours: Optional[float] = None,
        **writer_options,
    ):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise RecordsError(f"{self.folder}: no such folder for logs")
        for name, v in (("max_records", max_records), ("max_bytes", max_bytes), ("shift_hours", shift_hours)):
            if v is not None and v <= 0:
                raise RecordsError(f"{name} must be positive, got {v}")
        self.stem, self.layout = stem, layout
        self.provenance = dict(provenance or {})
        self.max_records, self.max_bytes, self.shift_hours = max_records, max_bytes, shift_hours
        self.writer_options = writer_options
        self.writer: Optional[RecordWriter] = None
        self.files: list[Path] = []
        self._shift: Optional[int] = None

    def _shift_of(self, timestamp: float) -> Optional[int]:
        return None if self.shift_hours is None else int(timestamp // (3600 * self.shift_hours))

    def _due(self, rec: Inspection) -> bool:
        w = self.writer
        if w is None:
            return True
        if self.max_records is not None and w.count >= self.max_records:
            return True
        if self.max_bytes is not None and w.path.stat().st_size >= self.max_bytes:
            return True
        return self._shift_of(rec.timestamp) != self._shift

    def set_provenance(self, provenance: dict) -> None:
        """A new model or rig: the next record starts a new log."""
        if dict(provenance) != self.provenance:
            self.provenance = dict(provenance)
            self.close()

    def append(self, rec: Inspection) -> tuple[Path, int]:
        """Write one record; returns the file it went to and its index there."""
        if self._due(rec):
            self.close()
            start = _dt.datetime.fromtimestamp(rec.timestamp, _dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
            path = self.folder / f"{self.stem}_{start}_{len(self.files) + 1:04d}.h5"
            self.writer = RecordWriter(path, self.layout, provenance=self.provenance, **self.writer_options)
            self.files.append(path)
            self._shift = self._shift_of(rec.timestamp)
        return self.writer.path, self.writer.append(rec)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __enter__(self) -> "RotatingWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
