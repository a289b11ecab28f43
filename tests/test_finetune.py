"""Fine-tuning (`inspector train --init`): starting from a checkpoint's weights, a new final layer for
other classes, and the refusals that come before any training."""

import numpy as np
import pytest
import torch

from cli_support import files, refused, run
from finetune_support import write_pairs
from inspector.model import load_model
from inspector.model.finetune import FINETUNE_LR, head_prefix, start_model
from inspector.dataset.store import load_dataset
from inspector.model.train import TrainConfig, train

FOUR = ["good", "empty", "tilted", "double"]
ONE_EPOCH = TrainConfig(epochs=1, batch=12, seed=5, device="cpu", patience=5, lr=FINETUNE_LR)


@pytest.fixture(scope="module")
def default():
    return load_model(None, "cpu")


@pytest.fixture(scope="module")
def same(tmp_path_factory):
    return write_pairs(tmp_path_factory.mktemp("same") / "same.h5", 36, seed=7)


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    return write_pairs(tmp_path_factory.mktemp("four") / "four.h5", 40, seed=8, classes=FOUR)


def _branch_key(state):
    return next(k for k in state if k.startswith("branches.0.stages.0.0.0.weight"))


def test_same_classes_start_from_every_weight_and_keep_the_normalisation(default, same):
    data = load_dataset(same)
    start = start_model(default, data, new_head=False)
    for (k, a), b in zip(default.state_dict().items(), start.state_dict().values()):
        assert torch.equal(a, b), k
    result = train(data, config=ONE_EPOCH, init=default)
    model = result.model
    assert model.classes == default.classes
    # the parent's normalisation, not the fine-tuning data's statistics
    torch.testing.assert_close(model.mean, default.mean)
    torch.testing.assert_close(model.std, default.std)
    key = _branch_key(model.state_dict())
    assert not torch.equal(model.state_dict()[key], default.state_dict()[key])  # it did train


def test_fine_tuning_is_deterministic_for_a_seed(default, same):
    data = load_dataset(same)
    a = train(data, config=ONE_EPOCH, init=default).model.state_dict()
    b = train(data, config=ONE_EPOCH, init=default).model.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    c = train(data, config=TrainConfig(**{**ONE_EPOCH.__dict__, "seed": 6}), init=default).model.state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_a_new_head_keeps_every_other_weight_of_the_parent(default, four):
    data = load_dataset(four)
    torch.manual_seed(0)
    start = start_model(default, data, new_head=True)
    prefix = head_prefix(start)
    assert prefix == "fusion.head."
    parent, state = default.state_dict(), start.state_dict()
    for k in state:
        if k.startswith(prefix):
            assert state[k].shape[0] == 4, k
        else:
            assert torch.equal(state[k], parent[k]), k
    assert start.classes == tuple(FOUR) and start.ok_class == "good"
    # the new head comes from the seed: the same seed draws the same layer
    torch.manual_seed(0)
    again = start_model(default, data, new_head=True).state_dict()
    assert torch.equal(again["fusion.head.weight"], state["fusion.head.weight"])
    result = train(data, config=ONE_EPOCH, init=default, new_head=True)
    assert result.model.classes == tuple(FOUR)
    probs = result.model(torch.rand(2, 3, 128, 128), torch.rand(2, 3, 128, 128))
    assert probs.shape == (2, 4)


def test_train_refuses_other_classes_without_a_new_head_before_training(default, four):
    from inspector.errors import InspectorError

    with pytest.raises(InspectorError, match="--new-head"):
        train(load_dataset(four), config=ONE_EPOCH, init=default)


# -- the command line ------------------------------------------------------------------------------------------
def test_cli_fine_tunes_with_a_new_head_and_the_card_says_so(four, tmp_path, default):
    out = tmp_path / "four.pt"
    r = run("train", "--data", four, "--init", "default", "--new-head", "--epochs", "1", "--batch", "16",
            "--out", out, "--quiet", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert "fine-tuning default" in r.stdout and "new final layer" in r.stdout and "peak lr 0.001" in r.stdout
    model = load_model(out, "cpu")
    assert model.classes == tuple(FOUR)
    card = model.meta["card"]
    assert card["parent"]["sha256"] == default.sha256
    assert card["parent"]["classes"] == list(default.classes)
    assert card["new_head"] is True
    assert card["train_config"]["lr"] == FINETUNE_LR
    assert card["data"]["pairs_per_class"] == {c: 10 for c in FOUR}


def test_cli_other_classes_without_new_head_is_one_line_and_writes_nothing(four, tmp_path):
    out = tmp_path / "m.pt"
    r = run("train", "--data", four, "--init", "default", "--epochs", "1", "--out", out)
    line = refused(r, four, "good, empty, tilted, double", "correct, missing, skewed", "--new-head", command="train")
    assert "epoch" not in r.stdout and "training" not in r.stdout, line
    assert files(tmp_path) == []


def test_cli_views_of_another_size_are_refused(tmp_path):
    small = write_pairs(tmp_path / "small.h5", 36, seed=9, size=2)
    r = run("train", "--data", small, "--init", "default", "--epochs", "1", "--out", tmp_path / "m.pt")
    refused(r, "64×64", "128×128", command="train")
    assert files(tmp_path) == ["small.h5"]


def test_cli_init_refusals(same, tmp_path):
    out = tmp_path / "m.pt"
    refused(run("train", "--data", same, "--init", tmp_path / "none.pt", "--out", out), "none.pt", "no such",
            command="train")
    (tmp_path / "text.pt").write_text("not a model\n")
    refused(run("train", "--data", same, "--init", tmp_path / "text.pt", "--out", out), "text.pt",
            "not a PyTorch checkpoint", command="train")
    refused(run("train", "--data", same, "--new-head", "--out", out), "--new-head", "--init", command="train")
    refused(run("train", "--data", same, "--init", "default", "--arch", "single-view", "--out", out),
            "mvfn", "single-view", command="train")
    assert files(tmp_path) == ["text.pt"]


def test_init_from_a_single_view_checkpoint_swaps_its_own_head(same, four, tmp_path):
    from inspector.model import ArchConfig, build_model

    model = build_model(ArchConfig(arch="single-view"))
    model.sha256 = "0" * 64
    data = load_dataset(four)
    torch.manual_seed(1)
    start = start_model(model, data, new_head=True)
    assert head_prefix(start) == "head."
    assert start.state_dict()["head.weight"].shape == (4, 64)
    w = next(k for k in start.state_dict() if k.startswith("branch"))
    assert torch.equal(start.state_dict()[w], model.state_dict()[w])
    assert np.isfinite(start(torch.rand(1, 3, 128, 128), torch.rand(1, 3, 128, 128)).detach().numpy()).all()
