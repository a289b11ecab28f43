"""A second line, end to end, the way a plant would teach the network its parts: the simulated variant
`line-b` written as class folders of PNG pairs, the shipped model shown to fall short there, the folders
imported, the default fine-tuned on them and compared with it on held-out pairs of that line; and labels
given in the review view (by a click on the true class) turned into a dataset with `from-logs`.

The README gives the full figures (300 imported pairs, 300 held out); this is the smaller version.
"""

import json
import shutil
from pathlib import Path

import pytest

from cli_support import run
from inspector.dataset.store import load_dataset
from inspector.pair_names import natural_key
from inspector.records import LabelStore, RecordReader

TRAIN_PAIRS = 150  # 50 per class
HELD_OUT = 150


def _ok(r):
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return r


@pytest.fixture(scope="module")
def line_b(tmp_path_factory):
    """Class folders and held-out pairs of line-b, the shipped model's report on them, and the import."""
    folder = tmp_path_factory.mktemp("line_b")
    plant, held, data = folder / "plant", folder / "held.h5", folder / "plant.h5"
    _ok(run("simulate", "--line", "line-b", "--images", plant, "--n", TRAIN_PAIRS, "--seed", 7, "--quiet"))
    _ok(run("simulate", "--line", "line-b", "--out", held, "--n", HELD_OUT, "--seed", 4242, "--quiet"))
    before = folder / "default.json"
    _ok(run("evaluate", "--data", held, "--model", "default", "--json", before))
    imported = _ok(run("dataset", "import", plant, "--out", data, "--quiet"))
    return {"folder": folder, "plant": plant, "held": held, "data": data, "imported": imported.stdout,
            "default": json.loads(before.read_text())}


def test_the_shipped_model_falls_short_on_the_second_line(line_b):
    per_class = line_b["default"]["per_class"]
    assert min(per_class.values()) < 0.95, per_class


def test_the_class_folders_import_with_every_pair_traced_to_its_files(line_b):
    assert "per class: correct 50, missing 50, skewed 50" in line_b["imported"].replace(" (OK)", ""), \
        line_b["imported"]
    data = load_dataset(line_b["data"])
    assert data.classes == ("correct", "missing", "skewed") and data.ok_class == "correct"
    assert len(data.labels) == TRAIN_PAIRS
    # Every pair names the two files it was read from, in the folder of its class.
    for origin, label in zip(data.origin, data.labels):
        first = origin.split(" + ")[0]
        assert first.endswith("_cam1.png") and f"/{data.classes[label]}/" in first, origin
        assert Path(first).is_file(), origin


def test_fine_tuning_from_the_default_learns_the_second_line(line_b):
    folder = line_b["folder"]
    tuned, report = folder / "line-b.pt", folder / "compare.json"
    _ok(run("train", "--data", line_b["data"], "--init", "default", "--out", tuned, "--seed", 0, "--epochs", 8,
            "--quiet"))
    r = _ok(run("evaluate", "--data", line_b["held"], "--model", tuned, "--compare", "default", "--json", report))
    new, old = json.loads(report.read_text())["models"]
    assert (new["model"], old["model"]) == (str(tuned), "default")
    # With the occlusion recipe (the default, here with its fallback: imported folders have no evidence) the
    # worst class measured 90% (skewed; 100% on the README's 300 pairs and 14 epochs). At this size (127
    # training pairs, 24 validation pairs) the worst class moves by ±10 points with the seed, with or
    # without the recipe, so the floor is the shipped model's worst class well beaten.
    assert min(new["per_class"].values()) >= 0.9, new["per_class"]
    assert min(old["per_class"].values()) < 0.95
    assert min(new["per_class"].values()) >= min(old["per_class"].values()) + 0.15
    # Side by side, and the pairs on which they disagree as a figure sheet.
    assert "default" in r.stdout and "line-b.pt" in r.stdout
    assert (folder / "compare.disagreements.png").stat().st_size > 10_000
    card = json.loads(_ok(run("model", "info", tuned, "--json")).stdout)
    assert card["data"]["sha256"] == load_dataset(line_b["data"]).sha256  # the data it was tuned on
    assert card["parent"]["sha256"] == old["model_sha256"]  # and what it was tuned from
    assert card["train_config"]["occlusion"] == "evidence"  # a plant's data trains with the recipe too


def test_labels_given_in_the_review_view_become_a_dataset(line_b, qtbot, tmp_path):
    """A run of line-b's images with the shipped model, labelled in the review view by true class,
    then `dataset from-logs`: the labelled records, with their labels, are what the dataset holds."""
    pytest.importorskip("pytestqt")
    from PySide6 import QtCore

    from ui.review_view import ReviewView

    # One flat folder of pairs, as the line's cameras would write it; the key says the class (the truth
    # the engineer gives in the review view).
    shots = tmp_path / "shots"
    shots.mkdir()
    truth = {}
    for cls in ("correct", "missing", "skewed"):
        for cam1 in sorted((line_b["plant"] / cls).glob("*_cam1.png"))[:6]:
            key = f"{cls}-{cam1.name[: -len('_cam1.png')]}"
            shutil.copy(cam1, shots / f"{key}_cam1.png")
            shutil.copy(cam1.with_name(cam1.name.replace("_cam1", "_cam2")), shots / f"{key}_cam2.png")
            truth[key] = cls
    log = tmp_path / "line-b.h5"
    _ok(run("run", "--source", "folder", "--source-opt", f"path={shots}", "--source-opt", "raw=false",
            "--keep-all", "--curves", "none", "--out", log))
    with RecordReader(log) as reader:
        handed_out = [int(reader.record(i).frame_ids[0]) for i in range(len(reader))]
    # The folder source numbers the pairs it hands out in the natural order of their keys.
    keys = {i: sorted(truth, key=natural_key)[n] for i, n in enumerate(handed_out)}

    view = ReviewView()
    qtbot.addWidget(view)
    view.show()
    try:
        view.open_log(log)
        panel, unsure = view.label_panel, 0
        for record, key in keys.items():
            view.select_record(record)
            # The engineer's click on the record's true class; one record is left unsure (out of the dataset).
            button = panel.buttons["unsure"] if record == unsure else panel.class_buttons[truth[key]]
            qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    finally:
        view.shutdown()
    labels = LabelStore(log).current()
    assert len(labels) == len(keys) and labels[unsure].verdict == "unsure"

    data_path = tmp_path / "labelled.h5"
    r = _ok(run("dataset", "from-logs", log, "--out", data_path, "--quiet"))
    data = load_dataset(data_path)
    assert len(data.labels) == len(keys) - 1
    got = {int(o.rsplit("#", 1)[1]): data.classes[k] for o, k in zip(data.origin, data.labels)}
    assert got == {i: truth[k] for i, k in keys.items() if i != unsure}
    assert "unsure 1" in r.stdout
