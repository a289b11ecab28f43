"""`inspector dataset import`: class folders of image pairs into a dataset file that says where each pair came from."""

import json
import shutil

import numpy as np
import pytest

from cli_support import files, refused, run
from dataset_support import class_folders, pixels_equal, samples
from inspector.dataset.store import load_dataset, pair_sha256
from inspector.images import write_image


@pytest.fixture(scope="module")
def items():
    return samples(12, seed=3)


def test_import_counts_classes_and_traces_each_pair_to_its_files(tmp_path, items):
    paths = class_folders(tmp_path / "plant", items, days=2)
    out = tmp_path / "d.h5"
    r = run("dataset", "import", tmp_path / "plant", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}: 12 pairs of 128×128 views" in r.stdout
    assert "per class: correct (OK) 4, missing 4, skewed 4" in r.stdout
    assert "skipped 0, duplicates 0" in r.stdout
    data = load_dataset(out)
    assert data.classes == ("correct", "missing", "skewed") and data.ok_class == "correct"
    assert set(data.fields()) == {"origin", "source", "day"}
    for k, origin in enumerate(data.origin):
        i = next(i for i, (a, b) in paths.items() if origin == f"{a} + {b.name}")
        s = items[i]
        assert data.classes[data.labels[k]] == s.label
        assert data.source[k] == str(paths[i][0].parent)
        assert pixels_equal(data, k, s.view1, s.view2)
        assert data.sha256s[k] == pair_sha256(s.view1, s.view2)
        assert data.day[k] == ("2026-05-28" if i % 2 == 0 else "2026-05-29")
    assert files(tmp_path).count("d.h5") == 1 and not any(f.endswith(".partial") for f in files(tmp_path))


def test_import_keeps_pairs_in_natural_order_of_their_key(tmp_path, items):
    class_folders(tmp_path / "plant", items)
    out = tmp_path / "d.h5"
    assert run("dataset", "import", tmp_path / "plant", "--out", out, "--quiet").returncode == 0
    data = load_dataset(out)
    missing = [o.split("/")[-1].split("_")[0] for o, y in zip(data.origin, data.labels) if y == 1]
    assert missing == ["a1", "a4", "a7", "a10"]  # numbers, not text: a10 last


def test_bad_pairs_are_named_skipped_and_counted(tmp_path, items):
    paths = class_folders(tmp_path / "plant", items)
    paths[0][1].unlink()  # missing partner
    paths[1][0].write_bytes(b"not a png")  # unreadable
    write_image(paths[2][1], np.zeros((64, 64, 3), np.uint8))  # two images of one pair differ in size
    for i in (4, 5):  # a whole pair of another size
        write_image(paths[i][0], np.zeros((64, 64, 3), np.uint8))
        write_image(paths[i][1], np.zeros((64, 64, 3), np.uint8))
    out = tmp_path / "d.h5"
    r = run("dataset", "import", tmp_path / "plant", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("skipped: ") for line in lines), lines
    assert any(str(paths[0][0]) in line and "partner a0_cam2.png is missing" in line for line in lines)
    assert any(str(paths[1][0]) in line and "not a readable image" in line for line in lines)
    assert any(str(paths[2][0]) in line and "differ in size" in line for line in lines)
    assert sum(str(paths[i][0]) in line and "most pairs are 128×128" in line for line in lines for i in (4, 5)) == 2
    assert "7 pairs" in r.stdout and "skipped 5" in r.stdout
    assert len(load_dataset(out).labels) == 7


def test_many_bad_pairs_are_named_up_to_a_limit(tmp_path, items):
    class_folders(tmp_path / "plant", items)
    for i in range(30):
        write_image(tmp_path / "plant" / "missing" / f"lone{i}_cam1.png", items[0].view1)
    r = run("dataset", "import", tmp_path / "plant", "--out", tmp_path / "d.h5", "--quiet")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 21 and lines[-1] == "skipped: and 10 more"
    assert "skipped 30" in r.stdout


def test_a_class_folder_without_pairs_refuses_the_import(tmp_path, items):
    class_folders(tmp_path / "plant", items)
    shutil.rmtree(tmp_path / "plant" / "skewed")
    (tmp_path / "plant" / "skewed").mkdir()
    out = tmp_path / "d.h5"
    refused(run("dataset", "import", tmp_path / "plant", "--out", out, "--quiet"), tmp_path / "plant" / "skewed",
            "no image pairs", command="dataset import")
    assert not out.exists()


def test_a_class_whose_every_pair_is_unusable_refuses_the_import(tmp_path, items):
    paths = class_folders(tmp_path / "plant", items)
    for i, s in enumerate(items):
        if s.label == "skewed":
            paths[i][0].write_bytes(b"")
    r = run("dataset", "import", tmp_path / "plant", "--out", tmp_path / "d.h5", "--quiet")
    refused(r, tmp_path / "plant" / "skewed", "no usable image pairs", command="dataset import")
    assert not (tmp_path / "d.h5").exists()


def test_images_of_mixed_sizes_are_refused_naming_the_sizes(tmp_path, items):
    paths = class_folders(tmp_path / "plant", items)
    for i in range(6):
        for p in paths[i]:
            write_image(p, np.full((64, 96, 3), i, np.uint8))
    r = run("dataset", "import", tmp_path / "plant", "--out", tmp_path / "d.h5", "--quiet")
    refused(r, "mixed sizes", "128×128 (6 pairs)", "96×64 (6 pairs)", command="dataset import")
    assert not (tmp_path / "d.h5").exists()


def test_the_ok_class_must_be_a_folder(tmp_path, items):
    class_folders(tmp_path / "plant", items)
    r = run("dataset", "import", tmp_path / "plant", "--out", tmp_path / "d.h5", "--ok-class", "good", "--quiet")
    refused(r, "'good'", "correct, missing, skewed", command="dataset import")
    (tmp_path / "plant" / "correct").rename(tmp_path / "plant" / "good")
    r = run("dataset", "import", tmp_path / "plant", "--out", tmp_path / "d.h5", "--ok-class", "good", "--quiet")
    assert r.returncode == 0, r.stderr
    data = load_dataset(tmp_path / "d.h5")
    assert data.classes == ("good", "missing", "skewed") and data.ok_class == "good"


def test_identical_pairs_are_kept_once_and_counted(tmp_path, items):
    paths = class_folders(tmp_path / "plant", items)
    for k, p in enumerate(paths[0]):
        shutil.copy(p, tmp_path / "plant" / "correct" / f"copy_cam{k + 1}.png")
    r = run("dataset", "import", tmp_path / "plant", "--out", tmp_path / "d.h5", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "12 pairs" in r.stdout and "duplicates 1" in r.stdout
    data = load_dataset(tmp_path / "d.h5")
    assert len(set(data.sha256s)) == 12
    step = json.loads(json.dumps(data.history))[-1]
    assert step["command"] == "dataset import" and step["counts"]["duplicates"] == 1


def test_raw_images_are_mapped_through_the_rig(tmp_path, items):
    from calibration import DEFAULT_RIG_PATH

    paths = class_folders(tmp_path / "plant", items, raw=True)
    write_image(paths[3][0], np.zeros((100, 120, 3), np.uint8))
    write_image(paths[3][1], np.zeros((100, 120, 3), np.uint8))
    out = tmp_path / "d.h5"
    r = run("dataset", "import", tmp_path / "plant", "--out", out, "--rig", DEFAULT_RIG_PATH, "--quiet")
    assert r.returncode == 0, r.stderr
    assert str(paths[3][0]) in r.stderr and "120×100" in r.stderr
    data = load_dataset(out)
    assert len(data.labels) == 11 and data.view1.shape[1:] == (128, 128, 3)
    k = next(k for k, o in enumerate(data.origin) if o.startswith(str(paths[0][0])))
    # the rig's mapping of the raw images is the simulated line's own view, up to interpolation
    assert np.abs(data.view1[k].astype(int) - items[0].view1.astype(int)).mean() < 8
    assert any(inp.get("role") == "rig" for inp in data.history[-1]["inputs"])


def test_import_refuses_an_existing_output_and_bad_patterns(tmp_path, items):
    class_folders(tmp_path / "plant", items[:6])
    out = tmp_path / "d.h5"
    out.write_bytes(b"old")
    refused(run("dataset", "import", tmp_path / "plant", "--out", out, "--quiet"), out, "already exists",
            command="dataset import")
    assert out.read_bytes() == b"old"
    refused(run("dataset", "import", tmp_path / "plant", "--out", tmp_path / "e.h5", "--cam1", "*_*.png"),
            "--cam1", "exactly one '*'", command="dataset import")
    refused(run("dataset", "import", tmp_path / "nowhere", "--out", tmp_path / "e.h5"), tmp_path / "nowhere",
            "no such folder", command="dataset import")
