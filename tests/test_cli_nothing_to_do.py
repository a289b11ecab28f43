"""Work that finds nothing to do, on the command line: an audit whose logs yield no record and a run
whose source yields no pair say so, exit non-zero and leave no report or empty log behind."""

import os
import signal
import subprocess
from pathlib import Path

import pytest

from cli_support import INSPECTOR, files, refused, run


# -- audit -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def log(tmp_path_factory):
    """A small log of real inspections."""
    out = tmp_path_factory.mktemp("log") / "line.h5"
    r = run("run", "--source-opt", "rate=0", "--max", "3", "--curves", "none", "--out", out)
    assert r.returncode == 0, r.stderr
    return out


class _Planted:
    """Unpickling this creates a file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_audit_refuses_a_model_it_cannot_load_before_any_work(tmp_path, log):
    import torch

    evil = tmp_path / "evil.pt"
    marker = tmp_path / "code-ran"
    torch.save({"format": "inspector-model", "format_version": 1, "payload": _Planted(marker)}, evil)
    out = tmp_path / "report"
    r = run("audit", log, "--model", evil, "--scheduler", "none", "--out", out)
    refused(r, evil, "refused", "would run code", command="audit")
    assert not marker.exists() and not out.exists() and r.stdout == ""
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    refused(run("audit", log, "--model", junk, "--scheduler", "none", "--out", out), junk, "not a PyTorch checkpoint")
    refused(run("audit", log, "--model", tmp_path / "none.pt", "--scheduler", "none", "--out", out),
            "none.pt", "no such model file")
    assert files(tmp_path) == ["evil.pt", "junk.pt"]


def test_audit_that_audited_nothing_says_so_and_writes_no_report(tmp_path, log):
    broken = tmp_path / "broken.h5"
    broken.write_bytes(os.urandom(4096))
    out = tmp_path / "report"
    r = run("audit", broken, "--stored", "--scheduler", "none", "--quiet", "--out", out)
    line = refused(r, broken, "nothing audited", "not an HDF5 file", "no report written", command="audit")
    assert line.count(str(broken)) == 1
    assert f"skipped {broken}" in r.stdout and not out.exists()

    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    r = run("audit", broken, empty, "--stored", "--scheduler", "none", "--quiet", "--out", out)
    refused(r, "nothing audited", "of 2 log(s), 2 skipped", command="audit")
    assert not out.exists()
    # one readable log among them is an audit, with the others named
    r = run("audit", broken, log, "--stored", "--scheduler", "none", "--quiet", "--out", out)
    assert r.returncode == 0, r.stderr
    assert f"skipped {broken}" in r.stdout and (out / "report.html").exists()


# -- run: no empty log behind a run that inspected nothing ---------------------------------------------
def _last_line(r):
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    return r.stderr.strip().splitlines()[-1]


def test_run_failing_before_its_first_record_leaves_no_log_and_the_retry_works(tmp_path, line):
    from inspector.images import write_image
    from inspector.records import RecordReader

    out = tmp_path / "line.h5"
    shots = tmp_path / "shots"
    r = run("run", "--source", "folder", "--source-opt", f"path={shots}", "--out", out)
    assert r.returncode == 2 and _last_line(r) == f"inspector run: error: source folder: {shots}: no such folder"
    assert not out.exists()

    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not a video")
    r = run("run", "--source", "video", "--source-opt", f"cam1={video}", "--source-opt", f"cam2={video}",
            "--out", out)
    assert r.returncode == 2 and str(video) in _last_line(r) and "cannot be opened" in _last_line(r)
    assert not out.exists()

    shots.mkdir()
    s = line.render(line.draw(0, 3), 0)
    write_image(shots / "a_cam1.png", s.raw1)
    write_image(shots / "a_cam2.png", s.raw2)
    r = run("run", "--source", "folder", "--source-opt", f"path={shots}", "--keep-all", "--out", out)
    assert r.returncode == 0, r.stderr
    with RecordReader(out) as log:
        assert len(log) == 1 and log.closed_cleanly


def test_run_whose_source_gave_only_bad_frames_exits_1_and_writes_nothing(tmp_path):
    shots = tmp_path / "shots"
    shots.mkdir()
    (shots / "a_cam1.png").write_bytes(b"not an image")
    (shots / "a_cam2.png").write_bytes(b"not an image")
    out = tmp_path / "line.h5"
    r = run("run", "--source", "folder", "--source-opt", f"path={shots}", "--out", out)
    assert r.returncode == 1, r.stderr
    assert _last_line(r).startswith("inspector run: error: nothing inspected: source folder gave no usable pair "
                                    "(bad frames 1")
    assert f"no record, so no log created at {out}" in r.stdout
    assert files(tmp_path) == ["shots", "shots/a_cam1.png", "shots/a_cam2.png"]


def test_run_stopped_before_any_pair_leaves_no_log(tmp_path):
    shots = tmp_path / "shots"
    shots.mkdir()
    out = tmp_path / "line.h5"
    proc = subprocess.Popen(INSPECTOR + ["run", "--source", "folder", "--source-opt", f"path={shots}",
                                         "--source-opt", "watch=true", "--out", str(out), "--status-every", "0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for text in iter(proc.stderr.readline, ""):  # the status line: the run is waiting for pairs
            if "inspected 0" in text:
                break
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "stopped: Ctrl-C received" in stdout and f"no record, so no log created at {out}" in stdout
    assert "Traceback" not in stderr and not out.exists()
