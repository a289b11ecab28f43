"""Closing a log whose writer died: what `inspector log close` does.

A writer killed mid-run (SIGKILL, power loss of the process, a crash inside
HDF5) leaves every committed record intact, but the file still says it is open
for writing: plain HDF5 tools refuse it, its extents run past the last record,
and its `state` says open. Closing it clears the superblock's status flags (as
`h5clear -s` does), trims every dataset to the committed count and marks the
state closed.

The work is done in place, not on a copy: a log can be gigabytes, and a copy
would double the disk it needs at the moment a disk may be full. Every check
runs before the first byte is written, and each step leaves a file the next run
can finish: zeros appended up to the recorded end (no data lives there), then a
few bytes of the superblock rewritten after its checksum was verified, then an
ordinary HDF5 session that trims and marks, which a crash would leave flagged
open again, for `log close` to close again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inspector.hdf5_format import SWMR_LIBVER
from inspector.records.errors import RecordsError
from inspector.records.reader import RecordReader, _h5py
from inspector.records.superblock import Superblock
from inspector.records.writer import STATE_CLOSED


@dataclass(frozen=True)
class CloseResult:
    path: Path
    records: int  # committed records, all kept
    already_closed: bool  # nothing was changed
    flags_cleared: bool  # the superblock said "open for writing"
    zeros_appended: int  # bytes added to reach the end HDF5 recorded
    trimmed_from: int  # the datasets' extent before trimming (== records if none was trimmed)
    # Logs that name their writer came with the format cap (the same change): older ones may hold
    # objects in the newest format of the HDF5 that wrote them, which closing does not convert.
    format_1_10: bool = True

    def describe(self) -> str:
        if self.already_closed:
            return f"{self.path}: already closed cleanly; nothing changed ({self.records} records)"
        trimmed = f", extents trimmed from {self.trimmed_from}" if self.trimmed_from != self.records else ""
        zeros = f", {self.zeros_appended} zero bytes appended up to the end HDF5 recorded" if self.zeros_appended else ""
        readers = ("HDF5 1.10+ tools" if self.format_1_10
                   else "HDF5 tools as new as the one that wrote it (the log predates the HDF5 1.10 format cap)")
        return f"closed {self.path}: {self.records} records kept{trimmed}{zeros}; the file is now readable by {readers}"


def _check_writer(path: Path, reader: RecordReader, force: bool) -> None:
    """Refuse while the writer may still hold the file: two processes writing one file corrupt it."""
    writer = reader.writer
    running = writer.running() if writer is not None else None
    if running:
        raise RecordsError(f"{path}: its writer (pid {writer.pid}) is still running; stop it, or let it close the log")
    if running is False or force:
        return
    if writer is None:
        why = "the log does not name its writer, so whether one still writes it cannot be told"
    elif not writer.on_this_host:
        why = f"the log was written on another host ({writer.host}), where its writer may still run"
    else:
        why = f"pid {writer.pid} runs, and whether it is the log's writer cannot be told on this system"
    raise RecordsError(f"{path}: {why}; pass --force once no process writes it")


def _read_back(path: Path, n: int, fields) -> None:
    """Read every committed scalar and the last record whole through a plain (non-SWMR) open: a copy
    cut short fails here. A SWMR open would retry each damaged block a hundred times, sleeping, so
    this runs once the flags no longer demand one."""
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            for name, (_, _, per_record) in fields.items():
                if n:
                    _ = f[name][n - 1] if per_record else f[name][:n]
    except (OSError, KeyError, ValueError) as exc:
        raise RecordsError(f"{path}: committed records are unreadable, the file is damaged ({exc})") from None


def close_log(path: str | Path, force: bool = False) -> CloseResult:
    """Make the log at `path`, left open by a writer that died, a cleanly closed log; see the module."""
    path = Path(path)
    if not path.is_file():
        raise RecordsError(f"{path}: no such log file")
    with RecordReader(path, check_end=False) as reader:  # refuses anything that is not a sound log
        superblock = Superblock.read(path)  # refuses a damaged superblock
        n, fields = len(reader), reader.fields
        format_1_10 = reader.writer is not None
        if reader.closed_cleanly and superblock.flags == 0:
            return CloseResult(path, n, True, False, 0, n, format_1_10)
        _check_writer(path, reader, force)
    size = path.stat().st_size
    zeros = max(0, superblock.end - size)
    try:
        if zeros:
            # Space HDF5 had reserved but not yet written when the writer died: plain opens refuse a
            # file shorter than that ("truncated"); no committed record may lie there (read back next).
            with open(path, "r+b") as fh:
                fh.truncate(superblock.end)
        if superblock.flags:
            superblock.write_flags(path, 0)
        _read_back(path, n, fields)
    except BaseException:
        # Put back the very bytes found: the superblock as it was, the file at its length.
        superblock.write_flags(path, superblock.flags)
        with open(path, "r+b") as fh:
            fh.truncate(size)
        raise
    h5py = _h5py()
    try:
        with h5py.File(path, "r+", libver=SWMR_LIBVER) as f:
            extent = max(f[name].shape[0] for name in fields)
            for name in fields:
                if f[name].shape[0] != n:
                    f[name].resize(n, axis=0)
            f["state"][0] = STATE_CLOSED
    except (OSError, KeyError, ValueError) as exc:
        raise RecordsError(f"{path}: HDF5 could not finish closing the log ({exc}); "
                           f"the records are unchanged, run this again") from None
    return CloseResult(path, n, False, bool(superblock.flags), zeros, extent, format_1_10)
