"""Adebayo et al.'s model-randomisation sanity check: the numbers on the shipped model, the cascade, the
seeding, the model left untouched; the model card's line from `inspector train` and `study --sanity
--record`; and the refusals."""

import os
import shutil

import numpy as np
import pytest
import torch

from cli_support import refused, run
from finetune_support import write_pairs
from inspector import load_model
from inspector.evaluation.sanity import (
    RHO_THRESHOLD, cascade, randomisation_steps, rank_correlation, sanity_check, sign_test,
)
from inspector.model.checkpoint import DEFAULT_MODEL_PATH, read_checkpoint
from inspector.synth import generate


@pytest.fixture(scope="module")
def model():
    return load_model(None, "cpu")


@pytest.fixture(scope="module")
def pairs():
    samples = generate(3, seed=404, hidden_share=0.0)
    return np.stack([s.view1 for s in samples]), np.stack([s.view2 for s in samples])


@pytest.fixture(scope="module")
def checked(model, pairs):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = sanity_check(model, *pairs, seed=5)
    return result, before


def test_the_trained_maps_correlate_1_with_themselves_and_fall_once_randomised(checked):
    result, _ = checked
    assert result.steps == ("trained", "head", "fusion", "stage 4", "stage 3", "stage 2", "stage 1")
    assert result.correlation.shape == (7, 2, 4)
    assert np.allclose(result.correlation[0], 1.0)
    assert (result.correlation[-1] < 0.9).all()
    assert max(result.stage4_random) < RHO_THRESHOLD and result.maps_fall
    assert result.n_pairs == 3 and len(result.influence_random) == 3
    assert np.isfinite(result.m_random).all()
    d = result.to_dict()
    assert d["rank_correlation"]["camera 1"]["stage 4"][0] == pytest.approx(1.0)
    assert sum(d["random_m"]["influence_share"].values()) == pytest.approx(1.0)


def test_the_model_passed_in_is_not_modified(model, checked):
    _, before = checked
    after = model.state_dict()
    assert set(after) == set(before) and all(torch.equal(before[k], after[k]) for k in before)


def test_the_same_seed_gives_the_same_numbers(model, pairs, checked):
    result, _ = checked
    again = sanity_check(model, *pairs, seed=5)
    assert np.array_equal(again.correlation, result.correlation)
    assert np.array_equal(again.m_random, result.m_random)


def test_randomisation_is_cascading_and_seeded(model):
    steps = randomisation_steps(model)
    names = [n for n, _ in steps]
    trained = model.state_dict()

    def changed(state):  # per step, whether all of its parameters differ from the trained model's
        out = []
        for _, modules in steps:
            keys = [k for k in trained for m in modules
                    for n, mm in model.named_modules() if mm is m and k.startswith(n + ".") and "weight" in k]
            out.append(all(not torch.equal(state[k], trained[k]) for k in keys))
        return out

    seen = []
    for s, (name, randomised) in enumerate(cascade(model, 9), start=1):
        assert name == names[s - 1]
        state = randomised.state_dict()
        assert changed(state) == [True] * s + [False] * (len(steps) - s)
        seen.append({k: v.clone() for k, v in state.items()})
    again = [{k: v.clone() for k, v in r.state_dict().items()} for _, r in cascade(model, 9)]
    other = [r.state_dict()["fusion.head.weight"].clone() for _, r in cascade(model, 10)]
    assert all(torch.equal(a[k], b[k]) for a, b in zip(seen, again) for k in a)
    assert not torch.equal(other[0], seen[0]["fusion.head.weight"])


def test_rank_correlation_and_sign_test_on_known_values():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert rank_correlation(a, a) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    # Ties share their mean rank: ranks (0.5, 0.5, 2, 3) against (0, 1, 2, 3) → ρ = 0.9487.
    assert rank_correlation(np.array([0.0, 0.0, 1.0, 2.0]), np.arange(4.0)) == pytest.approx(0.948683, abs=1e-6)
    assert rank_correlation(np.zeros(4), np.arange(4.0)) == 0.0 and rank_correlation(np.zeros(4), np.ones(4)) == 1.0
    assert sign_test(0, 5) == pytest.approx(2 / 32) and sign_test(0, 6) == pytest.approx(2 / 64)
    assert sign_test(3, 3) == 1.0 and sign_test(0, 0) == 1.0 and sign_test(7, 2) == sign_test(2, 7)


# -- the command and the model card ---------------------------------------------------------------------------------
def test_train_writes_the_sanity_line_and_model_info_prints_it(tmp_path):
    import json

    data = write_pairs(tmp_path / "d.h5", 24, seed=3)
    r = run("train", "--data", data, "--out", tmp_path / "m.pt", "--epochs", "1", "--batch", "12", "--device",
            "cpu", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "sanity check (model card): " in r.stdout
    card = read_checkpoint(tmp_path / "m.pt")[0]["meta"]["card"]
    # A few of its own validation pairs: at most 6.
    assert card["sanity"]["pairs"] == min(6, card["validation"]["n"]) > 0 and card["sanity"]["seed"] == 0
    assert len(card["sanity"]["rho_random_per_stage"]) == 4
    info = run("model", "info", tmp_path / "m.pt")
    assert info.returncode == 0, info.stderr
    line = next(ln for ln in info.stdout.splitlines() if ln.startswith("sanity check"))
    assert ("passes" in line or "FAILS" in line) and f"{card['sanity']['pairs']} pairs, seed 0" in line
    as_json = json.loads(run("model", "info", tmp_path / "m.pt", "--json").stdout)
    assert as_json["sanity"] == card["sanity"]


def test_a_card_without_it_says_not_recorded():
    r = run("model", "info", "default")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("sanity check"))
    if "sanity" not in (read_checkpoint(DEFAULT_MODEL_PATH)[0]["meta"].get("card") or {}):
        assert line.split(None, 2)[2] == "not recorded"


def test_a_card_from_before_the_check_and_one_with_it():
    from inspector.model import ArchConfig
    from inspector.model.card import NOT_RECORDED, card_of, card_rows

    assert dict(card_rows(card_of({"seed": 1}, ArchConfig())))["sanity check"] == NOT_RECORDED
    stamped = {"passes": False, "pairs": 4, "seed": 2, "rho_random_per_stage": [0.1, 0.2, 0.3, 0.6],
               "rho_random_stage4": [0.6, 0.6], "threshold_rho_stage4": 0.5,
               "random_influence_share": {"camera 1": 0.75, "camera 2": 0.0, "equal": 0.25},
               "sign_test_p": 0.25, "alpha": 0.05}
    card = card_of({"seed": 1, "card": {"sanity": stamped}}, ArchConfig())
    assert card["seed"] == 1 and card["sanity"] == stamped  # an older card keeps its flat keys
    row = dict(card_rows(card))["sanity check"]
    assert row.startswith("FAILS") and "0.10/0.20/0.30/0.60" in row and "camera 1 75%" in row


def test_record_stamps_the_card_and_leaves_the_weights(tmp_path):
    path = tmp_path / "copy.pt"
    shutil.copy(DEFAULT_MODEL_PATH, path)
    before = read_checkpoint(path)[0]
    r = run("study", "--sanity", "--model", path, "--sanity-pairs", "2", "--record", "--device", "cpu", "--quiet",
            "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "recorded in" in r.stdout and (tmp_path / "out" / "sanity.png").stat().st_size > 5_000
    after = read_checkpoint(path)[0]
    assert after["meta"]["card"]["sanity"]["pairs"] == 2
    assert after["config"] == before["config"]
    assert all(torch.equal(before["state_dict"][k], after["state_dict"][k]) for k in before["state_dict"])
    info = run("model", "info", path)
    # The older checkpoint keeps what its flat keys say; the stamp adds the sanity line.
    assert "2 pairs, seed 2024" in info.stdout and "validation       not recorded" not in info.stdout


def test_bad_inputs_are_refused_in_one_line(tmp_path):
    text = tmp_path / "model.txt"
    text.write_text("not a model\n")
    refused(run("study", "--sanity", "--model", text), text, command="study")
    ro = tmp_path / "ro.pt"
    shutil.copy(DEFAULT_MODEL_PATH, ro)
    os.chmod(ro, 0o444)
    before = ro.read_bytes()
    refused(run("study", "--sanity", "--model", ro, "--record", "--sanity-pairs", "1"), ro, "read-only",
            command="study")
    assert ro.read_bytes() == before  # nothing written (root could have: the refusal is the command's own)
    refused(run("study", "--record", "--out", tmp_path / "o"), "--record", command="study")
    refused(run("study", "--per-class", "2"), "--out", command="study")
    refused(run("study", "--sanity", "--explainer", "rise"), "--explainer rise", command="study")
