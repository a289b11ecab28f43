import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import inspector
from inspector.model import DEFAULT_MODEL_PATH, MVFN, ArchConfig, ModelError, SingleViewNet, load_model, save_checkpoint
from inspector.model.evaluate import accuracy_report, predict
from inspector.dataset.store import load_dataset
from inspector.model.train import TrainConfig, augment, augment_pose, class_weights, train
from inspector.synth.dataset import write_dataset

STAGE_SHAPES = [(8, 64, 64), (16, 32, 32), (32, 16, 16), (64, 8, 8)]


def _capture(model, x1, x2):
    """Outputs of every cam layer, per view, via forward hooks (handles removed afterwards)."""
    seen, handles = [[], []], []
    layers = model.cam_layers()
    if layers[0] and layers[0][0] is layers[1][0]:
        # Shared branch: the same module runs twice; calls alternate view by view.
        calls = []
        handles = [m.register_forward_hook(lambda m, i, o: calls.append(o)) for m in layers[0]]
        model(x1, x2)
        for h in handles:
            h.remove()
        return [calls[:4], calls[4:]]
    for v in (0, 1):
        for m in layers[v]:
            handles.append(m.register_forward_hook(lambda m, i, o, v=v: seen[v].append(o)))
    try:
        model(x1, x2)
    finally:
        for h in handles:
            h.remove()
    return seen


def test_cam_layers_give_four_stages_per_view():
    model = MVFN().eval()
    x1, x2 = torch.rand(2, 3, 128, 128), torch.rand(2, 3, 128, 128)
    layers = model.cam_layers()
    assert len(layers) == 2 and all(len(v) == 4 for v in layers)
    assert all(a is not b for a, b in zip(*layers))  # separate branches by default
    outs = _capture(model, x1, x2)
    for v in (0, 1):
        assert [tuple(o.shape[1:]) for o in outs[v]] == STAGE_SHAPES
    assert all(len(m._forward_hooks) == 0 for v in layers for m in v)


def test_shared_branches_option():
    model = MVFN(ArchConfig(shared_branches=True)).eval()
    a, b = model.cam_layers()
    assert all(x is y for x, y in zip(a, b))
    outs = _capture(model, torch.rand(1, 3, 128, 128), torch.rand(1, 3, 128, 128))
    assert [tuple(o.shape[1:]) for o in outs[1]] == STAGE_SHAPES


def test_forward_is_encode_then_fuse():
    model = MVFN().eval()
    x1, x2 = torch.rand(3, 3, 128, 128), torch.rand(3, 3, 128, 128)
    with torch.no_grad():
        direct = model(x1, x2)
        composed = model.fuse(model.encode(0, x1), model.encode(1, x2))
    torch.testing.assert_close(direct, composed, rtol=0, atol=0)
    assert direct.shape == (3, 3)


def test_gradients_reach_every_cam_activation():
    # Nothing in place may break a gradient hook on the activations Grad-CAM reads.
    model = MVFN().eval()
    grads = {}
    acts = _capture_with_grad(model, torch.rand(1, 3, 128, 128), torch.rand(1, 3, 128, 128), grads)
    assert len(grads) == 8
    for key, g in grads.items():
        assert g.shape == acts[key].shape and torch.isfinite(g).all()


def _capture_with_grad(model, x1, x2, grads):
    acts, handles = {}, []
    for v in (0, 1):
        for j, m in enumerate(model.cam_layers()[v]):
            def hook(m, i, o, key=(v, j)):
                acts[key] = o
                o.register_hook(lambda g, key=key: grads.__setitem__(key, g))
            handles.append(m.register_forward_hook(hook))
    try:
        logits = model(x1, x2)
        logits[0, 2].backward()
    finally:
        for h in handles:
            h.remove()
    return acts


def test_single_view_baseline_ignores_the_other_view():
    model = SingleViewNet(ArchConfig(arch="single-view", view=1)).eval()
    x = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        a = model(torch.rand(2, 3, 128, 128), x)
        b = model(torch.zeros(2, 3, 128, 128), x)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert model.cam_layers()[0] == [] and len(model.cam_layers()[1]) == 4


def test_pose_augmentation_is_shared_and_camera_augmentation_is_not():
    x = torch.rand(8, 3, 32, 32)
    rng = np.random.default_rng(0)
    a, b = augment_pose(x.clone(), x.clone(), rng, 4)
    torch.testing.assert_close(a, b, rtol=0, atol=0)  # one cavity pose for both views
    assert not torch.equal(a, x)
    c, d = augment(x.clone(), x.clone(), np.random.default_rng(1), 4)
    assert (c - d).abs().mean() > 1e-3  # each camera its own gain and noise


def test_class_weights_lift_a_rare_class():
    w = class_weights(np.array([0] * 80 + [1] * 15 + [2] * 5), 3)
    assert w[2] > w[1] > w[0]
    assert float(w.mean()) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tiny.h5"
    write_dataset(path, 36, seed=7, hidden_share=0.3)
    return load_dataset(path)


@pytest.fixture(scope="module")
def tiny_run(tiny_data):
    return train(tiny_data, config=TrainConfig(epochs=2, batch=12, seed=3, device="cpu", patience=5))


def test_training_is_deterministic_for_a_seed(tiny_data, tiny_run):
    again = train(tiny_data, config=TrainConfig(epochs=2, batch=12, seed=3, device="cpu", patience=5))
    for (k, a), b in zip(tiny_run.model.state_dict().items(), again.model.state_dict().values()):
        assert torch.equal(a, b), k
    assert tiny_run.history == again.history
    other = train(tiny_data, config=TrainConfig(epochs=1, batch=12, seed=4, device="cpu", patience=5))
    first = next(iter(other.model.state_dict().values()))
    assert not torch.equal(first, next(iter(tiny_run.model.state_dict().values())))


def test_checkpoint_round_trip_carries_metadata(tiny_data, tiny_run, tmp_path):
    from inspector.model.train import checkpoint_meta

    path = tmp_path / "m.pt"
    sha = save_checkpoint(tiny_run.model, path, checkpoint_meta(tiny_run, tiny_data, TrainConfig(seed=3)))
    model = load_model(path, "cpu")
    assert not model.training
    assert model.sha256 == sha == hashlib.sha256(path.read_bytes()).hexdigest()
    assert model.classes == ("correct", "missing", "skewed")
    assert model.meta["train_data_sha256"] == tiny_data.sha256
    assert model.meta["seed"] == 3
    assert model.meta["software"].startswith("inspector ")
    assert set(model.meta["val_metrics"]["per_class"]) == set(model.classes)
    assert tuple(model.config.input_size) == (128, 128)
    torch.testing.assert_close(model.mean, tiny_run.model.mean)
    x = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        torch.testing.assert_close(model(x, x), tiny_run.model.eval()(x, x))


# -- refusals ---------------------------------------------------------------------------------


class _Planted:
    """Unpickling this would create a file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("legacy", [False, True])
def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path, legacy):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pt"
    doc = {"format": "inspector-model", "format_version": 1, "payload": _Planted(marker)}
    if legacy:
        path.write_bytes(pickle.dumps(doc))
    else:
        torch.save(doc, path)
    # The plant is real: an unsafe load would run it.
    pickle.loads(pickle.dumps(_Planted(tmp_path / "control")))
    assert (tmp_path / "control").exists()
    with pytest.raises(ModelError, match=r"evil\.pt: .*(would run code|not a PyTorch checkpoint)"):
        load_model(path, "cpu")
    assert not marker.exists()


def test_missing_and_non_checkpoint_files(tmp_path):
    with pytest.raises(ModelError, match=r"nope\.pt: no such model file"):
        load_model(tmp_path / "nope.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(ModelError, match=r"junk\.pt: not a PyTorch checkpoint"):
        load_model(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ModelError, match=r"other\.pt: a PyTorch file, but not an inspector model checkpoint"):
        load_model(other)


def test_checkpoint_of_another_architecture_or_shape(tmp_path):
    model = MVFN()
    save_checkpoint(model, tmp_path / "ok.pt", {})
    doc = torch.load(tmp_path / "ok.pt", weights_only=True)

    doc_arch = {**doc, "config": {**doc["config"], "arch": "resnet50"}}
    torch.save(doc_arch, tmp_path / "arch.pt")
    with pytest.raises(ModelError, match=r"arch\.pt: checkpoint of an unknown architecture"):
        load_model(tmp_path / "arch.pt")

    wider = MVFN(ArchConfig(widths=(16, 16, 32, 64)))
    doc_shape = {**doc, "state_dict": wider.state_dict()}
    torch.save(doc_shape, tmp_path / "shape.pt")
    with pytest.raises(ModelError, match=r"shape\.pt: the weights do not fit the mvfn architecture"):
        load_model(tmp_path / "shape.pt")

    doc_field = {**doc, "config": {**doc["config"], "depth": 50}}
    torch.save(doc_field, tmp_path / "field.pt")
    with pytest.raises(ModelError, match=r"unknown architecture fields \['depth'\]"):
        load_model(tmp_path / "field.pt")

    torch.save({**doc, "format_version": 7}, tmp_path / "v7.pt")
    with pytest.raises(ModelError, match=r"checkpoint version 7 is unknown"):
        load_model(tmp_path / "v7.pt")


def test_cuda_that_is_not_there_is_an_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(inspector.InspectorError, match="no CUDA device"):
        load_model(device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_forward_on_cuda_matches_cpu():
    model = load_model(device="cuda")
    x1, x2 = torch.rand(4, 3, 128, 128), torch.rand(4, 3, 128, 128)
    with torch.no_grad():
        gpu = model(x1.cuda(), x2.cuda()).cpu()
        cpu = load_model(device="cpu")(x1, x2)
    torch.testing.assert_close(gpu, cpu, rtol=1e-3, atol=1e-3)


# -- the shipped default ------------------------------------------------------------------------


def test_shipped_default_model_loads_small_and_in_eval_mode():
    model = inspector.load_model()
    assert not model.training
    assert model.classes == ("correct", "missing", "skewed")
    assert DEFAULT_MODEL_PATH.stat().st_size < 5 * 2**20
    assert model.meta["train_data_sha256"] and model.meta["seed"] == 0


def test_shipped_model_on_a_fresh_test_set(line):
    """A smaller version of the README's test: a seed never used in training, half the samples hidden
    from one camera; every class, and each evidence group, at least 98% right."""
    from inspector.synth import CLASSES, generate

    samples = generate(240, seed=4242, hidden_share=0.5, line=line)
    model = inspector.load_model(device="cpu")
    probs = predict(model, np.stack([s.view1 for s in samples]), np.stack([s.view2 for s in samples]))
    labels = np.array([CLASSES.index(s.label) for s in samples])
    report = accuracy_report(labels, probs.argmax(1), CLASSES, np.array([s.evidence for s in samples]))
    assert min(report.per_class.values()) >= 0.98, report.format()
    for ev, d in report.per_evidence.items():
        assert d["accuracy"] >= 0.98, report.format()
    assert set(report.per_evidence) == {"both", "camera 1", "camera 2"}


def test_fusion_from_parts_equals_fusion():
    model = MVFN().eval()
    x1, x2 = torch.rand(3, 3, 128, 128), torch.rand(3, 3, 128, 128)
    with torch.no_grad():
        f1, f2 = model.encode(0, x1), model.encode(1, x2)
        direct = model.fuse(f1, f2)
        via_parts = model.fuse_from_parts(model.fuse_parts(0, f1), model.fuse_parts(1, f2))
    torch.testing.assert_close(via_parts, direct, rtol=1e-5, atol=1e-5)
