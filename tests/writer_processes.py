"""Logs written by other processes, for the tests that kill, interrupt or follow a writer.

Each helper starts exactly one `python -c` writer and returns its Popen, so a test stops the
process it started and no other.
"""

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from inspector.records import RecordReader, RecordWriter, RecordsError
from records_support import LAYOUT, make_record

HERE = Path(__file__).parent

WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    {prelude}
    from inspector.records import RecordWriter
    from records_support import LAYOUT, make_record
    w = RecordWriter({path!r}, LAYOUT)
    for i in range({n}):
        w.append(make_record(i))
        time.sleep({pause})
    {end}
    """
)


def write_log(path, n, **kwargs):
    """A cleanly closed log of `n` deterministic records, written in this process."""
    with RecordWriter(path, LAYOUT, provenance={"model_sha256": "ab" * 32}, **kwargs) as w:
        for i in range(n):
            w.append(make_record(i))
    return path


def start_writer(path, n, pause, end="w.close()", prelude="", **popen):
    """A writer process appending `n` records, `pause` seconds apart, then running `end`."""
    code = WRITER.format(tests=str(HERE), path=str(path), n=n, pause=pause, end=end, prelude=prelude)
    return subprocess.Popen([sys.executable, "-c", code], **popen)


def wait_for_records(path, at_least, timeout=60):
    """Block until the log at `path` has `at_least` committed records (the timeout only bounds a hang)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                with RecordReader(path) as r:
                    if len(r) >= at_least:
                        return len(r)
            except RecordsError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"the writer did not reach {at_least} records")


def killed_log(path, at_least=5, prelude=""):
    """A log whose writer was SIGKILLed after at least `at_least` records; returns the count then."""
    proc = start_writer(path, 100_000, 0.001, end="", prelude=prelude)
    try:
        wait_for_records(path, at_least)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with RecordReader(path) as r:
        return len(r)


def close_log_command(path, *options):
    """`inspector log close PATH OPTIONS...` in a child process."""
    return subprocess.run([sys.executable, "-m", "inspector.cli", "log", "close", str(path), *options],
                          capture_output=True, text=True, timeout=300)
