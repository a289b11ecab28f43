"""The explainers beyond Grad-CAM: registry, contract, hooks, shared branches, determinism.

The references the maps are checked against are in test_explainer_references.py.
"""

import inspect
import re

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import inspector
from inspector.errors import InspectorError
from inspector.explain import (
    RISE,
    Explainer,
    GradCAM,
    GradCAMPlusPlus,
    GradientCAM,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    XGradCAM,
)
from inspector.explain.explainers import explainer_names, parse_explainers
from inspector.explain.fusion import block_fusion, otsu_bins
from inspector.explain.rise import rise_masks
from inspector.model import MVFN, ArchConfig
from inspector.plugins import PluginRegistry, make_entry_point

from explain_models import BUILTIN, FAST, Brightness, Tiny, hwc, rel, start

# -- registry and contract ---------------------------------------------------------------------


def test_every_builtin_is_registered_and_starts_under_its_name(model):
    registry = PluginRegistry.discover()
    assert sorted(registry.builtins("explainers")) == sorted(BUILTIN)
    assert explainer_names(registry) == registry.builtins("explainers")
    for name in BUILTIN:
        ex = registry.start("explainers", name, model, device="cpu", **FAST.get(name, {}))
        assert isinstance(ex, Explainer) and ex.label == name
    assert parse_explainers("gradcam, rise") == ["gradcam", "rise"]
    with pytest.raises(InspectorError, match="unknown nope"):
        parse_explainers("gradcam,nope")
    with pytest.raises(InspectorError, match="prior must be one of"):
        GradCAM(model, prior="stage3")
    with pytest.raises(InspectorError, match="rise: need"):
        RISE(model, keep=1.5)


GRADIENT = (GradCAM, HiResCAM, GradCAMPlusPlus, XGradCAM, LayerCAM)
METHODS = (*GRADIENT, ScoreCAM, RISE)


def test_the_base_makes_no_maps_and_grad_cam_is_one_gradient_rule_among_the_explainers(model):
    for abstract in (Explainer, GradientCAM):
        with pytest.raises(TypeError, match="abstract"):
            abstract(model)
    assert not hasattr(Explainer, "rule")
    for cls in METHODS:
        assert issubclass(cls, Explainer) and issubclass(cls, GradientCAM) == (cls in GRADIENT)
    for cls in (ScoreCAM, RISE):  # not Grad-CAMs with an unused rule
        assert not hasattr(cls, "rule") and not issubclass(cls, GradCAM)
    assert len({cls.rule for cls in GRADIENT}) == len(GRADIENT) and len({cls.name for cls in METHODS}) == len(METHODS)
    registry = PluginRegistry.discover()
    registered = [registry.get("explainers", name) for name in BUILTIN]
    assert set(METHODS) <= set(registered)
    assert all(obj in METHODS and obj.name == name for name, obj in zip(BUILTIN, registered) if isinstance(obj, type))


def _examples(cls):
    return [line.strip()[4:] for line in inspect.getdoc(cls).splitlines() if line.strip().startswith(">>> ")]


@pytest.mark.parametrize("cls", (Explainer, GradientCAM, *METHODS), ids=lambda c: c.__name__)
def test_every_explainer_shows_its_use_with_names_that_import(cls):
    imports = [line for line in _examples(cls) if line.startswith(("from ", "import "))]
    assert imports and any(cls.__name__ in line for line in _examples(cls))
    names = {}
    for line in imports:
        exec(line, names)
    assert names[cls.__name__] is cls


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_every_method_gives_its_equation_and_its_paper(cls):
    doc = inspect.getdoc(cls)
    assert "Σ" in doc and "=" in doc, "the equation of the map"
    assert re.search(r'"[^"]{20,}",\s+[A-Z]\.', doc), "the paper's title in quotes, then its authors"
    assert re.search(r"\b(19|20)\d\d\b", doc), "the paper's year"
    assert any(f"{cls.__name__}(" in line for line in _examples(cls)), "an example that starts it"


def test_third_party_explainers_come_after_the_builtins():
    # "aaa" sorts before every built-in: only where it comes from puts it after them.
    extra = {"explainers": [make_entry_point("aaa", "inspector.explain.engine:Explainer", "explainers")]}
    registry = PluginRegistry.discover(extra)
    names = explainer_names(registry)
    assert names[-1] == "aaa" and sorted(names[:-1]) == sorted(BUILTIN)
    with pytest.raises(InspectorError, match=r"installed: gradcam, .*, aaa$"):
        parse_explainers("nope", registry)


@pytest.mark.parametrize("name", BUILTIN)
def test_contract_on_the_shipped_model(model, samples, name):
    ex = start(name, model)
    v1 = np.stack([s.view1 for s in samples[:2]])
    v2 = np.stack([s.view2 for s in samples[:2]])
    batch = ex.explain_batch(v1, v2)
    for s, e in zip(samples, batch):
        assert e.explainer == name and e.cams.shape == (2, 4, 128, 128) and e.cams.dtype == np.float32
        assert np.isfinite(e.cams).all() and e.cams.min() >= 0 and e.cams.max() > 0
        assert e.prior_maps.shape == (2, 128, 128) and e.prior_maps.min() >= 0
        assert e.curves.shape == (3, 11) and e.influence in ("camera 1", "camera 2", "equal")
        assert e.m == pytest.approx(np.mean(e.curves[1] - e.curves[2]))
        assert e.to_dict()["explainer"] == name
        for v in (0, 1):  # the stored stage maps resize to the full-size ones, as records rebuild them
            for j, m in enumerate(e.stage_maps[v]):
                up = F.interpolate(torch.from_numpy(m)[None, None], size=(128, 128), mode="bilinear",
                                   align_corners=False)[0, 0].numpy()
                np.testing.assert_allclose(up, e.cams[v, j], rtol=1e-5, atol=1e-7)
        one = ex.explain(s.view1, s.view2)
        np.testing.assert_allclose(one.cams, e.cams, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(one.curves, e.curves, atol=1e-5)


def test_rise_has_one_input_level_map_for_all_stages(model, samples):
    e = start("rise", model).explain(samples[0].view1, samples[0].view2)
    for v in (0, 1):
        assert all(m.shape == (128, 128) for m in e.stage_maps[v])
        for j in range(1, 4):
            np.testing.assert_array_equal(e.cams[v, j], e.cams[v, 0])


# -- hooks, modes and gradients are left as they were --------------------------------------------


def _hook_count(net):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               + len(m._backward_pre_hooks) for m in net.modules())


SMALL = ArchConfig(input_size=(32, 32))  # an MVFN on 32×32 views: the same modules, less arithmetic


def _small_pair(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)


@pytest.mark.parametrize("name", BUILTIN)
def test_hooks_removed_mode_and_grads_restored(name):
    v1, v2 = _small_pair()
    net = MVFN(SMALL).train()
    flags = [p.requires_grad for p in net.parameters()]
    start(name, net, fold_bn=False).explain(v1, v2)
    assert _hook_count(net) == 0
    assert net.training and [p.requires_grad for p in net.parameters()] == flags
    assert all(p.grad is None for p in net.parameters())
    folded = start(name, net)
    folded.explain(v1, v2)
    assert _hook_count(folded.model) == 0


@pytest.mark.parametrize("name", ["hirescam", "scorecam", "rise"])
def test_hooks_removed_when_the_model_raises(name):
    class Broken(MVFN):
        def fuse(self, f1, f2):
            raise RuntimeError("fusion failed")

    broken = Broken(SMALL).eval()
    with pytest.raises(RuntimeError, match="fusion failed"):
        start(name, broken, fold_bn=False).explain(*_small_pair())
    assert _hook_count(broken) == 0 and not broken.training


# -- a shared branch gets a map per view -----------------------------------------------------------


def _shared_and_its_twin():
    """A shared-branch MVFN and a separate-branch one whose two branches are copies of it: the same
    function, so every explainer must give both the same per-view maps."""
    torch.manual_seed(0)
    shared = MVFN(ArchConfig(shared_branches=True, input_size=(64, 64))).eval()
    twin = MVFN(ArchConfig(input_size=(64, 64))).eval()
    state = {}
    for k, v in shared.state_dict().items():
        state[k] = v
        if k.startswith("branches.0."):
            state["branches.1." + k[len("branches.0."):]] = v
    twin.load_state_dict(state)
    return shared, twin


@pytest.mark.parametrize("name", BUILTIN)
def test_shared_branch_maps_equal_the_separate_twin(name):
    shared, twin = _shared_and_its_twin()
    g = torch.Generator().manual_seed(1)
    x1, x2 = torch.rand(1, 3, 64, 64, generator=g), torch.rand(1, 3, 64, 64, generator=g)
    a = start(name, shared).explain(hwc(x1), hwc(x2), target=0)
    b = start(name, twin).explain(hwc(x1), hwc(x2), target=0)
    assert rel(a.cams, b.cams) <= 1e-4
    if name != "rise":  # RISE uses no hooks; on an untrained model its maps are mostly mask coverage
        assert rel(a.cams[0], a.cams[1]) > 0.01  # the two views really got their own maps
    np.testing.assert_allclose(a.curves, b.curves, atol=1e-4)


# -- determinism -----------------------------------------------------------------------------------


def test_rise_is_seeded_and_score_cam_repeatable(model, samples):
    s = samples[3]
    a = RISE(model, masks=32, seed=4).explain(s.view1, s.view2)
    b = RISE(model, masks=32, seed=4).explain(s.view1, s.view2)
    c = RISE(model, masks=32, seed=5).explain(s.view1, s.view2)
    np.testing.assert_array_equal(a.cams, b.cams)
    assert rel(a.cams, c.cams) > 1e-3
    ex = RISE(model, masks=32, seed=4)
    ex.explain(samples[0].view1, samples[0].view2)  # an earlier call does not move the masks
    np.testing.assert_array_equal(ex.explain(s.view1, s.view2).cams, a.cams)
    sc = ScoreCAM(Tiny().eval())
    v1, v2 = np.random.default_rng(2).uniform(0, 1, (2, 16, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(sc.explain(v1, v2).cams, sc.explain(v1, v2).cams)


def test_rise_finds_the_bright_blob_of_the_camera_that_matters():
    view = np.full((64, 64, 3), 0.1, np.float32)
    view[20:44, 20:44] = 1.0
    e = RISE(Brightness(1), masks=256, seed=0).explain(view, view.copy(), target="bright")
    coverage = (rise_masks(256, (64, 64), seed=0).sum(0) / (256 * 0.5)).numpy()
    # The ignored camera's score never moves: its map is that score times the masks' coverage.
    np.testing.assert_allclose(e.cams[0, 0] / coverage, e.probs[0], rtol=1e-4)
    # Divided by the same coverage, the seen camera's map ranks the blob (14 % of the image) first.
    inside = np.zeros((64, 64), bool)
    inside[20:44, 20:44] = True
    top = np.argsort(-(e.cams[1, 0] / coverage).ravel(), kind="stable")[: inside.sum()]
    assert inside.ravel()[top].mean() > 0.8
    assert e.influence == "camera 2"


# -- the fused prior ------------------------------------------------------------------------------


def test_otsu_splits_two_modes():
    maps = torch.zeros(1, 8, 8)
    maps[0, :, :3] = 0.9
    maps[0, :, 3:] = 0.2
    bins, threshold = otsu_bins(maps)
    fg = bins > threshold.view(-1, 1, 1)
    assert fg[0, :, :3].all() and not fg[0, :, 3:].any()


def test_block_fusion_keeps_fine_detail_where_the_deep_map_points():
    deep = torch.zeros(1, 16, 16)
    deep[0, 4:12, 4:12] = 1.0
    fine = torch.rand(1, 16, 16, generator=torch.Generator().manual_seed(0))
    stages = torch.stack([fine[0], torch.zeros(16, 16), torch.zeros(16, 16), deep[0]])[None]
    fused = block_fusion(stages)[0]
    inside = deep[0] > 0
    assert float(fused.max()) == pytest.approx(1.0)
    assert (fused[~inside] == 0).all()  # detail outside the deep map's region is gated away
    np.testing.assert_allclose(fused[inside].numpy(), ((1 + fine[0] / fine.max()) / (1 + fine[0][inside] / fine.max()).max())[inside].numpy(), rtol=1e-6)
    assert (block_fusion(torch.zeros(2, 4, 8, 8)) == 0).all()


def test_gradcam_fused_keeps_the_maps_and_draws_masks_from_the_fusion(model, samples):
    s = samples[0]
    plain = start("gradcam", model).explain(s.view1, s.view2)
    fused = start("gradcam-fused", model).explain(s.view1, s.view2)
    np.testing.assert_array_equal(plain.cams, fused.cams)
    assert plain.prior is None and fused.prior.shape == (2, 128, 128)
    assert 0 <= fused.prior.min() and fused.prior.max() == pytest.approx(1.0)
    expected = [int((fused.prior[v] > fused.prior[v].max() / 4).sum()) for v in (0, 1)]
    assert list(fused.occludable) == expected
    assert rel(fused.prior, plain.cams[:, 3] / plain.cams[:, 3].max(axis=(1, 2), keepdims=True)) > 0.05
    hires = HiResCAM(model, prior="fused").explain(s.view1, s.view2)
    assert hires.explainer == "hirescam-fused"


# -- other models ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTIN)
def test_single_view_baseline(samples, name):
    from inspector.model import SingleViewNet

    torch.manual_seed(0)
    net = SingleViewNet(ArchConfig(arch="single-view", view=0)).eval()
    e = start(name, net).explain(samples[0].view1, samples[0].view2)
    assert e.cams[0].max() > 0 and np.isfinite(e.cams).all()
    np.testing.assert_allclose(e.curves[2], e.probs[e.target], atol=1e-5)  # camera 2 changes nothing


# -- CUDA -------------------------------------------------------------------------------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", BUILTIN)
def test_on_cuda_as_on_the_cpu(samples, name):
    cpu = start(name, inspector.load_model(device="cpu"))
    gpu = start(name, inspector.load_model(device="cuda"), device="cuda")
    assert gpu.device.type == "cuda" and next(gpu.model.parameters()).is_cuda
    s = samples[1]
    a, b = cpu.explain(s.view1, s.view2), gpu.explain(s.view1, s.view2)
    # cuDNN may use TF32 for convolutions: equal to a few parts in a thousand, not bit for bit.
    assert rel(b.cams, a.cams) <= 2e-2
    np.testing.assert_allclose(b.probs, a.probs, atol=2e-3)
    assert b.target == a.target
