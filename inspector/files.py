"""Input and output files with errors that name the file and say what is wrong; outputs that appear
only when complete."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

from inspector.errors import InspectorError


def read_input_bytes(path: Path, kind: str, error: type[InspectorError]) -> bytes:
    """The bytes of `path`, or `error` saying "PATH: no such KIND file" / "cannot read KIND file"."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such {kind} file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {kind} file ({exc.strerror})") from None


def check_output_file(path: Path, *, overwrite: bool = False, error: type[InspectorError] = InspectorError) -> None:
    """Refuse, before any work is done, an output that could not be written or would replace a file
    unasked: a folder, an existing file (unless `overwrite`), a folder that does not exist."""
    if path.is_dir():
        raise error(f"{path}: is a folder; name the file to write")
    if path.exists() and not overwrite:
        raise error(f"{path}: already exists; choose another name or pass --overwrite")
    if not path.parent.is_dir():
        raise error(f"{path}: folder {path.parent} does not exist")


def write_then_rename(path: Path, write: Callable[[Path], None], error: type[InspectorError] = InspectorError) -> Path:
    """Call `write` on a temporary name beside `path` and rename it to `path` when it returns: a reader
    never sees a half-written file, and a failure leaves the old file (if any) as it was."""
    partial = path.with_name(path.name + ".partial")
    try:
        write(partial)
        os.replace(partial, path)
    except OSError as exc:
        raise error(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        partial.unlink(missing_ok=True)
    return path


def format_bytes(n: float) -> str:
    """A size as people read it on disks: decimal units, three significant figures or so."""
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} PB"


def check_free_space(target: Path, n: int, need: int, error: type[InspectorError] = InspectorError) -> None:
    """Refuse writing `n` pairs that take up to `need` bytes at `target` when its folder has less free."""
    parent = Path(target).absolute().parent
    free = shutil.disk_usage(parent).free
    if need > free:
        raise error(f"{target}: {n:,} pairs take up to {format_bytes(need)}, but {parent} has {format_bytes(free)} free")
