"""Where a run's records go: the check of the place asked for, and the log a run writes into there (one
file created at its first record, or rotating files in a folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from inspector.pipeline_data import PipelineError
from inspector.records import Inspection, Layout, RecordWriter, RotatingWriter

LOG_SUFFIXES = (".h5", ".hdf5")  # `out` names one log file; anything else is a folder for rotating logs


def check_out(out: Path) -> None:
    """PipelineError unless `out` is a log file that can be created or an existing folder for logs;
    checked before the run, so a bad place is refused before anything is inspected."""
    if out.suffix in LOG_SUFFIXES:
        if out.exists():
            raise PipelineError(f"{out}: already exists; a log is never overwritten")
        if not out.parent.is_dir():
            raise PipelineError(f"{out}: folder {out.parent} does not exist")
    elif not out.is_dir():
        raise PipelineError(f"{out}: neither a .h5 file to create nor an existing folder for logs")


def open_log(out: Path, layout: Layout, *, provenance: dict, retention: str, rotate_records: Optional[int]):
    """The writer of a run's records at `out`: a `LogAtFirstRecord`, or a `RotatingWriter` for a folder."""
    options = {"provenance": provenance, "retention": retention}
    if out.suffix in LOG_SUFFIXES:
        return LogAtFirstRecord(out, lambda: RecordWriter(out, layout, **options))
    return RotatingWriter(out, "inspections", layout, max_records=rotate_records, **options)


class LogAtFirstRecord:
    """The one log file of a run, created when its first record is written (as RotatingWriter creates
    each of its files). A run that fails before any pair (a missing folder, an unreadable video) or is
    stopped before one arrives leaves no empty log behind, which would only refuse the retry: a log is
    never overwritten."""

    def __init__(self, path: Path, create: Callable[[], RecordWriter]):
        self.path = path
        self._create = create
        self.writer: Optional[RecordWriter] = None

    @property
    def files(self) -> list[Path]:
        return [self.path] if self.writer is not None else []

    def append(self, rec: Inspection) -> int:
        if self.writer is None:
            self.writer = self._create()
        return self.writer.append(rec)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
