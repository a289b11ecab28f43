"""Which two image files make a pair: the naming rules the folder source and `inspector dataset import` share.

Two files make a pair when their names match the two patterns and share the part
the `*` stands for, the key: `a_cam1.png` and `a_cam2.png` are pair `a`. The
patterns may hold one `*` and nothing else a glob would expand, so that a key
names exactly one file per camera and an error can say which file is missing.
A file both patterns match belongs to the more specific one (the longer fixed
text), so `*.png` beside `*_ir.png` does not turn every IR image into a lone
camera-1 image; on a tie it belongs to camera 1.

Pairs come in natural order of the key, because cameras and scripts number
files without leading zeros and `img10` must not come before `img2`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional, Sequence

from inspector.errors import InspectorError

_DIGITS = re.compile(r"([0-9]+)")


def natural_key(text: str) -> tuple:
    """Sort key that orders the digit runs as numbers: "img2" < "img10"."""
    parts = tuple(
        (0, int(run), run) if i % 2 else (1, run.casefold())
        for i, run in enumerate(_DIGITS.split(text))
    )
    return parts, text  # the raw text last, so that "A1" and "a1" still sort the same way every run


class PairPattern:
    """One camera's file pattern: fixed text before and after the single `*`.

    A bad pattern is refused with `error`, its message starting with `where` (who was given it) if given."""

    def __init__(self, pattern: str, option: str, *, where: str = "source folder",
                 error: type[InspectorError] = InspectorError):
        where = f"{where}: " if where else ""
        if pattern.count("*") != 1:
            raise error(f"{where}{option}={pattern!r} needs exactly one '*' (it stands for the pair's key)")
        if any(c in pattern for c in "?[]"):
            raise error(f"{where}{option}={pattern!r}: only '*' is supported, not '?' or '[…]'")
        if "/" in pattern or os.sep in pattern:
            raise error(f"{where}{option}={pattern!r} is a file name pattern, without a folder")
        self.text = pattern
        self.prefix, self.suffix = pattern.split("*")
        self.fixed = len(self.prefix) + len(self.suffix)

    def key(self, name: str) -> Optional[str]:
        if len(name) < self.fixed or not name.startswith(self.prefix) or not name.endswith(self.suffix):
            return None
        if name.startswith(".") and not self.prefix.startswith("."):
            return None  # hidden files, as a shell glob would skip them (editors' and copiers' temporaries)
        return name[len(self.prefix): len(name) - len(self.suffix)]

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}{self.suffix}"


def camera_of(patterns: Sequence[PairPattern], name: str) -> Optional[tuple[int, str]]:
    """(camera index, key) of a file name, or None when it is no camera's."""
    hits = [(p.fixed, -cam, cam, key) for cam, p in enumerate(patterns) if (key := p.key(name)) is not None]
    if not hits:
        return None
    _, _, cam, key = max(hits)  # the more specific pattern; on a tie camera 1
    return cam, key


def list_pairs(folder: Path, patterns: Sequence[PairPattern]) -> list[tuple[str, list[Optional[Path]]]]:
    """The camera files of a finished folder by key, in natural order of the key; a lone image has None
    for its partner. OSError from listing is the caller's to report."""
    found: dict[str, list[Optional[Path]]] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            hit = camera_of(patterns, entry.name)
            if hit is None:
                continue
            try:
                if not entry.is_file():
                    continue
            except OSError:
                continue  # gone since the listing
            cam, key = hit
            found.setdefault(key, [None, None])[cam] = Path(entry.path)
    return [(k, found[k]) for k in sorted(found, key=natural_key)]
