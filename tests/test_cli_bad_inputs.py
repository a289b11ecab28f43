"""Bad input on the command line: one line naming the input and the problem, exit status 2, nothing
written or lost, no traceback (that is for `inspector --debug`); interrupted commands leave no file."""

import os
import signal
import subprocess
import textwrap
import time

import numpy as np
import pytest

from inspector.cli import main

from cli_support import INSPECTOR, files, refused, refused_by_argparse, run


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


def test_a_reader_that_leaves_early_is_not_an_internal_error():
    """`inspector model info default | head -0`: the reader closes the pipe before the card is printed;
    the command ends quietly (status 141, as a shell reports SIGPIPE), with no 'internal error'."""
    import subprocess

    from cli_support import INSPECTOR

    p = subprocess.Popen(INSPECTOR + ["model", "info", "default"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(60) == 141
    assert "internal error" not in err and "Traceback" not in err, err
