"""The HDF5 superblock (versions 2 and 3): its status flags, end-of-address and checksum.

A writer killed mid-run leaves its flags saying "open for writing" (bit 0) and
"open for SWMR writing" (bit 2), and every plain open of the file is refused
until they are cleared; `h5clear -s` does that through a private switch of the
HDF5 library. Here the superblock is rewritten per the HDF5 file format
specification (section II.A), which is fixed for the versions that have these
flags: fields are little-endian, and the block ends in a Jenkins lookup3
checksum of everything before it. The stored checksum is verified before
anything is written, so a damaged superblock, or a mistake here, refuses
instead of writing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from inspector.records.errors import RecordsError

SIGNATURE = b"\x89HDF\r\n\x1a\n"
# The superblock is at 0 or, after a user block, at 512, 1024, 2048, ... (file format spec, II.A).
FIRST_USERBLOCK = 512
_M = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 `hashlittle`, as HDF5's H5_checksum_lookup3 computes it."""
    n = len(data)
    a = b = c = (0xDEADBEEF + n + initval) & _M
    word = lambda i: int.from_bytes(data[i:i + 4], "little")
    i = 0
    while n - i > 12:
        a, b, c = (a + word(i)) & _M, (b + word(i + 4)) & _M, (c + word(i + 8)) & _M
        a = (a - c) & _M ^ _rot(c, 4); c = (c + b) & _M
        b = (b - a) & _M ^ _rot(a, 6); a = (a + c) & _M
        c = (c - b) & _M ^ _rot(b, 8); b = (b + a) & _M
        a = (a - c) & _M ^ _rot(c, 16); c = (c + b) & _M
        b = (b - a) & _M ^ _rot(a, 19); a = (a + c) & _M
        c = (c - b) & _M ^ _rot(b, 4); b = (b + a) & _M
        i += 12
    if i == n:
        return c
    tail = data[i:] + bytes(12 - (n - i))  # the spec adds the last 1-12 bytes, zero-padded
    data = tail
    a, b, c = (a + word(0)) & _M, (b + word(4)) & _M, (c + word(8)) & _M
    c ^= b; c = (c - _rot(b, 14)) & _M
    a ^= c; a = (a - _rot(c, 11)) & _M
    b ^= a; b = (b - _rot(a, 25)) & _M
    c ^= b; c = (c - _rot(b, 16)) & _M
    a ^= c; a = (a - _rot(c, 4)) & _M
    b ^= a; b = (b - _rot(a, 14)) & _M
    c ^= b; c = (c - _rot(b, 24)) & _M
    return c


@dataclass(frozen=True)
class Superblock:
    offset: int  # where it starts in the file (the user block's size)
    version: int
    flags: int
    base_address: int
    end_of_address: int  # relative to base_address
    raw: bytes  # the whole block, checksum included

    FLAGS_AT = 11  # signature (8), version, size of offsets, size of lengths, then the flags byte

    @property
    def end(self) -> int:
        """The byte the file must reach: the end-of-address, absolute."""
        return self.base_address + self.end_of_address

    @classmethod
    def read(cls, path: str | Path) -> "Superblock":
        """The superblock of `path`, checked; RecordsError if the file has none this module can handle."""
        path = Path(path)
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            offset = 0
            while offset + len(SIGNATURE) <= size:
                fh.seek(offset)
                head = fh.read(12)
                if head[:8] == SIGNATURE:
                    break
                offset = FIRST_USERBLOCK if offset == 0 else 2 * offset
            else:
                raise RecordsError(f"{path}: not an HDF5 file")
            version = head[8] if len(head) > 8 else None
            if version not in (2, 3):
                raise RecordsError(f"{path}: HDF5 superblock version {version}; an inspection log has version 2 or 3")
            offsets_size = head[9]
            if offsets_size not in (2, 4, 8):
                raise RecordsError(f"{path}: damaged HDF5 superblock (size of offsets {offsets_size})")
            length = 12 + 4 * offsets_size + 4  # four addresses, then the checksum
            fh.seek(offset)
            raw = fh.read(length)
        if len(raw) < length:
            raise RecordsError(f"{path}: the file is truncated inside its HDF5 superblock")
        if lookup3(raw[:-4]) != int.from_bytes(raw[-4:], "little"):
            raise RecordsError(f"{path}: damaged HDF5 superblock (its checksum does not match)")
        address = lambda k: int.from_bytes(raw[12 + k * offsets_size:12 + (k + 1) * offsets_size], "little")
        return cls(offset, version, raw[cls.FLAGS_AT], address(0), address(2), raw)

    def write_flags(self, path: str | Path, flags: int) -> None:
        """Rewrite the flags byte and the checksum: one write of a few bytes inside the block."""
        body = bytearray(self.raw[:-4])
        body[self.FLAGS_AT] = flags
        tail = bytes(body[self.FLAGS_AT:]) + lookup3(bytes(body)).to_bytes(4, "little")
        with open(path, "r+b") as fh:
            fh.seek(self.offset + self.FLAGS_AT)
            fh.write(tail)
            fh.flush()
            os.fsync(fh.fileno())
