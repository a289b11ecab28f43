"""`inspector log close`: a log whose writer died becomes a cleanly closed log, and nothing else is touched."""

import sys
from dataclasses import replace

import h5py
import pytest

from hdf5_tools_support import assert_tools_read
from inspector.records import RecordReader
from inspector.records.superblock import Superblock, lookup3
from inspector.records.writer_process import WriterProcess
from records_support import LAYOUT, assert_same, make_record
from writer_processes import close_log_command as close, killed_log, start_writer, wait_for_records, write_log


def assert_refused(result, *words):
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def assert_closed(path, n):
    with h5py.File(path, "r") as f:  # a plain open, refused before
        assert {f[k].shape[0] for k in LAYOUT.fields()} == {n}
    with RecordReader(path) as r:
        assert len(r) == n and r.closed_cleanly and r.writer_state == "closed"
        for i in range(n):
            assert_same(make_record(i), r[i])
    assert Superblock.read(path).flags == 0


def test_a_killed_writers_log_is_closed_with_every_committed_record(tmp_path):
    path = tmp_path / "log.h5"
    n = killed_log(path)
    with RecordReader(path) as r:
        assert r.writer_state == "stopped without closing"
    with pytest.raises(OSError):
        h5py.File(path, "r")
    result = close(path)
    assert result.returncode == 0, result.stderr
    assert f"{n} records kept" in result.stdout and "HDF5 1.10+" in result.stdout
    assert len(result.stdout.strip().splitlines()) == 1
    assert_closed(path, n)
    assert_tools_read(path, tuple(LAYOUT.fields()))
    again = close(path)
    assert again.returncode == 0 and "already closed" in again.stdout


def test_a_file_shorter_than_its_recorded_end_is_extended_with_zeros(tmp_path):
    # What a writer killed between reserving space and writing it leaves: HDF5 refuses a file that
    # ends before the end-of-address in its superblock.
    path = tmp_path / "log.h5"
    n = killed_log(path)
    sb = Superblock.read(path)
    raw = bytearray(sb.raw)
    eoa_at = 12 + 2 * 8  # the third address: end-of-address
    # A killed writer's file may already run past the end-of-address its superblock last recorded
    # (HDF5 writes that field when it flushes): 4096 bytes past the file's real end, whatever it is.
    size = path.stat().st_size
    raw[eoa_at:eoa_at + 8] = (size - sb.base_address + 4096).to_bytes(8, "little")
    raw[-4:] = lookup3(bytes(raw[:-4])).to_bytes(4, "little")
    with open(path, "r+b") as fh:
        fh.write(raw)
    result = close(path)
    assert result.returncode == 0, result.stderr
    assert "4096 zero bytes appended" in result.stdout
    assert_closed(path, n)


def test_close_is_refused_while_the_writer_runs(tmp_path):
    path = tmp_path / "log.h5"
    proc = start_writer(path, 5, 0, end="time.sleep(600)")
    try:
        wait_for_records(path, 5)
        with RecordReader(path) as r:
            assert r.writer_state == "writing" and r.writer.pid == proc.pid
        before = path.read_bytes()
        assert_refused(close(path), f"pid {proc.pid}", "still running")
        assert_refused(close(path, "--force"), f"pid {proc.pid}")  # --force never overrides a live writer
        assert path.read_bytes() == before
    finally:
        proc.kill()
        proc.wait()
    with RecordReader(path) as r:
        assert r.writer_state == "stopped without closing"
    assert close(path).returncode == 0
    assert_closed(path, 5)


def test_a_writer_on_another_host_needs_force(tmp_path):
    path = tmp_path / "log.h5"
    n = killed_log(path, prelude="import socket; socket.gethostname = lambda: 'press-7'")
    with RecordReader(path) as r:
        assert r.writer.host == "press-7" and r.writer_state == "unknown"
    before = path.read_bytes()
    assert_refused(close(path), "another host (press-7)", "--force")
    assert path.read_bytes() == before
    assert close(path, "--force").returncode == 0
    assert_closed(path, n)


def test_a_closed_log_is_left_untouched(tmp_path):
    path = write_log(tmp_path / "log.h5", 4)
    before = path.read_bytes()
    result = close(path)
    assert result.returncode == 0 and "already closed cleanly" in result.stdout and "4 records" in result.stdout
    assert path.read_bytes() == before


def test_bad_input_is_refused_in_one_line_and_left_untouched(tmp_path):
    assert_refused(close(tmp_path / "missing.h5"), "no such log file")
    text = tmp_path / "notes.h5"
    text.write_text("not a log\n")
    assert_refused(close(text), "not an HDF5 file")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = [1, 2, 3]
    before = other.read_bytes()
    assert_refused(close(other), "not an inspector inspection log")
    assert other.read_bytes() == before
    # A damaged superblock (one address byte changed, the checksum not): refused, left as it is.
    damaged = tmp_path / "damaged.h5"
    killed_log(damaged)
    data = bytearray(damaged.read_bytes())
    data[12 + 2 * 8] ^= 0x01
    damaged.write_bytes(bytes(data))
    assert_refused(close(damaged))
    assert damaged.read_bytes() == bytes(data)
    # A copy cut short: the superblock still names the end, the records are gone. The zeros that
    # would make it open must not be added, and the file stays as it was.
    cut = tmp_path / "cut.h5"
    killed_log(cut)
    data = cut.read_bytes()[: cut.stat().st_size * 4 // 5]
    cut.write_bytes(data)
    assert_refused(close(cut), "damaged")
    assert cut.read_bytes() == data


def test_lookup3_matches_the_reference_vectors():
    # From Bob Jenkins' lookup3.c driver5(); HDF5's H5_checksum_lookup3 is that hashlittle.
    assert lookup3(b"") == 0xDEADBEEF
    assert lookup3(b"Four score and seven years ago") == 0x17770551
    assert lookup3(b"Four score and seven years ago", 1) == 0xCD628161


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process start times come from /proc")
def test_a_writer_counts_as_running_only_with_its_pid_start_time_and_boot():
    me = WriterProcess.current()
    assert me.running() is True
    assert replace(me, start_ticks=me.start_ticks + 1).running() is False  # the pid, reused by another process
    assert replace(me, boot_id="an-earlier-boot").running() is False
    assert replace(me, host="press-7").running() is None
    assert replace(me, start_ticks=None).running() is None  # a live pid, start unknown: cannot tell
    assert WriterProcess.from_attrs(me.to_attrs()) == me
