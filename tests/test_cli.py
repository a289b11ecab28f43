import json
import os
import re
import subprocess
import sys

import h5py
import numpy as np
import pytest

from inspector.cli import build_parser, main

INSPECTOR = [sys.executable, "-m", "inspector.cli"]


def run(*args, cwd=None):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(INSPECTOR + list(args), capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def _subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return parser, action.choices


def test_help_describes_every_command_and_option():
    parser, commands = _subparsers()
    top = run("--help")
    assert top.returncode == 0
    for name in commands:
        assert name in top.stdout
    for name, sub in commands.items():
        out = run(name, "--help")
        assert out.returncode == 0, out.stderr
        for action in sub._actions:
            for flag in action.option_strings:
                assert flag in out.stdout, f"{name} --help does not mention {flag}"
            if action.option_strings and action.help != "==SUPPRESS==":
                assert action.help, f"{name} {action.option_strings} has no help text"


def test_simulate_writes_the_documented_dataset(tmp_path):
    out = tmp_path / "d.h5"
    r = run("simulate", "--n", "6", "--seed", "3", "--out", str(out), "--hidden-share", "0.5", "--raw", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "wrote 6 pairs" in r.stdout and "pairs/s" in r.stdout
    with h5py.File(out, "r") as f:
        assert f["view1"].shape == f["view2"].shape == (6, 128, 128, 3)
        assert f["view1"].dtype == np.uint8
        assert f["raw1"].shape == (6, 192, 256, 3)
        assert f["label"].shape == (6,)
        classes = json.loads(f.attrs["classes"])
        assert classes == ["correct", "missing", "skewed"]
        assert [classes[i] for i in f["label"][()]] == classes * 2
        assert set(f["evidence"][()].astype(str)) <= {"both", "camera 1", "camera 2"}
        assert len(f.attrs["rig_sha256"]) == 64
        first = f["view1"][()]
    # same seed, same bytes
    out2 = tmp_path / "e.h5"
    assert run("simulate", "--n", "6", "--seed", "3", "--out", str(out2), "--hidden-share", "0.5", "--quiet").returncode == 0
    with h5py.File(out2, "r") as f:
        np.testing.assert_array_equal(f["view1"][()], first)


def test_simulate_refuses_to_overwrite_and_leaves_nothing_half_written(tmp_path):
    out = tmp_path / "d.h5"
    out.write_bytes(b"precious")
    r = run("simulate", "--n", "2", "--out", str(out), "--quiet")
    assert r.returncode != 0
    assert "already exists" in r.stderr and "d.h5" in r.stderr
    assert out.read_bytes() == b"precious"
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["simulate", "--n", "0", "--out", "x.h5"], "expected a positive integer"),
        (["simulate", "--n", "2", "--out", "x.h5", "--hidden-share", "2"], "expected a number in [0, 1]"),
        (["simulate", "--n", "2"], "--out is required"),
        (["simulate", "--n", "2", "--out", "no/such/dir/x.h5"], "does not exist"),
        (["simulate", "--n", "2", "--out", "x.h5", "--rig", "missing.json"], "missing.json: no such rig file"),
    ],
)
def test_simulate_bad_input(tmp_path, args, message):
    r = run(*args, cwd=tmp_path)
    assert r.returncode != 0
    assert message in r.stderr


def test_calibrate_end_to_end_and_its_errors(tmp_path):
    boards = tmp_path / "cb"
    assert run("simulate", "--chessboards", str(boards), "--n", "2").returncode == 0
    cam1, cam2 = sorted(map(str, boards.glob("cam1_*.png"))), sorted(map(str, boards.glob("cam2_*.png")))
    assert len(cam1) == len(cam2) == 2
    rig = tmp_path / "rig.json"
    r = run("calibrate", "--camera", "1", *cam1, "--camera", "2", *cam2, "--square-mm", "4", "--out", str(rig))
    assert r.returncode == 0, r.stderr
    errors = [float(v) for v in re.findall(r"reprojection error ([\d.]+) px RMS", r.stdout)]
    assert len(errors) == 2 and max(errors) <= 0.5
    doc = json.loads(rig.read_text())
    assert doc["version"] == 1 and set(doc["cameras"]) == {"1", "2"}

    again = run("calibrate", "--camera", "1", *cam1, "--camera", "2", *cam2, "--square-mm", "4", "--out", str(rig))
    assert again.returncode != 0 and "already exists" in again.stderr

    missing = run("calibrate", "--camera", "1", *cam1, "--square-mm", "4", "--out", str(tmp_path / "r2.json"))
    assert missing.returncode != 0 and "--camera 2 missing" in missing.stderr

    blank = tmp_path / "blank.png"
    from inspector.images import write_image

    write_image(blank, np.full((192, 256, 3), 200, np.uint8))
    r = run("calibrate", "--camera", "1", str(blank), "--camera", "2", *cam2, "--square-mm", "4",
            "--out", str(tmp_path / "r3.json"))
    assert r.returncode != 0 and "blank.png: no 9x6 chessboard found" in r.stderr
    assert not (tmp_path / "r3.json").exists()

    bad_board = run("calibrate", "--camera", "1", *cam1, "--camera", "2", *cam2, "--board", "nine",
                    "--square-mm", "4", "--out", str(tmp_path / "r4.json"))
    assert bad_board.returncode != 0 and "expected inner corners as COLSxROWS" in bad_board.stderr


def test_demo_prints_one_line_per_cavity():
    r = run("demo", "--n", "4", "--seed", "2")
    assert r.returncode == 0, r.stderr
    rows = [l for l in r.stdout.splitlines() if re.match(r"\s+\d+\s+[12]\s+(correct|missing|skewed)\s", l)]
    assert len(rows) == 4
    assert sorted(int(l.split()[0]) for l in rows) == [1, 2, 3, 4]
    for row in rows:
        assert re.search(r"(correct|missing|skewed)\s+[\d.]+%\s+[+-][\d.]+\s+(camera 1|camera 2|equal)\s+\d+ ms", row), row
    assert re.search(r"^\d of 4 cavities classified as the simulator made them; .* dropped 0, bad frames 0$",
                     r.stdout, re.M)


def test_demo_runs_the_pipeline_and_can_keep_the_log(tmp_path):
    from inspector.records import RecordReader

    out = tmp_path / "demo.h5"
    r = run("demo", "--n", "6", "--rate", "10", "--out", str(out))
    assert r.returncode == 0, r.stderr
    # The simulator keeps the line's pace, so a loaded machine may drop a pair; what the test holds
    # is that every pair is either logged or counted as dropped, and the log has what it says.
    dropped = int(re.search(r"dropped (\d+), bad frames 0", r.stdout).group(1))
    written = int(re.search(rf"log: {re.escape(str(out))} \((\d+) records\)", r.stdout).group(1))
    assert written >= 1 and written + dropped == 6, r.stdout
    with RecordReader(out) as log:
        assert len(log) == written and log.closed_cleanly and log.attrs["source"].startswith("simulator(")
    again = run("demo", "--n", "2", "--out", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_run_reports_bad_choices_by_name(tmp_path):
    cases = [
        (["--source", "nope"], "no source plugin named 'nope' (installed: folder, genicam, simulator, video"),
        (["--source-opt", "fps=3"], "source simulator: unknown option fps (options: rate, cavities"),
        (["--source-opt", "rate"], "--source-opt 'rate': expected KEY=VALUE"),
        (["--source-opt", "rate=fast"], "option rate='fast' is not a valid float"),
        (["--source", "folder", "--source-opt", f"path={tmp_path / 'none'}"], "none"),
        (["--model", str(tmp_path / "none.pt")], "none.pt"),
        (["--rig", str(tmp_path / "none.json")], "none.json"),
        (["--explainer", "nope"], "no explainer plugin named 'nope'"),
        (["--curves", "some"], "invalid choice: 'some'"),
    ]
    for extra, message in cases:
        r = run("run", "--max", "1", *extra)
        assert r.returncode == 2, (extra, r.stderr)
        assert message in r.stderr, (extra, r.stderr)
        assert "Traceback" not in r.stderr


def test_run_on_a_folder_writes_the_log(tmp_path, line):
    from inspector.images import write_image
    from inspector.records import RecordReader

    shots = tmp_path / "shots"
    shots.mkdir()
    for i, s in enumerate(line.samples(3, seed=8)):
        write_image(shots / f"c{i}_cam1.png", s.raw1)
        write_image(shots / f"c{i}_cam2.png", s.raw2)
    write_image(shots / "c9_cam1.png", s.raw1)  # its partner never came
    out = tmp_path / "folder.h5"
    r = run("run", "--source", "folder", "--source-opt", f"path={shots}", "--keep-all", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "inspected 3" in r.stdout and "bad frames 1" in r.stdout and "written 3 records" in r.stdout
    assert "c9_cam2.png" in r.stderr  # the bad pair is named where the operator sees it
    with RecordReader(out) as log:
        assert len(log) == 3 and log.closed_cleanly


def test_plugins_lists_every_plugin_and_source_options():
    r = run("plugins")
    assert r.returncode == 0, r.stderr
    for name in ("simulator", "folder", "video", "default", "gradcam"):
        assert re.search(rf"^\s+{name}\s+loaded\s+inspector ", r.stdout, re.M), name
    assert "rate=5.0" in r.stdout and "cam1=*_cam1.png" in r.stdout


def test_main_returns_non_zero_on_bad_input(tmp_path, capsys):
    code = main(["calibrate", "--camera", "1", str(tmp_path / "none.png"), "--camera", "2",
                 str(tmp_path / "none.png"), "--square-mm", "4", "--out", str(tmp_path / "r.json")])
    assert code == 2
    assert "none.png: no such image file" in capsys.readouterr().err


def test_core_never_imports_qt():
    code = (
        "import sys, inspector, inspector.cli, inspector.synth, inspector.synth.dataset, inspector.demo, "
        "inspector.pipeline, inspector.plugins, inspector.runner, inspector.bench.pipeline, calibration, plugins, "
        "plugins.simulator_source, plugins.folder_source, plugins.video_source\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'pyqtgraph'))]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_packages_are_importable_from_one_distribution():
    from importlib.metadata import distribution

    dist = distribution("inspector")
    top = set((dist.read_text("top_level.txt") or "").split())
    entry = [ep for ep in dist.entry_points if ep.group == "console_scripts" and ep.name == "inspector"]
    assert entry and entry[0].value == "inspector.cli:main"
    import calibration
    import plugins
    import ui

    for module in (calibration, plugins, ui):
        assert module.__doc__
    assert not top or {"inspector", "calibration", "plugins", "ui"} <= top


def test_bench_measures_the_simulator():
    r = run("bench", "--only", "simulator")
    assert r.returncode == 0, r.stderr
    rows = {l.split("  ")[1].strip(): l for l in r.stdout.splitlines()[1:] if l.startswith("simulator")}
    assert len(rows) == 3
    for line in rows.values():
        value = float(re.search(r"\s([\d.]+) pairs/s", line).group(1))
        assert value > 0
    bad = run("bench", "--only", "nope")
    assert bad.returncode != 0 and "unknown section(s) nope" in bad.stderr


def test_train_and_evaluate_from_the_command_line(tmp_path):
    data = tmp_path / "d.h5"
    assert run("simulate", "--n", "30", "--seed", "9", "--hidden-share", "0.3", "--out", str(data), "--quiet").returncode == 0
    model = tmp_path / "m.pt"
    r = run("train", "--data", str(data), "--out", str(model), "--epochs", "1", "--batch", "10", "--quiet",
            "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert "epoch  1:" in r.stdout and "confusion (rows: truth, columns: predicted)" in r.stdout
    assert "per class: correct" in r.stdout and model.exists()
    again = run("train", "--data", str(data), "--out", str(model), "--epochs", "1", "--quiet")
    assert again.returncode != 0 and "already exists" in again.stderr
    report = tmp_path / "r.json"
    r = run("evaluate", "--data", str(data), "--model", str(model), "--json", str(report))
    assert r.returncode == 0, r.stderr
    assert "evidence 'both'" in r.stdout
    doc = json.loads(report.read_text())
    assert doc["n"] == 30 and len(doc["confusion"]) == 3


def test_train_bad_input(tmp_path):
    r = run("train", "--data", str(tmp_path / "none.h5"), "--out", str(tmp_path / "m.pt"))
    assert r.returncode != 0 and "none.h5: no such dataset file" in r.stderr
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    r = run("train", "--data", str(text), "--out", str(tmp_path / "m.pt"))
    assert r.returncode != 0 and "text.h5: not a readable HDF5 file" in r.stderr
    partial = tmp_path / "partial.h5"
    with h5py.File(partial, "w") as f:
        f["view1"] = np.zeros((4, 8, 8, 3), np.uint8)
        f["label"] = np.zeros(4, np.uint8)
    r = run("train", "--data", str(partial), "--out", str(tmp_path / "m.pt"))
    assert r.returncode != 0 and "partial.h5: not a training dataset (missing view2, attribute 'classes')" in r.stderr
    r = run("evaluate", "--data", str(partial), "--model", str(tmp_path / "none.pt"))
    assert r.returncode != 0 and "none.pt: no such model file" in r.stderr


def test_explain_command_text_json_figure_and_raw(tmp_path):
    from inspector.images import write_image
    from inspector.synth import generate

    s = generate(3, seed=21, hidden_share=0.0)[2]
    paths = {}
    for name, img in (("v1", s.view1), ("v2", s.view2), ("r1", s.raw1), ("r2", s.raw2)):
        paths[name] = tmp_path / f"{name}.png"
        write_image(paths[name], img)
    fig = tmp_path / "fig.png"
    r = run("explain", str(paths["v1"]), str(paths["v2"]), "--out", str(fig))
    assert r.returncode == 0, r.stderr
    assert "class probabilities: correct" in r.stdout and "influence:" in r.stdout and fig.stat().st_size > 10_000
    r = run("explain", str(paths["v1"]), str(paths["v2"]), "--json", "--class", "missing")
    doc = json.loads(r.stdout)
    assert doc["target"] == "missing" and len(doc["curves"]["a1"]) == 11 and len(doc["model_sha256"]) == 64
    raw = run("explain", str(paths["r1"]), str(paths["r2"]), "--raw", "--json")
    assert raw.returncode == 0, raw.stderr
    raw_doc = json.loads(raw.stdout)
    assert raw_doc["rig_sha256"] and raw_doc["predicted"] == json.loads(
        run("explain", str(paths["v1"]), str(paths["v2"]), "--json").stdout)["predicted"]


def test_explain_bad_input(tmp_path):
    from inspector.images import write_image

    a, b = tmp_path / "a.png", tmp_path / "b.png"
    write_image(a, np.zeros((128, 128, 3), np.uint8))
    write_image(b, np.zeros((64, 64, 3), np.uint8))
    r = run("explain", str(a), str(b))
    assert r.returncode != 0 and "b.png is 64×64" in r.stderr
    r = run("explain", str(a), str(a), "--class", "cracked")
    assert r.returncode != 0 and "'cracked' is not one of the model's classes" in r.stderr
    r = run("explain", str(a), str(a), "--raw")
    assert r.returncode != 0 and "(camera 1) is 128×128 pixels but the rig calibrated camera 1 at 256×192" in r.stderr
    r = run("explain", str(a), str(tmp_path / "none.png"))
    assert r.returncode != 0 and "none.png: no such image file" in r.stderr
    r = run("explain", str(a), str(a), "--rig", "x.json")
    assert r.returncode != 0 and "--rig applies to raw camera images" in r.stderr


def test_study_writes_figures_and_summary(tmp_path):
    out = tmp_path / "study"
    r = run("study", "--per-class", "3", "--hidden-share", "0.5", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    for name in ("m_histograms.png", "influence_shares.png", "mean_curves.png", "accuracy_vs_p.png"):
        assert (out / name).stat().st_size > 5_000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 9 and set(summary["per_class"]) == {"correct", "missing", "skewed"}
    for d in summary["per_class"].values():
        assert abs(sum(d["influence_share"].values()) - 1) < 1e-9
        assert len(d["accuracy_vs_p"]) == 3 and len(d["mean_curves"][0]) == 11
    assert "agreement with the simulator's ground truth" in r.stdout


def test_demo_without_a_display_says_it_runs_headless(monkeypatch):
    from inspector.cli.contributions import has_display

    r = run("demo", "--n", "2")
    assert r.returncode == 0 and "no display found: running the headless demo" in r.stderr
    quiet = run("demo", "--n", "2", "--headless")
    assert quiet.returncode == 0 and "no display found" not in quiet.stderr
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":0")
    assert has_display()
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert has_display() == sys.platform.startswith(("win", "darwin"))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert not has_display()


def test_review_refuses_a_log_it_cannot_open(tmp_path):
    r = run("review", str(tmp_path / "none.h5"))
    assert r.returncode == 2 and "none.h5: no such log file" in r.stderr
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    r = run("review", str(tmp_path / "junk.h5"))
    assert r.returncode == 2 and "junk.h5" in r.stderr and "Traceback" not in r.stderr
