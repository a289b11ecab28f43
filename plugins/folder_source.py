"""Image pairs from a folder: files a rig wrote, or a folder the cameras are still writing into.

Two files make a pair by the rules of `inspector.pair_names` (one `*` per
pattern, the key it stands for, the more specific pattern wins, natural order of
the key), which `inspector dataset import` follows too.

Without `watch` the folder is taken as finished: it is listed once at open, and
the source ends once every pair found then has been handed out or reported.
With `watch` it never ends and a file is trusted only once it has stood still:
a camera, or a copy over the network, writes a file in pieces, and a file read
half-written decodes as a truncated image or not at all. "Still" is the same
size and mtime for `settle` seconds of this machine's clock, not an mtime older
than `settle`, because the clock of a network share need not agree with ours.
That holds back files already there at open by `settle` too, a price paid once.
A lone image waits `partner_wait` seconds for its partner, because the two
cameras of one shot do not finish writing at the same moment.

A bad pair (one image missing, a file that does not decode, a key without the
cavity id the operator asked for) is raised as `FrameError` after the source
has marked its key done, so the caller counts it and reads on. Every key is
handed out or reported at most once and no file is read twice, also across a
close and an open: reopening resumes, it does not hand out the folder again.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from inspector.acquisition import EndOfSource, FrameError, FramePair, Source, SourceError
from inspector.errors import ImageError
from inspector.images import read_image
from inspector.pair_names import PairPattern, list_pairs, natural_key

@dataclass
class _Seen:
    """A file being watched: the state last seen and since when (monotonic)."""

    size: int
    mtime_ns: int
    since: float


class FolderSource(Source):
    name = "folder"
    raw = True

    @dataclass
    class Options:
        path: str = field(default="", metadata={"help": "the folder to read (required)"})
        cam1: str = field(default="*_cam1.png", metadata={"engineer": True,
            "help": "camera 1 file pattern; the '*' is the pair's key"})
        cam2: str = field(default="*_cam2.png", metadata={"engineer": True,
            "help": "camera 2 file pattern; the '*' is the pair's key"})
        watch: bool = field(default=False, metadata={"help": "keep reading new pairs as they are written (never end)"})
        poll: float = field(default=0.2, metadata={"engineer": True,
            "help": "seconds between scans of the folder when watching"})
        settle: float = field(default=0.2, metadata={"engineer": True,
            "help": "seconds a file must stand still before it is read (watch)"})
        partner_wait: float = field(
            default=2.0, metadata={"engineer": True,
            "help": "seconds a lone image waits for its partner before it is reported (watch)"}
        )
        raw: bool = field(default=True, metadata={"engineer": True,
            "help": "raw camera images (true) or views already on the cavity plane"})
        cavity: str = field(
            default="", metadata={"engineer": True,
            "help": "regex on the key whose first group is the cavity id (default: cavity 0)"}
        )

    def __init__(self, **options):
        super().__init__(**options)
        o = self.options
        self.raw = o.raw
        if not o.path:
            raise SourceError("source folder: option path is required (the folder with the images)")
        self._patterns = (PairPattern(o.cam1, "cam1", error=SourceError), PairPattern(o.cam2, "cam2", error=SourceError))
        if o.cam1 == o.cam2:
            raise SourceError(f"source folder: cam1 and cam2 are the same pattern {o.cam1!r}; no file could pair")
        if not o.poll > 0:
            raise SourceError(f"source folder: poll must be > 0 seconds, got {o.poll}")
        if o.settle < 0 or o.partner_wait < 0:
            raise SourceError("source folder: settle and partner_wait must be ≥ 0 seconds")
        self._cavity = None
        if o.cavity:
            try:
                self._cavity = re.compile(o.cavity)
            except re.error as exc:
                raise SourceError(f"source folder: cavity={o.cavity!r} is not a regular expression: {exc}") from None
            if self._cavity.groups < 1:
                raise SourceError(f"source folder: cavity={o.cavity!r} needs a group, e.g. 'c(\\d+)', for the cavity id")
        self.folder = Path(o.path)
        self._done: set[str] = set()  # keys handed out or reported, also across close/open
        self._index = 0  # frame id of the next pair handed out or reported
        self._queue: deque[tuple[str, list[Optional[Path]]]] = deque()

    # -- listing ------------------------------------------------------------------------------
    def _list(self) -> dict[str, list[Optional[Path]]]:
        """The folder's camera files by key, without the keys already done."""
        try:
            found = {key: files for key, files in list_pairs(self.folder, self._patterns) if key not in self._done}
        except FileNotFoundError:
            raise SourceError(f"source folder: {self.folder}: the folder is gone") from None
        except NotADirectoryError:
            raise SourceError(f"source folder: {self.folder} is not a folder") from None
        except OSError as exc:
            raise SourceError(f"source folder: {self.folder}: cannot be listed ({exc.strerror or exc})") from None
        return found

    # -- the Source interface -----------------------------------------------------------------
    def _open(self) -> None:
        if not self.folder.is_dir():
            what = "is not a folder" if self.folder.exists() else "no such folder"
            raise SourceError(f"source folder: {self.folder}: {what}")
        self._queue.clear()
        self._seen: dict[Path, _Seen] = {}
        self._first_seen: dict[str, float] = {}  # key → when a file of it was first listed (monotonic)
        found = self._list()
        if not self.options.watch:
            self._queue.extend((k, found[k]) for k in sorted(found, key=natural_key))
        else:
            self._scan(time.monotonic(), found)

    def _read(self, timeout: float) -> Optional[FramePair]:
        deadline = time.monotonic() + timeout
        while True:
            if self._queue:
                return self._take(*self._queue.popleft())
            if not self.options.watch:
                raise EndOfSource(f"source folder: {self.folder}: all {self._index} pairs read")
            now = time.monotonic()
            if now >= self._next_scan:
                self._scan(now)
                continue
            if now >= deadline:
                return None
            time.sleep(min(deadline, self._next_scan) - now)

    def _close(self) -> None:
        self._queue.clear()  # not done: a reopen lists them again
        self._seen = {}
        self._first_seen = {}

    # -- watching -----------------------------------------------------------------------------
    def _scan(self, now: float, found: Optional[dict] = None) -> None:
        """Queue the pairs that became ready, and plan the next scan."""
        o = self.options
        if found is None:
            found = self._list()
        queued = {k for k, _ in self._queue}
        seen: dict[Path, _Seen] = {}
        ready: list[str] = []
        wake = now + o.poll
        for key, files in found.items():
            if key in queued:
                continue
            first = self._first_seen.setdefault(key, now)
            still = True
            for path in files:
                if path is None:
                    continue
                try:
                    st = path.stat()
                except OSError:
                    still = False  # deleted or replaced under us; the next listing tells
                    continue
                old = self._seen.get(path)
                if old is None or (old.size, old.mtime_ns) != (st.st_size, st.st_mtime_ns):
                    old = _Seen(st.st_size, st.st_mtime_ns, now)
                seen[path] = old
                if now - old.since < o.settle:
                    still = False
                    wake = min(wake, old.since + o.settle)
            if not still:
                continue
            if None not in files:
                ready.append(key)
            elif now - first >= o.partner_wait:
                ready.append(key)
            else:
                wake = min(wake, first + o.partner_wait)
        for key in sorted(ready, key=natural_key):
            self._queue.append((key, found[key]))
        self._seen = seen  # forgets the files that went away, and those queued
        self._first_seen = {k: t for k, t in self._first_seen.items() if k in found and k not in ready}
        self._next_scan = wake

    # -- one pair -----------------------------------------------------------------------------
    def _take(self, key: str, files: list[Optional[Path]]) -> FramePair:
        n = self._index
        self._index += 1
        self._done.add(key)
        self._first_seen.pop(key, None)
        ids = (n, n)
        present = next(p for p in files if p is not None)
        cavity_id, cavity_problem = self._cavity_id(key, present)
        for cam, path in enumerate(files):
            if path is None:
                waited = f" after waiting {self.options.partner_wait:g} s" if self.options.watch else ""
                partner = self.folder / self._patterns[cam].name(key)
                raise FrameError(
                    f"{present}: its camera {cam + 1} partner {partner} is missing{waited}",
                    cavity_id=cavity_id, frame_ids=ids,
                )
        if cavity_problem:
            raise FrameError(cavity_problem, frame_ids=ids)
        images, stamps = [], []
        for path in files:
            try:
                stamps.append(path.stat().st_mtime)
                images.append(read_image(path))
            except FileNotFoundError:
                raise FrameError(f"{path}: no such image file (deleted before it was read)",
                                 cavity_id=cavity_id, frame_ids=ids) from None
            except OSError as exc:
                raise FrameError(f"{path}: cannot be read ({exc.strerror or exc})",
                                 cavity_id=cavity_id, frame_ids=ids) from exc
            except ImageError as exc:
                raise FrameError(str(exc), cavity_id=cavity_id, frame_ids=ids) from exc
        return FramePair(
            image1=images[0],
            image2=images[1],
            camera_ids=("1", "2"),
            cavity_id=cavity_id,
            frame_ids=ids,
            timestamps=(stamps[0], stamps[1]),
            meta={"key": key, "files": (str(files[0]), str(files[1]))},
        )

    def _cavity_id(self, key: str, path: Path) -> tuple[int, str]:
        """(cavity id, "") from the key, or (-1, why not) when the operator's regex gives none."""
        if self._cavity is None:
            return 0, ""
        m = self._cavity.search(key)
        group = m.group(1) if m else None
        if group is None:
            return -1, f"{path}: key {key!r} has no cavity id (cavity={self._cavity.pattern!r} does not match it)"
        try:
            return int(group), ""
        except ValueError:
            return -1, f"{path}: cavity id {group!r} from key {key!r} is not an integer"
