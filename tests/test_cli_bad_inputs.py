"""Bad input on the command line: one line naming the input and the problem, exit status 2, nothing
written or lost, no traceback (that is for `inspector --debug`); interrupted commands leave no file."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from inspector.cli import main

INSPECTOR = [sys.executable, "-m", "inspector.cli"]


def run(*args, cwd=None, env=None):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    return subprocess.run(INSPECTOR + [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


def refused(r, *names, code=2, command=None):
    """The run ended with `code`, and its stderr is one line saying `inspector COMMAND: error:` and
    naming every one of `names`; no traceback anywhere."""
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    if command:
        assert lines[0].startswith(f"inspector {command}: error: "), lines[0]
    for name in names:
        assert str(name) in lines[0], (name, lines[0])
    return lines[0]


def refused_by_argparse(r, option, text):
    """argparse's refusal: one line naming the option and the problem; exit 2."""
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert f"error: argument {option}: " in lines[0] and text in lines[0], lines[0]


def files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*"))


# -- any command: one line for a bug, the traceback with --debug ---------------------------------
def test_an_unexpected_error_is_one_line_and_its_traceback_needs_debug(monkeypatch, capsys):
    import inspector.cli.plugins as cli

    def broken(args):
        raise RuntimeError("the bug\nits second line")

    monkeypatch.setattr(cli, "cmd_plugins", broken)
    assert main(["plugins"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("inspector plugins: internal error: RuntimeError: the bug "
                           "(run with --debug for the traceback)")
    assert main(["--debug", "plugins"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "RuntimeError: the bug" in err


def test_an_interrupt_still_exits_130(monkeypatch, capsys):
    import inspector.cli.plugins as cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_plugins", interrupted)
    assert main(["plugins"]) == 130
    assert capsys.readouterr().err.strip() == "inspector plugins: interrupted"


def _broken_plugin(site):
    """A distribution, installed as pip leaves one, whose module fails on a library it cannot load."""
    info = site / "brokenplug-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[inspector.sources]\nbroken = brokenplug_mod:Source\n")
    (site / "brokenplug_mod.py").write_text(textwrap.dedent("""\
        try:
            import libfoo_for_inspector_tests
        except ImportError as exc:
            raise ImportError("vendor SDK libfoo.so not found\\nset FOO_HOME") from exc
    """))
    return {"PYTHONPATH": str(site) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_plugins_verbose_shows_the_error_and_debug_the_traceback(tmp_path):
    env = _broken_plugin(tmp_path / "site")
    r = run("plugins", env=env)
    assert r.returncode == 0, r.stderr
    assert "error: ImportError: vendor SDK libfoo.so not found …" in r.stdout
    r = run("plugins", "--verbose", env=env)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "set FOO_HOME" in r.stdout
    assert "caused by: ModuleNotFoundError: No module named 'libfoo_for_inspector_tests'" in r.stdout
    r = run("--debug", "plugins", env=env)
    assert r.returncode == 0, r.stderr
    assert "Traceback (most recent call last)" in r.stdout and "brokenplug_mod.py" in r.stdout


# -- explain --out ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def views(tmp_path_factory, line):
    from inspector.images import write_image

    folder = tmp_path_factory.mktemp("views")
    s = line.render(line.draw(0, 5), 0)
    write_image(folder / "v1.png", s.view1)
    write_image(folder / "v2.png", s.view2)
    return folder / "v1.png", folder / "v2.png"


def test_explain_refuses_an_output_it_cannot_or_should_not_write(tmp_path, views):
    v1, v2 = views
    r = run("explain", v1, v2, "--out", tmp_path / "no" / "dir" / "fig.png")
    refused(r, "fig.png", f"folder {tmp_path / 'no' / 'dir'} does not exist", command="explain")
    existing = tmp_path / "fig.png"
    existing.write_bytes(b"an older figure")
    r = run("explain", v1, v2, "--out", existing)
    refused(r, existing, "already exists", "--overwrite", command="explain")
    assert existing.read_bytes() == b"an older figure"
    for overwrite in ((), ("--overwrite",)):
        r = run("explain", v1, v2, "--out", tmp_path, *overwrite)
        refused(r, tmp_path, "is a folder", command="explain")
        assert "wrote" not in r.stdout
    r = run("explain", v1, v2, "--out", tmp_path / "fig.txt")
    refused(r, "fig.txt", "cannot write a figure as .txt", command="explain")
    folder = tmp_path / "a.png"
    folder.mkdir()
    refused(run("explain", folder, v2), folder, "is a folder", command="explain")
    assert files(tmp_path) == ["a.png", "fig.png"]


def test_explain_overwrite_replaces_the_figure_whole(tmp_path, views):
    v1, v2 = views
    out = tmp_path / "fig.png"
    out.write_bytes(b"an older figure")
    r = run("explain", *views, "--out", out, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert files(tmp_path) == ["fig.png"]  # no temporary file left beside it


# -- numbers out of range ----------------------------------------------------------------------------
@pytest.mark.parametrize("tilt", ["95", "-1", "nan"])
def test_simulate_refuses_a_tilt_the_line_cannot_calibrate(tmp_path, tilt):
    r = run("simulate", "--n", "2", "--tilt", tilt, "--out", "x.h5", "--quiet", cwd=tmp_path)
    refused(r, "tilt", "[0, 60]", command="simulate")
    assert files(tmp_path) == []


@pytest.mark.parametrize("args, option, text", [
    (["simulate", "--n", "2", "--seed", "-1", "--out", "x.h5"], "--seed", "integer ≥ 0"),
    (["simulate", "--chessboards", "cb", "--seed", "-3"], "--seed", "integer ≥ 0"),
    (["train", "--data", "d.h5", "--out", "m.pt", "--seed", "-1"], "--seed", "integer ≥ 0"),
    (["train", "--data", "d.h5", "--out", "m.pt", "--lr", "-1"], "--lr", "positive number"),
    (["train", "--data", "d.h5", "--out", "m.pt", "--lr", "nan"], "--lr", "positive number"),
    (["demo", "--headless", "--seed", "-1"], "--seed", "integer ≥ 0"),
    (["study", "--out", "s", "--seed", "-2"], "--seed", "integer ≥ 0"),
    (["calibrate", "--camera", "1", "a.png", "--camera", "2", "b.png", "--square-mm", "4", "--mm-per-px", "0",
      "--out", "r.json"], "--mm-per-px", "positive number"),
    (["calibrate", "--camera", "1", "a.png", "--camera", "2", "b.png", "--square-mm", "4", "--max-error", "-1",
      "--out", "r.json"], "--max-error", "positive number"),
    (["run", "--status-every", "0"], "--status-every", "positive number"),
    (["run", "--seconds", "-5"], "--seconds", "positive number"),
])
def test_numbers_out_of_range_are_refused_before_any_work(tmp_path, args, option, text):
    refused_by_argparse(run(*args, cwd=tmp_path), option, text)
    assert files(tmp_path) == []


def test_a_negative_seed_of_the_simulator_source_is_refused():
    refused(run("run", "--source-opt", "seed=-1", "--max", "1"), "seed must be ≥ 0, got -1", command="run")


# -- outputs that are folders, in missing folders, or already there ------------------------------------
def test_rig_model_and_report_outputs_that_are_folders_are_refused(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    r = run("calibrate", "--camera", "1", "a.png", "--camera", "2", "b.png", "--square-mm", "4", "--out", folder,
            "--overwrite")
    refused(r, folder, "is a folder", command="calibrate")
    r = run("train", "--data", "d.h5", "--out", folder, "--overwrite")
    refused(r, folder, "is a folder", command="train")
    assert files(tmp_path) == ["out"]


def test_evaluate_refuses_a_json_report_it_cannot_or_should_not_write(tmp_path):
    data = tmp_path / "d.h5"
    assert run("simulate", "--n", "3", "--out", data, "--quiet").returncode == 0
    r = run("evaluate", "--data", data, "--json", tmp_path / "no" / "r.json")
    refused(r, "r.json", "does not exist", command="evaluate")
    r = run("evaluate", "--data", data, "--json", tmp_path)
    refused(r, tmp_path, "is a folder", command="evaluate")
    old = tmp_path / "old.json"
    old.write_text("{}")
    refused(run("evaluate", "--data", data, "--json", old), old, "already exists", command="evaluate")
    assert old.read_text() == "{}"
    r = run("evaluate", "--data", data, "--json", old, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert '"model_sha256"' in old.read_text()
    assert files(tmp_path) == ["d.h5", "old.json"]


# -- simulate: the size before writing, and stopping ---------------------------------------------------
def test_simulate_says_how_large_the_file_gets_and_refuses_more_than_the_disk_holds(tmp_path):
    r = run("simulate", "--n", "1000000000000", "--out", "huge.h5", "--quiet", cwd=tmp_path)
    refused(r, "huge.h5", "1,000,000,000,000 pairs take up to", "PB", f"{tmp_path} has", "free", command="simulate")
    assert files(tmp_path) == []
    r = run("simulate", "--n", "3", "--out", "small.h5", "--raw", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    said = r.stdout.splitlines()[0]
    assert said.startswith("writing 3 pairs to small.h5: at most ") and "uncompressed" in said
    from inspector.synth.dataset import dataset_bytes
    from inspector.synth.line import SimulatedLine

    assert (tmp_path / "small.h5").stat().st_size <= dataset_bytes(3, SimulatedLine(), raw=True)


@pytest.mark.parametrize("sig, code, name", [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")])
def test_simulate_stops_on_a_signal_and_leaves_no_file(tmp_path, sig, code, name):
    out = tmp_path / "big.h5"
    partial = tmp_path / "big.h5.partial"
    proc = subprocess.Popen(INSPECTOR + ["simulate", "--n", "100000", "--out", str(out), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not partial.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert partial.exists(), "simulate never started writing"
        time.sleep(0.5)  # inside the rendering of a batch
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=20)  # a failure bound, not a speed target
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == f"inspector simulate: {name} received: stopped, {out} not written"
    assert files(tmp_path) == []


def test_simulate_interrupted_keeps_the_file_it_would_have_replaced(tmp_path):
    """--overwrite replaces a file only when the new one is complete; stopping leaves the old one."""
    from inspector.synth.dataset import write_dataset

    out = tmp_path / "d.h5"
    out.write_bytes(b"the old dataset")
    asked = []

    def stop():
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(KeyboardInterrupt):
        write_dataset(out, 100, seed=0, overwrite=True, stop=stop)
    assert out.read_bytes() == b"the old dataset" and files(tmp_path) == ["d.h5"]


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


# -- train: a split that leaves a class without validation or training pairs -----------------------------
def test_train_refuses_a_dataset_too_small_for_its_validation_split(tmp_path):
    data = tmp_path / "d.h5"
    assert run("simulate", "--n", "6", "--out", data, "--quiet").returncode == 0
    out = tmp_path / "m.pt"
    r = run("train", "--data", data, "--out", out, "--device", "cpu", "--quiet")
    refused(r, data, "--val-split 0.15", "each class needs at least 4", "correct 2, missing 2, skewed 2",
            command="train")
    assert r.stdout == "" and files(tmp_path) == ["d.h5"]
    # a larger share held out needs fewer pairs per class
    r = run("train", "--data", data, "--out", out, "--val-split", "0.5", "--epochs", "1", "--device", "cpu",
            "--quiet")
    assert r.returncode == 0, r.stderr
    assert "nan" not in r.stdout.lower() and out.exists()


@pytest.mark.parametrize("val_split, need", [(0.15, 4), (0.5, 2), (0.2, 3), (0.01, 51), (0.999, 501)])
def test_the_fewest_pairs_per_class_leave_one_for_each_side(val_split, need):
    from inspector.model.train import min_per_class, stratified_split

    assert min_per_class(val_split) == need
    for n, ok in ((need, True), (need - 1, False)):
        labels = np.zeros(n, np.int64)
        train, val = stratified_split(labels, val_split, np.random.default_rng(0))
        assert (len(train) >= 1 and len(val) >= 1) == ok


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_a_folder_given_as_the_dataset_is_named_as_one(tmp_path, command):
    folder = tmp_path / "data.h5"
    folder.mkdir()
    extra = ["--out", str(tmp_path / "m.pt")] if command == "train" else []
    refused(run(command, "--data", folder, *extra), folder, "is a folder, not a dataset file", command=command)
    assert files(tmp_path) == ["data.h5"]


def test_debug_also_shows_where_a_bad_input_was_refused(tmp_path, capsys):
    code = main(["--debug", "explain", str(tmp_path / "none.png"), str(tmp_path / "none.png")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1] == f"inspector explain: error: {tmp_path / 'none.png'}: no such image file"
