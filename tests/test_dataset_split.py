"""`inspector dataset merge|split|info`, and the files they make train."""

import json

import numpy as np
import pytest

from cli_support import files, refused, run
from dataset_support import class_folders, samples
from inspector.dataset.store import DatasetPairs, load_dataset, write_dataset_file


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    """12 pairs imported from class folders, dated over four days (each day one pair of each class)."""
    root = tmp_path_factory.mktemp("plant")
    class_folders(root / "line1", samples(12, seed=3), days=4)
    out = root / "d.h5"
    r = run("dataset", "import", root / "line1", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    return out


def _split(data, tmp_path, *extra):
    train, test = tmp_path / "train.h5", tmp_path / "test.h5"
    r = run("dataset", "split", data, "--train", train, "--test", test, "--quiet", *extra)
    assert r.returncode == 0, r.stderr
    return r, load_dataset(train), load_dataset(test)


def test_split_is_stratified_and_seeded(plant, tmp_path):
    r, train, test = _split(plant, tmp_path, "--test-share", "0.25", "--seed", "4")
    assert np.bincount(train.labels).tolist() == [3, 3, 3] and np.bincount(test.labels).tolist() == [1, 1, 1]
    assert "per class: correct (OK) 1, missing 1, skewed 1" in r.stdout
    assert not set(train.sha256s) & set(test.sha256s)
    assert set(train.origin) | set(test.origin) == set(load_dataset(plant).origin)
    again = tmp_path / "again"
    again.mkdir()
    _, train2, test2 = _split(plant, again, "--test-share", "0.25", "--seed", "4")
    assert list(test2.origin) == list(test.origin)
    other = tmp_path / "other"
    other.mkdir()
    splits = set()
    for s in range(4):
        (other / str(s)).mkdir()
        splits.add(tuple(_split(plant, other / str(s), "--test-share", "0.25", "--seed", s)[2].origin))
    assert len(splits) > 1  # the seed decides
    assert test.history[-1]["command"] == "dataset split" and test.history[-1]["side"] == "test"
    assert test.history[0]["command"] == "dataset import"


def test_split_by_day_keeps_every_day_on_one_side(plant, tmp_path):
    r, train, test = _split(plant, tmp_path, "--test-share", "0.25", "--by", "day")
    assert not set(train.day) & set(test.day)
    assert len(set(test.day)) == 1 and len(set(train.day)) == 3
    assert np.bincount(test.labels, minlength=3).tolist() == [1, 1, 1]
    assert "whole groups by day" in r.stdout and "3 groups" in r.stdout


def test_split_by_a_field_that_is_not_there_names_the_fields_there_are(plant, tmp_path):
    r = run("dataset", "split", plant, "--train", tmp_path / "t.h5", "--test", tmp_path / "v.h5", "--by", "camera")
    refused(r, "'camera'", "origin, source, day", command="dataset split")
    assert files(tmp_path) == []


def test_split_by_source_refuses_a_class_in_one_source(plant, tmp_path):
    r = run("dataset", "split", plant, "--train", tmp_path / "t.h5", "--test", tmp_path / "v.h5", "--by", "source")
    refused(r, "class 'correct'", "one source", command="dataset split")
    assert files(tmp_path) == []


def test_split_refuses_existing_outputs_unless_overwrite(plant, tmp_path):
    (tmp_path / "t.h5").write_bytes(b"old")
    r = run("dataset", "split", plant, "--train", tmp_path / "t.h5", "--test", tmp_path / "v.h5", "--quiet")
    refused(r, tmp_path / "t.h5", "already exists", command="dataset split")
    assert files(tmp_path) == ["t.h5"]
    r = run("dataset", "split", plant, "--train", tmp_path / "t.h5", "--test", tmp_path / "v.h5", "--overwrite",
            "--quiet")
    assert r.returncode == 0 and len(load_dataset(tmp_path / "t.h5").labels) == 9


def test_merge_keeps_identical_pairs_once_and_every_provenance(tmp_path):
    items = samples(12, seed=5)
    class_folders(tmp_path / "line1", items[:8])
    class_folders(tmp_path / "line2", items[4:], prefix="b")
    for name in ("line1", "line2"):
        r = run("dataset", "import", tmp_path / name, "--out", tmp_path / f"{name}.h5", "--quiet")
        assert r.returncode == 0, r.stderr
    out = tmp_path / "all.h5"
    r = run("dataset", "merge", tmp_path / "line1.h5", tmp_path / "line2.h5", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert "merged 2 files, 16 pairs" in r.stdout and f"wrote {out}: 12 pairs" in r.stdout
    assert "duplicates 4" in r.stdout
    data = load_dataset(out)
    assert len(set(data.sha256s)) == 12
    assert sum(s.startswith(str(tmp_path / "line2")) for s in data.source) == 4  # the pairs only line2 had
    step = data.history[-1]
    assert step["command"] == "dataset merge" and [i["history"][0]["command"] for i in step["inputs"]] == [
        "dataset import", "dataset import"]

    r = run("dataset", "info", out)
    assert r.returncode == 0, r.stderr
    assert "classes: correct, missing, skewed (OK class: correct)" in r.stdout
    assert "pairs: 12, views 128×128" in r.stdout and "per class: correct 4, missing 4, skewed 4" in r.stdout
    assert f"{tmp_path / 'line1' / 'missing'}: 3 (missing 3)" in r.stdout
    assert "dataset merge" in r.stdout and "dataset import" in r.stdout and str(tmp_path / "line2.h5") in r.stdout
    info = json.loads(run("dataset", "info", out, "--json").stdout)
    assert info["pairs"] == 12 and info["per_source"][str(tmp_path / "line2" / "correct")]["pairs"] == 1
    assert info["duplicates"] == 0 and info["software"].startswith("inspector ")


def test_merge_refuses_a_file_of_other_classes_or_view_size(plant, tmp_path):
    data = load_dataset(plant)
    pairs = DatasetPairs.of(data, [])
    small = pairs.take(np.arange(4), [])
    small.view1, small.view2 = small.view1[:, :64, :64], small.view2[:, :64, :64]
    write_dataset_file(tmp_path / "small.h5", small)
    refused(run("dataset", "merge", plant, tmp_path / "small.h5", "--out", tmp_path / "m.h5", "--quiet"),
            tmp_path / "small.h5", "64×64", command="dataset merge")
    other = pairs.take(np.flatnonzero(data.labels < 2), [])
    other.classes = ("good", "bad")
    other.ok_class = "good"
    write_dataset_file(tmp_path / "other.h5", other)
    refused(run("dataset", "merge", plant, tmp_path / "other.h5", "--out", tmp_path / "m.h5", "--quiet"),
            tmp_path / "other.h5", "classes", command="dataset merge")
    assert not (tmp_path / "m.h5").exists()


def test_a_simulated_dataset_reads_and_merges_with_an_imported_one(plant, tmp_path):
    from inspector.synth.dataset import write_dataset

    write_dataset(tmp_path / "sim.h5", 6, seed=1)
    sim = load_dataset(tmp_path / "sim.h5")
    assert list(sim.origin[:2]) == ["sim.h5#0", "sim.h5#1"] and set(sim.source) == {"sim.h5"}
    assert "evidence" in sim.fields()
    r = run("dataset", "merge", plant, tmp_path / "sim.h5", "--out", tmp_path / "m.h5", "--quiet")
    assert r.returncode == 0, r.stderr
    merged = load_dataset(tmp_path / "m.h5")
    assert len(merged.labels) == 18 and merged.evidence is None  # the imported pairs had none


def test_an_interrupted_write_leaves_nothing(plant, tmp_path):
    pairs = DatasetPairs.of(load_dataset(plant), [])

    def stop(n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dataset_file(tmp_path / "d.h5", pairs, progress=stop)
    assert files(tmp_path) == []


def test_an_imported_dataset_trains(plant, tmp_path):
    from inspector.model.train import TrainConfig, train

    _, data, _ = _split(plant, tmp_path, "--test-share", "0.25")
    result = train(data, config=TrainConfig(epochs=1, batch=9, device="cpu", val_split=0.34))
    assert result.model.classes == ("correct", "missing", "skewed") and result.model.ok_class == "correct"
    assert len(result.history) == 1 and np.isfinite(result.history[0]["train_loss"])


def test_groups_of_uneven_sizes_stay_whole_and_each_class_gets_near_its_share():
    from inspector.dataset.combine import split_indices
    from inspector.dataset.store import Dataset

    rng = np.random.default_rng(0)
    days = np.repeat([f"2026-01-{d:02d}" for d in range(1, 21)], rng.integers(1, 15, 20))
    labels = rng.integers(0, 3, len(days))
    n = len(days)
    views = np.zeros((n, 2, 2, 3), np.uint8)
    data = Dataset(views, views, labels, ("correct", "missing", "skewed"), None, "", "d.h5", "correct",
                   origin=np.array([f"d.h5#{i}" for i in range(n)]), source=np.full(n, "d.h5"), day=days,
                   sha256s=np.array([str(i) for i in range(n)]))
    for seed in range(5):
        split = split_indices(data, 0.3, seed, "day")
        assert not set(days[split.train]) & set(days[split.test])
        assert sorted(np.concatenate([split.train, split.test]).tolist()) == list(range(n))
        for k in range(3):
            share = np.mean(labels[split.test] == k) * len(split.test) / np.sum(labels == k)
            assert 0.15 < share < 0.45, (seed, k, share)
    assert not np.array_equal(split_indices(data, 0.3, 0, "day").test, split_indices(data, 0.3, 1, "day").test)
    assert np.array_equal(split_indices(data, 0.3, 2, "day").test, split_indices(data, 0.3, 2, "day").test)
