"""Line variants (`--line`) and the class-folder image output (`simulate --images`) of the simulated line."""

import csv
import hashlib
import json

import h5py
import numpy as np
import pytest

from cli_support import files, refused, refused_by_argparse, run
from inspector.synth import generate
from inspector.synth.line import LineConfig, SimulatedLine
from inspector.synth.scene import clean_scene
from inspector.synth.variants import LineVariant, LineVariantError, line_names, load_line

# sha256 of generate(3, seed=5, hidden_share=0.5)'s view1, view2, raw1, raw2, taken before line variants
# existed: the default line must keep rendering these bytes (the shipped model and rig were made on it).
DEFAULT_LINE_SHA256 = "fbac64c159937611238ad6fb5b80e97477bf11eaf401c19705110791744dec97"


def _digest(samples) -> str:
    h = hashlib.sha256()
    for s in samples:
        for field in ("view1", "view2", "raw1", "raw2"):
            h.update(getattr(s, field).tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def line_b():
    return SimulatedLine(load_line("line-b").config())


def test_the_default_variant_renders_todays_images(line):
    default = load_line("default")
    assert default == LineVariant() and default.config() == LineConfig()
    line_default = SimulatedLine(default.config())
    assert line_default.rig.sha256 == line.rig.sha256  # the shipped rig, not one of its own
    assert _digest(generate(3, seed=5, hidden_share=0.5, line=line_default)) == DEFAULT_LINE_SHA256
    assert _digest(generate(3, seed=5, hidden_share=0.5, line=line)) == DEFAULT_LINE_SHA256


def test_shipped_lines_are_listed():
    assert {"default", "line-b"} <= set(line_names())


def _rim_radius_mm(line, scene) -> float:
    """Where the bright rim of the bowl lies on the top-down centre row, right of the centre (mm)."""
    row = line.top_down(scene, 1).astype(float).mean(axis=2)[64, 64:]
    return float(np.argmax(row)) * line.rig.grid.mm_per_px


def test_line_b_differs_in_geometry_colour_and_light_as_declared(line, line_b):
    b = load_line("line-b")
    assert b.camera_tilt_deg != 30.0 and b.bowl_radius_mm != 18.0 and b.insert_radius_mm != 12.0
    assert line_b.config.tilt_deg == b.camera_tilt_deg
    assert (line_b.design.bowl_radius, line_b.design.insert_radius) == (b.bowl_radius_mm, b.insert_radius_mm)
    # Its own rig, calibrated from its own chessboards at its tilt.
    assert line_b.rig.sha256 != line.rig.sha256
    assert max(line_b.rig.camera(c).reprojection_rms_px for c in "12") <= 0.5
    # The rim sits where the bowl radius says.
    rng = np.random.default_rng(0)
    for ln, radius in ((line, 18.0), (line_b, b.bowl_radius_mm)):
        assert _rim_radius_mm(ln, clean_scene("missing", rng, ln.design)) == pytest.approx(radius + 0.25, abs=0.5)
    # The steel outside the bowl, top-down under the same light: tinted as declared.
    sa = clean_scene("missing", rng, line.design)
    steel_a = line.top_down(sa, 1)[5:15, 5:15].reshape(-1, 3).astype(float).mean(0)
    steel_b = line_b.top_down(sa, 1)[5:15, 5:15].reshape(-1, 3).astype(float).mean(0)
    assert steel_b / steel_a == pytest.approx(np.array(b.steel_tint), abs=0.03)
    # The insert's top between its hole and its groove, seen from above: its declared colour.
    sc = clean_scene("correct", np.random.default_rng(1), line_b.design)
    top = line_b.top_down(sc, 1)[62:66, 49:54].reshape(-1, 3).astype(float).mean(0)
    ref = line.top_down(sc, 1)[62:66, 49:54].reshape(-1, 3).astype(float).mean(0)
    assert top / ref == pytest.approx(np.array(b.insert_colour) / np.array(LineVariant().insert_colour), abs=0.03)
    # Scenes are drawn under its strobes.
    for s in generate(12, seed=3, line=line_b):
        assert b.light_level[0] <= s.scene.light_level <= b.light_level[1]
        for cam in s.scene.cameras:
            assert b.strobe_tilt_deg[0] <= cam.light_tilt_deg <= b.strobe_tilt_deg[1]


def test_a_json_file_variant_keeps_the_default_for_what_it_leaves_out(tmp_path):
    path = tmp_path / "plant-c.json"
    path.write_text(json.dumps({"camera_tilt_deg": 40, "insert_colour": [0.5, 0.6, 0.7]}))
    v = load_line(str(path))
    assert v.name == "plant-c" and v.camera_tilt_deg == 40.0 and v.insert_colour == (0.5, 0.6, 0.7)
    assert v.bowl_radius_mm == LineVariant().bowl_radius_mm and v.light_level == LineVariant().light_level
    assert load_line("line-b") == LineVariant.from_dict(load_line("line-b").to_dict(), "again")


def test_simulate_records_the_line_and_tilt_overrides_it(tmp_path):
    path = tmp_path / "plant-c.json"
    path.write_text(json.dumps({"name": "plant C", "camera_tilt_deg": 40, "steel_tint": [1.1, 1, 0.9]}))
    r = run("simulate", "--line", path, "--n", 3, "--seed", 1, "--out", tmp_path / "c.h5", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "line plant C" in r.stdout
    with h5py.File(tmp_path / "c.h5", "r") as f:
        rec = json.loads(f.attrs["line"])
        rig = f.attrs["rig"]
    assert rec["name"] == "plant C" and rec["tilt_deg"] == 40.0
    assert rec["variant"]["steel_tint"] == [1.1, 1.0, 0.9] and rec["variant"]["bowl_radius_mm"] == 18.0
    assert json.loads(rig)  # its own rig, recorded

    r = run("simulate", "--line", "line-b", "--tilt", 40, "--n", 3, "--out", tmp_path / "b40.h5", "--quiet")
    assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "b40.h5", "r") as f:
        rec = json.loads(f.attrs["line"])
    assert rec["tilt_deg"] == 40.0 and rec["variant"]["camera_tilt_deg"] == 40.0
    assert rec["name"] == "line-b at tilt 40" and rec["variant"]["bowl_radius_mm"] == 17.0


@pytest.mark.parametrize(
    "text, names",
    [
        ('{"camera_tilt_deg": 30, "colour": [1, 1, 1]}', ["'colour'", "unknown key"]),
        ('{"camera_tilt_deg": 75}', ["'camera_tilt_deg'", "out of range"]),
        ('{"camera_tilt_deg": "30"}', ["'camera_tilt_deg'", "expected a number"]),
        ('{"light_level": [0.9, 0.5]}', ["'light_level'", "[low, high]"]),
        ('{"steel_tint": [1, 1]}', ["'steel_tint'", "list of 3"]),
        ('{"bowl_radius_mm": 14, "insert_radius_mm": 12}', ["'insert_radius_mm'", "bowl"]),
        ("camera_tilt_deg = 30", ["not a JSON file"]),
        ("[30]", ["JSON object"]),
    ],
)
def test_a_bad_variant_file_is_refused_in_one_line(tmp_path, text, names):
    path = tmp_path / "bad-line.json"
    path.write_text(text)
    with pytest.raises(LineVariantError):
        load_line(str(path))
    r = run("simulate", "--line", path, "--n", 1, "--out", tmp_path / "x.h5")
    refused(r, str(path), *names, command="simulate")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad-line.json"]


def test_a_missing_variant_file_and_an_unknown_name_are_refused(tmp_path):
    r = run("simulate", "--line", tmp_path / "nope.json", "--n", 1, "--out", tmp_path / "x.h5")
    refused(r, "nope.json", "no such line variant file", command="simulate")
    r = run("simulate", "--line", "line-z", "--n", 1, "--out", tmp_path / "x.h5")
    refused(r, "'line-z'", "default", "line-b", command="simulate")
    assert not list(tmp_path.iterdir())


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_images_writes_class_folders_of_matching_pairs_with_their_ground_truth(tmp_path, line):
    from inspector.images import read_image

    out = tmp_path / "plant"
    r = run("simulate", "--images", out, "--n", 6, "--seed", 9, "--hidden-share", 0.5)
    assert r.returncode == 0, r.stderr
    assert "wrote 6 pairs (views)" in r.stdout and "correct 2, missing 2, skewed 2" in r.stdout
    samples = generate(6, seed=9, hidden_share=0.5, line=line)
    expected = ["correct", "evidence.csv", "line.json", "missing", "skewed"]
    expected += [f"{s.label}/{s.index:05d}_cam{k}.png" for s in samples for k in (1, 2)]
    assert files(out) == sorted(expected)
    assert not (tmp_path / "plant.partial").exists()
    for s in samples:
        key = f"{s.index:05d}"
        assert np.array_equal(read_image(out / s.label / f"{key}_cam1.png"), s.view1)
        assert np.array_equal(read_image(out / s.label / f"{key}_cam2.png"), s.view2)
    rows = _read_csv(out / "evidence.csv")
    assert rows[0] == ["key", "class", "evidence"]
    assert rows[1:] == [[f"{s.index:05d}", s.label, s.evidence] for s in samples]
    assert {row[2] for row in rows[1:]} - {"both"}  # some hidden from a camera, and said so
    assert json.loads((out / "line.json").read_text())["name"] == "default"


def test_images_raw_writes_the_camera_images_and_the_rig_that_maps_them(tmp_path, line_b):
    from calibration import Rig
    from inspector.images import read_image
    from inspector.synth.image_folder import write_image_folders

    out = tmp_path / "raw"
    counts = write_image_folders(out, 3, seed=2, raw=True, line=line_b)
    assert counts == {"correct": 1, "missing": 1, "skewed": 1}
    rig = Rig.load(out / "rig.json")
    assert rig.to_json() == line_b.rig.to_json()
    for s in generate(3, seed=2, line=line_b):
        raw1 = read_image(out / s.label / f"{s.index:05d}_cam1.png")
        raw2 = read_image(out / s.label / f"{s.index:05d}_cam2.png")
        assert np.array_equal(raw1, s.raw1) and np.array_equal(raw2, s.raw2)
        views = rig.warp_pair(raw1, raw2)  # what an importer does with DIR/rig.json
        assert np.array_equal(views[0], s.view1) and np.array_equal(views[1], s.view2)
    assert json.loads((out / "line.json").read_text())["variant"]["bowl_radius_mm"] == 17.0


def test_images_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    out = tmp_path / "plant"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    r = run("simulate", "--images", out, "--n", 3)
    refused(r, str(out), "not empty", "--overwrite", command="simulate")
    assert files(out) == ["mine.txt"]
    r = run("simulate", "--images", out, "--n", 3, "--overwrite", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "mine.txt" not in files(out) and "evidence.csv" in files(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plant"]


def test_images_out_and_chessboards_exclude_each_other(tmp_path):
    r = run("simulate", "--images", tmp_path / "a", "--out", tmp_path / "b.h5", "--n", 1)
    refused_by_argparse(r, "--out", "not allowed with argument --images")
    r = run("simulate", "--n", 1)
    refused(r, "--out", "--images", "--chessboards", command="simulate")
    assert not list(tmp_path.iterdir())


def test_interrupted_images_leave_nothing_behind(tmp_path, line):
    from inspector.synth.image_folder import write_image_folders

    asked = []

    def stop():
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(KeyboardInterrupt):
        write_image_folders(tmp_path / "plant", 6, seed=0, line=line, stop=stop)
    assert not list(tmp_path.iterdir())


def test_images_stopped_by_sigterm_leave_the_old_folder_and_no_partial_one(tmp_path):
    import signal
    import subprocess
    import time

    from cli_support import INSPECTOR

    out, partial = tmp_path / "plant", tmp_path / "plant.partial"
    out.mkdir()
    (out / "old.txt").write_text("the old dataset")
    proc = subprocess.Popen(INSPECTOR + ["simulate", "--images", str(out), "--n", "100000", "--overwrite", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (partial / "evidence.csv").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert partial.exists(), "simulate never started writing"
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == f"inspector simulate: SIGTERM received: stopped, {out} not written"
    assert files(tmp_path) == ["plant", "plant/old.txt"]
