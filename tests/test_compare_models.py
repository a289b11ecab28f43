"""`inspector evaluate --compare`: two models side by side, influence agreement where the data has evidence,
the disagreement sheet, --json, and the refusals that come before any work."""

import json

import numpy as np
import pytest
from PIL import Image

from cli_support import files, refused, run
from finetune_support import write_pairs
from inspector.evaluation.model_compare import compare_models, explain_sample
from inspector.model import load_model
from inspector.dataset.store import load_dataset
from inspector.model.train import TrainConfig, save_trained, train


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("compare")


@pytest.fixture(scope="module")
def test_data(folder):
    # hidden_share: a good part of the pairs only one camera can see, for the influence agreement
    return write_pairs(folder / "test.h5", 24, seed=31, hidden_share=0.5)


@pytest.fixture(scope="module")
def poor(folder):
    """A deliberately poor model: one epoch from scratch on 24 pairs; it disagrees with the default."""
    data = load_dataset(write_pairs(folder / "few.h5", 24, seed=32))
    config = TrainConfig(epochs=1, batch=12, seed=1, device="cpu")
    path = folder / "poor.pt"
    save_trained(train(data, config=config), data, config, path)
    return path


def test_explain_sample_is_deterministic_and_one_camera_only():
    evidence = np.array(["both", "camera 1", "none", "camera 2"] * 50)
    a = explain_sample(evidence, 20)
    assert len(a) == 20 and np.all(np.diff(a) > 0)
    assert set(evidence[a]) <= {"camera 1", "camera 2"}
    assert np.array_equal(a, explain_sample(evidence, 20))
    assert len(explain_sample(evidence, 1000)) == 100
    assert len(explain_sample(None, 10)) == 0 and len(explain_sample(evidence, 0)) == 0


def test_compare_models_reports_both_and_the_disagreements(test_data, poor):
    data = load_dataset(test_data)
    default, other = load_model(None, "cpu"), load_model(poor, "cpu")
    c = compare_models([("default", default), ("poor.pt", other)], data, explain_max=4, device="cpu")
    a, b = c.sides
    assert a.report.accuracy > b.report.accuracy
    assert np.array_equal(c.disagreements, np.flatnonzero(a.probs.argmax(1) != b.probs.argmax(1)))
    assert len(c.disagreements) > 0
    assert len(c.explained) == 4 and set(data.evidence[c.explained]) <= {"camera 1", "camera 2"}
    for side in c.sides:
        assert side.agreement["n"] == 4 and 0.0 <= side.agreement["share"] <= 1.0
        assert sum(d["n"] for d in side.agreement["per_camera"].values()) == 4
    text = c.format()
    assert "A: default" in text and "B: poor.pt" in text and "influence agreement" in text
    assert f"disagree on {len(c.disagreements)} of 24 pairs" in text


def test_cli_compare_prints_both_writes_the_sheet_and_json(test_data, poor, tmp_path):
    out = tmp_path / "cmp.json"
    r = run("evaluate", "--data", test_data, "--compare", poor, "--json", out, "--explain-max", "3",
            "--device", "cpu", "--quiet")
    assert r.returncode == 0, r.stderr
    sheet = tmp_path / "cmp.disagreements.png"
    assert f"wrote {sheet}" in r.stdout
    assert "A: default" in r.stdout and f"B: {poor}" in r.stdout
    assert r.stdout.count("confusion") == 1 and " | " in r.stdout
    doc = json.loads(out.read_text())
    assert [m["model"] for m in doc["models"]] == ["default", str(poor)]
    assert doc["models"][0]["model_sha256"] == load_model(None, "cpu").sha256
    for m in doc["models"]:
        assert set(m["per_class"]) == {"correct", "missing", "skewed"}
        assert len(m["confusion"]) == 3 and m["influence_agreement"]["n"] == 3
    assert doc["disagreements"] and doc["sheet"] == str(sheet)
    assert len(doc["explained_pairs"]) == 3
    with Image.open(sheet) as im:
        assert im.format == "PNG" and im.width > 300
    # the sheet exists now: refused before any work without --overwrite, and nothing changes
    again = run("evaluate", "--data", test_data, "--compare", poor, "--sheet", sheet, "--explain-max", "0")
    refused(again, sheet, "--overwrite", command="evaluate")
    assert sorted(files(tmp_path)) == ["cmp.disagreements.png", "cmp.json"]


def test_cli_models_that_agree_write_no_sheet(test_data, tmp_path):
    r = run("evaluate", "--data", test_data, "--model", "default", "--compare", "default", "--explain-max", "0",
            "--device", "cpu", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "agree on every pair; no sheet written" in r.stdout
    assert files(tmp_path) == []


def test_cli_compare_refuses_a_model_of_other_classes(tmp_path):
    four = write_pairs(tmp_path / "four.h5", 8, seed=3, classes=["a", "b", "c", "d"])
    r = run("evaluate", "--data", four, "--compare", "default", "--model", "default", cwd=tmp_path)
    refused(r, "model default", "a, b, c, d", "correct, missing, skewed", command="evaluate")
    assert files(tmp_path) == ["four.h5"]


def test_cli_compare_refusals(test_data, tmp_path):
    refused(run("evaluate", "--data", test_data, "--compare", tmp_path / "none.pt", cwd=tmp_path), "none.pt",
            command="evaluate")
    refused(run("evaluate", "--data", test_data, "--sheet", tmp_path / "s.png"), "--sheet", "--compare",
            command="evaluate")
    refused(run("evaluate", "--data", test_data, "--compare", "default", "--sheet", tmp_path / "s.xyz"), "s.xyz",
            command="evaluate")
    r = run("evaluate", "--data", test_data, "--compare", "default", "--explain-max", "-1")
    assert r.returncode == 2 and "--explain-max" in r.stderr and "Traceback" not in r.stderr
    assert files(tmp_path) == []


def test_sheet_counts_the_tiles_it_leaves_out():
    from inspector.evaluation.disagreement_sheet import disagreement_figure
    from inspector.evaluation.model_compare import ModelComparison, ModelSide
    from inspector.model.evaluate import accuracy_report

    classes, labels = ("ok", "bad"), np.array([0, 1, 0, 1, 0])
    pa = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6], [0.6, 0.4]])
    pb = pa[:, ::-1].copy()
    sides = [ModelSide(n, "0" * 64, p, accuracy_report(labels, p.argmax(1), classes)) for n, p in (("a", pa), ("b", pb))]
    c = ModelComparison(classes, labels, sides)
    views = np.zeros((5, 16, 16, 3), np.uint8)
    fig = disagreement_figure(c, views, views, max_tiles=2)
    assert "5 of 5 pairs" in fig._suptitle.get_text() and "3 more not shown" in fig._suptitle.get_text()
    assert len(fig.axes) == 2
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["A: ok 90%", "B: bad 90%"]
