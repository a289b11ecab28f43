"""Reading input files with errors that name the file and say what is wrong."""

from __future__ import annotations

from pathlib import Path

from inspector.errors import InspectorError


def read_input_bytes(path: Path, kind: str, error: type[InspectorError]) -> bytes:
    """The bytes of `path`, or `error` saying "PATH: no such KIND file" / "cannot read KIND file"."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such {kind} file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {kind} file ({exc.strerror})") from None
