"""Model cards: what `inspector train` records in a checkpoint, what `inspector model info` prints for it,
for the shipped default and for older checkpoints, and the card in the review's provenance pane."""

import json

import numpy as np
import pytest
import torch

from cli_support import refused, run
from finetune_support import write_pairs
from inspector.model import ArchConfig, build_model, load_model, save_checkpoint
from inspector.model.card import NOT_RECORDED, card_of, card_rows, format_card, model_card
from inspector.model.finetune import parent_of
from inspector.dataset.store import load_dataset
from inspector.model.train import TrainConfig, save_trained, train
from inspector.synth import CLASSES


@pytest.fixture(scope="module")
def default():
    return load_model(None, "cpu")


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, default):
    """A 1-epoch fine-tune of the default, saved as `inspector train --init default` saves it."""
    folder = tmp_path_factory.mktemp("card")
    data = load_dataset(write_pairs(folder / "line-b.h5", 36, seed=11))
    config = TrainConfig(epochs=1, batch=12, seed=2, device="cpu", lr=1e-3)
    result = train(data, config=config, init=default)
    path = folder / "tuned.pt"
    save_trained(result, data, config, path, parent=parent_of(default, None))
    return path, data


def test_the_card_of_a_fine_tuned_checkpoint(tuned, default):
    path, data = tuned
    card = model_card(load_model(path, "cpu"))
    assert card["parent"] == {"file": "default.pt", "sha256": default.sha256, "classes": list(CLASSES)}
    assert card["new_head"] is False
    counts = np.bincount(data.labels, minlength=3)
    assert card["data"] == {"file": "line-b.h5", "sha256": data.sha256, "pairs": 36,
                            "pairs_per_class": {c: int(n) for c, n in zip(CLASSES, counts)}}
    assert card["classes"] == list(CLASSES) and card["ok_class"] == "correct"
    val = card["validation"]
    assert set(val["per_class"]) == set(CLASSES)
    assert sum(map(sum, val["confusion"])) == val["n"] > 0
    assert 0.0 <= val["accuracy"] <= 1.0
    assert card["seed"] == 2 and card["train_config"]["epochs"] == 1
    assert card["model_sha256"] == load_model(path, "cpu").sha256


def test_model_info_prints_the_parent_and_the_counts(tuned, default):
    path, data = tuned
    r = run("model", "info", path)
    assert r.returncode == 0, r.stderr
    counts = np.bincount(data.labels, minlength=3)
    assert f"default.pt (sha256 {default.sha256}" in r.stdout
    assert ", ".join(f"{c} {n}" for c, n in zip(CLASSES, counts)) + " (36 in all)" in r.stdout
    assert data.sha256 in r.stdout
    # Saved through the library, not `inspector train`: only the sanity check (which the command adds) is missing.
    missing = [ln for ln in r.stdout.splitlines() if "not recorded" in ln]
    assert [ln.split()[:2] for ln in missing] == [["sanity", "check"]]
    j = run("model", "info", path, "--json")
    assert j.returncode == 0, j.stderr
    card = json.loads(j.stdout)
    assert card["parent"]["sha256"] == default.sha256
    assert card["data"]["pairs_per_class"] == {c: int(n) for c, n in zip(CLASSES, counts)}


def test_model_info_of_the_shipped_default(default):
    r = run("model", "info", "default")
    assert r.returncode == 0, r.stderr
    assert default.sha256 in r.stdout
    assert "correct, missing, skewed" in r.stdout
    # Fine-tuned with the occlusion recipe from the model shipped before it (README "Training for faithful
    # influence"), which was made before cards.
    assert "parent           default.pt (sha256 c2719552af9d4bd44fc8a6fbd36a286497564f0bdef5659f60a471c4f324efd0" in r.stdout
    assert "occlusion evidence" in r.stdout
    assert "pairs per class  correct 800, missing 800, skewed 800 (2400 in all)" in r.stdout
    assert "accuracy 100.00%" in r.stdout


def test_a_checkpoint_with_no_meta_at_all_says_not_recorded(tmp_path):
    model = build_model(ArchConfig(classes=("ok", "bad"), ok_class="ok"))
    path = tmp_path / "bare.pt"
    save_checkpoint(model, path, {})
    card = model_card(load_model(path, "cpu"))
    assert card["classes"] == ["ok", "bad"] and card["ok_class"] == "ok"  # from the architecture
    for key in ("software", "created", "validation", "seed", "parent", "new_head"):
        assert card[key] == NOT_RECORDED, key
    assert set(card["data"].values()) == {NOT_RECORDED}  # the same keys as a full card's, for --json readers
    text = format_card(card)
    assert "validation       not recorded" in text and "classes          ok, bad" in text
    r = run("model", "info", path)
    assert r.returncode == 0, r.stderr
    assert "parent           not recorded" in r.stdout


def test_a_model_trained_from_scratch_has_no_parent(tmp_path):
    data = load_dataset(write_pairs(tmp_path / "d.h5", 24, seed=3))
    config = TrainConfig(epochs=1, batch=12, seed=1, device="cpu")
    result = train(data, config=config)
    save_trained(result, data, config, tmp_path / "s.pt")
    card = model_card(load_model(tmp_path / "s.pt", "cpu"))
    assert card["parent"] == "none" and card["new_head"] is False
    assert dict(card_rows(card))["parent"] == "none (trained from scratch)"


def test_card_of_fills_what_an_older_meta_lacks():
    card = card_of({"software": "inspector 0.0.9", "seed": 4}, ArchConfig())
    assert card["software"] == "inspector 0.0.9" and card["seed"] == 4
    assert card["data"]["pairs_per_class"] == NOT_RECORDED
    assert card["model_sha256"] == NOT_RECORDED


@pytest.mark.parametrize("name", ["missing.pt", "text.pt", "folder"])
def test_model_info_refuses_what_is_not_a_checkpoint(tmp_path, name):
    (tmp_path / "text.pt").write_text("a text file\n")
    (tmp_path / "folder").mkdir()
    r = run("model", "info", tmp_path / name)
    refused(r, tmp_path / name, command="model info")
    assert r.stdout == ""


def test_model_needs_a_subcommand():
    r = run("model")
    assert r.returncode == 2 and "MODEL_COMMAND" in r.stderr and "Traceback" not in r.stderr


# -- the review's provenance pane --------------------------------------------------------------------------------
def test_provenance_pane_shows_the_card_of_the_model_that_made_the_log(qtbot, default):
    from ui.record_detail import RecordDetail, provenance_card

    pane = RecordDetail()
    qtbot.addWidget(pane)
    card, title = provenance_card(default, {"model_sha256": default.sha256, "software": "inspector 0.1.0"})
    pane.show_provenance({"model_sha256": default.sha256}, "line.h5", 3, card, title)
    assert pane.card_title == "model card of the model that made this log"
    assert pane.card_rows["model sha256"] == default.sha256
    assert pane.card_rows["classes"] == "correct, missing, skewed"
    assert "model card of the model that made this log" in pane.provenance.text()
    assert pane.provenance_rows["model"] == default.sha256


def test_provenance_pane_says_when_the_card_is_the_current_models(qtbot, default, tuned):
    from ui.record_detail import RecordDetail, provenance_card

    current = load_model(tuned[0], "cpu")
    pane = RecordDetail()
    qtbot.addWidget(pane)
    card, title = provenance_card(current, {"model_sha256": default.sha256})
    pane.show_provenance({"model_sha256": default.sha256}, "line.h5", 3, card, title)
    assert "current model" in pane.card_title and default.sha256[:12] in pane.card_title
    assert pane.card_rows["model sha256"] == current.sha256
    assert pane.card_rows["parent"].startswith("default.pt")
    pane.show_provenance({}, "line.h5", 0)  # no model: no card
    assert pane.card_rows == {} and "model card" not in pane.provenance.text()
    torch.testing.assert_close(current.mean, default.mean)
